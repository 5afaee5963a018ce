package checker_test

import (
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

func app(p int, t history.Type, v string, start, end int64) history.Op {
	return op(p, t, history.FAppend, "l", v, start, end)
}

func lr(p int, v []string, start, end int64) history.Op {
	return op(p, ok, history.FList, "l", v, start, end)
}

func l(v ...string) []string { return v }

func TestList(t *testing.T) {
	tests := []struct {
		name     string
		h        history.History
		realtime bool
		valid    checker.Validity
		want     string // substring of the anomaly
	}{
		{
			// Growing prefixes; an indeterminate append seen by one final
			// read and not the other (it may commit between them).
			name: "valid",
			h: build(
				app(0, ok, "1", 0, 10),
				lr(1, l("1"), 11, 12),
				app(0, ok, "2", 20, 30),
				app(2, info, "3", 20, 30),
				lr(1, l("1", "2"), 31, 40),
				final(lr(0, l("1", "2"), 50, 60)),
				final(lr(1, l("1", "2", "3"), 61, 70)),
			),
			realtime: true,
			valid:    checker.Valid,
		},
		{
			// Concurrent appends may be ordered either way.
			name: "concurrent appends",
			h: build(
				app(0, ok, "1", 0, 20),
				app(1, ok, "2", 5, 15),
				final(lr(1, l("1", "2"), 30, 40)),
			),
			realtime: true,
			valid:    checker.Valid,
		},
		{
			name: "lost",
			h: build(
				app(0, ok, "1", 0, 10),
				app(1, ok, "2", 0, 10),
				final(lr(0, l("1"), 20, 30)),
			),
			valid: checker.Invalid,
			want:  "lost 1 acknowledged append(s): 2",
		},
		{
			name: "duplicate",
			h: build(
				app(0, ok, "1", 0, 10),
				app(1, info, "2", 0, 10),
				final(lr(0, l("1", "2", "2"), 20, 30)),
			),
			valid: checker.Invalid,
			want:  "duplicated value(s): 2",
		},
		{
			name: "incompatible orders",
			h: build(
				app(0, ok, "1", 0, 10),
				app(1, ok, "2", 0, 10),
				lr(0, l("2", "1"), 20, 30),
				final(lr(0, l("1", "2"), 40, 50)),
			),
			realtime: true,
			valid:    checker.Invalid,
			want:     "disagrees with the longest read at position 0",
		},
		{
			// A hole in the middle is an incompatible order too.
			name: "hole",
			h: build(
				app(0, ok, "1", 0, 10),
				app(1, ok, "2", 0, 10),
				app(1, ok, "3", 0, 10),
				lr(0, l("1", "3"), 20, 30),
				final(lr(0, l("1", "2", "3"), 40, 50)),
			),
			realtime: true,
			valid:    checker.Invalid,
			want:     "position 1",
		},
		{
			// A read sees less than a read that completed before it.
			name: "stale read",
			h: build(
				app(0, info, "1", 0, 10),
				lr(1, l("1"), 20, 30),
				lr(2, l(), 40, 50),
			),
			realtime: true,
			valid:    checker.Invalid,
			want:     "stale read; first missing \"1\"",
		},
		{
			// Without Realtime (across regions) the same reads are legal.
			name: "stale read not realtime",
			h: build(
				app(0, info, "1", 0, 10),
				lr(1, l("1"), 20, 30),
				lr(2, l(), 40, 50),
			),
			valid: checker.Valid,
		},
		{
			name: "acknowledged append missing from a later read",
			h: build(
				app(0, ok, "1", 0, 10),
				lr(1, l(), 20, 30),
			),
			realtime: true,
			valid:    checker.Invalid,
			want:     "misses 1 append(s) acknowledged before it started: 1",
		},
		{
			// b was invoked after a was acknowledged, yet ordered first.
			name: "real-time order",
			h: build(
				app(0, ok, "a", 0, 10),
				app(0, ok, "b", 20, 30),
				final(lr(1, l("b", "a"), 40, 50)),
			),
			realtime: true,
			valid:    checker.Invalid,
			want:     `"b" is ordered before "a"`,
		},
		{
			name: "failed append visible",
			h: build(
				app(0, fail, "1", 0, 10),
				final(lr(1, l("1"), 20, 30)),
			),
			valid: checker.Invalid,
			want:  "whose append failed: 1",
		},
		{
			name: "never appended",
			h: build(
				final(lr(1, l("x"), 20, 30)),
			),
			valid: checker.Invalid,
			want:  "never appended: x",
		},
		{
			name: "from the future",
			h: build(
				lr(1, l("1"), 0, 10),
				app(0, ok, "1", 20, 30),
			),
			realtime: true,
			valid:    checker.Invalid,
			want:     "appended only after it ended: 1",
		},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			r := checker.List(tt.h, checker.ListOptions{Realtime: tt.realtime})
			if r.Valid != tt.valid {
				t.Fatalf("verdict %s, want %s; anomalies %q", r.Valid, tt.valid, r.Anomalies)
			}
			if tt.want != "" && !strings.Contains(strings.Join(r.Anomalies, "\n"), tt.want) {
				t.Errorf("anomalies %q lack %q", r.Anomalies, tt.want)
			}
		})
	}
}
