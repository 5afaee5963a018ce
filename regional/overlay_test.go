package regional

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// TestOverlayReadsAsApplied drives an overlay the way the evaluator does,
// with random effects of every type (deletes, expiries, counters, type
// conflicts between regions, list inserts, removals and sets, flushes),
// and checks after every step that every key reads through the overlay
// exactly as it reads in a store that has applied every staged effect.
// Meanwhile the "FSM" applies the proposed batches to the overlay's base
// store in order, and the "completer" tells the overlay about them late,
// as the evaluator does.
func TestOverlayReadsAsApplied(t *testing.T) {
	all := []storage.Kind{storage.KindString, storage.KindHash, storage.KindSet, storage.KindZSet, storage.KindList}
	noList := all[:4]
	cases := []struct {
		name string
		cfg  storagetest.GenConfig
		// compact moves the stable frontier as a single region's FSM
		// does (every applied entry is stable at once). Lists are left
		// out then: the generator names removed items as references,
		// which a region never does once their removal is stable.
		compact bool
		// keepMin lowers the size from which copies are kept, so that
		// kept copies are reused and invalidated often.
		keepMin int
	}{
		{name: "regions", cfg: storagetest.GenConfig{Regions: 3, DBs: 2, Keys: 3, Fields: 4, Conflicts: true, ListConflicts: true, Flush: true}},
		{name: "regions kept", cfg: storagetest.GenConfig{Regions: 3, DBs: 2, Keys: 2, Fields: 6, Conflicts: true, ListConflicts: true, Flush: true}, keepMin: 2},
		{name: "one region", cfg: storagetest.GenConfig{Regions: 1, DBs: 2, Keys: 3, Fields: 4, Kinds: noList, Flush: true}, compact: true},
		{name: "one region kept", cfg: storagetest.GenConfig{Regions: 1, Keys: 2, Fields: 8, Kinds: noList}, compact: true, keepMin: 2},
		{name: "lists kept", cfg: storagetest.GenConfig{Regions: 2, Keys: 2, Kinds: []storage.Kind{storage.KindList}}, keepMin: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.keepMin != 0 {
				defer func(v int) { keepMin = v }(keepMin)
				keepMin = tc.keepMin
			}
			seeds := uint64(12)
			if testing.Short() {
				seeds = 3
			}
			for seed := range seeds {
				overlaySim(t, seed, tc.cfg, tc.compact)
				if t.Failed() {
					t.Fatalf("seed %d", seed)
				}
			}
		})
	}
}

