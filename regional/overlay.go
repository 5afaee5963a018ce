package regional

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// pendingVersion is the WATCH version of a key with proposed but unapplied
// writes: it equals no applied version, so EXEC aborts.
const pendingVersion = math.MaxUint64

type dbKey struct {
	db  int
	key string
}

// Tuning of the copies the overlay keeps (see overlay.kept).
var (
	// keepMin is the size, in elements, from which a copy is worth
	// keeping: smaller objects copy faster than the bookkeeping costs.
	keepMin = 16
	// keepBudget bounds the elements of kept copies, not counting those
	// written in the last keepHot rounds, which stay whatever their size.
	keepBudget = 1 << 20
	// keepIdle is how many rounds an unwritten copy is kept.
	keepIdle uint64 = 1024
	// keepHot is how many rounds a copy counts as in use.
	keepHot uint64 = 8
)

// overlay is the applied store plus the effects the evaluator has proposed
// but the FSM has not yet applied (DESIGN.md, "Log entries are effects").
// Keys touched by pending effects live in staged, a private Store holding
// copies; every other key is read from the applied store.
//
// A key is copied into staged when a batch first writes it while no
// pending batch does: the applied object then holds every earlier effect
// on it, whatever the FSM has applied since, so the copy plus the effects
// staged from then on is exactly what the applied store will hold. Once
// every batch that wrote the key is applied, the copy equals the applied
// object. Small copies are then dropped; big ones (keepMin elements and
// more: a hot hash, list, set or sorted set) are kept, so that the next
// write of one field of a 10k-field hash does not copy 10k fields again.
// A kept copy is reused only if the applied object has not changed since
// (same object, same Mod: the FSM changed it through no batch of ours),
// else it is copied afresh.
//
// A FLUSHDB or FLUSHALL is staged per database: until it is applied, a
// key of that database that no pending batch wrote is copied and flushed
// when it is read, so every key reads as flushed.
//
// The evaluator goroutine owns it, and calls stage, prune and the
// reader's methods under the FSM's read lock, after setting base.
// Keyspace-wide reads (Len, Scan, Range, RandomKey) see the applied store
// only; the evaluator drains pending entries before a request that needs
// them exactly (see evaluator.needsDrain).
//
// Invariant: the applied store changes only through batches the evaluator
// staged here, with the same effects (the FSM applies an entry exactly
// when the overlay staged it), and a new overlay starts from an applied
// store with nothing pending.
type overlay struct {
	// base is the applied store; the evaluator sets it before each use.
	base *storage.Store
	// now is the instant, in Unix ms, reads judge expiry against.
	now int64

	staged *storage.Store
	// bound is the applied store the copies were made from.
	bound *storage.Store
	// pending maps a staged key to the last batch that wrote it.
	pending map[dbKey]uint64
	// kept are the big copies with no pending batch (see keptCopy).
	kept     map[dbKey]keptCopy
	keptSize int
	// flushed is, per database, the last pending batch that flushed it
	// and the largest stamp of its flushes (seq 0: none pending).
	flushed    [storage.NumDBs]pendingFlush
	numFlushed int
	// round counts prunes (one or two per evaluator round).
	round uint64
	// last is the last batch staged.
	last uint64

	// baseSeq is the last batch the applied store holds, exactly: the
	// evaluator sets it with base (from the FSM's last fence). Lazy keys
	// need it (see materialize).
	baseSeq uint64
	// lazy maps each pending key that nothing has read since its first
	// pending write to its effects, chained in lazyBuf in staging order.
	// They are applied to a copy only when a command reads the key
	// (materialize); most keys are written and never read before their
	// batches are applied, and then the chain is simply dropped.
	//
	// Invariant: lazy keys are pending, have no staged copy and no kept
	// copy, and while a flush is pending there are none.
	lazy     map[dbKey]lazyChain
	lazyBuf  []lazyEffect
	lazyLive int // entries of lazyBuf still chained

	baseR, stagedR *storage.StoreReader
	rd             overlayReader
	scratch        []storage.Effect
}

// lazyChain is a lazy key's effects: the first and last of them in
// overlay.lazyBuf, and how many.
type lazyChain struct{ head, tail, n int32 }

// lazyEffect is one staged effect of a lazy key, and the batch that
// staged it.
type lazyEffect struct {
	seq  uint64
	next int32 // the key's next effect in lazyBuf, or -1
	e    storage.Effect
}

