package storage_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// regOp is one operation on a Register.
type regOp struct {
	kind  byte // 's' Set, 'r' Remove, 'i' Incr, 'f' float Incr
	ts    hlc.Timestamp
	val   []byte
	delta int64
	fl    float64
}

func (o regOp) apply(r *storage.Register) {
	switch o.kind {
	case 's':
		r.Set(o.ts, o.val)
	case 'r':
		r.Remove(o.ts)
	case 'i':
		r.Incr(storage.Inc{TS: o.ts, Int: o.delta})
	case 'f':
		r.Incr(storage.Inc{TS: o.ts, Float: o.fl, IsFloat: true})
	}
}

func (o regOp) String() string {
	switch o.kind {
	case 's':
		return fmt.Sprintf("set(%v,%q)", o.ts, o.val)
	case 'r':
		return fmt.Sprintf("remove(%v)", o.ts)
	case 'i':
		return fmt.Sprintf("incr(%v,%d)", o.ts, o.delta)
	}
	return fmt.Sprintf("incrf(%v,%g)", o.ts, o.fl)
}

// regOps returns a random multiset of register operations from three
// regions. Stamps collide across regions on wall and logical time, and
// a Set, a Remove and an Incr may share a stamp (one command removing
// and writing an element), but two increments never do (an increment is
// identified by its stamp).
func regOps(r *rand.Rand, n int, floats bool) []regOp {
	var ops []regOp
	incStamps := map[hlc.Timestamp]bool{}
	for range n {
		ts := hlc.Timestamp{Wall: int64(1 + r.IntN(6)), Logical: uint32(r.IntN(2)), Region: uint32(1 + r.IntN(3)), Node: 1}
		switch k := r.IntN(4); {
		case k == 0:
			ops = append(ops, regOp{kind: 's', ts: ts, val: []byte(strconv.Itoa(r.IntN(20)))})
		case k == 1:
			ops = append(ops, regOp{kind: 'r', ts: ts})
		case incStamps[ts]:
		case floats && r.IntN(2) == 0:
			incStamps[ts] = true
			ops = append(ops, regOp{kind: 'f', ts: ts, fl: []float64{0.5, -1.25, 2}[r.IntN(3)]})
		default:
			incStamps[ts] = true
			ops = append(ops, regOp{kind: 'i', ts: ts, delta: int64(r.IntN(9) - 4)})
		}
	}
	return ops
}

// regModel computes what a register holding ops must show, from the
// merge rules alone (DESIGN.md): the removal stamp is the largest Remove;
// the base is the largest Set (by stamp, then value), alive unless
// stamped before that removal; increments count if stamped after the
// largest Set and not before the removal. It handles integer values only.
func regModel(ops []regOp) (live bool, val []byte) {
	var del, setTS hlc.Timestamp
	var base []byte
	for _, o := range ops {
		switch o.kind {
		case 'r':
			del = hlc.Max(del, o.ts)
		case 's':
			if c := o.ts.Compare(setTS); c > 0 || c == 0 && bytes.Compare(o.val, base) > 0 {
				setTS, base = o.ts, o.val
			}
		}
	}
	baseLive := base != nil && !setTS.Less(del)
	sum, incs := int64(0), 0
	seen := map[hlc.Timestamp]bool{}
	for _, o := range ops {
		if o.kind == 'i' && setTS.Less(o.ts) && !o.ts.Less(del) && !seen[o.ts] {
			seen[o.ts] = true
			sum += o.delta
			incs++
		}
	}
	switch {
	case incs == 0 && baseLive:
		return true, base
	case incs == 0:
		return false, nil
	}
	if baseLive {
		n, _ := strconv.ParseInt(string(base), 10, 64)
		sum += n
	}
	return true, []byte(strconv.FormatInt(sum, 10))
}

