package storage

import (
	"github.com/meridian-kv/meridian/storage/hlc"
)

type touchedKey struct {
	db      int
	key     string
	o       *Object
	wasLive bool
	// ttlEv is the key's ttlEvent when Apply first touched it: where
	// the TTL index files it (if the store has one).
	ttlEv hlc.Timestamp
}

// Apply merges a batch of effects, the one way a Store changes. index is
// the log index of the batch (WATCH versions); batches from other regions
// are applied the same way. Apply is deterministic: the same batches in the
// same order give byte-identical snapshots, and merging is commutative,
// associative and idempotent per element (DESIGN.md, "Merge rules").
func (s *Store) Apply(index uint64, effects []Effect) {
	s.gen++
	if index > s.index {
		s.index = index
	}
	touched := s.touched[:0]
	cow := s.cow()
	for i := range effects {
		f := &effects[i]
		if f.DB < 0 || f.DB >= NumDBs {
			continue // DecodeEffects refuses these; be safe with callers too
		}
		s.last = hlc.Max(s.last, f.TS)
		switch f.Op {
		case OpFlushDB:
			s.flush(f.DB, f.TS, &touched, cow)
			continue
		case OpFlushAll:
			for d := range s.dbs {
				s.flush(d, f.TS, &touched, cow)
			}
			continue
		}
		d := &s.dbs[f.DB]
		if f.TS.Less(d.floor) && f.Op != OpLInsert {
			continue // list inserts below the floor stay as tombstones
		}
		o := d.keys[f.Key]
		if o == nil {
			o = &Object{Floor: d.floor, epoch: s.epoch.Load()}
			d.keys[f.Key] = o
			d.scan.Set(scanEntry{scanHash(f.Key), f.Key})
		} else {
			o = s.writable(d, f.Key, o, cow)
		}
		if o.gen != s.gen {
			o.gen = s.gen
			touched = append(touched, s.touch(f.DB, f.Key, o))
		}
		applyToObject(o, f, s.stable)
	}
	for i := range touched {
		s.settle(&touched[i], index)
	}
	clear(touched)
	s.touched = touched[:0]
}

// touch records what settle needs of a key Apply is about to change.
func (s *Store) touch(db int, key string, o *Object) touchedKey {
	t := touchedKey{db: db, key: key, o: o, wasLive: o.Live()}
	if s.ttlIdx != nil {
		t.ttlEv = o.ttlEvent()
	}
	return t
}

// flush applies a FLUSHDB stamped ts to one database.
func (s *Store) flush(d int, ts hlc.Timestamp, touched *[]touchedKey, cow bool) {
	db := &s.dbs[d]
	if !db.floor.Less(ts) {
		return
	}
	db.floor = ts
	for k, o := range db.keys {
		o = s.writable(db, k, o, cow) // replaces k's value only: safe in a range
		if o.gen != s.gen {
			o.gen = s.gen
			*touched = append(*touched, s.touch(d, k, o))
		}
		applyToObject(o, &Effect{Op: OpDel, TS: ts}, s.stable)
	}
}

// settle compacts a touched object and keeps the database's indexes. The
// object went through writable when Apply first touched it.
func (s *Store) settle(t *touchedKey, index uint64) {
	d := &s.dbs[t.db]
	o := t.o
	s.compactValue(o)
	o.compactTTL(s.stable)
	live := o.Live()
	switch {
	case live && !t.wasLive:
		d.live++
	case !live && t.wasLive:
		d.live--
	}
	// The expires index and the watch table are maps: touch them only
	// when there is something to change (this runs on every write).
	if live && o.TTL.At != 0 {
		d.expires[t.key] = o.TTL.At
		o.inExpires = true
	} else if o.inExpires {
		delete(d.expires, t.key)
		o.inExpires = false
	}
	o.Mod = index
	if len(s.watched) > 0 {
		if w := s.watched[dbKey{t.db, t.key}]; w != nil {
			w.version = index
		}
	}
	s.reindexTTL(t.db, t.key, t.ttlEv, o)
	s.account(o, t.key, s.dropDead(t.db, t.key, o))
	if s.OnTouch != nil {
		s.OnTouch(t.db, t.key)
	}
}

