package storage

import (
	"slices"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// List is a list value: a sequence CRDT in the manner of RGA (Roh et al.,
// 2011). Every item has a unique ItemID; an insert names the item it goes
// right after; removed items stay as tombstones (they may still be named by
// inserts from other regions) until their removal is stable.
//
// Ordering rule: an item inserted after ref goes right after ref, but after
// every item already following ref whose id is larger (those were inserted
// concurrently and win the spot, and their successors, being causally later,
// have larger ids still). With HLC ids this gives every region the same
// order whatever the arrival order.
//
// Removal wins: an item, once removed (OpLRem, or a key-level delete stamped
// after its insertion), stays dead for ever, even if a concurrent LSET
// stamped after the removal reaches it. An item's identity is its insertion;
// a new value never brings a popped item back.
type List struct {
	items []*litem // items[head:] in order, tombstones included
	head  int
	// Invariant: live+dead == len(items)-head; live counts items whose
	// alive() is true.
	live int
	dead int
	// maxID is at least every id ever inserted: an insert with a larger
	// id (every local push) is new without a search for duplicates.
	maxID ItemID
	// hint is where the last change happened, where pos looks first: a
	// batch removes or sets neighbouring items one after the other. It
	// may be stale (out of range, or moved): it only guides the search.
	hint int
}

type litem struct {
	id  ItemID
	reg Register // the item's value; removal sets reg.Del
}

// alive reports whether the item has never been removed.
func (it *litem) alive() bool { return it.reg.Del.IsZero() }

func newList() *List { return &List{} }

func (l *List) kind() Kind { return KindList }

// Len returns the number of live items.
func (l *List) Len() int { return l.live }

// Item is a live list item as commands see it.
type Item struct {
	ID    ItemID
	Value []byte
}

// Range calls fn for live items from index start (0 = head) until it
// returns false.
func (l *List) Range(start int, fn func(i int, it Item) bool) {
	if start < 0 {
		start = 0
	}
	idx := 0
	if l.dead == 0 {
		for j := l.head + start; j < len(l.items); j++ {
			if !fn(start, Item{l.items[j].id, l.items[j].reg.Value()}) {
				return
			}
			start++
		}
		return
	}
	for _, it := range l.items[l.head:] {
		if !it.alive() {
			continue
		}
		if idx >= start && !fn(idx, Item{it.id, it.reg.Value()}) {
			return
		}
		idx++
	}
}

// Reverse calls fn for live items from index start downwards until it
// returns false.
func (l *List) Reverse(start int, fn func(i int, it Item) bool) {
	if start >= l.live {
		start = l.live - 1
	}
	if l.dead == 0 {
		for i := start; i >= 0; i-- {
			it := l.items[l.head+i]
			if !fn(i, Item{it.id, it.reg.Value()}) {
				return
			}
		}
		return
	}
	idx := l.live - 1
	for j := len(l.items) - 1; j >= l.head; j-- {
		it := l.items[j]
		if !it.alive() {
			continue
		}
		if idx <= start && !fn(idx, Item{it.id, it.reg.Value()}) {
			return
		}
		idx--
	}
}

// At returns the live item at index i (negative counts from the tail).
func (l *List) At(i int) (Item, bool) {
	if i < 0 {
		i += l.live
	}
	if i < 0 || i >= l.live {
		return Item{}, false
	}
	var out Item
	found := false
	if i < l.live/2 {
		l.Range(i, func(_ int, it Item) bool { out, found = it, true; return false })
	} else {
		l.Reverse(i, func(_ int, it Item) bool { out, found = it, true; return false })
	}
	return out, found
}

// Last returns the id of the last item, tombstones included (where RPUSH
// inserts after), or the zero ItemID for an empty list.
func (l *List) Last() ItemID {
	if len(l.items) == l.head {
		return ItemID{}
	}
	return l.items[len(l.items)-1].id
}

// Before returns the id of the item right before id, tombstones included
// (where LINSERT BEFORE inserts after), or the zero ItemID at the head.
func (l *List) Before(id ItemID) ItemID {
	p := l.pos(id)
	if p <= l.head {
		return ItemID{}
	}
	return l.items[p-1].id
}

// pos returns the index in l.items of id, or -1. It looks at both ends
// first, where pushes and pops happen, then outwards from the hint, so
// that a batch of neighbouring removals (LPOP or LTRIM of many items)
// costs little per item.
func (l *List) pos(id ItemID) int {
	n := len(l.items)
	if n == l.head {
		return -1
	}
	if l.items[n-1].id == id {
		return n - 1
	}
	if l.items[l.head].id == id {
		return l.head
	}
	h := min(max(l.hint, l.head), n-1)
	for d := 0; h-d >= l.head || h+d < n; d++ {
		if j := h + d; j < n && l.items[j].id == id {
			return j
		}
		if j := h - d; d > 0 && j >= l.head && l.items[j].id == id {
			return j
		}
	}
	return -1
}

func (l *List) insert(id, ref ItemID, ts hlc.Timestamp, val []byte) {
	if id.Compare(l.maxID) <= 0 && l.pos(id) >= 0 {
		return // delivered twice
	}
	l.maxID = maxItemID(l.maxID, id)
	var j int
	if ref.IsZero() {
		j = l.head
	} else {
		p := l.pos(ref)
		if p < 0 {
			// The reference is gone: its removal was stable, so nothing
			// concurrent with it can still arrive. Append at the tail.
			p = len(l.items) - 1
		}
		j = p + 1
	}
	for j < len(l.items) && id.Compare(l.items[j].id) < 0 {
		j++
	}
	it := &litem{id: id}
	it.reg.Set(ts, val)
	if j == l.head && l.head > 0 {
		l.head--
		l.items[l.head] = it
	} else if j == l.head {
		// Prepend on a full front: grow with room at the front.
		n := len(l.items) - l.head
		room := n + 8
		items := make([]*litem, room+n, room+n+n/2+8)
		copy(items[room:], l.items[l.head:])
		l.items, l.head = items, room
		l.head--
		l.items[l.head] = it
	} else {
		l.items = slices.Insert(l.items, j, it)
	}
	l.live++
}

func maxItemID(a, b ItemID) ItemID {
	if a.Compare(b) < 0 {
		return b
	}
	return a
}

func (l *List) remove(id ItemID, ts hlc.Timestamp) {
	p := l.pos(id)
	if p < 0 {
		return
	}
	l.hint = p
	l.kill(l.items[p], ts)
}

// kill removes an item as of ts. A dead item keeps no value: only its
// latest removal stamp Del and, as TS, the largest stamp of an LSET at or
// after Del, or else its push's stamp. That state is the same whatever
// order pushes, removals and LSETs arrive in (an LSET stamped before the
// key's floor is dropped on arrival, so one before Del must not count).
func (l *List) kill(it *litem, ts hlc.Timestamp) {
	if !it.reg.Del.Less(ts) {
		return
	}
	if it.alive() {
		l.live--
		l.dead++
	}
	keep := it.reg.TS
	if keep.Less(ts) {
		keep = it.id.TS
	}
	it.reg = Register{TS: keep, Del: ts}
}

// set writes an item's value. A dead item stays dead (removal wins) and
// only records the stamp of a write at or after its removal (see kill).
func (l *List) set(id ItemID, ts hlc.Timestamp, val []byte) {
	p := l.pos(id)
	if p < 0 {
		return
	}
	l.hint = p
	if it := l.items[p]; it.alive() {
		it.reg.Set(ts, val)
	} else if !ts.Less(it.reg.Del) && it.reg.TS.Less(ts) {
		it.reg.TS = ts
	}
}

func (l *List) floor(ts hlc.Timestamp) {
	for _, it := range l.items[l.head:] {
		// An item's identity is its insertion: the floor kills items pushed
		// before it, even if their value was set (LSET) afterwards.
		if it.id.TS.Less(ts) {
			l.kill(it, ts)
		}
	}
}

func (l *List) stamp() hlc.Timestamp {
	var s hlc.Timestamp
	for _, it := range l.items[l.head:] {
		s = hlc.Max(s, it.reg.Stamp())
	}
	return s
}

func (l *List) compact(stable hlc.Timestamp) {
	if l.dead == 0 {
		return
	}
	gone := func(it *litem) bool { return !it.alive() && !stable.Less(it.reg.Del) }
	for l.head < len(l.items) && gone(l.items[l.head]) {
		l.items[l.head] = nil
		l.head++
		l.dead--
	}
	for n := len(l.items); n > l.head && gone(l.items[n-1]); n-- {
		l.items[n-1] = nil
		l.items = l.items[:n-1]
		l.dead--
	}
	if l.dead > 0 {
		kept := l.items[:l.head]
		for _, it := range l.items[l.head:] {
			if gone(it) {
				l.dead--
				continue
			}
			kept = append(kept, it)
		}
		clear(l.items[len(kept):])
		l.items = kept
	}
	if l.head == len(l.items) {
		l.items, l.head = nil, 0
	}
}

func (l *List) tombstones() bool { return l.dead > 0 }

func (l *List) clone() value {
	c := &List{live: l.live, dead: l.dead, maxID: l.maxID, items: make([]*litem, 0, len(l.items)-l.head)}
	for _, it := range l.items[l.head:] {
		ci := &litem{id: it.id, reg: *it.reg.cloneReg()}
		c.items = append(c.items, ci)
	}
	return c
}

func (l *List) encode(e *encoder) {
	e.uvarint(uint64(len(l.items) - l.head))
	for _, it := range l.items[l.head:] {
		e.itemID(it.id)
		it.reg.encode(e)
	}
}

func decodeList(d *decoder) *List {
	l := newList()
	n := d.count(8)
	for i := 0; i < n && d.err == nil; i++ {
		it := &litem{id: d.itemID()}
		it.reg = *decodeRegister(d)
		l.items = append(l.items, it)
		l.maxID = maxItemID(l.maxID, it.id)
		if it.alive() {
			l.live++
		} else {
			l.dead++
		}
	}
	return l
}
