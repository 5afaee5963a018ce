package storage

import (
	"math"
	"slices"

	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/tidwall/btree"
)

// Expiry between regions.
//
// A key's TTL is a register: the TTL write with the largest stamp wins
// (Object.TTL). Readers hide a key whose deadline has passed by their
// clock. Within one region that is all storage does: the evaluator
// deletes expired keys with OpDel effects stamped when it runs, and every
// TTL change is in the same log, so none is lost.
//
// Between regions such a delete is stamped later than a TTL change
// another region made before the deadline and had not shipped yet, and
// removes it with the key. So a linked region does not write expiry
// deletes: a key expires at its deadline as a consequence of the merged
// state, once the stable frontier says that state is final there.
//
// The rule. The TTL write in force at a stamp is the last one stamped
// before it (a key-level delete ends it too: it kills every TTL write
// stamped before it). Under a TTL write t with a deadline, the key
// expires at t.expiry(), the smallest stamp with wall time t.At (or, for
// a deadline at or before t's own stamp, the smallest stamp after t.TS),
// if t is still in force there: no later TTL write is stamped before
// that. Expiring is a key-level delete at that stamp: every element and
// TTL write stamped before it dies, anything stamped at or after it
// stays. Once the stable frontier reaches the expiry stamp, every TTL
// write stamped before it has been applied everywhere: every region
// decides the same, and [Store.ExpireStable] applies the delete.
//
// The register alone cannot decide it: a TTL write stamped after the
// deadline (from a region that had not seen the expiring write, or
// whose clock runs ahead) may have replaced the expiring write in one
// region before the frontier got there, and not in another. So the
// object keeps the TTL writes it replaced while they may still matter
// (Object.hist): those stamped after the stable frontier (a write still
// to come, stamped before one of them, must find it to know what
// replaces it), and those that expire before the next write replaces
// them, until ExpireStable decides them. Most of the time there are
// none: a replaced write goes once the frontier passes it.

// expiry returns the stamp at which the key expires under the TTL write
// t: the smallest stamp with wall time t.At or, when t is stamped at or
// after that (its region's clock ran ahead of the deadline it computed),
// the smallest stamp after t itself. A key-level delete at that stamp
// removes what the key held under t, t included, and nothing written at
// or after the deadline.
func (t TTL) expiry() hlc.Timestamp {
	e := hlc.Timestamp{Wall: t.At}
	if !t.TS.Less(e) {
		e = after(t.TS)
	}
	return e
}

// expiresBefore reports whether the key expires under t before the TTL
// write stamped next replaces it; a zero next: nothing replaces it.
func (t TTL) expiresBefore(next hlc.Timestamp) bool {
	return t.At != 0 && (next.IsZero() || !next.Less(t.expiry()))
}

// after returns the smallest stamp greater than t.
func after(t hlc.Timestamp) hlc.Timestamp {
	switch {
	case t.Node < math.MaxUint32:
		t.Node++
	case t.Region < math.MaxUint32:
		t.Region, t.Node = t.Region+1, 0
	case t.Logical < math.MaxUint32:
		t.Logical, t.Region, t.Node = t.Logical+1, 0, 0
	default:
		t = hlc.Timestamp{Wall: t.Wall + 1}
	}
	return t
}

// ttlHist returns the key's TTL history (nil if none). The slice belongs
// to the object.
func (o *Object) ttlHist() []TTL {
	if o.hist == nil {
		return nil
	}
	return *o.hist
}

// setTTLHist makes h the key's TTL history; o must be writable.
func (o *Object) setTTLHist(h []TTL) {
	switch {
	case len(h) == 0:
		o.hist = nil
	case o.hist == nil:
		o.hist = &h
	default:
		*o.hist = h
	}
}

