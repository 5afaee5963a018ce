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
//
// Compaction. A tombstone T goes (compactAt) when both hold:
//
//  1. T's removal stamp is at or before the list frontier L
//     (Store.SetFrontiers). The evaluator names only items live in its view
//     as references (LastLive, LiveBefore), and L promises that every
//     effect still to come was evaluated by a region that had applied every
//     effect stamped at or before L, so T's removal among them: no insert
//     still to come names T, or any other item that is gone.
//  2. The item kept right after T (in the order, once the tombstones going
//     with T are gone) is stamped at or before the stable frontier F, or
//     there is none. Compaction runs when every effect stamped at or before
//     F has been applied (SetFrontiers' promise; on one node, after the
//     batch stamped F), so an insert still to come is stamped after F and
//     after T's id (which is below T's removal, at or before F): its
//     larger-id scan stops at that item exactly as it stopped at T, and
//     lands in the same gap. Without the rule a scan could run on past T's place: with T
//     (id 5) and T's child W (id 8) after ref R, an insert I (id 7) after R
//     goes R I T W where T is kept, and R W I where it is gone.
//
// Why compacting stores converge: let S be the order a store would have
// had it never compacted, and S' the order it has. By induction over
// inserts and compactions, S' is S without the compacted items, and
// between a compacted item and the next item S' holds there is none S'
// holds (rule 2 and the argument under it: an insert lands before the
// first item with a smaller id, which a compacted item always is to an
// insert still to come, so nothing lands inside a compacted gap; rule 1
// makes sure an insert's reference is still held). Every store's S is the
// same (RGA), so every store's live order is the same, and two stores that
// have applied the same effects and compacted at the same frontiers hold
// the same tombstones as well. A tombstone that rule 2 holds back goes once
// F passes the item after it; at most one tombstone per run stays.
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
	// gc remembers what the last full compaction pass left waiting, so
	// that a write to a list whose tombstones cannot go yet costs no walk.
	gc listGC
}

// listGC is what a list's remaining tombstones wait for. The zero value
// means "unknown": the next compaction walks the list.
type listGC struct {
	// settled is set by a full pass and cleared by every removal.
	settled bool
	// list is the smallest removal stamp above the list frontier, zero if
	// none: a pass is due once the list frontier reaches it.
	list hlc.Timestamp
	// stable is the smallest stamp of an item that holds a tombstone back
	// (rule 2), zero if none: a pass is due once the stable frontier
	// reaches it.
	stable hlc.Timestamp
}

