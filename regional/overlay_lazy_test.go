package regional

import (
	"math/rand/v2"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// TestOverlayLazyKeys checks keys staged lazily (see overlay.lazy): they
// are read rarely here, so that the FSM applies some of a key's batches
// before a command reads it, and the copy made then must take the
// applied store's object and add the effects it does not hold yet. Reads
// must match a store that applied every staged effect, as in
// TestOverlayReadsAsApplied, with and without compaction.
func TestOverlayLazyKeys(t *testing.T) {
	all := []storage.Kind{storage.KindString, storage.KindHash, storage.KindSet, storage.KindZSet, storage.KindList}
	cases := []struct {
		name    string
		cfg     storagetest.GenConfig
		compact bool // as in TestOverlayReadsAsApplied
	}{
		{name: "regions", cfg: storagetest.GenConfig{Regions: 3, DBs: 2, Keys: 4, Fields: 4, Conflicts: true, ListConflicts: true}},
		{name: "regions flush", cfg: storagetest.GenConfig{Regions: 2, DBs: 2, Keys: 3, Fields: 4, Conflicts: true, ListConflicts: true, Flush: true}},
		{name: "one region", cfg: storagetest.GenConfig{Regions: 1, DBs: 2, Keys: 3, Fields: 3, Kinds: all[:4]}, compact: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				lazySim(t, seed, tc.cfg, tc.compact)
				if t.Failed() {
					t.Fatalf("seed %d", seed)
				}
			}
		})
	}
}

func lazySim(t *testing.T, seed uint64, cfg storagetest.GenConfig, compact bool) {
	t.Helper()
	gen := storagetest.NewGen(seed, cfg)
	rnd := rand.New(rand.NewPCG(seed, 91))
	base, want := storage.NewStore(), storage.NewStore()
	ov := newOverlay()
	type proposed struct {
		seq     uint64
		effects []storage.Effect
	}
	var (
		log              []proposed
		seq, fsmSeq      uint64
		applied, index   uint64
		keys             []dbKey
		seen             = map[dbKey]bool{}
		lazyMaterialized int
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
	read := func(step int, k dbKey) {
		t.Helper()
		ov.base, ov.baseSeq = base, fsmSeq
		_, lazy := ov.lazy[k]
		got, gotExp := ov.reader().GetExpired(k.db, k.key)
		exp, expExp := want.At(0).GetExpired(k.db, k.key)
		if g, e := dumpObject(got), dumpObject(exp); g != e || gotExp != expExp {
			t.Errorf("step %d: GetExpired(%d, %q) = %s expired=%v, want %s expired=%v (lazy before: %v)", step, k.db, k.key, g, gotExp, e, expExp, lazy)
		}
		if lazy {
			lazyMaterialized++
		}
	}
	for step := range 400 {
		switch rnd.IntN(5) {
		case 0, 1: // an evaluator round
			ov.base, ov.baseSeq = base, fsmSeq
			ov.prune(applied)
			var batch []storage.Effect
			for range 1 + rnd.IntN(3) {
				b := gen.Next()
				if compact && !conform(want, &b) {
					continue
				}
				for _, e := range b.Effects {
					if e.Op == storage.OpFlushDB || e.Op == storage.OpFlushAll {
						continue
					}
					if k := (dbKey{e.DB, e.Key}); !seen[k] {
						seen[k] = true
						keys = append(keys, k)
					}
				}
				ov.stage(seq+1, b.Effects)
				apply(want, seq+1, b.Effects)
				batch = append(batch, b.Effects...)
			}
			seq++
			log = append(log, proposed{seq, batch})
		case 2: // the FSM applies the next batch
			if len(log) > 0 {
				index++
				apply(base, index, log[0].effects)
				fsmSeq = log[0].seq
				log = log[1:]
			}
		case 3: // the completer catches up, part of the way
			if applied < fsmSeq {
				applied += 1 + rnd.Uint64N(fsmSeq-applied)
			}
		case 4: // a command reads one key
			if len(keys) > 0 {
				read(step, keys[rnd.IntN(len(keys))])
			}
		}
		if t.Failed() {
			return
		}
	}
	for _, k := range keys {
		read(-1, k)
	}
	if lazyMaterialized == 0 {
		t.Errorf("no lazy key was read: the test does not test what it names")
	}
}
