package checker_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// on moves an op to node (e1, e2: east; w1, w2: west).
func on(o history.Op, node string) history.Op { o.Node = node; return o }

func set(node string, t history.Type, v string, start, end int64) history.Op {
	return on(op(0, t, history.FWrite, "k", v, start, end), node)
}

func get(node string, v any, start, end int64) history.Op {
	return on(op(1, ok, history.FRead, "k", v, start, end), node)
}

// regionCase is a hand-made history of two linked regions and the
// verdict a checker of them must give.
type regionCase struct {
	name  string
	h     history.History
	valid checker.Validity
	want  string // substring of the anomalies
}

func runRegionCases(t *testing.T, check func(history.History, checker.RegionOptions) checker.Result, tests []regionCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			r := check(tt.h, checker.RegionOptions{})
			t.Logf("%s: %q", r.Valid, r.Anomalies)
			if r.Valid != tt.valid {
				t.Fatalf("valid = %s, want %s; anomalies %q notes %q", r.Valid, tt.valid, r.Anomalies, r.Notes)
			}
			if tt.want != "" && !strings.Contains(strings.Join(r.Anomalies, "\n"), tt.want) {
				t.Errorf("anomalies %q lack %q", r.Anomalies, tt.want)
			}
			// The verdict survives history.jsonl (Recheck).
			var b bytes.Buffer
			if err := tt.h.WriteJSONL(&b); err != nil {
				t.Fatal(err)
			}
			h, err := history.ReadJSONL(&b)
			if err != nil {
				t.Fatal(err)
			}
			if r2 := check(h, checker.RegionOptions{}); r2.Valid != r.Valid || len(r2.Anomalies) != len(r.Anomalies) {
				t.Errorf("after a JSON round trip: %s %q, want %s %q", r2.Valid, r2.Anomalies, r.Valid, r.Anomalies)
			}
		})
	}
}

func TestLWW(t *testing.T) {
	runRegionCases(t, checker.LWW, []regionCase{
		// West writes after east's write was acknowledged, but west had
		// not applied it: concurrent, either may win.
		{name: "cross-region later write may lose", valid: checker.Valid, h: build(
			set("e1", ok, "a", 0, 10), set("w1", ok, "b", 20, 30),
			final(get("e1", "a", 100, 101)), final(get("w1", "a", 100, 101)))},
		{name: "cross-region later write may win", valid: checker.Valid, h: build(
			set("e1", ok, "a", 0, 10), set("w1", ok, "b", 20, 30),
			final(get("e1", "b", 100, 101)), final(get("w1", "b", 100, 101)))},
		// Within a region, real-time order is stamp order.
		{name: "same-region later write lost", valid: checker.Invalid, want: `lost write: key "k": final read #2 on e1 returned "a"`, h: build(
			set("e1", ok, "a", 0, 10), set("e2", ok, "b", 20, 30),
			final(get("e1", "a", 100, 101)), final(get("w1", "a", 100, 101)))},
		// West read a, then overwrote it: its write is stamped later.
		{name: "read then overwrite in the other region", valid: checker.Invalid, want: "lost write", h: build(
			set("e1", ok, "a", 0, 10), get("w1", "a", 12, 14), set("w1", ok, "b", 20, 30),
			final(get("e1", "a", 100, 101)), final(get("w1", "a", 100, 101)))},
		// The same through an indeterminate write that a read saw.
		{name: "indeterminate overwrite seen by a read", valid: checker.Invalid, want: "lost write", h: build(
			set("e1", ok, "a", 0, 10), get("w1", "a", 12, 14), set("w1", info, "b", 20, 30), get("e2", "b", 40, 45),
			final(get("e1", "a", 100, 101)), final(get("w1", "a", 100, 101)))},
		{name: "indeterminate later write may not apply", valid: checker.Valid, h: build(
			set("e1", ok, "a", 0, 10), set("e2", info, "b", 20, 30),
			final(get("e1", "a", 100, 101)), final(get("w1", "a", 100, 101)))},
		{name: "acknowledged write lost entirely", valid: checker.Invalid, want: "lost write", h: build(
			set("e1", ok, "a", 0, 10),
			final(get("e1", nil, 100, 101)), final(get("w1", nil, 100, 101)))},
		{name: "value never written", valid: checker.Invalid, want: "value never written", h: build(
			set("e1", ok, "a", 0, 10),
			final(get("e1", "z", 100, 101)), final(get("w1", "z", 100, 101)))},
		{name: "failed write visible", valid: checker.Invalid, want: "failed write visible", h: build(
			set("e1", ok, "a", 0, 10), set("w1", fail, "b", 20, 30), get("w1", "b", 40, 41),
			final(get("e1", "a", 100, 101)))},
		{name: "value read before it was written", valid: checker.Invalid, want: "before it was written", h: build(
			get("w1", "a", 0, 5), set("e1", ok, "a", 10, 20),
			final(get("e1", "a", 100, 101)))},
		{name: "divergent finals", valid: checker.Invalid, want: `divergent final reads: key "k": final read #3 on w1 returned "b", final read #2 on e1 returned "a"`, h: build(
			set("e1", ok, "a", 0, 10), set("w1", ok, "b", 0, 10),
			final(get("e1", "a", 100, 101)), final(get("w1", "b", 100, 101)))},
		{name: "value written twice", valid: checker.Invalid, want: "written twice", h: build(
			set("e1", ok, "a", 0, 10), set("w1", ok, "a", 0, 10))},
		// During the run a read may lag the other region, not its own.
		{name: "nil before any write", valid: checker.Valid, h: build(
			get("e1", nil, 0, 5), set("e1", ok, "a", 10, 20), get("w1", nil, 30, 35),
			final(get("e1", "a", 100, 101)))},
		{name: "nil after own region's write", valid: checker.Invalid, want: "stale read", h: build(
			set("e1", ok, "a", 0, 10), get("e2", nil, 20, 25))},
		{name: "older value after own region's write", valid: checker.Invalid, want: "stale read", h: build(
			set("e1", ok, "a", 0, 10), set("e1", ok, "b", 20, 30), get("w2", "a", 40, 45), get("e2", "a", 40, 45))},
		// West wrote a, east (not having seen it) b: either may win, and
		// each region may keep returning its own.
		{name: "own older value while the other region wrote", valid: checker.Valid, h: build(
			set("w1", ok, "a", 0, 10), set("e1", ok, "b", 20, 30), get("w2", "a", 40, 45), get("e2", "b", 40, 45))},
		{name: "older value after own region read newer", valid: checker.Invalid, want: "stale read", h: build(
			set("e1", ok, "a", 0, 10), set("e1", ok, "b", 20, 30), get("w1", "b", 40, 45), get("w2", "a", 50, 55))},
		{name: "concurrent read sees either", valid: checker.Valid, h: build(
			set("e1", ok, "a", 0, 10), set("e1", ok, "b", 20, 30), get("e2", "a", 25, 35), get("e2", "b", 26, 36))},
	})
}