// due reports whether a full pass may drop something.
func (g *listGC) due(stable, listStable hlc.Timestamp) bool {
	return !g.settled ||
		!g.list.IsZero() && !listStable.Less(g.list) ||
		!g.stable.IsZero() && !stable.Less(g.stable)
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

// Last returns the id of the last item, tombstones included, or the zero
// ItemID for an empty list.
//
// Deprecated: an insertion reference must be a live item, or another region
// may have compacted it (see List). Use LastLive.
func (l *List) Last() ItemID {
	if len(l.items) == l.head {
		return ItemID{}
	}
	return l.items[len(l.items)-1].id
}

// Before returns the id of the item right before id, tombstones included,
// or the zero ItemID at the head.
//
// Deprecated: an insertion reference must be a live item, or another region
// may have compacted it (see List). Use LiveBefore.
func (l *List) Before(id ItemID) ItemID {
	p := l.pos(id)
	if p <= l.head {
		return ItemID{}
	}
	return l.items[p-1].id
}

// LastLive returns the id of the last live item, where RPUSH inserts
// after, or the zero ItemID (the head) when no item is live. Tombstones
// after that item have smaller ids than any new item, so the new item
// goes before them, which is the end of the list as commands see it.
func (l *List) LastLive() ItemID {
	for j := len(l.items) - 1; j >= l.head; j-- {
		if it := l.items[j]; it.alive() {
			return it.id
		}
	}
	return ItemID{}
}

// LiveBefore returns the id of the last live item before id, where LINSERT
// BEFORE id inserts after, or the zero ItemID (the head) when there is
// none. It returns the zero ItemID if id is not in the list.
func (l *List) LiveBefore(id ItemID) ItemID {
	p := l.pos(id)
	if p < 0 {
		return ItemID{}
	}
	for j := p - 1; j >= l.head; j-- {
		if it := l.items[j]; it.alive() {
			return it.id
		}
	}
	return ItemID{}
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
			// The reference is gone. Under the promises of SetFrontiers
			// it cannot be (see List): only an evaluator that names a
			// tombstone, or a frontier given too early, gets here.
			// Append at the tail, the same in every store that lacks
			// the reference.
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
	l.gc.settled = false
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

// compact is compactAt with both frontiers at stable.
func (l *List) compact(stable hlc.Timestamp) { l.compactAt(stable, stable) }

// compactAt drops the tombstones that the frontiers let go (see List: a
// tombstone removed at or before listStable, unless the item kept after
// it is stamped at or after stable). Runs of tombstones at either end go
// without a walk; the rest takes a walk over the list, skipped while
// nothing the last walk waited for has happened.
func (l *List) compactAt(stable, listStable hlc.Timestamp) {
	if l.dead == 0 {
		return
	}
	gone := func(it *litem) bool { return !it.alive() && !listStable.Less(it.reg.Del) }
	// Nothing follows a run of tombstones at the tail.
	for n := len(l.items); n > l.head && gone(l.items[n-1]); n-- {
		l.items[n-1] = nil
		l.items = l.items[:n-1]
		l.dead--
	}
	// A run at the head goes if the item after it is old (stamped at or
	// before stable); if that item is recent, the run's last tombstone stays and,
	// being old itself, lets the others go.
	k := l.head
	for k < len(l.items) && gone(l.items[k]) {
		k++
	}
	end := k
	if k < len(l.items) && stable.Less(l.items[k].id.TS) {
		end = k - 1
		if end > l.head && stable.Less(l.items[end].id.TS) {
			end = l.head // a malformed removal stamped before its insert
		}
	}
	for ; l.head < end; l.head++ {
		l.items[l.head] = nil
		l.dead--
	}
	if l.dead > 0 && l.gc.due(stable, listStable) {
		l.sweep(stable, listStable)
	}
	if l.head == len(l.items) {
		l.items, l.head = nil, 0
	} else if n := len(l.items) - l.head; l.head >= 64 && l.head > n {
		// Give back the room that pops at the head left (a queue's
		// head moves on for ever).
		items := make([]*litem, n, n+n/4+8)
		copy(items, l.items[l.head:])
		l.items, l.head, l.hint = items, 0, 0
	}
}

// sweep walks the list from the tail, dropping every tombstone removed at
// or before listStable whose nearest kept successor is stamped at or
// before stable (or that has none), and packs the kept items at the end of the
// slice. It records in l.gc what the tombstones it keeps wait for.
func (l *List) sweep(stable, listStable hlc.Timestamp) {
	var g listGC
	g.settled = true
	w := len(l.items)
	guard := true // the nearest item kept after j is old (stamped at or before stable), or there is none
	var next hlc.Timestamp
	for j := len(l.items) - 1; j >= l.head; j-- {
		it := l.items[j]
		if !it.alive() {
			if listStable.Less(it.reg.Del) {
				if g.list.IsZero() || it.reg.Del.Less(g.list) {
					g.list = it.reg.Del
				}
			} else if guard {
				l.dead--
				continue
			} else if g.stable.IsZero() || next.Less(g.stable) {
				g.stable = next
			}
		}
		w--
		l.items[w] = it
		guard = !stable.Less(it.id.TS)
		next = it.id.TS
	}
	clear(l.items[l.head:w])
	l.head = w
	l.gc = g
}

func (l *List) tombstones() bool { return l.dead > 0 }

// compactable: compactAt returns at once when no item is dead.
func (l *List) compactable() bool { return l.dead > 0 }

func (l *List) clone() value {
	c := &List{live: l.live, dead: l.dead, maxID: l.maxID, gc: l.gc, items: make([]*litem, 0, len(l.items)-l.head)}
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
