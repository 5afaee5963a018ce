package checker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// op builds a completed op; times are in milliseconds for readability.
func op(p int, t history.Type, f history.F, key string, v any, start, end int64) history.Op {
	return history.Op{Process: p, Type: t, F: f, Key: key, Value: v, Start: start * 1e6, End: end * 1e6, Node: "n1"}
}

// build numbers ops in order.
func build(ops ...history.Op) history.History {
	for i := range ops {
		ops[i].Index = i
	}
	return history.History(ops)
}

func final(o history.Op) history.Op { o.Final = true; return o }

const (
	ok   = history.OK
	fail = history.Fail
	info = history.Info
)

func TestRegister(t *testing.T) {
	tests := []struct {
		name  string
		h     history.History
		valid checker.Validity
	}{
		{
			// Sequential write then read of the value written.
			name: "sequential",
			h: build(
				op(0, ok, history.FWrite, "k", "a", 0, 10),
				op(0, ok, history.FRead, "k", "a", 20, 30),
			),
			valid: checker.Valid,
		},
		{
			// A read concurrent with a write may see either value.
			name: "concurrent read sees old or new",
			h: build(
				op(0, ok, history.FWrite, "k", "a", 0, 10),
				op(1, ok, history.FWrite, "k", "b", 20, 40),
				op(2, ok, history.FRead, "k", "a", 25, 30),
				op(3, ok, history.FRead, "k", "b", 26, 35),
			),
			valid: checker.Valid,
		},
		{
			// Stale read: b was acknowledged before the read began, yet the read saw a.
			name: "stale read",
			h: build(
				op(0, ok, history.FWrite, "k", "a", 0, 10),
				op(1, ok, history.FWrite, "k", "b", 20, 30),
				op(2, ok, history.FRead, "k", "a", 40, 50),
			),
			valid: checker.Invalid,
		},
		{
			// A read of an absent key before any write, then the write.
			name: "absent then present",
			h: build(
				op(0, ok, history.FRead, "k", nil, 0, 10),
				op(1, ok, history.FWrite, "k", "a", 20, 30),
				op(0, ok, history.FRead, "k", "a", 40, 50),
			),
			valid: checker.Valid,
		},
		{
			// An indeterminate write may show up long after it "ended".
			name: "info write applies late",
			h: build(
				op(0, info, history.FWrite, "k", "a", 0, 10),
				op(1, ok, history.FRead, "k", nil, 20, 30),
				op(1, ok, history.FRead, "k", "a", 100, 110),
			),
			valid: checker.Valid,
		},
		{
			// An indeterminate write may never apply.
			name: "info write never applies",
			h: build(
				op(0, ok, history.FWrite, "k", "a", 0, 10),
				op(1, info, history.FWrite, "k", "b", 20, 30),
				op(1, ok, history.FRead, "k", "a", 100, 110),
			),
			valid: checker.Valid,
		},
		{
			// A failed write must not be observed: this is RedisRaft #23's aborted read.
			name: "failed write observed",
			h: build(
				op(0, ok, history.FWrite, "k", "a", 0, 10),
				op(1, fail, history.FWrite, "k", "b", 20, 30),
				op(1, ok, history.FRead, "k", "b", 40, 50),
			),
			valid: checker.Invalid,
		},
		{
			// CAS succeeds from the current value.
			name: "cas",
			h: build(
				op(0, ok, history.FWrite, "k", "a", 0, 10),
				op(1, ok, history.FCAS, "k", []string{"a", "b"}, 20, 30),
				op(0, ok, history.FRead, "k", "b", 40, 50),
			),
			valid: checker.Valid,
		},
		{
			// Two CASes from the same value cannot both succeed.
			name: "double cas",
			h: build(
				op(0, ok, history.FWrite, "k", "a", 0, 10),
				op(1, ok, history.FCAS, "k", []string{"a", "b"}, 20, 30),
				op(2, ok, history.FCAS, "k", []string{"a", "c"}, 21, 31),
			),
			valid: checker.Invalid,
		},
		{
			// Keys are independent: a value of k2 is never read from k1.
			name: "per key",
			h: build(
				op(0, ok, history.FWrite, "k1", "a", 0, 10),
				op(1, ok, history.FWrite, "k2", "b", 0, 10),
				op(0, ok, history.FRead, "k1", "a", 20, 30),
				op(1, ok, history.FRead, "k2", "b", 20, 30),
			),
			valid: checker.Valid,
		},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			dir := t.TempDir()
			res := checker.Register(tt.h, checker.RegisterOptions{Dir: dir, Timeout: 10 * time.Second})
			if res.Valid != tt.valid {
				t.Fatalf("valid = %s, want %s; anomalies %q notes %q", res.Valid, tt.valid, res.Anomalies, res.Notes)
			}
			if tt.valid != checker.Invalid {
				if len(res.Files) != 0 {
					t.Errorf("files written for a valid history: %v", res.Files)
				}
				return
			}
			if len(res.Files) != 1 {
				t.Fatalf("files = %v, want one visualisation", res.Files)
			}
			b, err := os.ReadFile(res.Files[0])
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(res.Files[0]) != dir || !strings.Contains(string(b), "<html") {
				t.Errorf("visualisation %s: not an HTML page in %s", res.Files[0], dir)
			}
		})
	}
}

