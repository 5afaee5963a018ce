package checker_test

import (
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

func push(node string, t history.Type, v string, start, end int64) history.Op {
	return on(app(0, t, v, start, end), node)
}

// pop is an LPOP on node that returned v (nil: the list was empty).
func pop(node string, t history.Type, v any, start, end int64) history.Op {
	return on(op(1, t, history.FLPop, "l", v, start, end), node)
}

func lrange(node string, start, end int64, v ...string) history.Op {
	return on(lr(2, v, start, end), node)
}

func TestListPops(t *testing.T) {
	// Before every case: three acknowledged pushes, one indeterminate,
	// one failed.
	pushes := []history.Op{
		push("e1", ok, "1", 0, 10), push("e2", ok, "2", 0, 10), push("w1", ok, "3", 0, 10),
		push("w2", info, "4", 0, 10), push("e1", fail, "5", 0, 10),
	}
	with := func(ops ...history.Op) history.History {
		return build(append(append([]history.Op(nil), pushes...), ops...)...)
	}
	finals := func(v ...string) []history.Op {
		return []history.Op{final(lrange("e1", 100, 101, v...)), final(lrange("w1", 100, 101, v...))}
	}
	and := func(a []history.Op, b ...history.Op) []history.Op { return append(a, b...) }
	runRegionCases(t, checker.ListPops, []regionCase{
		{name: "pushes kept", valid: checker.Valid, h: with(finals("1", "2", "3", "4")...)},
		{name: "indeterminate push absent", valid: checker.Valid, h: with(finals("1", "2", "3")...)},
		// Both regions pop 1 (docs/CONFLICTS.md, "Lists"): legal.
		{name: "popped in both regions", valid: checker.Valid, h: with(and(finals("2", "3"),
			pop("e1", ok, "1", 20, 30), pop("w1", ok, "1", 20, 30))...)},
		{name: "popped twice in one region", valid: checker.Invalid, want: `value popped twice in one region: key "l": "1" popped 2 times in region e`,
			h: with(and(finals("2", "3"), pop("e1", ok, "1", 20, 30), pop("e2", ok, "1", 40, 50))...)},
		{name: "popped value back", valid: checker.Invalid, want: "popped value back",
			h: with(and(finals("1", "2", "3"), pop("w1", ok, "1", 20, 30))...)},
		{name: "popped value never pushed", valid: checker.Invalid, want: "popped value never pushed",
			h: with(and(finals("1", "2", "3"), pop("w1", ok, "9", 20, 30))...)},
		{name: "popped value whose push failed", valid: checker.Invalid, want: "popped value whose push failed",
			h: with(and(finals("1", "2", "3"), pop("w1", ok, "5", 20, 30))...)},
		{name: "acknowledged push lost", valid: checker.Invalid, want: "acknowledged push lost",
			h: with(and(finals("2", "3"), pop("w1", ok, nil, 20, 30))...)},
		// An indeterminate pop may have taken any one element...
		{name: "indeterminate pop took one", valid: checker.Valid,
			h: with(and(finals("2", "3"), pop("w1", info, nil, 20, 30))...)},
		// ... but not two.
		{name: "indeterminate pop took two", valid: checker.Invalid, want: "lacks 2 acknowledged push(es)",
			h: with(and(finals("3"), pop("w1", info, nil, 20, 30))...)},
		{name: "value twice", valid: checker.Invalid, want: "value twice in a list", h: with(finals("1", "2", "3", "1")...)},
		{name: "value never pushed", valid: checker.Invalid, want: "value never pushed", h: with(finals("1", "2", "3", "9")...)},
		{name: "failed push visible", valid: checker.Invalid, want: "value whose push failed", h: with(finals("1", "2", "3", "5")...)},
		{name: "divergent finals", valid: checker.Invalid, want: "divergent final reads", h: with(
			final(lrange("e1", 100, 101, "1", "2", "3")), final(lrange("w1", 100, 101, "2", "1", "3")))},
		// During the run a region may lag the other one, not itself.
		{name: "other region lags", valid: checker.Valid, h: with(and(finals("2", "3"),
			pop("e1", ok, "1", 20, 30), lrange("w2", 40, 41, "1", "2", "3"))...)},
		{name: "own pop undone", valid: checker.Invalid, want: `popped value back: key "l": read #8 on e2`, h: with(and(finals("2", "3"),
			pop("e1", ok, "1", 20, 30), lrange("e2", 40, 41, "1", "2"))...)},
		{name: "own push missing", valid: checker.Invalid, want: `acknowledged push lost: key "l": read #5 on e2 lacks 1`, h: with(
			lrange("e2", 40, 41, "1", "4"))},
		{name: "other region's push missing", valid: checker.Valid, h: with(lrange("e2", 40, 41, "1", "2"))},
		{name: "value read before it was pushed", valid: checker.Invalid, want: "value read before it was pushed", h: build(
			lrange("e1", 0, 5, "1"), push("e1", ok, "1", 10, 20))},
	})
	// The notes count the elements popped in both regions.
	h := with(and(finals("3"), pop("e1", ok, "1", 20, 30), pop("w1", ok, "1", 20, 30),
		pop("e1", ok, "2", 40, 50), pop("w2", ok, "2", 40, 50))...)
	r := checker.ListPops(h, checker.RegionOptions{})
	if notes := strings.Join(r.Notes, "\n"); r.Valid != checker.Valid || !strings.Contains(notes, `2 element(s) popped in both regions`) ||
		!strings.Contains(notes, "l/1 l/2") {
		t.Errorf("%s %q: want valid, and the notes to count 2 double pops", r.Valid, r.Notes)
	}
}