// setTTL merges one TTL write (not below the key's floor) into the
// register, keeping the write it replaces, or the write itself if it
// is older than the register, in the history; compactTTL drops them
// when they no longer matter. A write already held is a duplicate.
//
// A replaced write that compactTTL would drop at once under the frontier
// stable is not kept at all: in one region, whose frontier is every
// write's own stamp, a TTL change then allocates nothing.
func (o *Object) setTTL(t TTL, stable hlc.Timestamp) {
	switch c := t.TS.Compare(o.TTL.TS); {
	case c == 0:
		return
	case c > 0:
		if r := o.TTL; !r.TS.IsZero() && (stable.Less(r.TS) || r.expiresBefore(t.TS) && stable.Less(r.expiry())) {
			o.setTTLHist(append(o.ttlHist(), r))
		}
		o.TTL = t
	default:
		h := o.ttlHist()
		i, found := slices.BinarySearchFunc(h, t.TS, func(h TTL, ts hlc.Timestamp) int { return h.TS.Compare(ts) })
		if !found {
			o.setTTLHist(slices.Insert(h, i, t))
		}
	}
}

// cutTTL kills the TTL writes stamped before ts (a key-level delete).
func (o *Object) cutTTL(ts hlc.Timestamp) {
	if o.TTL.TS.Less(ts) {
		o.TTL, o.hist = TTL{}, nil
		return
	}
	h := o.ttlHist()
	n := 0
	for n < len(h) && h[n].TS.Less(ts) {
		n++
	}
	if n > 0 {
		o.setTTLHist(slices.Delete(h, 0, n))
	}
}

// ttlNext returns the stamp of the TTL write after h[i], h being the
// key's history: the next one, or the register's.
func (o *Object) ttlNext(h []TTL, i int) hlc.Timestamp {
	if i+1 < len(h) {
		return h[i+1].TS
	}
	return o.TTL.TS
}

// expiryAt returns the largest expiry stamp at or before upTo among the
// key's TTL writes that expire before a later one replaces them, and
// whether there is one. A delete there removes every earlier one too.
func (o *Object) expiryAt(upTo hlc.Timestamp) (hlc.Timestamp, bool) {
	var at hlc.Timestamp
	found := false
	hist := o.ttlHist()
	for i, h := range hist {
		if e := h.expiry(); h.expiresBefore(o.ttlNext(hist, i)) && !upTo.Less(e) {
			at, found = e, true
		}
	}
	if e := o.TTL.expiry(); o.TTL.At != 0 && !upTo.Less(e) {
		at, found = e, true
	}
	return at, found
}

// expiryPending reports whether a TTL write of the key expires after
// stable: the key may still expire there, so it must stay even if it
// holds nothing else (see Store.dropDead).
func (o *Object) expiryPending(stable hlc.Timestamp) bool {
	if o.TTL.At != 0 && stable.Less(o.TTL.expiry()) {
		return true
	}
	hist := o.ttlHist()
	for i, h := range hist {
		if h.expiresBefore(o.ttlNext(hist, i)) && stable.Less(h.expiry()) {
			return true
		}
	}
	return false
}

// compactTTL drops from the history the writes that no longer matter at
// frontier stable: those stamped at or before it that a later write
// replaces before they expire (no write still to come can be stamped
// before them), and those whose expiry is at or before it (decided:
// ExpireStable has applied it, or the store's owner expires keys
// otherwise). o must be writable if it has a history.
func (o *Object) compactTTL(stable hlc.Timestamp) {
	hist := o.ttlHist()
	if hist == nil {
		return
	}
	keep := hist[:0]
	for i, h := range hist {
		// ttlNext reads hist[i+1], which keep has not overwritten.
		if stable.Less(h.TS) || h.expiresBefore(o.ttlNext(hist, i)) && stable.Less(h.expiry()) {
			keep = append(keep, h)
		}
	}
	clear(hist[len(keep):])
	o.setTTLHist(keep)
}

// ttlEvent returns the smallest stable frontier at which ExpireStable
// has something to do for the key: expire it (the smallest expiry stamp
// of a TTL write that expires before it is replaced), or drop a
// replaced write from the history (its stamp); zero if none.
func (o *Object) ttlEvent() hlc.Timestamp {
	var ev hlc.Timestamp
	lower := func(ts hlc.Timestamp) {
		if ev.IsZero() || ts.Less(ev) {
			ev = ts
		}
	}
	hist := o.ttlHist()
	for i, h := range hist {
		if h.expiresBefore(o.ttlNext(hist, i)) {
			lower(h.expiry())
		} else {
			lower(h.TS)
		}
	}
	if o.TTL.At != 0 {
		lower(o.TTL.expiry())
	}
	return ev
}