func TestCounter(t *testing.T) {
	tests := []struct {
		name     string
		h        history.History
		realtime bool
		valid    checker.Validity
	}{
		{
			// Final value is exactly the acknowledged sum.
			name: "exact",
			h: build(
				op(0, ok, history.FIncr, "c", int64(1), 0, 10),
				op(1, ok, history.FIncr, "c", int64(2), 0, 10),
				final(op(0, ok, history.FCount, "c", int64(3), 20, 30)),
			),
			valid: checker.Valid,
		},
		{
			// An indeterminate increment may or may not count.
			name: "info counted",
			h: build(
				op(0, ok, history.FIncr, "c", int64(1), 0, 10),
				op(1, info, history.FIncr, "c", int64(5), 0, 10),
				final(op(0, ok, history.FCount, "c", int64(6), 20, 30)),
				final(op(1, ok, history.FCount, "c", int64(1), 20, 30)),
			),
			valid: checker.Valid,
		},
		{
			// An acknowledged increment lost.
			name: "lost increment",
			h: build(
				op(0, ok, history.FIncr, "c", int64(1), 0, 10),
				op(1, ok, history.FIncr, "c", int64(1), 0, 10),
				final(op(0, ok, history.FCount, "c", int64(1), 20, 30)),
			),
			valid: checker.Invalid,
		},
		{
			// A failed increment applied anyway (or one applied twice).
			name: "too high",
			h: build(
				op(0, ok, history.FIncr, "c", int64(1), 0, 10),
				op(1, fail, history.FIncr, "c", int64(1), 0, 10),
				final(op(0, ok, history.FCount, "c", int64(2), 20, 30)),
			),
			valid: checker.Invalid,
		},
		{
			// A read during the run that misses an increment acknowledged before it began.
			name: "stale realtime read",
			h: build(
				op(0, ok, history.FIncr, "c", int64(1), 0, 10),
				op(1, ok, history.FCount, "c", nil, 20, 30),
			),
			realtime: true,
			valid:    checker.Invalid,
		},
		{
			// The same read is not checked when only final reads count (cross-region).
			name: "stale read ignored without realtime",
			h: build(
				op(0, ok, history.FIncr, "c", int64(1), 0, 10),
				op(1, ok, history.FCount, "c", nil, 20, 30),
				final(op(1, ok, history.FCount, "c", int64(1), 40, 50)),
			),
			valid: checker.Valid,
		},
		{
			// A read concurrent with an increment may see it or not.
			name: "concurrent read",
			h: build(
				op(0, ok, history.FIncr, "c", int64(1), 0, 10),
				op(0, ok, history.FIncr, "c", int64(1), 20, 40),
				op(1, ok, history.FCount, "c", int64(1), 25, 30),
				op(2, ok, history.FCount, "c", int64(2), 25, 30),
			),
			realtime: true,
			valid:    checker.Valid,
		},
		{
			// Negative increments widen the lower bound.
			name: "negative info",
			h: build(
				op(0, ok, history.FIncr, "c", int64(10), 0, 10),
				op(1, info, history.FIncr, "c", int64(-3), 0, 10),
				final(op(0, ok, history.FCount, "c", int64(7), 20, 30)),
			),
			valid: checker.Valid,
		},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			res := checker.Counter(tt.h, checker.CounterOptions{Realtime: tt.realtime})
			if res.Valid != tt.valid {
				t.Fatalf("valid = %s, want %s; anomalies %q notes %q", res.Valid, tt.valid, res.Anomalies, res.Notes)
			}
		})
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name     string
		h        history.History
		realtime bool
		valid    checker.Validity
		want     string // substring of the anomaly
	}{
		{
			// Every acknowledged add is present; an indeterminate one may be.
			name: "all present",
			h: build(
				op(0, ok, history.FAdd, "s", "1", 0, 10),
				op(1, ok, history.FAdd, "s", "2", 0, 10),
				op(2, info, history.FAdd, "s", "3", 0, 10),
				final(op(0, ok, history.FMembers, "s", []string{"1", "2"}, 20, 30)),
				final(op(1, ok, history.FMembers, "s", []string{"1", "2", "3"}, 20, 30)),
			),
			valid: checker.Valid,
		},
		{
			// An acknowledged add missing from a final read.
			name: "lost",
			h: build(
				op(0, ok, history.FAdd, "s", "1", 0, 10),
				op(1, ok, history.FAdd, "s", "2", 0, 10),
				final(op(0, ok, history.FMembers, "s", []string{"1"}, 20, 30)),
			),
			valid: checker.Invalid,
			want:  "lost 1 acknowledged element(s): 2",
		},
		{
			// A removed element comes back.
			name: "resurrected",
			h: build(
				op(0, ok, history.FAdd, "s", "1", 0, 10),
				op(0, ok, history.FRemove, "s", "1", 20, 30),
				final(op(1, ok, history.FMembers, "s", []string{"1"}, 40, 50)),
			),
			valid: checker.Invalid,
			want:  "removed element(s) back: 1",
		},
		{
			// An indeterminate remove may or may not have happened.
			name: "info remove",
			h: build(
				op(0, ok, history.FAdd, "s", "1", 0, 10),
				op(0, info, history.FRemove, "s", "1", 20, 30),
				final(op(1, ok, history.FMembers, "s", []string{"1"}, 40, 50)),
				final(op(2, ok, history.FMembers, "s", nil, 40, 50)),
			),
			valid: checker.Valid,
		},
		{
			// An element nobody added.
			name: "unexpected",
			h: build(
				op(0, ok, history.FAdd, "s", "1", 0, 10),
				final(op(1, ok, history.FMembers, "s", []string{"1", "x"}, 40, 50)),
			),
			valid: checker.Invalid,
			want:  "never added: x",
		},
		{
			// During the run, a read that misses an add acknowledged before it began.
			name: "realtime lost",
			h: build(
				op(0, ok, history.FAdd, "s", "1", 0, 10),
				op(1, ok, history.FMembers, "s", nil, 20, 30),
			),
			realtime: true,
			valid:    checker.Invalid,
			want:     "read #1 on n1 lost",
		},
		{
			// A read concurrent with the add may miss it.
			name: "realtime concurrent",
			h: build(
				op(0, ok, history.FAdd, "s", "1", 0, 30),
				op(1, ok, history.FMembers, "s", nil, 10, 20),
			),
			realtime: true,
			valid:    checker.Valid,
		},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			res := checker.Set(tt.h, checker.SetOptions{Realtime: tt.realtime})
			if res.Valid != tt.valid {
				t.Fatalf("valid = %s, want %s; anomalies %q notes %q", res.Valid, tt.valid, res.Anomalies, res.Notes)
			}
			if tt.want != "" && !strings.Contains(strings.Join(res.Anomalies, "\n"), tt.want) {
				t.Errorf("anomalies %q lack %q", res.Anomalies, tt.want)
			}
		})
	}
}

