package storage_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// exportConfigs are the generator shapes the export tests run: each
// exercises a part of ExportEffects.
var exportConfigs = []struct {
	name string
	cfg  storagetest.GenConfig
}{
	// Every kind on keys of its own: registers, increments, list items.
	{"kinds", storagetest.GenConfig{}},
	// Regions disagree on types: floors raised by type contests.
	{"type_conflicts", storagetest.GenConfig{Conflicts: true}},
	// FLUSHDB and FLUSHALL: database floors, keys below them.
	{"flush", storagetest.GenConfig{DBs: 2, Flush: true, Conflicts: true}},
	// One field per key: every write of a kind meets every other.
	{"one_field", storagetest.GenConfig{Fields: 1, Keys: 1}},
	// Long lists with many removals and LSETs.
	{"lists", storagetest.GenConfig{Kinds: []storage.Kind{storage.KindList}, Keys: 1}},
}

// exportSeeds returns n seeds, or a quarter of them under -short.
func exportSeeds(n int) []uint64 {
	if testing.Short() {
		n /= 4
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(1000 + i)
	}
	return seeds
}

// export returns every batch of s's export, each checked against the batch
// bounds and sent through the log encoding, as a state transfer sends it.
func export(t *testing.T, seed uint64, s *storage.Store) [][]storage.Effect {
	t.Helper()
	var out [][]storage.Effect
	err := s.ExportEffects(func(batch []storage.Effect) error {
		if len(batch) == 0 || len(batch) > 1024 {
			t.Fatalf("seed %d: export batch of %d effects", seed, len(batch))
		}
		dec, err := storage.DecodeEffects(storage.AppendEffects(nil, batch))
		if err != nil {
			t.Fatalf("seed %d: exported batch does not decode: %v", seed, err)
		}
		out = append(out, dec)
		return nil
	})
	if err != nil {
		t.Fatalf("seed %d: export: %v", seed, err)
	}
	return out
}

func applyExport(s *storage.Store, batches [][]storage.Effect) {
	for _, b := range batches {
		s.Apply(s.Index()+1, b)
	}
}

// TestExportEffectsRoundTrip: the export of a store built from three
// regions' effects, in a random order with duplicates and with the stable
// frontier at zero (so that tombstones and increments stay), rebuilds the
// same merge state in an empty store, and changes nothing in the store
// itself.
func TestExportEffectsRoundTrip(t *testing.T) {
	for _, ec := range exportConfigs {
		t.Run(ec.name, func(t *testing.T) {
			for _, seed := range exportSeeds(200) {
				g := storagetest.NewGen(seed, ec.cfg)
				batches := g.Batches(120)
				src := storage.NewStore()
				storagetest.ApplyAll(src, storagetest.Shuffle(rand.New(rand.NewPCG(seed, 3)), batches, 0.2), nil)
				exp := export(t, seed, src)

				dst := storage.NewStore()
				applyExport(dst, exp)
				if src.Digest() != dst.Digest() {
					t.Fatalf("seed %d: export applied to an empty store differs\n--- source:\n%s--- copy:\n%s",
						seed, src.DebugString(), dst.DebugString())
				}
				before := src.Digest()
				applyExport(src, exp)
				if src.Digest() != before {
					t.Fatalf("seed %d: a store's own export changed it\n%s", seed, src.DebugString())
				}
			}
		})
	}
}

// causalSubset returns a random subset of batches that holds every
// dependency of each batch it holds, as a region's applied state does.
func causalSubset(r *rand.Rand, batches []storagetest.Batch, p float64) []storagetest.Batch {
	in := map[int]bool{}
	var out []storagetest.Batch
	for _, b := range batches {
		if r.Float64() >= p {
			continue
		}
		ok := true
		for _, d := range b.Deps {
			ok = ok && in[d]
		}
		if ok {
			in[b.Index] = true
			out = append(out, b)
		}
	}
	return out
}