// TestRegisterMergeProperties checks that Set, Remove and Incr commute,
// associate and are idempotent: any order of a multiset of operations,
// with any of them repeated, leaves the same register (every field, so
// later operations also behave alike), and that register shows what the
// naive model says.
func TestRegisterMergeProperties(t *testing.T) {
	for _, seed := range mergeSeeds(3000) {
		r := rand.New(rand.NewPCG(seed, 3))
		floats := seed%3 == 0
		ops := regOps(r, 1+r.IntN(12), floats)
		var first *storage.Register
		var firstOrder []regOp
		for range 6 {
			order := slices.Clone(ops)
			for range r.IntN(4) { // duplicates
				order = append(order, ops[r.IntN(len(ops))])
			}
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			reg := &storage.Register{}
			for _, o := range order {
				o.apply(reg)
			}
			if first == nil {
				first, firstOrder = reg, order
				continue
			}
			if fmt.Sprint(*reg) != fmt.Sprint(*first) {
				t.Fatalf("seed %d (replay with -seed=%d): order changes the register\n%v\n-> %+v\n%v\n-> %+v",
					seed, seed, firstOrder, *first, order, *reg)
			}
		}
		if floats {
			continue
		}
		live, val := regModel(ops)
		if first.Live() != live || !bytes.Equal(first.Value(), val) {
			t.Fatalf("seed %d (replay with -seed=%d): %v\ngives Live=%v Value=%q, model says Live=%v Value=%q",
				seed, seed, ops, first.Live(), first.Value(), live, val)
		}
	}
}

func TestRegister(t *testing.T) {
	t1, t2, t3 := at(1, 1), at(2, 1), at(3, 1)
	t2b := at(2, 2) // same wall time as t2, larger region: after it
	cases := []struct {
		name  string
		ops   []regOp
		live  bool
		value string
	}{
		// A write makes the element.
		{"set", []regOp{{kind: 's', ts: t1, val: []byte("a")}}, true, "a"},
		// The later write wins, whatever the arrival order.
		{"lww", []regOp{{kind: 's', ts: t2, val: []byte("b")}, {kind: 's', ts: t1, val: []byte("a")}}, true, "b"},
		// Equal wall times: the region id breaks the tie.
		{"region_tiebreak", []regOp{{kind: 's', ts: t2b, val: []byte("a")}, {kind: 's', ts: t2, val: []byte("b")}}, true, "a"},
		// Equal stamps (never made by two commands): the larger value.
		{"same_stamp", []regOp{{kind: 's', ts: t1, val: []byte("a")}, {kind: 's', ts: t1, val: []byte("b")}}, true, "b"},
		// A removal after the write kills it.
		{"remove", []regOp{{kind: 's', ts: t1, val: []byte("a")}, {kind: 'r', ts: t2}}, false, ""},
		// A removal before the write does not, even arriving later.
		{"write_after_remove", []regOp{{kind: 's', ts: t2, val: []byte("a")}, {kind: 'r', ts: t1}}, true, "a"},
		// A write stamped like the removal (DEL then SET in one command)
		// survives it.
		{"remove_and_write_one_command", []regOp{{kind: 'r', ts: t2}, {kind: 's', ts: t2, val: []byte("a")}}, true, "a"},
		// A late write stamped before the removal stays dead.
		{"late_write", []regOp{{kind: 'r', ts: t2}, {kind: 's', ts: t1, val: []byte("a")}}, false, ""},
		// Increments add to the base.
		{"incr", []regOp{{kind: 's', ts: t1, val: []byte("10")}, {kind: 'i', ts: t2, delta: 5}, {kind: 'i', ts: t2b, delta: -2}}, true, "13"},
		// An increment without a base counts from zero.
		{"incr_no_base", []regOp{{kind: 'i', ts: t1, delta: 7}}, true, "7"},
		// An increment after a removal counts from zero.
		{"incr_after_remove", []regOp{{kind: 's', ts: t1, val: []byte("10")}, {kind: 'r', ts: t2}, {kind: 'i', ts: t3, delta: 1}}, true, "1"},
		// An increment stamped like the removal (INCR of an expired key:
		// DEL then INCR in one command) survives it, in either order.
		{"incr_with_remove", []regOp{{kind: 'i', ts: t2, delta: 4}, {kind: 's', ts: t1, val: []byte("10")}, {kind: 'r', ts: t2}}, true, "4"},
		// The same increment delivered twice counts once.
		{"incr_duplicate", []regOp{{kind: 'i', ts: t2, delta: 4}, {kind: 'i', ts: t2, delta: 4}}, true, "4"},
		// Increments from several regions that each fit in int64 but
		// together do not: the exact sum, never wrapped around, also in
		// the negative direction, and back in range when later ones
		// bring it back.
		{"incr_past_int64", []regOp{{kind: 's', ts: t1, val: []byte("9223372036854775800")}, {kind: 'i', ts: t2, delta: 5}, {kind: 'i', ts: t2b, delta: 5}}, true, "9223372036854775810"},
		{"incr_past_int64_min", []regOp{{kind: 's', ts: t1, val: []byte("-9223372036854775800")}, {kind: 'i', ts: t2, delta: -9}, {kind: 'i', ts: t2b, delta: -9}}, true, "-9223372036854775818"},
		{"incr_back_into_int64", []regOp{{kind: 's', ts: t1, val: []byte("9223372036854775800")}, {kind: 'i', ts: t2, delta: 5}, {kind: 'i', ts: t2b, delta: 5}, {kind: 'i', ts: t3, delta: -20}}, true, "9223372036854775790"},
		// A base beyond int64 (an earlier such sum, folded) adds up exactly.
		{"incr_big_base", []regOp{{kind: 's', ts: t1, val: []byte("9223372036854775810")}, {kind: 'i', ts: t2, delta: -11}}, true, "9223372036854775799"},
		// A float increment makes the sum a float.
		{"incr_float", []regOp{{kind: 's', ts: t1, val: []byte("10")}, {kind: 'f', ts: t2, fl: 0.5}}, true, "10.5"},
		// Float sums that are whole print without a fraction.
		{"incr_float_whole", []regOp{{kind: 's', ts: t1, val: []byte("1.5")}, {kind: 'f', ts: t2, fl: 1.5}}, true, "3"},
		// An integer increment on a float base gives a float.
		{"incr_int_on_float", []regOp{{kind: 's', ts: t1, val: []byte("2.25")}, {kind: 'i', ts: t2, delta: 1}}, true, "3.25"},
		// A base that is not a number counts as zero (only concurrent
		// regions can get there: INCR refuses a non-number locally).
		{"incr_on_text", []regOp{{kind: 's', ts: t1, val: []byte("abc")}, {kind: 'i', ts: t2, delta: 2}}, true, "2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, order := range [][]regOp{c.ops, reversed(c.ops)} {
				r := &storage.Register{}
				for _, o := range order {
					o.apply(r)
				}
				if r.Live() != c.live || string(r.Value()) != c.value {
					t.Fatalf("%v: Live=%v Value=%q, want %v %q", order, r.Live(), r.Value(), c.live, c.value)
				}
			}
		})
	}
}

