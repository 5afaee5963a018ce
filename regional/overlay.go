package regional

import (
	"math"
	"math/rand/v2"

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

// overlay is the applied store plus the effects the evaluator has proposed
// but the FSM has not yet applied (DESIGN.md, "Log entries are effects").
// Keys touched by pending effects live in staged, a private Store holding
// copies; every other key is read from the applied store.
//
// The evaluator goroutine owns it, and reads base under the FSM's read
// lock. Keyspace-wide reads (Len, Scan, Range, RandomKey) see the applied
// store only; the evaluator drains pending entries before a request that
// needs them exactly (see evaluator.needsDrain).
type overlay struct {
	base   *storage.Store
	staged *storage.Store
	// touched maps a staged key to the last batch that wrote it.
	touched map[dbKey]uint64
	now     int64
}

func newOverlay() *overlay {
	return &overlay{staged: storage.NewStore(), touched: map[dbKey]uint64{}}
}

// stage applies one batch's effects on top of the overlay.
func (o *overlay) stage(seq uint64, effects []storage.Effect) {
	if len(effects) == 0 {
		return
	}
	var last hlc.Timestamp
	for i := range effects {
		e := &effects[i]
		last = hlc.Max(last, e.TS)
		k := dbKey{e.DB, e.Key}
		if _, ok := o.touched[k]; !ok {
			o.staged.CopyKey(o.base, e.DB, e.Key)
		}
		o.touched[k] = seq
	}
	o.staged.SetStable(last)
	o.staged.Apply(seq, effects)
}

// prune forgets keys whose last staged batch has been applied.
func (o *overlay) prune(applied uint64) {
	for k, seq := range o.touched {
		if seq <= applied {
			delete(o.touched, k)
			o.staged.Forget(k.db, k.key)
		}
	}
}

func (o *overlay) reader() storage.Reader {
	return overlayReader{o: o, base: o.base.At(o.now), staged: o.staged.At(o.now)}
}

type overlayReader struct {
	o            *overlay
	base, staged storage.Reader
}

var _ storage.Reader = overlayReader{}

func (r overlayReader) pick(db int, key string) storage.Reader {
	if _, ok := r.o.touched[dbKey{db, key}]; ok {
		return r.staged
	}
	return r.base
}

func (r overlayReader) Get(db int, key string) *storage.Object { return r.pick(db, key).Get(db, key) }
func (r overlayReader) GetExpired(db int, key string) (*storage.Object, bool) {
	return r.pick(db, key).GetExpired(db, key)
}
func (r overlayReader) Version(db int, key string) uint64 {
	if _, ok := r.o.touched[dbKey{db, key}]; ok {
		return pendingVersion
	}
	return r.base.Version(db, key)
}
func (r overlayReader) Len(db int) int { return r.base.Len(db) }
func (r overlayReader) Scan(db int, cursor uint64, count int, fn func(string, *storage.Object)) uint64 {
	return r.base.Scan(db, cursor, count, fn)
}
func (r overlayReader) RandomKey(db int, rnd *rand.Rand) (string, bool) {
	return r.base.RandomKey(db, rnd)
}
func (r overlayReader) Range(db int, fn func(string, *storage.Object) bool) { r.base.Range(db, fn) }
func (r overlayReader) Now() int64                                          { return r.base.Now() }
