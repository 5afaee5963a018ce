package storage

import (
	"math"
)

// Export batch bounds: ExportEffects hands fn batches of at most
// exportMaxEffects effects or about exportMaxBytes bytes, whichever comes
// first. A large key spans batches: effects merge one by one, so where a
// batch ends does not matter.
const (
	exportMaxEffects = 1024
	exportMaxBytes   = 1 << 20
)

// ExportEffects calls fn with batches of effects that, applied with
// [Store.Apply] to an empty store or merged into any other, bring in this
// store's whole merge state element by element, with the original stamps:
// database floors (OpFlushDB), key floors (OpDel), TTL registers and the
// replaced TTL writes keys keep (OpExpire), register bases (OpSet, OpHSet,
// OpSAdd, OpZAdd), removal stamps (OpHDel, OpSRem, OpZRem), every pending
// increment with its own stamp, and list items in order with their
// tombstones and value stamps.
// It is the state transfer of DESIGN.md, step 5: a store that applies the
// export of s has the digest s has (when both frontiers are zero and
// s.LastStamp is the stamp of an element it still holds), and two stores
// that apply each other's exports converge.
//
// Keys come in byte order, database by database, after every database
// floor. A list's items are exported as a chain, each inserted after the
// one before it in s's order (the first at the head): merged into a store
// that holds some of the items already, the new ones take the places a
// merge of the original inserts would give them, since every item that
// follows an item's predecessor in the merged order and precedes the item
// has a larger id (see [List]).
//
// fn owns nothing it is given: the batch slice is reused after fn returns,
// and its values point into the store, so fn must encode or apply the
// batch before it returns and never modify it. An error from fn stops the
// export and is returned as is. The store must not change during the
// export: its owner holds the lock that serialises Apply for the whole
// call, or exports a copy (a store read back from a snapshot).
//
// The export leaves out what effects cannot carry: log indexes (Index and
// each key's Mod), the stable frontier, and the largest stamp applied when
// no element holds it any more (an effect dropped on arrival). A receiving
// region learns the sender's position in the log and its clock from the
// state transfer itself.
func (s *Store) ExportEffects(fn func(batch []Effect) error) error {
	x := exporter{fn: fn}
	for i := range s.dbs {
		if f := s.dbs[i].floor; !f.IsZero() {
			x.addSplit(Effect{Op: OpFlushDB, DB: i, TS: f})
		}
	}
	for i := range s.dbs {
		d := &s.dbs[i]
		for _, k := range sortedKeys(d.keys) {
			x.object(i, k, d.keys[k], d.floor.Less(d.keys[k].Floor))
			if x.err != nil {
				return x.err
			}
		}
	}
	x.flush()
	return x.err
}

// ApplyState merges effects that another store's [Store.ExportEffects]
// produced, as Apply does, but leaves out every effect stamped at or before
// this store's stable frontier. Those this store has applied already (the
// frontier promises it), and may have compacted since: an export made
// before a tombstone reached its source would otherwise bring back the
// element the dropped tombstone removed. A region merging a state transfer
// uses ApplyState; its own log and other regions' batches use Apply.
func (s *Store) ApplyState(index uint64, effects []Effect) {
	if s.stable.IsZero() {
		s.Apply(index, effects)
		return
	}
	kept := make([]Effect, 0, len(effects))
	for i := range effects {
		if s.stable.Less(effects[i].TS) {
			kept = append(kept, effects[i])
		}
	}
	s.Apply(index, kept)
}

// exporter collects effects into bounded batches for ExportEffects. The
// first error from fn sticks: later batches are not sent.
type exporter struct {
	fn    func([]Effect) error
	batch []Effect
	bytes int
	err   error
}

func (x *exporter) add(e Effect) {
	x.batch = append(x.batch, e)
	x.bytes += 48 + len(e.Key) + len(e.Field) + len(e.Value)
}

func (x *exporter) full() bool {
	return len(x.batch) >= exportMaxEffects || x.bytes >= exportMaxBytes
}

func (x *exporter) flush() {
	if len(x.batch) > 0 && x.err == nil {
		x.err = x.fn(x.batch)
	}
	clear(x.batch)
	x.batch, x.bytes = x.batch[:0], 0
}

// addSplit adds e and ends the batch when it is full.
func (x *exporter) addSplit(e Effect) {
	x.add(e)
	if x.full() {
		x.flush()
	}
}