// compactValue compacts the object's value under the store's frontiers.
// o must be writable (see Store.writable) if compactable says it may
// change.
func (s *Store) compactValue(o *Object) {
	if !compactable(o) {
		return
	}
	if l, ok := o.val.(*List); ok {
		l.compactAt(s.stable, s.listStable)
	} else {
		o.val.compact(s.stable)
	}
	if valueEmpty(o.val) {
		o.val = nil
	}
}

// dropDead removes a key with no live element from database i once its
// tombstones are stable and no TTL write of it may still expire after
// the frontier (an element stamped before that expiry may still arrive,
// and must die there as it does in a store that kept the key), or at
// once if it holds nothing its database's floor does not say (an element
// removal or an expiry that arrived after a FLUSHDB stamped later), and
// reports whether it did.
func (s *Store) dropDead(i int, key string, o *Object) bool {
	if o.Live() {
		return false
	}
	d := &s.dbs[i]
	empty := o.val == nil && o.TTL == (TTL{}) && o.hist == nil && !d.floor.Less(o.Floor)
	if !empty && (o.val != nil && o.val.tombstones() || s.stable.Less(o.Stamp()) || o.expiryPending(s.stable)) {
		return false
	}
	delete(d.keys, key)
	delete(d.expires, key)
	d.scan.Delete(scanEntry{scanHash(key), key})
	s.unindexTTL(i, key, o)
	return true
}

// Compact compacts every key under the current frontiers, as Apply does
// for the keys it touches, and drops the keys left holding nothing. It
// changes no read, no WATCH version and no key's Mod, and calls no
// OnTouch. It walks the whole keyspace: call it now and then, for keys no
// write touches. Nodes of one region should compact at the same point of
// their log (from an entry's apply), or their merge states and digests
// differ until the keys are next written.
func (s *Store) Compact() {
	cow := s.cow()
	for i := range s.dbs {
		d := &s.dbs[i]
		for k, o := range d.keys {
			// Copy only what compaction changes: under a frozen view,
			// a sweep must not copy the whole keyspace. Replacing and
			// deleting k's entry are both safe in a range.
			if compactable(o) || o.hist != nil {
				var ev hlc.Timestamp
				if s.ttlIdx != nil {
					ev = o.ttlEvent()
				}
				o = s.writable(d, k, o, cow)
				s.compactValue(o)
				o.compactTTL(s.stable)
				s.reindexTTL(i, k, ev, o)
			}
			s.account(o, k, s.dropDead(i, k, o))
		}
	}
}

// compactable reports whether compactValue may change o; when it returns
// false compactValue leaves o alone.
func compactable(o *Object) bool {
	return o.val != nil && (o.val.compactable() || valueEmpty(o.val))
}

// Stamp returns the largest stamp the object holds: its floor, its TTL
// register, its elements.
func (o *Object) Stamp() hlc.Timestamp {
	m := hlc.Max(o.Floor, o.TTL.TS)
	if o.val != nil {
		m = hlc.Max(m, o.val.stamp())
	}
	return m
}

func opKind(op Op) Kind {
	switch op {
	case OpSet, OpIncr, OpIncrFloat:
		return KindString
	case OpHSet, OpHDel, OpHIncr, OpHIncrFloat:
		return KindHash
	case OpSAdd, OpSRem:
		return KindSet
	case OpZAdd, OpZRem, OpZIncr:
		return KindZSet
	case OpLInsert, OpLRem, OpLSet:
		return KindList
	}
	return KindNone
}

// del raises the key's floor to ts: elements and TTL stamped before it die.
func (o *Object) del(ts hlc.Timestamp) {
	if !o.Floor.Less(ts) {
		return
	}
	o.Floor = ts
	if o.val != nil {
		o.val.floor(ts)
		if valueEmpty(o.val) {
			o.val = nil
		}
	}
	o.cutTTL(ts)
}

