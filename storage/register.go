package storage

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"slices"
	"strconv"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// Register is one element: a string's value, a hash field, a set member or
// a sorted-set member's score. It is a last-writer-wins register with a
// removal stamp and, for counters, the increments stamped after its base.
//
// Properties (DESIGN.md, "Merge rules"):
//  1. A write (Set) replaces the base only if its stamp is larger; equal
//     stamps keep the larger value, so merge order never matters.
//  2. A removal at stamp d kills the base and every increment stamped before
//     d; writes and increments stamped after d live.
//  3. Increments stamped after the base add up, whichever region made them
//     and in whatever order they arrive; an increment stamped before the
//     base vanishes.
type Register struct {
	// Val is the base value. It is nil when the base is dead or was never
	// written (then an increment counts from zero).
	Val []byte
	// TS is the stamp of the write that set Val, or zero.
	TS hlc.Timestamp
	// Del is the stamp of the last removal, or zero.
	Del hlc.Timestamp
	// Incs are the live increments, ascending by stamp.
	// Invariant: every Incs[i].TS is after TS and not before Del.
	Incs []Inc
}

// Inc is one increment of a counter.
type Inc struct {
	TS      hlc.Timestamp
	Int     int64
	Float   float64
	IsFloat bool
}

// last returns the stamp of the latest write (base or increment).
func (r *Register) last() hlc.Timestamp {
	if n := len(r.Incs); n > 0 {
		return hlc.Max(r.TS, r.Incs[n-1].TS)
	}
	return r.TS
}

// Live reports whether the element exists. A write stamped like the
// removal survives it: a command that deletes a key and writes it again
// (SET over an old value: OpDel then OpSet) stamps both alike.
func (r *Register) Live() bool {
	l := r.last()
	return !l.IsZero() && !l.Less(r.Del)
}

// Stamp returns the largest stamp the register holds, live or not.
func (r *Register) Stamp() hlc.Timestamp { return hlc.Max(r.last(), r.Del) }

// Set writes a new base value stamped ts and reports whether it changed the
// register.
func (r *Register) Set(ts hlc.Timestamp, val []byte) bool {
	if ts.Less(r.Del) {
		return false
	}
	switch c := ts.Compare(r.TS); {
	case c < 0:
		return false
	case c == 0 && bytes.Compare(val, r.Val) <= 0 && r.Val != nil:
		return false
	}
	r.Val = bytes.Clone(val)
	if r.Val == nil {
		r.Val = []byte{}
	}
	r.TS = ts
	r.dropIncsBefore(ts, true)
	return true
}

// Remove kills the element as of ts and reports whether that changed it.
// A base or increment stamped like the removal survives it (a command that
// removes and rewrites an element stamps both alike). A dead base is
// forgotten, stamp included, so that the register is the same whichever
// order its writes and removals arrived in.
func (r *Register) Remove(ts hlc.Timestamp) bool {
	if !r.Del.Less(ts) {
		return false
	}
	r.Del = ts
	if r.TS.Less(ts) {
		r.Val, r.TS = nil, hlc.Timestamp{}
	}
	r.dropIncsBefore(ts, false)
	return true
}

// cut applies a key-level delete at ts: the base and the increments
// stamped before ts die, and a removal stamped at or before ts is
// forgotten, because the key's floor stands for it (and a removal that
// arrives after the floor, stamped at or before it, is never applied). It
// reports whether the register holds nothing any more, so that the
// element can go: a register cut at ts is then the same whether its
// writes arrived before the delete or after it (and were dropped).
func (r *Register) cut(ts hlc.Timestamp) (empty bool) {
	if r.TS.Less(ts) {
		r.Val, r.TS = nil, hlc.Timestamp{}
	}
	r.dropIncsBefore(ts, false)
	if !ts.Less(r.Del) {
		r.Del = hlc.Timestamp{}
	}
	return r.empty()
}

// empty reports whether the register holds no write, increment or
// removal.
func (r *Register) empty() bool {
	return r.Val == nil && r.TS.IsZero() && r.Del.IsZero() && len(r.Incs) == 0
}

// Incr adds one increment and reports whether it was kept.
func (r *Register) Incr(inc Inc) bool {
	if !r.TS.Less(inc.TS) || inc.TS.Less(r.Del) {
		return false
	}
	i, found := slices.BinarySearchFunc(r.Incs, inc.TS, func(a Inc, t hlc.Timestamp) int { return a.TS.Compare(t) })
	if found {
		return false // the same increment, delivered twice
	}
	r.Incs = slices.Insert(r.Incs, i, inc)
	return true
}

// dropIncsBefore drops the increments stamped before ts, and those stamped
// at ts too if inclusive.
func (r *Register) dropIncsBefore(ts hlc.Timestamp, inclusive bool) {
	i := 0
	for i < len(r.Incs) && (r.Incs[i].TS.Less(ts) || inclusive && r.Incs[i].TS == ts) {
		i++
	}
	if i > 0 {
		r.Incs = slices.Delete(r.Incs, 0, i)
	}
}

// base returns the live base value, or nil.
func (r *Register) base() []byte {
	if r.Val != nil && !r.TS.Less(r.Del) {
		return r.Val
	}
	return nil
}

// Value returns the element's value: the base, plus the increments when
// there are any. The caller must not modify the returned slice.
func (r *Register) Value() []byte {
	if len(r.Incs) == 0 {
		return r.base()
	}
	return sumValue(r.base(), r.Incs)
}