func reversed[T any](s []T) []T {
	c := slices.Clone(s)
	slices.Reverse(c)
	return c
}

func TestFormatFloat(t *testing.T) {
	cases := []struct {
		f    float64
		want string
	}{
		{10.5, "10.5"},          // a plain fraction
		{3, "3"},                // whole: no ".0"
		{-0.25, "-0.25"},        // negative
		{1e21, "1" + zeros(21)}, // no exponent, ever
		{1e-7, "0.0000001"},     // small: no exponent either
		{math.Nextafter(0.3, 1), "0.30000000000000004"}, // the shortest text that reads back the same bits
	}
	for _, c := range cases {
		if got := string(storage.FormatFloat(nil, c.f)); got != c.want {
			t.Errorf("FormatFloat(%g) = %q, want %q", c.f, got, c.want)
		}
	}
	if got := string(storage.FormatFloat([]byte("x="), 1.5)); got != "x=1.5" {
		t.Errorf("FormatFloat appends: got %q", got)
	}
}

func zeros(n int) string { return string(bytes.Repeat([]byte{'0'}, n)) }

func TestFloatBytes(t *testing.T) {
	for _, f := range []float64{0, -1.5, 1e300} {
		r := &storage.Register{}
		r.Set(at(1, 1), storage.FloatBytes(f))
		if got := r.Float(); got != f {
			t.Errorf("Float() of FloatBytes(%g) = %g", f, got)
		}
		r.Incr(storage.Inc{TS: at(2, 1), Float: 0.5, IsFloat: true})
		r.Incr(storage.Inc{TS: at(3, 1), Int: 2})
		if got := r.Float(); got != f+0.5+2 {
			t.Errorf("Float() with increments = %g, want %g", got, f+2.5)
		}
	}
}
