package storage

import (
	"maps"
	"sort"

	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/tidwall/btree"
)

// ZItem is one sorted-set member with its score.
type ZItem struct {
	Member string
	Score  float64
}

// zless orders by score, then member bytes, as Valkey does.
func zless(a, b ZItem) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Member < b.Member
}

// ZSet is a sorted-set value: members whose scores are Registers (so
// ZINCRBY from several regions adds up), indexed by (score, member).
type ZSet struct {
	members map[string]*zmember
	index   *btree.BTreeG[ZItem] // live members only
	pending map[string]struct{}  // members with tombstones or increments
}

type zmember struct {
	reg   Register
	score float64 // cached reg.Float() while live
	live  bool
}

func newZSet() *ZSet {
	return &ZSet{members: map[string]*zmember{}, index: btree.NewBTreeGOptions(zless, btree.Options{NoLocks: true})}
}

func (z *ZSet) kind() Kind { return KindZSet }

// Len returns the number of members.
func (z *ZSet) Len() int { return z.index.Len() }

// Score returns a member's score.
func (z *ZSet) Score(m string) (float64, bool) {
	zm := z.members[m]
	if zm == nil || !zm.live {
		return 0, false
	}
	return zm.score, true
}

// Rank returns a member's 0-based rank in ascending order.
func (z *ZSet) Rank(m string) (int, bool) {
	s, ok := z.Score(m)
	if !ok {
		return 0, false
	}
	return z.LowerBound(ZItem{Member: m, Score: s}), true
}

// At returns the member at ascending rank i (0 <= i < Len).
func (z *ZSet) At(i int) ZItem {
	it, _ := z.index.GetAt(i)
	return it
}

// LowerBound returns the rank of the first member not ordered before it
// (Len if there is none).
func (z *ZSet) LowerBound(it ZItem) int {
	return sort.Search(z.index.Len(), func(i int) bool {
		x, _ := z.index.GetAt(i)
		return !zless(x, it)
	})
}

// Ascend calls fn for members from rank i upwards until it returns false.
func (z *ZSet) Ascend(i int, fn func(ZItem) bool) {
	if i >= z.index.Len() {
		return
	}
	if i < 0 {
		i = 0
	}
	z.index.Ascend(z.At(i), fn)
}

// Descend calls fn for members from rank i downwards until it returns false.
func (z *ZSet) Descend(i int, fn func(ZItem) bool) {
	if i < 0 {
		return
	}
	if i >= z.index.Len() {
		i = z.index.Len() - 1
	}
	z.index.Descend(z.At(i), fn)
}

func (z *ZSet) update(m string, op func(r *Register) bool) {
	zm := z.members[m]
	if zm == nil {
		zm = &zmember{}
		z.members[m] = zm
	}
	if !op(&zm.reg) {
		return
	}
	if zm.live {
		z.index.Delete(ZItem{Member: m, Score: zm.score})
	}
	zm.live = zm.reg.Live()
	if zm.live {
		zm.score = zm.reg.Float()
		z.index.Set(ZItem{Member: m, Score: zm.score})
	}
	if !zm.live || len(zm.reg.Incs) > 0 {
		if z.pending == nil {
			z.pending = map[string]struct{}{}
		}
		z.pending[m] = struct{}{}
	}
}

func (z *ZSet) add(ts hlc.Timestamp, m string, score float64) {
	z.update(m, func(r *Register) bool { return r.Set(ts, FloatBytes(score)) })
}

func (z *ZSet) incr(ts hlc.Timestamp, m string, by float64) {
	z.update(m, func(r *Register) bool { return r.Incr(Inc{TS: ts, Float: by, IsFloat: true}) })
}

func (z *ZSet) rem(ts hlc.Timestamp, m string) {
	z.update(m, func(r *Register) bool { return r.Remove(ts) })
}

func (z *ZSet) floor(ts hlc.Timestamp) {
	for m, zm := range z.members {
		z.update(m, func(r *Register) bool { r.cut(ts); return true })
		if zm.reg.empty() {
			delete(z.members, m)
			delete(z.pending, m)
		}
	}
}

func (z *ZSet) stamp() hlc.Timestamp {
	var s hlc.Timestamp
	for _, zm := range z.members {
		s = hlc.Max(s, zm.reg.Stamp())
	}
	return s
}

func (z *ZSet) compact(stable hlc.Timestamp) {
	for m := range z.pending {
		zm := z.members[m]
		if zm == nil {
			delete(z.pending, m)
			continue
		}
		if zm.reg.fold(stable, true) {
			delete(z.members, m)
			delete(z.pending, m)
		} else if zm.reg.Live() && len(zm.reg.Incs) == 0 {
			delete(z.pending, m)
		}
	}
}

func (z *ZSet) tombstones() bool { return len(z.members) > z.index.Len() }

// compactable: compact looks only at pending members.
func (z *ZSet) compactable() bool { return len(z.pending) > 0 }

func (z *ZSet) clone() value {
	c := &ZSet{members: make(map[string]*zmember, len(z.members)), index: z.index.Copy(), pending: maps.Clone(z.pending)}
	for m, zm := range z.members {
		cm := *zm
		cm.reg = *zm.reg.cloneReg()
		c.members[m] = &cm
	}
	return c
}

func (z *ZSet) encode(e *encoder) {
	e.uvarint(uint64(len(z.members)))
	for _, m := range sortedKeys(z.members) {
		e.string(m)
		z.members[m].reg.encode(e)
	}
}

func decodeZSet(d *decoder) *ZSet {
	z := newZSet()
	n := d.count(4)
	prev := ""
	for i := 0; i < n && d.err == nil; i++ {
		m := d.string()
		if i > 0 && m <= prev {
			d.fail("sorted-set members out of order")
			break
		}
		prev = m
		r := decodeRegister(d)
		if d.err != nil {
			break
		}
		if r.Val != nil && len(r.Val) != 8 {
			d.fail("bad score")
			break
		}
		z.update(m, func(reg *Register) bool { *reg = *r; return true })
	}
	return z
}