// ttlEntry is a key in the store's TTL index, under its ttlEvent.
type ttlEntry struct {
	at  hlc.Timestamp
	db  int
	key string
}

func ttlLess(a, b ttlEntry) bool {
	if c := a.at.Compare(b.at); c != 0 {
		return c < 0
	}
	if a.db != b.db {
		return a.db < b.db
	}
	return a.key < b.key
}

// ExpireStable expires the keys whose TTL the stable frontier has
// passed: for each key under a TTL write in force at its deadline, it
// applies a key-level delete stamped at the deadline (see TTL.expiry),
// as Apply would apply an OpDel with index as its log index, and it
// drops from the TTL history what the frontier made useless. Every store
// that applied the same effects up to the frontier deletes the same
// keys at the same stamps, whatever else it has applied, so no delete
// needs to be shipped between regions: a region whose TTL change
// (EXPIRE, PERSIST) was stamped before the deadline keeps the key
// everywhere, although another region's clock passed the deadline
// before that change arrived there. Elements written at or after the
// deadline survive, as they survive any delete stamped before them.
//
// Call it right after [Store.SetFrontiers], whenever the frontier moves,
// from the same point of the log on every node of a region. It costs a
// look at the earliest deadline when there is nothing to do: keys are
// indexed by deadline (an index built at the first call, not part of
// snapshots, and kept up to date from then on). A store whose owner
// deletes expired keys itself (one region: the frontier follows every
// batch) need not call it.
func (s *Store) ExpireStable(index uint64) {
	if s.ttlIdx == nil {
		s.buildTTLIndex()
	}
	var dels []Effect
	cow := s.cow()
	for {
		e, ok := s.ttlIdx.Min()
		if !ok || s.stable.Less(e.at) {
			break
		}
		s.ttlIdx.Delete(e)
		d := &s.dbs[e.db]
		o := d.keys[e.key]
		if o == nil {
			continue // dropDead and Forget unindex: never happens
		}
		// Out of the index until settled again: Apply's settle (which
		// finds no entry to remove) or reindexTTL below.
		if at, ok := o.expiryAt(s.stable); ok {
			dels = append(dels, Effect{Op: OpDel, DB: e.db, Key: e.key, TS: at})
			continue
		}
		o = s.writable(d, e.key, o, cow)
		o.compactTTL(s.stable)
		s.reindexTTL(e.db, e.key, hlc.Timestamp{}, o)
	}
	if len(dels) > 0 {
		// A delete never falls below its database's floor (a TTL write
		// below it does not stay), so Apply settles, and files again,
		// every key it names.
		s.Apply(index, dels)
	}
}

// buildTTLIndex indexes every key by its ttlEvent.
func (s *Store) buildTTLIndex() {
	s.ttlIdx = btree.NewBTreeGOptions(ttlLess, btree.Options{NoLocks: true})
	for i := range s.dbs {
		for k, o := range s.dbs[i].keys {
			s.reindexTTL(i, k, hlc.Timestamp{}, o)
		}
	}
}

// reindexTTL files the key, filed under old (zero: not filed) before it
// changed, under its current ttlEvent, once the index exists.
func (s *Store) reindexTTL(db int, key string, old hlc.Timestamp, o *Object) {
	if s.ttlIdx == nil {
		return
	}
	ev := o.ttlEvent()
	if ev == old {
		return
	}
	if !old.IsZero() {
		s.ttlIdx.Delete(ttlEntry{old, db, key})
	}
	if !ev.IsZero() {
		s.ttlIdx.Set(ttlEntry{ev, db, key})
	}
}

// unindexTTL removes a key leaving the keyspace from the index.
func (s *Store) unindexTTL(db int, key string, o *Object) {
	if s.ttlIdx == nil {
		return
	}
	if ev := o.ttlEvent(); !ev.IsZero() {
		s.ttlIdx.Delete(ttlEntry{ev, db, key})
	}
}