// overlaySim runs one random history; see TestOverlayReadsAsApplied.
func overlaySim(t *testing.T, seed uint64, cfg storagetest.GenConfig, compact bool) {
	t.Helper()
	gen := storagetest.NewGen(seed, cfg)
	rnd := rand.New(rand.NewPCG(seed, 77))
	base, want := storage.NewStore(), storage.NewStore()
	ov := newOverlay()
	type proposed struct {
		seq     uint64
		effects []storage.Effect
	}
	var (
		log     []proposed // proposed, not yet applied to base
		seq     uint64     // last batch proposed
		applied uint64     // last batch the completer has seen applied
		pruned  uint64     // applied, when the overlay last heard of it
		fsmSeq  uint64     // last batch applied to base
		index   uint64     // base's log index
		now     int64
		keys    = map[dbKey]bool{}
		// named is the last batch that named each key, or flushed
		// each database, to know which keys are pending.
		named   = map[dbKey]uint64{}
		flushed = map[int]uint64{}
	)
	apply := func(s *storage.Store, idx uint64, effects []storage.Effect) {
		if compact {
			var ts hlc.Timestamp
			for i := range effects {
				ts = hlc.Max(ts, effects[i].TS)
			}
			s.SetStable(ts)
		}
		s.Apply(idx, effects)
	}
	check := func(step int) {
		t.Helper()
		ov.base, ov.baseSeq = base, fsmSeq
		ov.now = now
		r := ov.reader()
		w := want.At(now)
		for k := range keys {
			got, gotExp := r.GetExpired(k.db, k.key)
			exp, expExp := w.GetExpired(k.db, k.key)
			if g, e := dumpObject(got), dumpObject(exp); g != e || gotExp != expExp {
				t.Errorf("step %d: GetExpired(%d, %q) = %s expired=%v, want %s expired=%v", step, k.db, k.key, g, gotExp, e, expExp)
			}
			if g, e := dumpObject(r.Get(k.db, k.key)), dumpObject(w.Get(k.db, k.key)); g != e {
				t.Errorf("step %d: Get(%d, %q) = %s, want %s", step, k.db, k.key, g, e)
			}
			pending := named[k] > pruned || flushed[k.db] > pruned
			v := r.Version(k.db, k.key)
			if pending && v != pendingVersion {
				t.Errorf("step %d: Version(%d, %q) = %d with a pending write", step, k.db, k.key, v)
			}
			if !pending && v != base.At(now).Version(k.db, k.key) {
				t.Errorf("step %d: Version(%d, %q) = %d, want the applied %d", step, k.db, k.key, v, base.At(now).Version(k.db, k.key))
			}
		}
	}
	for step := range 300 {
		switch rnd.IntN(4) {
		case 0, 1: // an evaluator round: up to 4 commands in one batch
			ov.base, ov.baseSeq = base, fsmSeq
			ov.prune(applied)
			pruned = applied
			if rnd.IntN(5) == 0 {
				seq++ // a batch without effects, or another kind of entry
			}
			var batch []storage.Effect
			for range 1 + rnd.IntN(4) {
				b := gen.Next()
				if compact && !conform(want, &b) {
					continue
				}
				for _, e := range b.Effects {
					switch e.Op {
					case storage.OpFlushDB:
						flushed[e.DB] = seq + 1
					case storage.OpFlushAll:
						for db := range storage.NumDBs {
							flushed[db] = seq + 1
						}
					default:
						if e.Op == storage.OpExpire {
							now = max(now, e.Int-50)
						}
						keys[dbKey{e.DB, e.Key}] = true
						named[dbKey{e.DB, e.Key}] = seq + 1
					}
				}
				ov.base, ov.baseSeq = base, fsmSeq
				ov.stage(seq+1, b.Effects)
				apply(want, seq+1, b.Effects)
				batch = append(batch, b.Effects...)
				check(step)
			}
			seq++
			log = append(log, proposed{seq, batch})
		case 2: // the FSM applies the next batch
			if len(log) == 0 {
				continue
			}
			index++
			apply(base, index, log[0].effects)
			fsmSeq = log[0].seq
			log = log[1:]
		case 3: // the completer catches up, part of the way
			if applied < fsmSeq {
				applied += 1 + rnd.Uint64N(fsmSeq-applied)
			}
		}
		check(step)
		if t.Failed() {
			return
		}
	}
}

// conform makes a generated batch look like the effects of a command:
// EXPIRE of a missing key emits nothing (false), and a command that
// empties a key deletes it. Storage keeps a dead key's TTL, or an
// element's tombstone, until the key is compacted, and a later write
// finds it or not depending on when that happened; commands never leave
// a key in that state, and with compaction in play neither may the test.
func conform(s *storage.Store, b *storagetest.Batch) bool {
	if len(b.Effects) == 0 {
		return true
	}
	e := b.Effects[0]
	if e.Op == storage.OpFlushDB || e.Op == storage.OpFlushAll {
		return true
	}
	if o, _ := s.At(0).GetExpired(e.DB, e.Key); o == nil && len(b.Effects) == 1 && e.Op == storage.OpExpire {
		return false
	}
	tmp := storage.NewStore()
	tmp.CopyKey(s, e.DB, e.Key)
	tmp.Apply(math.MaxUint64, b.Effects)
	if o, _ := tmp.At(0).GetExpired(e.DB, e.Key); o == nil && b.Effects[len(b.Effects)-1].Op != storage.OpDel {
		b.Effects = append(b.Effects, storage.Effect{Op: storage.OpDel, DB: e.DB, Key: e.Key, TS: b.TS})
	}
	return true
}

