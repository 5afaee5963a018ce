package checker_test

import (
	"testing"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

func hset(node string, t history.Type, field, v string, start, end int64) history.Op {
	return on(op(0, t, history.FHSet, "h", []string{field, v}, start, end), node)
}

func hdel(node string, t history.Type, field string, start, end int64) history.Op {
	return on(op(0, t, history.FHDel, "h", field, start, end), node)
}

// hgetall reads fields given as field, value, field, value...
func hgetall(node string, start, end int64, fv ...string) history.Op {
	m := make(map[string]string)
	for i := 0; i+1 < len(fv); i += 2 {
		m[fv[i]] = fv[i+1]
	}
	return on(op(1, ok, history.FHGetAll, "h", m, start, end), node)
}

// finals reads the same hash on e1 and w1 after the run.
func finals(fv ...string) []history.Op {
	return []history.Op{final(hgetall("e1", 100, 101, fv...)), final(hgetall("w1", 100, 101, fv...))}
}

func TestHash(t *testing.T) {
	with := func(ops []history.Op, more ...history.Op) history.History { return build(append(ops, more...)...) }
	runRegionCases(t, checker.Hash, []regionCase{
		// Fields are independent registers: every field write survives.
		{name: "fields merge", valid: checker.Valid, h: with(finals("f", "a", "g", "b"),
			hset("e1", ok, "f", "a", 0, 10), hset("w1", ok, "g", "b", 0, 10))},
		{name: "field lost", valid: checker.Invalid, want: `lost write: hash "h" field "g"`, h: with(finals("f", "a"),
			hset("e1", ok, "f", "a", 0, 10), hset("w1", ok, "g", "b", 0, 10))},
		// An HDEL acknowledged in east after east's HSET: gone for good.
		{name: "deleted field back", valid: checker.Invalid, want: "lost write", h: with(finals("f", "a"),
			hset("e1", ok, "f", "a", 0, 10), hdel("e2", ok, "f", 20, 30))},
		{name: "deleted field gone", valid: checker.Valid, h: with(finals(),
			hset("e1", ok, "f", "a", 0, 10), hdel("e2", ok, "f", 20, 30))},
		// A concurrent HSET in the other region may win over the HDEL...
		{name: "concurrent rewrite after delete", valid: checker.Valid, h: with(finals("f", "b"),
			hset("e1", ok, "f", "a", 0, 10), hdel("e2", ok, "f", 20, 30), hset("w1", ok, "f", "b", 25, 35))},
		// ... even one acknowledged before it in real time, that east
		// had not applied.
		{name: "unseen earlier write survives delete", valid: checker.Valid, h: with(finals("f", "b"),
			hset("w1", ok, "f", "b", 0, 5), hdel("e1", ok, "f", 20, 30))},
		// But not one east had read before deleting.
		{name: "seen write survives delete", valid: checker.Invalid, want: "lost write", h: with(finals("f", "b"),
			hset("w1", ok, "f", "b", 0, 5), hgetall("e1", 10, 12, "f", "b"), hdel("e1", ok, "f", 20, 30))},
		// A later HSET in the deleting region rewrites the field.
		{name: "rewrite after delete", valid: checker.Valid, h: with(finals("f", "c"),
			hset("e1", ok, "f", "a", 0, 10), hdel("e1", ok, "f", 20, 30), hset("e2", ok, "f", "c", 40, 50))},
		{name: "indeterminate delete", valid: checker.Valid, h: with(finals(),
			hset("e1", ok, "f", "a", 0, 10), hdel("e1", info, "f", 20, 30), hgetall("e2", 40, 45, "f", "a"))},
		// During the run, a region does not go back before its own writes.
		{name: "read after own delete", valid: checker.Invalid, want: "stale read", h: build(
			hset("e1", ok, "f", "a", 0, 10), hdel("e1", ok, "f", 20, 30), hgetall("e2", 40, 45, "f", "a"))},
		{name: "nil after own write", valid: checker.Invalid, want: "stale read", h: build(
			hset("e1", ok, "f", "a", 0, 10), hgetall("e2", 40, 45))},
		{name: "other region lags", valid: checker.Valid, h: build(
			hset("e1", ok, "f", "a", 0, 10), hdel("e1", ok, "f", 20, 30), hgetall("w1", 40, 45, "f", "a"), hgetall("w2", 50, 55))},
		{name: "field never written", valid: checker.Invalid, want: "value never written", h: with(finals("f", "a", "x", "1"),
			hset("e1", ok, "f", "a", 0, 10))},
		{name: "failed write visible", valid: checker.Invalid, want: "failed write visible", h: with(finals("f", "b"),
			hset("e1", ok, "f", "a", 0, 10), hset("e1", fail, "f", "b", 20, 30))},
		{name: "divergent finals", valid: checker.Invalid, want: "divergent final reads", h: build(
			hset("e1", ok, "f", "a", 0, 10), hset("w1", ok, "f", "b", 0, 10),
			final(hgetall("e1", 100, 101, "f", "a")), final(hgetall("w1", 100, 101, "f", "b")))},
	})
}