// keptCopy is a staged copy whose batches are all applied: it equals the
// applied object obj as long as that is still the key's object and its
// Mod is still mod.
type keptCopy struct {
	obj  *storage.Object
	mod  uint64
	size int
	used uint64 // round it was last written in
}

type pendingFlush struct {
	seq uint64
	ts  hlc.Timestamp
}

func newOverlay() *overlay {
	o := &overlay{staged: storage.NewStore(), pending: map[dbKey]uint64{}, kept: map[dbKey]keptCopy{}, lazy: map[dbKey]lazyChain{}}
	o.stagedR = o.staged.NewReader()
	o.rd.o = o
	return o
}

// bind follows base: copies kept from another store are dropped (pending
// ones stay: their effects are still to come).
func (o *overlay) bind() {
	if o.base == o.bound {
		return
	}
	for k := range o.kept {
		o.staged.Forget(k.db, k.key)
	}
	clear(o.kept)
	o.keptSize = 0
	o.bound = o.base
	o.baseR = o.base.NewReader()
}

// stage applies one batch's effects on top of the overlay: those of keys
// with a staged copy at once, the others lazily (see overlay.lazy).
func (o *overlay) stage(seq uint64, effects []storage.Effect) {
	if len(effects) == 0 {
		return
	}
	o.bind()
	o.last = max(o.last, seq)
	if o.numFlushed > 0 || hasFlush(effects) {
		// A flush covers every key of its database: stage everything.
		o.materializeAll()
		o.stageNow(seq, effects)
		return
	}
	now := o.scratch[:0]
	for i := range effects {
		e := &effects[i]
		if e.DB < 0 || e.DB >= storage.NumDBs {
			continue // Apply skips it too
		}
		k := dbKey{e.DB, e.Key}
		if c, ok := o.lazy[k]; ok {
			o.lazy[k] = o.chain(c, seq, e)
			o.pending[k] = seq
			continue
		}
		_, pending := o.pending[k]
		_, kept := o.kept[k]
		if !pending && !kept {
			o.lazy[k] = o.chain(lazyChain{head: -1}, seq, e)
			o.pending[k] = seq
			continue
		}
		now = append(now, *e)
	}
	if len(now) > 0 {
		o.stageNow(seq, now)
	}
	clear(now)
	o.scratch = now[:0]
}

// chain appends e, staged by batch seq, to a lazy key's chain c.
func (o *overlay) chain(c lazyChain, seq uint64, e *storage.Effect) lazyChain {
	i := int32(len(o.lazyBuf))
	o.lazyBuf = append(o.lazyBuf, lazyEffect{seq: seq, next: -1, e: *e})
	if c.head < 0 {
		c.head = i
	} else {
		o.lazyBuf[c.tail].next = i
	}
	c.tail = i
	c.n++
	o.lazyLive++
	return c
}

func hasFlush(effects []storage.Effect) bool {
	for i := range effects {
		if op := effects[i].Op; op == storage.OpFlushDB || op == storage.OpFlushAll {
			return true
		}
	}
	return false
}

// materialize gives lazy key k a staged copy: the applied object plus the
// effects of its chain that the applied store does not hold yet (those
// of batches after baseSeq; the FSM may have applied some of the chain's
// batches since they were staged).
func (o *overlay) materialize(k dbKey, c lazyChain) {
	o.unchain(k, c)
	o.staged.CopyKey(o.base, k.db, k.key)
	o.staged.SetStable(o.base.Stable())
	var (
		batch []storage.Effect
		seq   uint64
	)
	for i := c.head; i >= 0; i = o.lazyBuf[i].next {
		le := &o.lazyBuf[i]
		if le.seq <= o.baseSeq {
			continue
		}
		if len(batch) > 0 && le.seq != seq {
			o.staged.Apply(seq, batch)
			batch = batch[:0]
		}
		seq = le.seq
		batch = append(batch, le.e)
	}
	if len(batch) > 0 {
		o.staged.Apply(seq, batch)
	}
}

// materializeAll materializes every lazy key.
func (o *overlay) materializeAll() {
	for k, c := range o.lazy {
		o.materialize(k, c)
	}
}