// isRemoval reports whether op removes one element.
func isRemoval(op Op) bool {
	switch op {
	case OpHDel, OpSRem, OpZRem, OpLRem:
		return true
	}
	return false
}

// applyToObject merges one effect into a key's state, under the store's
// stable frontier (which only spares keeping what compaction would drop
// anyway). Every case is commutative, associative and idempotent, and
// leaves the same state whatever the order effects arrive in (DESIGN.md,
// "Merge rules"):
//
//  1. An effect stamped before the key's floor is dropped, except a list
//     insert, which goes in as a dead item: other regions' inserts may
//     still name it as their reference, and must find it wherever it came
//     from.
//  2. A removal stamped at the floor is dropped too: the floor already
//     says all it says, and Register.cut forgets such removals.
//  3. Type conflicts (only between regions: the evaluator refuses
//     WRONGTYPE). Every write, removals included, is a write of its op's
//     type. The type of the newest write wins, and every write also
//     deletes the elements of other types stamped before it. So a write
//     of type T stamped s to a key whose value has type U and largest
//     stamp w:
//     - loses if s < w: it raises the key's floor to s (U's elements
//     older than it die) and is dropped;
//     - wins otherwise: the floor rises to w (every U element dies,
//     and so does every other-typed write that lost to U earlier, all
//     stamped at most w), and the value starts afresh as a T.
//     In any order this gives the key the type of its newest write, and
//     the floor of the newest write of any other type.
func applyToObject(o *Object, f *Effect, stable hlc.Timestamp) {
	below := f.TS.Less(o.Floor)
	switch f.Op {
	case OpDel:
		o.del(f.TS)
		return
	case OpExpire:
		if !below {
			o.setTTL(TTL{At: f.Int, TS: f.TS}, stable)
		}
		return
	}
	k := opKind(f.Op)
	if k == KindNone {
		return
	}
	if below && f.Op != OpLInsert || isRemoval(f.Op) && !o.Floor.Less(f.TS) {
		return
	}
	if o.val != nil && o.val.kind() != k {
		w := o.val.stamp()
		if f.TS.Less(w) {
			o.del(f.TS)
			return
		}
		o.del(w)
		o.val = nil
	}
	if o.val == nil {
		o.val = newValue(k)
	}
	switch f.Op {
	case OpSet:
		o.val.(*Register).Set(f.TS, f.Value)
	case OpIncr:
		o.val.(*Register).Incr(Inc{TS: f.TS, Int: f.Int})
	case OpIncrFloat:
		o.val.(*Register).Incr(Inc{TS: f.TS, Float: f.Float, IsFloat: true})
	case OpHSet:
		o.val.(*Hash).set(f.TS, f.Field, f.Value)
	case OpHDel:
		o.val.(*Hash).del(f.TS, f.Field)
	case OpHIncr:
		o.val.(*Hash).incr(f.Field, Inc{TS: f.TS, Int: f.Int})
	case OpHIncrFloat:
		o.val.(*Hash).incr(f.Field, Inc{TS: f.TS, Float: f.Float, IsFloat: true})
	case OpSAdd:
		o.val.(*Set).add(f.TS, f.Field)
	case OpSRem:
		o.val.(*Set).rem(f.TS, f.Field)
	case OpZAdd:
		o.val.(*ZSet).add(f.TS, f.Field, f.Float)
	case OpZRem:
		o.val.(*ZSet).rem(f.TS, f.Field)
	case OpZIncr:
		o.val.(*ZSet).incr(f.TS, f.Field, f.Float)
	case OpLInsert:
		l := o.val.(*List)
		l.insert(f.ID, f.Ref, f.TS, f.Value)
		if below {
			l.remove(f.ID, o.Floor)
		}
	case OpLRem:
		o.val.(*List).remove(f.ID, f.TS)
	case OpLSet:
		o.val.(*List).set(f.ID, f.TS, f.Value)
	}
}