func TestWaitConverged(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	t.Run("converges", func(t *testing.T) {
		calls := 0
		digest := func(_ context.Context, n string) (string, error) {
			calls++
			if n == "n3" && calls < 9 { // n3 catches up on the third round
				return "old", nil
			}
			return "abc", nil
		}
		c := checker.WaitConverged(t.Context(), nodes, digest, 5*time.Second, time.Millisecond)
		if !c.Converged || c.Valid != checker.Valid {
			t.Fatalf("not converged: %+v", c)
		}
	})
	t.Run("diverged", func(t *testing.T) {
		digest := func(_ context.Context, n string) (string, error) {
			if n == "n2" {
				return "", errors.New("connection refused")
			}
			return "d-" + n, nil
		}
		c := checker.WaitConverged(t.Context(), nodes, digest, 50*time.Millisecond, 10*time.Millisecond)
		if c.Converged || c.Valid != checker.Invalid || len(c.Anomalies) != 1 {
			t.Fatalf("want a divergence anomaly: %+v", c)
		}
		if !strings.Contains(c.Anomalies[0], "n2=error") {
			t.Errorf("anomaly %q does not name the failing node", c.Anomalies[0])
		}
	})
}

func TestMerge(t *testing.T) {
	if got := checker.Merge(checker.Valid, checker.Unknown, checker.Valid); got != checker.Unknown {
		t.Errorf("Merge = %s, want unknown", got)
	}
	if got := checker.Merge(checker.Unknown, checker.Invalid); got != checker.Invalid {
		t.Errorf("Merge = %s, want invalid", got)
	}
}