// object exports one key: its floor (when it is above the database's),
// its TTL history and register, and its value.
func (x *exporter) object(db int, key string, o *Object, ownFloor bool) {
	base := Effect{DB: db, Key: key}
	if ownFloor {
		e := base
		e.Op, e.TS = OpDel, o.Floor
		x.addSplit(e)
	}
	for _, h := range o.ttlHist() {
		e := base
		e.Op, e.TS, e.Int = OpExpire, h.TS, h.At
		x.addSplit(e)
	}
	if o.TTL != (TTL{}) {
		e := base
		e.Op, e.TS, e.Int = OpExpire, o.TTL.TS, o.TTL.At
		x.addSplit(e)
	}
	switch v := o.val.(type) {
	case *Register:
		// A string register never keeps a removal stamp (a key-level
		// delete is a floor, and Register.cut forgets removals below it);
		// should one appear, OpDel is its removal.
		x.register(base, v, regOps{set: OpSet, rem: OpDel, incr: OpIncr, incrFloat: OpIncrFloat})
	case *Hash:
		for _, f := range sortedKeys(v.fields) {
			e := base
			e.Field = f
			x.register(e, v.fields[f], regOps{set: OpHSet, rem: OpHDel, incr: OpHIncr, incrFloat: OpHIncrFloat})
		}
	case *Set:
		for _, m := range sortedKeys(v.members) {
			e := base
			e.Field = m
			x.register(e, v.members[m], regOps{set: OpSAdd, rem: OpSRem})
		}
	case *ZSet:
		for _, m := range sortedKeys(v.members) {
			e := base
			e.Field = m
			x.register(e, &v.members[m].reg, regOps{set: OpZAdd, rem: OpZRem, incrFloat: OpZIncr, score: true})
		}
	case *List:
		x.list(base, v)
	}
}

// regOps names the ops that rebuild one kind of register.
type regOps struct {
	set, rem, incr, incrFloat Op
	// score: the base is a sorted-set score (FloatBytes), and every
	// increment is a float one.
	score bool
}

// register exports a register: its base, its removal stamp and each of its
// increments, each with its own stamp. Set and remove commute here: a kept
// base is never stamped before the removal (Register.Remove forgets it).
func (x *exporter) register(e Effect, r *Register, ops regOps) {
	if r.Val != nil {
		b := e
		b.Op, b.TS = ops.set, r.TS
		switch {
		case ops.score:
			b.Float = math.Float64frombits(leUint64(r.Val))
		case ops.set != OpSAdd:
			b.Value = r.Val
		}
		x.addSplit(b)
	}
	if !r.Del.IsZero() {
		d := e
		d.Op, d.TS = ops.rem, r.Del
		x.addSplit(d)
	}
	for _, inc := range r.Incs {
		i := e
		i.TS = inc.TS
		switch {
		case ops.score:
			i.Op, i.Float = ops.incrFloat, inc.Float
			if !inc.IsFloat {
				i.Float = float64(inc.Int)
			}
		case inc.IsFloat:
			i.Op, i.Float = ops.incrFloat, inc.Float
		default:
			i.Op, i.Int = ops.incr, inc.Int
		}
		x.addSplit(i)
	}
}

// list exports a list as a chain of inserts in order, each stamped with its
// item's id (so that a floor judges it as it judged the original push),
// then the removals of dead items, then the LSETs of items whose value
// stamp is not their push's.
func (x *exporter) list(e Effect, l *List) {
	var prev ItemID
	for _, it := range l.items[l.head:] {
		ins := e
		ins.Op, ins.ID, ins.Ref, ins.TS = OpLInsert, it.id, prev, it.id.TS
		if it.alive() {
			ins.Value = it.reg.Val
		}
		x.addSplit(ins)
		prev = it.id
	}
	for _, it := range l.items[l.head:] {
		if !it.alive() {
			rem := e
			rem.Op, rem.ID, rem.TS = OpLRem, it.id, it.reg.Del
			x.addSplit(rem)
		}
	}
	for _, it := range l.items[l.head:] {
		if it.reg.TS != it.id.TS {
			set := e
			set.Op, set.ID, set.TS, set.Value = OpLSet, it.id, it.reg.TS, it.reg.Val
			x.addSplit(set)
		}
	}
}