// unchain forgets lazy key k's chain.
func (o *overlay) unchain(k dbKey, c lazyChain) {
	delete(o.lazy, k)
	o.lazyLive -= int(c.n)
}

// stageNow applies one batch's effects to staged copies.
func (o *overlay) stageNow(seq uint64, effects []storage.Effect) {
	for i := range effects {
		e := &effects[i]
		switch e.Op {
		case storage.OpFlushDB:
			o.flush(e.DB, seq, e.TS)
			continue
		case storage.OpFlushAll:
			for db := range storage.NumDBs {
				o.flush(db, seq, e.TS)
			}
			continue
		}
		if e.DB < 0 || e.DB >= storage.NumDBs {
			continue // Apply skips it too
		}
		k := dbKey{e.DB, e.Key}
		o.copyIn(k)
		o.pending[k] = seq
	}
	// The applied store's frontier, not the batch's stamps: the copy must
	// keep every tombstone the applied store keeps, or a late effect
	// stamped below a dropped one would merge differently.
	o.staged.SetStable(o.base.Stable())
	o.staged.Apply(seq, effects)
}

func (o *overlay) flush(db int, seq uint64, ts hlc.Timestamp) {
	f := &o.flushed[db]
	if f.seq == 0 {
		o.numFlushed++
	}
	f.seq = seq
	f.ts = hlc.Max(f.ts, ts)
}

// copyIn makes sure k has a staged copy that holds every staged effect:
// a pending copy, a kept copy still equal to the applied object, or a
// fresh copy of it. A fresh copy of a database with a pending flush is
// flushed, as the applied store will be.
func (o *overlay) copyIn(k dbKey) {
	if _, ok := o.pending[k]; ok {
		return
	}
	if c, ok := o.kept[k]; ok {
		delete(o.kept, k)
		o.keptSize -= c.size
		if b, _ := o.baseR.GetExpired(k.db, k.key); b == c.obj && b.Mod == c.mod {
			return // the copy is the applied object; flushes staged since are in it
		}
	}
	o.staged.CopyKey(o.base, k.db, k.key)
	if f := o.flushed[k.db]; f.seq != 0 {
		// The flush applied to every key staged then; this one was not.
		o.staged.Apply(f.seq, []storage.Effect{{Op: storage.OpDel, DB: k.db, Key: k.key, TS: f.ts}})
	}
}

// prune lets go of keys whose last staged batch has been applied: small
// copies are dropped, big ones kept (see overlay).
func (o *overlay) prune(applied uint64) {
	o.bind()
	o.round++
	if o.numFlushed > 0 {
		for db := range o.flushed {
			if f := &o.flushed[db]; f.seq != 0 && f.seq <= applied {
				*f = pendingFlush{}
				o.numFlushed--
			}
		}
	}
	if applied >= o.last && len(o.pending) == len(o.lazy) {
		// Every batch is applied and no key has a staged copy to keep
		// or drop (the common case with one round in flight): let go of
		// them all at once.
		clear(o.pending)
		clear(o.lazy)
		o.lazyLive = 0
	}
	for k, seq := range o.pending {
		if seq <= applied {
			delete(o.pending, k)
			if c, ok := o.lazy[k]; ok {
				o.unchain(k, c) // never read: the applied object is all there is
				continue
			}
			o.release(k)
		}
	}
	switch {
	case len(o.lazy) == 0:
		clear(o.lazyBuf)
		if cap(o.lazyBuf) > 1<<16 {
			o.lazyBuf = nil
		}
		o.lazyBuf = o.lazyBuf[:0]
	case len(o.lazyBuf) > 1<<12 && o.lazyLive < len(o.lazyBuf)/4:
		o.compactLazy()
	}
	if o.keptSize > keepBudget || o.round%64 == 0 && len(o.kept) > 0 {
		o.evict()
	}
}

// compactLazy copies the chains still in use to a new lazyBuf, so that
// the buffer does not grow while some key is always pending.
func (o *overlay) compactLazy() {
	buf := make([]lazyEffect, 0, 2*o.lazyLive)
	for k, c := range o.lazy {
		n := lazyChain{head: -1}
		for i := c.head; i >= 0; i = o.lazyBuf[i].next {
			j := int32(len(buf))
			buf = append(buf, lazyEffect{seq: o.lazyBuf[i].seq, next: -1, e: o.lazyBuf[i].e})
			if n.head < 0 {
				n.head = j
			} else {
				buf[n.tail].next = j
			}
			n.tail = j
			n.n++
		}
		o.lazy[k] = n
	}
	o.lazyBuf = buf
}

