package eval

import (
	"math/rand/v2"
	"sync"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Request is one unit of work for an executor: a single command, or the
// commands of a MULTI block that must take effect atomically.
type Request struct {
	// DB is the selected database; SELECT inside the request changes it.
	DB int
	// Cmds are the commands, each with its name first. The executor may
	// keep no reference to them after Exec returns.
	Cmds [][][]byte
	// Multi wraps the replies in one array, as EXEC does.
	Multi bool
	// Watches abort a Multi request (null reply, no effects) if any key's
	// version changed since WATCH.
	Watches []Watch
	// Rand makes the request's random choices; the session owns it.
	Rand *rand.Rand
	// ReadOnly is set when every command is read-only, so the request can
	// run beside others.
	ReadOnly bool
	// Stale lets a read-only request be served from the local node's
	// applied state without a linearizability fence (READONLY).
	Stale bool
}

// Watch is one WATCHed key with the version seen at WATCH time.
type Watch struct {
	DB      int
	Key     string
	Version uint64
}

// Local executes requests on one node without Raft: it evaluates a write
// and applies its effects at once, under one lock. It is the executor of a
// development node and of tests; regional.Group replaces it in a region.
type Local struct {
	clock *hlc.Clock
	// MaxBulk is proto-max-bulk-len for commands that build strings.
	MaxBulk int64

	mu struct {
		sync.RWMutex
		store *storage.Store
		index uint64
		// ctx and rd are reused by writes, which hold the lock
		// exclusively: no allocation per request.
		ctx Ctx
		rd  *storage.StoreReader
	}
}

// NewLocal returns a Local executor over store, stamping with clock.
func NewLocal(store *storage.Store, clock *hlc.Clock) *Local {
	l := &Local{clock: clock}
	l.mu.store = store
	l.mu.index = store.Index()
	l.mu.rd = store.NewReader()
	clock.Update(store.LastStamp())
	return l
}

// Exec evaluates req, writes its replies to w and applies its effects. It
// returns the selected database after the request.
func (l *Local) Exec(req *Request, w *protocol.Writer) int {
	if req.ReadOnly && !req.Multi {
		l.mu.RLock()
		defer l.mu.RUnlock()
		c := &Ctx{R: l.mu.store.At(l.clock.PhysicalNow()), DB: req.DB, W: w, Clock: l.clock, Rand: req.Rand, MaxBulk: l.MaxBulk}
		for _, args := range req.Cmds {
			Run(c, args)
		}
		return c.DB
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if req.Multi {
		for _, wt := range req.Watches {
			if l.watchBroken(wt) {
				w.NullArray()
				return req.DB
			}
		}
		w.Array(len(req.Cmds))
	}
	now := l.clock.PhysicalNow()
	l.mu.rd.SetNow(now)
	c := &l.mu.ctx
	*c = Ctx{R: l.mu.rd, DB: req.DB, W: w, Clock: l.clock, Rand: req.Rand, MaxBulk: l.MaxBulk, effects: c.effects[:0], phys: now}
	for _, args := range req.Cmds {
		Run(c, args)
		l.applyLocked(c.Effects())
		c.ResetEffects()
	}
	c.W, c.Rand = nil, nil
	return c.DB
}

// watchStale marks, in a version Watch returns, a key that had already
// expired (but was still stored) when it was watched.
const watchStale = 1 << 63

// watchBroken reports whether a watched key changed since WATCH, which
// aborts EXEC. A key that expires after WATCH counts as changed, as in
// Valkey. A key already expired when watched does not: its expiry, or its
// deletion by active expiry, is no change ("WATCH stale keys should not
// fail EXEC"); a new live value is.
func (l *Local) watchBroken(wt Watch) bool {
	st := l.mu.store
	now := st.At(l.clock.PhysicalNow())
	changed := st.At(0).Version(wt.DB, wt.Key) != wt.Version&^watchStale
	o, expired := now.GetExpired(wt.DB, wt.Key)
	if wt.Version&watchStale != 0 {
		return changed && o != nil && !expired
	}
	return changed || (expired && wt.Version != 0)
}

func (l *Local) applyLocked(effects []storage.Effect) {
	if len(effects) == 0 {
		return
	}
	l.mu.index++
	var last hlc.Timestamp
	for i := range effects {
		last = hlc.Max(last, effects[i].TS)
	}
	// One node is one region: everything applied is stable at once.
	l.mu.store.SetStable(last)
	l.mu.store.Apply(l.mu.index, effects)
}

// Watch registers a WATCH on key and returns its version.
func (l *Local) Watch(db int, key string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := l.mu.store.Watch(db, key)
	if _, expired := l.mu.store.At(l.clock.PhysicalNow()).GetExpired(db, key); expired {
		v |= watchStale
	}
	return v
}

// Unwatch undoes one Watch.
func (l *Local) Unwatch(db int, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.store.Unwatch(db, key)
}

// ExpireCycle deletes up to n expired keys per database, as Valkey's
// active expiry does, and returns how many it deleted.
func (l *Local) ExpireCycle(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.PhysicalNow()
	var effects []storage.Effect
	var ts hlc.Timestamp
	for db := range storage.NumDBs {
		for _, k := range l.mu.store.SampleExpired(db, now, n) {
			if ts.IsZero() {
				ts = l.clock.Now()
			}
			effects = append(effects, storage.Effect{Op: storage.OpDel, DB: db, Key: k, TS: ts})
		}
	}
	l.applyLocked(effects)
	return len(effects)
}

// Read runs fn with the store under the read lock (INFO, snapshots).
func (l *Local) Read(fn func(s *storage.Store)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	fn(l.mu.store)
}

// Clock returns the executor's clock.
func (l *Local) Clock() *hlc.Clock { return l.clock }