// Float returns the value as a float, for sorted-set scores.
func (r *Register) Float() float64 {
	var f float64
	if b := r.base(); len(b) == 8 {
		f = math.Float64frombits(leUint64(b))
	}
	for _, inc := range r.Incs {
		if inc.IsFloat {
			f += inc.Float
		} else {
			f += float64(inc.Int)
		}
	}
	return f
}

// FloatBytes encodes a score as a register base value.
func FloatBytes(f float64) []byte {
	var b [8]byte
	v := math.Float64bits(f)
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
	return b[:]
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := range 8 {
		v |= uint64(b[i]) << (8 * i)
	}
	return v
}

// sumValue adds increments to a base. When the base is an integer and every
// increment is, the sum is the exact integer: the evaluator refuses an
// increment that would leave int64 in its own region, but increments made
// concurrently in several regions can together go past it, and wrapping
// around would turn a large positive counter negative. Such a sum is kept
// exact (math/big) and printed in decimal; as in Valkey for any integer
// out of range, INCR on it then fails, and every region computes the same
// value whatever order the increments arrived in. Otherwise the sum is a
// float, added in stamp order so every region computes the same bits. A
// base that is not a number counts as zero.
func sumValue(base []byte, incs []Inc) []byte {
	allInt := true
	for _, inc := range incs {
		if inc.IsFloat {
			allInt = false
			break
		}
	}
	if allInt {
		if v, ok := sumInt(base, incs); ok {
			return v
		}
	}
	f, err := strconv.ParseFloat(string(base), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	for _, inc := range incs {
		if inc.IsFloat {
			f += inc.Float
		} else {
			f += float64(inc.Int)
		}
	}
	return FormatFloat(nil, f)
}

// sumInt adds integer increments to an integer base (nil counts as 0),
// exactly: in int64 while the sum fits, in math/big once it does not (or
// once the base itself is an integer beyond int64, the folded result of
// an earlier such sum). It reports false if the base is not an integer.
func sumInt(base []byte, incs []Inc) ([]byte, bool) {
	var n int64
	if base != nil {
		var err error
		n, err = strconv.ParseInt(string(base), 10, 64)
		if err != nil {
			if !errors.Is(err, strconv.ErrRange) {
				return nil, false
			}
			b, ok := new(big.Int).SetString(string(base), 10)
			if !ok {
				return nil, false
			}
			return sumBig(b, incs), true
		}
	}
	for i, inc := range incs {
		s := n + inc.Int
		if (inc.Int > 0 && s < n) || (inc.Int < 0 && s > n) {
			return sumBig(big.NewInt(n), incs[i:]), true
		}
		n = s
	}
	return strconv.AppendInt(nil, n, 10), true
}

func sumBig(b *big.Int, incs []Inc) []byte {
	var d big.Int
	for _, inc := range incs {
		b.Add(b, d.SetInt64(inc.Int))
	}
	return b.Append(nil, 10)
}

// FormatFloat appends f the way Valkey's INCRBYFLOAT and HINCRBYFLOAT print
// it: plain decimal, no exponent, no trailing zeros.
func FormatFloat(dst []byte, f float64) []byte {
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// compact folds increments stamped at or before stable into the base and
// reports whether the register is a tombstone that can be dropped.
// Scores (score true) fold as float bits, other registers as text.
func (r *Register) fold(stable hlc.Timestamp, score bool) (drop bool) {
	n := 0
	for n < len(r.Incs) && !stable.Less(r.Incs[n].TS) {
		n++
	}
	if n > 0 {
		var v []byte
		if score {
			folded := Register{Val: r.Val, TS: r.TS, Del: r.Del, Incs: r.Incs[:n]}
			v = FloatBytes(folded.Float())
		} else {
			v = sumValue(r.base(), r.Incs[:n])
		}
		r.TS = hlc.Max(r.TS, r.Incs[n-1].TS)
		r.Val = v
		r.Incs = slices.Delete(r.Incs, 0, n)
	}
	return !r.Live() && !stable.Less(r.Del)
}

func (r *Register) cloneReg() *Register {
	c := *r
	c.Val = bytes.Clone(r.Val)
	c.Incs = slices.Clone(r.Incs)
	return &c
}

func (r *Register) encode(e *encoder) {
	if r.Val == nil {
		e.byte(0)
	} else {
		e.byte(1)
		e.bytes(r.Val)
	}
	e.ts(r.TS)
	e.ts(r.Del)
	e.uvarint(uint64(len(r.Incs)))
	for _, inc := range r.Incs {
		e.ts(inc.TS)
		if inc.IsFloat {
			e.byte(1)
			e.float(inc.Float)
		} else {
			e.byte(0)
			e.varint(inc.Int)
		}
	}
}

func decodeRegister(d *decoder) *Register {
	r := &Register{}
	switch d.byte() {
	case 0:
	case 1:
		r.Val = d.bytes()
	default:
		d.fail("bad register flag")
	}
	r.TS = d.ts()
	r.Del = d.ts()
	n := d.count(5)
	for i := 0; i < n && d.err == nil; i++ {
		inc := Inc{TS: d.ts()}
		switch d.byte() {
		case 0:
			inc.Int = d.varint()
		case 1:
			inc.IsFloat = true
			inc.Float = d.float()
		default:
			d.fail("bad increment flag")
		}
		if n := len(r.Incs); n > 0 && !r.Incs[n-1].TS.Less(inc.TS) {
			d.fail("increments out of order")
		}
		r.Incs = append(r.Incs, inc)
	}
	return r
}
