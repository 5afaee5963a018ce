package storage

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/tidwall/btree"
)

// NumDBs is the number of logical databases (SELECT 0 to 15).
const NumDBs = 16

// Reader is read access to a keyspace as of one instant. A Store's own
// Reader comes from [Store.At]; a Raft leader's evaluator reads through an
// overlay that implements the same interface.
//
// Objects a Reader returns must not be modified.
type Reader interface {
	// Get returns the key's object, or nil if the key does not exist or has
	// expired.
	Get(db int, key string) *Object
	// GetExpired returns the key's object even when it has expired, and
	// whether it has. It returns nil only if there is no live object.
	GetExpired(db int, key string) (o *Object, expired bool)
	// Version returns the log index of the key's last change (WATCH).
	Version(db int, key string) uint64
	// Len returns the number of keys in db, counting keys that have expired
	// but are not yet deleted, as DBSIZE does.
	Len(db int) int
	// Scan calls fn for up to count keys from cursor on and returns the
	// cursor to continue from, 0 when done. Keys present for the whole scan
	// are returned at least once.
	Scan(db int, cursor uint64, count int, fn func(key string, o *Object)) uint64
	// RandomKey returns a random live key.
	RandomKey(db int, r *rand.Rand) (string, bool)
	// Range calls fn for every live, unexpired key until it returns false.
	Range(db int, fn func(key string, o *Object) bool)
	// Now returns the instant, in Unix ms, against which expiry is judged.
	Now() int64
}

// Store is a keyspace of NumDBs databases.
//
// A Store is not safe for concurrent use: its owner serialises Apply with
// every read (regional's FSM holds a lock around both).
type Store struct {
	dbs [NumDBs]db
	// stable is the compaction frontier: every effect stamped at or before
	// it has been applied everywhere, so tombstones up to it may go.
	stable hlc.Timestamp
	// listStable, at most stable, is the list-tombstone frontier: every
	// effect still to come was made by a region that had applied every
	// effect stamped at or before it (see SetFrontiers).
	listStable hlc.Timestamp
	// tombs counts the tombstones every object holds (Object.tombN and
	// tombB summed), kept up to date as Apply settles the keys it touches.
	tombs TombstoneStats
	// last is the largest stamp applied.
	last hlc.Timestamp
	// index is the log index of the last applied batch.
	index uint64
	gen   uint64
	// watched holds versions of watched keys whose objects were removed.
	watched map[dbKey]*watch
	// touched is scratch space for Apply.
	touched []touchedKey
	// OnTouch, if set, is called for every key an Apply changes.
	OnTouch func(db int, key string)
	// ttlIdx files keys by the frontier at which ExpireStable has work
	// for them. Derived state, never in a snapshot: nil until the first
	// ExpireStable builds it, kept up to date after.
	//
	// Invariant: once built, it holds (o.ttlEvent(), db, key) for every
	// key whose ttlEvent is not zero, and nothing else, between calls.
	ttlIdx *btree.BTreeG[ttlEntry]

	// Copy on write for frozen views (see Freeze and writable). epoch
	// counts Freezes, and every object carries the epoch in which it was
	// made or copied; views counts the views not yet released. Freeze
	// may run under a shared lock, and Release on any goroutine: both
	// are atomics.
	//
	// Invariant: while views > 0, no object whose epoch is below epoch
	// is changed (bar the fields only the store reads: gen, inExpires,
	// tombN, tombB); a view may hold it.
	epoch atomic.Uint64
	views atomic.Int64
}

type dbKey struct {
	db  int
	key string
}

type watch struct {
	refs    int
	version uint64
}

type db struct {
	keys    map[string]*Object
	floor   hlc.Timestamp // FLUSHDB tombstone
	live    int
	expires map[string]int64
	scan    *btree.BTreeG[scanEntry]
}

type scanEntry struct {
	hash uint64
	key  string
}

func scanLess(a, b scanEntry) bool {
	if a.hash != b.hash {
		return a.hash < b.hash
	}
	return a.key < b.key
}

// scanHash is never 0, so that cursor 0 can mean "start" and "done".
func scanHash(key string) uint64 { return xxhash.Sum64String(key) | 1 }

// NewStore returns an empty Store.
func NewStore() *Store {
	s := &Store{watched: map[dbKey]*watch{}}
	for i := range s.dbs {
		s.dbs[i] = newDB()
	}
	return s
}

func newDB() db {
	return db{
		keys:    map[string]*Object{},
		expires: map[string]int64{},
		scan:    btree.NewBTreeGOptions(scanLess, btree.Options{NoLocks: true}),
	}
}

// Index returns the log index of the last applied batch.
func (s *Store) Index() uint64 { return s.index }

// LastStamp returns the largest stamp applied; a clock restored from this
// store must not hand out stamps below it.
func (s *Store) LastStamp() hlc.Timestamp { return s.last }

// SetStable moves both compaction frontiers forward to ts (never back):
// SetFrontiers(ts, ts). That is right in a single region, where every
// applied effect is stable at once and every command is evaluated on the
// effects of every command before it. Across regions use SetFrontiers.
func (s *Store) SetStable(ts hlc.Timestamp) { s.SetFrontiers(ts, ts) }