// dumpObject prints what a command can read of an object.
func dumpObject(o *storage.Object) string {
	if o == nil {
		return "nil"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s ttl=%d n=%d:", o.Kind(), o.ExpireAt(), o.Len())
	switch o.Kind() {
	case storage.KindString:
		fmt.Fprintf(&sb, " %q", o.Str().Value())
	case storage.KindHash:
		var fs []string
		o.Hash().Range(func(f string, v []byte) bool {
			fs = append(fs, strconv.Quote(f)+"="+strconv.Quote(string(v)))
			return true
		})
		slices.Sort(fs)
		sb.WriteString(" " + strings.Join(fs, " "))
	case storage.KindSet:
		ms := o.Set().Members()
		slices.Sort(ms)
		fmt.Fprintf(&sb, " %q", ms)
	case storage.KindZSet:
		o.ZSet().Ascend(0, func(it storage.ZItem) bool {
			fmt.Fprintf(&sb, " %q=%x", it.Member, math.Float64bits(it.Score))
			return true
		})
	case storage.KindList:
		o.List().Range(0, func(_ int, it storage.Item) bool {
			fmt.Fprintf(&sb, " %v/%d=%q", it.ID.TS, it.ID.Seq, it.Value)
			return true
		})
	}
	return sb.String()
}

// bigHash returns a store holding a hash of n fields at key "h" of db 0,
// stamped from wall 1000 on, and the stamp after its last write.
func bigHash(n int) (*storage.Store, hlc.Timestamp) {
	s := storage.NewStore()
	ts := hlc.Timestamp{Wall: 1000, Region: 1, Node: 1}
	var effects []storage.Effect
	for i := range n {
		effects = append(effects, storage.Effect{Op: storage.OpHSet, Key: "h", Field: "f" + strconv.Itoa(i), Value: []byte("v"), TS: ts})
	}
	s.SetStable(ts)
	s.Apply(1, effects)
	return s, hlc.Timestamp{Wall: 2000, Region: 1, Node: 1}
}

// TestOverlayKeepsBigCopies checks that writing one field of a big hash,
// batch after batch, copies the hash once, not once per batch: each later
// batch allocates far fewer objects than the hash has fields.
func TestOverlayKeepsBigCopies(t *testing.T) {
	const fields = 10000
	base, ts := bigHash(fields)
	ov := newOverlay()
	ov.base = base
	var seq uint64
	batch := func() {
		seq++
		ts.Wall++
		e := []storage.Effect{{Op: storage.OpHSet, Key: "h", Field: "f1", Value: []byte("w" + strconv.Itoa(int(seq))), TS: ts}}
		ov.prune(seq - 1) // every earlier batch is applied
		ov.stage(seq, e)
		if o := ov.reader().Get(0, "h"); o == nil || o.Len() != fields {
			t.Fatalf("batch %d: overlay reads %s", seq, dumpObject(o))
		}
		base.SetStable(ts)
		base.Apply(seq+1, e)
	}
	batch() // the first write copies the hash
	if allocs := testing.AllocsPerRun(20, batch); allocs > 100 {
		t.Fatalf("a one-field write of a kept %d-field hash allocates %.0f objects: the hash is copied again", fields, allocs)
	}
	v, _ := ov.reader().Get(0, "h").Hash().Get("f1")
	if want := "w" + strconv.Itoa(int(seq)); string(v) != want {
		t.Fatalf("f1 = %q, want %q", v, want)
	}
}

// TestOverlayKeptCopyFollowsAppliedStore checks that a kept copy is not
// used once the applied object changed behind the overlay's back (the
// invariant broken: an effect the overlay never staged), nor once the
// applied store is another one (a restore).
func TestOverlayKeptCopyFollowsAppliedStore(t *testing.T) {
	base, ts := bigHash(100)
	ov := newOverlay()
	ov.base = base
	e := []storage.Effect{{Op: storage.OpHSet, Key: "h", Field: "mine", Value: []byte("1"), TS: ts}}
	ov.stage(1, e)
	ov.reader().Get(0, "h") // HSET reads the hash: this copies it
	base.Apply(2, e)
	ov.prune(1) // the copy is kept
	if _, ok := ov.kept[dbKey{0, "h"}]; !ok {
		t.Fatal("the copy of a 100-field hash was not kept")
	}
	// An effect the overlay never saw.
	ts.Wall++
	base.Apply(3, []storage.Effect{{Op: storage.OpHSet, Key: "h", Field: "theirs", Value: []byte("2"), TS: ts}})
	ts.Wall++
	ov.stage(2, []storage.Effect{{Op: storage.OpHSet, Key: "h", Field: "mine", Value: []byte("3"), TS: ts}})
	h := ov.reader().Get(0, "h").Hash()
	if v, _ := h.Get("theirs"); string(v) != "2" {
		t.Fatalf("theirs = %q after a change of the applied object: the stale kept copy was used", v)
	}
	if v, _ := h.Get("mine"); string(v) != "3" {
		t.Fatalf("mine = %q, want 3", v)
	}

	// Another applied store: kept copies go, pending ones stay.
	base.Apply(4, []storage.Effect{{Op: storage.OpHSet, Key: "h", Field: "mine", Value: []byte("3"), TS: ts}})
	ov.prune(2)
	other, _ := bigHash(100)
	ov.base = other
	ov.prune(2)
	if len(ov.kept) != 0 {
		t.Fatalf("%d kept copies of another store survive", len(ov.kept))
	}
	if v, _ := ov.reader().Get(0, "h").Hash().Get("mine"); v != nil {
		t.Fatalf("mine = %q in a store that never had it", v)
	}
}
