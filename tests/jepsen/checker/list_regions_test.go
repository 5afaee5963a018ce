package checker_test

import (
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// TestListSameFinal is the list checker as two linked regions use it:
// final reads only (reads during the run may lag), pushes at both ends,
// and every node's final list the same.
func TestListSameFinal(t *testing.T) {
	pushes := []history.Op{
		app(0, ok, "1", 0, 10),     // RPUSH in east
		app(3, ok, "l2", 0, 10),    // LPUSH in west
		app(1, ok, "3", 20, 30),    // RPUSH in east
		app(4, info, "l4", 20, 30), // indeterminate LPUSH
		app(5, fail, "5", 20, 30),
		// A read during the run that lags (misses west's pushes): legal.
		lr(1, l("1", "3"), 31, 32),
	}
	tests := []struct {
		name   string
		finals [][]string
		valid  checker.Validity
		want   string // substring of the anomaly
	}{
		{name: "same everywhere", finals: [][]string{l("l4", "l2", "1", "3"), l("l4", "l2", "1", "3")}, valid: checker.Valid},
		{name: "indeterminate absent everywhere", finals: [][]string{l("l2", "1", "3"), l("l2", "1", "3")}, valid: checker.Valid},
		{name: "different order", finals: [][]string{l("l2", "1", "3"), l("1", "l2", "3")}, valid: checker.Invalid, want: "differs from"},
		{name: "indeterminate in one region only", finals: [][]string{l("l4", "l2", "1", "3"), l("l2", "1", "3")}, valid: checker.Invalid, want: "differs from"},
		{name: "lost in both", finals: [][]string{l("l2", "1"), l("l2", "1")}, valid: checker.Invalid, want: "lost 1 acknowledged"},
		{name: "twice", finals: [][]string{l("l2", "1", "3", "1"), l("l2", "1", "3", "1")}, valid: checker.Invalid, want: "duplicated"},
		{name: "indeterminate twice", finals: [][]string{l("l4", "l2", "l4", "1", "3"), l("l4", "l2", "l4", "1", "3")}, valid: checker.Invalid, want: "duplicated"},
		{name: "unknown", finals: [][]string{l("l2", "1", "3", "9"), l("l2", "1", "3", "9")}, valid: checker.Invalid, want: "never appended"},
		{name: "failed", finals: [][]string{l("l2", "1", "3", "5"), l("l2", "1", "3", "5")}, valid: checker.Invalid, want: "append failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := append([]history.Op(nil), pushes...)
			for i, f := range tt.finals {
				ops = append(ops, final(lr(i, f, 50+int64(20*i), 60+int64(20*i))))
			}
			r := checker.List(build(ops...), checker.ListOptions{SameFinal: true})
			if r.Valid != tt.valid {
				t.Fatalf("valid = %s, want %s; anomalies: %q", r.Valid, tt.valid, r.Anomalies)
			}
			if tt.want != "" && !strings.Contains(strings.Join(r.Anomalies, "\n"), tt.want) {
				t.Errorf("anomalies %q do not name %q", r.Anomalies, tt.want)
			}
		})
	}
	// Without SameFinal an indeterminate push seen by one final read
	// only is legal (it may commit between the reads): unchanged.
	ops := append([]history.Op(nil), pushes[:2]...)
	ops = append(ops, final(lr(0, l("l2", "1"), 50, 60)), final(lr(1, l("l2", "1", "x"), 70, 80)), app(2, info, "x", 20, 30))
	if r := checker.List(build(ops...), checker.ListOptions{}); r.Valid != checker.Valid {
		t.Errorf("without SameFinal: valid = %s, want valid; anomalies: %q", r.Valid, r.Anomalies)
	}
}