// release keeps the copy of k, now equal to the applied object, if it is
// big, or drops it.
func (o *overlay) release(k dbKey) {
	s, _ := o.stagedR.GetExpired(k.db, k.key)
	if s == nil || s.Len() < keepMin || o.numFlushed > 0 {
		o.staged.Forget(k.db, k.key)
		return
	}
	b, _ := o.baseR.GetExpired(k.db, k.key)
	// A cheap check that the copy does equal the applied object: a
	// mismatch means the invariant broke, and the copy must not live on.
	if b == nil || b.Kind() != s.Kind() || b.Len() != s.Len() || b.TTL != s.TTL {
		o.staged.Forget(k.db, k.key)
		return
	}
	o.kept[k] = keptCopy{obj: b, mod: b.Mod, size: s.Len(), used: o.round}
	o.keptSize += s.Len()
}

// evict drops kept copies unwritten for keepIdle rounds, then the least
// recently written ones until the budget holds, sparing those written in
// the last keepHot rounds.
func (o *overlay) evict() {
	type aged struct {
		k    dbKey
		used uint64
	}
	var old []aged
	for k, c := range o.kept {
		switch {
		case o.round-c.used > keepIdle:
			o.drop(k, c)
		case o.round-c.used > keepHot:
			old = append(old, aged{k, c.used})
		}
	}
	if o.keptSize <= keepBudget {
		return
	}
	slices.SortFunc(old, func(a, b aged) int {
		switch {
		case a.used < b.used:
			return -1
		case a.used > b.used:
			return 1
		}
		return 0
	})
	for _, a := range old {
		if o.keptSize <= keepBudget {
			return
		}
		o.drop(a.k, o.kept[a.k])
	}
}

func (o *overlay) drop(k dbKey, c keptCopy) {
	delete(o.kept, k)
	o.keptSize -= c.size
	o.staged.Forget(k.db, k.key)
}

// reader returns a Reader over the overlay at o.now. There is one per
// overlay: it is valid until the next call of reader, stage or prune.
func (o *overlay) reader() storage.Reader {
	o.bind()
	o.baseR.SetNow(o.now)
	o.stagedR.SetNow(o.now)
	return &o.rd
}

type overlayReader struct{ o *overlay }

var _ storage.Reader = (*overlayReader)(nil)

// pick returns the reader that holds key: the staged copies for a key with
// pending effects, else the applied store.
func (r *overlayReader) pick(db int, key string) storage.Reader {
	o := r.o
	k := dbKey{db, key}
	if _, ok := o.pending[k]; ok {
		if c, ok := o.lazy[k]; ok {
			o.materialize(k, c)
		}
		return o.stagedR
	}
	if o.numFlushed > 0 && db >= 0 && db < storage.NumDBs {
		if f := o.flushed[db]; f.seq != 0 {
			o.copyIn(k)
			o.pending[k] = f.seq
			return o.stagedR
		}
	}
	return o.baseR
}

func (r *overlayReader) Get(db int, key string) *storage.Object { return r.pick(db, key).Get(db, key) }
func (r *overlayReader) GetExpired(db int, key string) (*storage.Object, bool) {
	return r.pick(db, key).GetExpired(db, key)
}
func (r *overlayReader) Version(db int, key string) uint64 {
	if _, ok := r.o.pending[dbKey{db, key}]; ok {
		return pendingVersion
	}
	if r.pick(db, key) == storage.Reader(r.o.stagedR) {
		return pendingVersion
	}
	return r.o.baseR.Version(db, key)
}
func (r *overlayReader) Len(db int) int { return r.o.baseR.Len(db) }
func (r *overlayReader) Scan(db int, cursor uint64, count int, fn func(string, *storage.Object)) uint64 {
	return r.o.baseR.Scan(db, cursor, count, fn)
}
func (r *overlayReader) RandomKey(db int, rnd *rand.Rand) (string, bool) {
	return r.o.baseR.RandomKey(db, rnd)
}
func (r *overlayReader) Range(db int, fn func(string, *storage.Object) bool) { r.o.baseR.Range(db, fn) }
func (r *overlayReader) Now() int64                                          { return r.o.now }