// TestExportEffectsMerge: two regions that have applied different parts of
// the same writes converge when each merges the other's export, and reach
// the state of a region that applied both parts' effects themselves.
func TestExportEffectsMerge(t *testing.T) {
	for _, ec := range exportConfigs {
		t.Run(ec.name, func(t *testing.T) {
			for _, seed := range exportSeeds(200) {
				g := storagetest.NewGen(seed, ec.cfg)
				batches := g.Batches(120)
				r := rand.New(rand.NewPCG(seed, 5))
				pa, pb := causalSubset(r, batches, 0.7), causalSubset(r, batches, 0.7)
				a, b, both := storage.NewStore(), storage.NewStore(), storage.NewStore()
				storagetest.ApplyAll(a, storagetest.Shuffle(r, pa, 0.2), nil)
				storagetest.ApplyAll(b, storagetest.Shuffle(r, pb, 0.2), nil)
				storagetest.ApplyAll(both, storagetest.Shuffle(r, append(append([]storagetest.Batch(nil), pa...), pb...), 0), nil)

				ea, eb := export(t, seed, a), export(t, seed, b)
				applyExport(a, eb)
				applyExport(b, ea)
				if a.Digest() != b.Digest() {
					t.Fatalf("seed %d: a+export(b) and b+export(a) differ\n--- a:\n%s--- b:\n%s",
						seed, a.DebugString(), b.DebugString())
				}
				if a.Digest() != both.Digest() {
					t.Fatalf("seed %d: merged exports differ from applying both parts\n--- merged:\n%s--- both:\n%s",
						seed, a.DebugString(), both.DebugString())
				}
			}
		})
	}
}

// TestExportEffectsStopsOnError: an error from fn ends the export and comes
// back unchanged.
func TestExportEffectsStopsOnError(t *testing.T) {
	g := storagetest.NewGen(1, storagetest.GenConfig{Keys: 50})
	s := storage.NewStore()
	for _, b := range g.Batches(3000) {
		s.Apply(s.Index()+1, b.Effects)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ExportEffects(func([]storage.Effect) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ExportEffects = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

// TestApplyStateKeepsCompactedTombstones: a state exported before a
// removal reached its source must not bring back, in a store that has
// compacted the removal's tombstone, the element it removed.
func TestApplyStateKeepsCompactedTombstones(t *testing.T) {
	ts := func(wall int64, region uint32) hlc.Timestamp {
		return hlc.Timestamp{Wall: wall, Region: region, Node: 1}
	}
	hset := storage.Effect{Op: storage.OpHSet, Key: "h", Field: "f", Value: []byte("old"), TS: ts(5, 1)}
	other := storage.Effect{Op: storage.OpHSet, Key: "h", Field: "g", Value: []byte("new"), TS: ts(9, 2)}
	hdel := storage.Effect{Op: storage.OpHDel, Key: "h", Field: "f", TS: ts(7, 2)}

	src := storage.NewStore() // exported before the HDEL reached it
	src.Apply(1, []storage.Effect{hset, other})
	var state []storage.Effect
	if err := src.ExportEffects(func(b []storage.Effect) error { state = append(state, b...); return nil }); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		apply func(s *storage.Store)
		want  bool // field f present afterwards
	}{
		// ApplyState drops what the frontier says is applied already.
		{"ApplyState", func(s *storage.Store) { s.ApplyState(3, state) }, false},
		// Apply would bring the removed field back: the reason for ApplyState.
		{"Apply", func(s *storage.Store) { s.Apply(3, state) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := storage.NewStore()
			dst.Apply(1, []storage.Effect{hset, other})
			dst.SetStable(ts(8, 0))
			dst.Apply(2, []storage.Effect{hdel}) // stable at once: the tombstone goes
			tc.apply(dst)
			o := dst.At(0).Get(0, "h")
			_, got := o.Hash().Get("f")
			if got != tc.want {
				t.Fatalf("field f present = %v, want %v\n%s", got, tc.want, dst.DebugString())
			}
			if v, _ := o.Hash().Get("g"); string(v) != "new" {
				t.Fatalf("field g = %q, want \"new\"", v)
			}
		})
	}
}