// SetFrontiers moves the compaction frontiers forward (never back).
//
// stable promises that every region has applied every effect stamped at
// or before it (the causal-stability frontier of the inter-region layer),
// and that no effect stamped at or before it will be applied again:
// tombstones and increments up to it may go.
//
// listStable (taken as at most stable) promises more, for list
// tombstones: every effect this store has yet to apply was evaluated by a
// region that had already applied every effect stamped at or before
// listStable. The evaluator names only live items as insertion
// references (see [List.LastLive]), so no insert still to come names an
// item removed at or before listStable, and such tombstones may go too
// (see List for the rest of the argument). A zero listStable keeps every
// list tombstone.
func (s *Store) SetFrontiers(stable, listStable hlc.Timestamp) {
	if s.stable.Less(stable) {
		s.stable = stable
	}
	if s.stable.Less(listStable) {
		listStable = s.stable
	}
	if s.listStable.Less(listStable) {
		s.listStable = listStable
	}
}

// Stable returns the compaction frontier.
func (s *Store) Stable() hlc.Timestamp { return s.stable }

// ListStable returns the list-tombstone frontier (see SetFrontiers).
func (s *Store) ListStable() hlc.Timestamp { return s.listStable }

// At returns a Reader that judges expiry against now (Unix ms).
func (s *Store) At(now int64) Reader { return storeReader{s, now} }

// StoreReader is a reusable Reader over a Store, for an owner that reads
// under an exclusive lock and wants no allocation per request.
type StoreReader struct{ storeReader }

// NewReader returns a StoreReader over s; set the instant with SetNow.
func (s *Store) NewReader() *StoreReader { return &StoreReader{storeReader{s: s}} }

// SetNow sets the instant expiry is judged against.
func (r *StoreReader) SetNow(now int64) { r.now = now }

// Watch starts tracking key's version for WATCH and returns it. Every Watch
// must be paired with an Unwatch.
func (s *Store) Watch(db int, key string) uint64 {
	k := dbKey{db, key}
	w := s.watched[k]
	if w == nil {
		w = &watch{}
		if o := s.dbs[db].keys[key]; o != nil {
			w.version = o.Mod
		}
		s.watched[k] = w
	}
	w.refs++
	return w.version
}

// Unwatch undoes one Watch.
func (s *Store) Unwatch(db int, key string) {
	k := dbKey{db, key}
	if w := s.watched[k]; w != nil {
		if w.refs--; w.refs <= 0 {
			delete(s.watched, k)
		}
	}
}

// Keys returns the number of live keys in every database together.
func (s *Store) Keys() int {
	n := 0
	for i := range s.dbs {
		n += s.dbs[i].live
	}
	return n
}

// Expires returns the number of keys with a deadline in db.
func (s *Store) Expires(db int) int { return len(s.dbs[db].expires) }

// SampleExpired returns up to n keys of db whose deadline is at or before
// now, looking at no more than 20*n keys with a deadline (active expiry).
func (s *Store) SampleExpired(db int, now int64, n int) []string {
	if n <= 0 {
		return nil
	}
	var out []string
	looked := 0
	for k, at := range s.dbs[db].expires {
		if at <= now {
			out = append(out, k)
			if len(out) >= n {
				break
			}
		}
		if looked++; looked >= 20*n {
			break
		}
	}
	return out
}

type storeReader struct {
	s   *Store
	now int64
}

func (r storeReader) Now() int64 { return r.now }

func (r storeReader) Get(db int, key string) *Object {
	o := r.s.dbs[db].keys[key]
	if o == nil || !o.Live() || o.Expired(r.now) {
		return nil
	}
	return o
}

func (r storeReader) GetExpired(db int, key string) (*Object, bool) {
	o := r.s.dbs[db].keys[key]
	if o == nil || !o.Live() {
		return nil, false
	}
	return o, o.Expired(r.now)
}

func (r storeReader) Version(db int, key string) uint64 {
	if w := r.s.watched[dbKey{db, key}]; w != nil {
		return w.version
	}
	if o := r.s.dbs[db].keys[key]; o != nil {
		return o.Mod
	}
	return 0
}

func (r storeReader) Len(db int) int { return r.s.dbs[db].live }

func (r storeReader) Scan(db int, cursor uint64, count int, fn func(string, *Object)) uint64 {
	d := &r.s.dbs[db]
	if count < 1 {
		count = 1
	}
	var next uint64
	n := 0
	var lastHash uint64
	d.scan.Ascend(scanEntry{hash: cursor}, func(e scanEntry) bool {
		// Finish every key of one hash before stopping, so the cursor
		// (a hash) never skips one.
		if n >= count && e.hash != lastHash {
			next = e.hash
			return false
		}
		n++
		lastHash = e.hash
		if o := d.keys[e.key]; o != nil && o.Live() && !o.Expired(r.now) {
			fn(e.key, o)
		}
		return true
	})
	return next
}

func (r storeReader) RandomKey(db int, rnd *rand.Rand) (string, bool) {
	d := &r.s.dbs[db]
	n := d.scan.Len()
	for try := 0; try < 100 && n > 0; try++ {
		e, _ := d.scan.GetAt(rnd.IntN(n))
		if o := d.keys[e.key]; o != nil && o.Live() && !o.Expired(r.now) {
			return e.key, true
		}
	}
	// Mostly dead or expired keys: fall back to a full walk.
	var keys []string
	r.Range(db, func(k string, _ *Object) bool { keys = append(keys, k); return true })
	if len(keys) == 0 {
		return "", false
	}
	return keys[rnd.IntN(len(keys))], true
}

func (r storeReader) Range(db int, fn func(string, *Object) bool) {
	for k, o := range r.s.dbs[db].keys {
		if o.Live() && !o.Expired(r.now) && !fn(k, o) {
			return
		}
	}
}

var _ Reader = storeReader{}

// Digest hashes the whole store (see Store.Digest); it makes storage's
// Readers usable by DEBUG DIGEST.
func (r storeReader) Digest() [32]byte { return r.s.Digest() }
