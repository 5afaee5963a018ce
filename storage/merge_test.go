package storage_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

var seedFlag = flag.Uint64("seed", 0, "run the randomized storage tests with this one seed")

// mergeSeeds returns the seeds a randomized test runs: n of them, or only
// -seed when it is given.
func mergeSeeds(n int) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	if testing.Short() {
		n /= 4
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// mergeConfigs are the generator shapes the merge tests run.
var mergeConfigs = []struct {
	name string
	cfg  storagetest.GenConfig
	// known, if set, says why stores fed this shape may diverge (a
	// HAZARD of the package doc); convergence tests skip it.
	known string
}{
	// Every kind on keys of its own, three regions.
	{"kinds", storagetest.GenConfig{}, ""},
	// Every kind but lists on the same two keys: regions disagree on
	// types.
	{"type_conflicts", storagetest.GenConfig{Conflicts: true}, ""},
	// Lists on the same keys as the other types.
	{"list_type_conflicts", storagetest.GenConfig{Conflicts: true, ListConflicts: true},
		"list tombstones go with the list when another type wins (see HAZARD in doc.go)"},
	// Two databases with FLUSHDB and FLUSHALL among the writes.
	{"flush", storagetest.GenConfig{DBs: 2, Flush: true, Conflicts: true}, ""},
	// One field per key, so that every write of a kind meets every other.
	{"one_field", storagetest.GenConfig{Fields: 1, Keys: 1, Regions: 2}, ""},
	// Regions that always see each other's latest writes: few concurrent
	// stamps, long causal chains.
	{"in_sync", storagetest.GenConfig{Lag: 1e-9}, ""},
}

// TestMergeConverges is the convergence property of DESIGN.md ("Merge
// rules"): stores that apply the same batches from three regions, each in
// its own random order and with duplicates, end in the same state. With the
// stable frontier at zero nothing is compacted, as in a region that has not
// heard from every other.
func TestMergeConverges(t *testing.T) {
	for _, mc := range mergeConfigs {
		t.Run(mc.name, func(t *testing.T) {
			if mc.known != "" {
				t.Skip("known divergence: " + mc.known)
			}
			for _, seed := range mergeSeeds(300) {
				g := storagetest.NewGen(seed, mc.cfg)
				batches := g.Batches(80)
				r := rand.New(rand.NewPCG(seed, 7))
				var stores []*storage.Store
				var orders [][]storagetest.Batch
				for range 3 {
					s := storage.NewStore()
					order := storagetest.Shuffle(r, batches, 0.3)
					storagetest.ApplyAll(s, order, nil)
					stores = append(stores, s)
					orders = append(orders, order)
				}
				for i := 1; i < len(stores); i++ {
					mergeCompare(t, seed, stores[0], stores[i], orders[0], orders[i])
				}
			}
		})
	}
}

// mergeCompare fails the test if a and b differ in logical state (reads)
// or merge state (Digest).
func mergeCompare(t *testing.T, seed uint64, a, b *storage.Store, oa, ob []storagetest.Batch) {
	t.Helper()
	const now = 1_000_100 // some keys of the generator have expired by then
	for _, at := range []int64{0, now} {
		da, db := storagetest.Dump(a.At(at)), storagetest.Dump(b.At(at))
		if da != db {
			t.Fatalf("seed %d (replay with -seed=%d): logical state at %d differs\n--- a:\n%s--- b:\n%s--- a merge state:\n%s--- b merge state:\n%s--- a order:\n%s--- b order:\n%s",
				seed, seed, at, da, db, a.DebugString(), b.DebugString(), orderString(oa), orderString(ob))
		}
	}
	if a.Keys() != b.Keys() {
		t.Fatalf("seed %d (replay with -seed=%d): Keys() = %d and %d", seed, seed, a.Keys(), b.Keys())
	}
	if a.Digest() != b.Digest() {
		t.Fatalf("seed %d (replay with -seed=%d): digests differ\n--- a:\n%s--- b:\n%s--- a order:\n%s--- b order:\n%s",
			seed, seed, a.DebugString(), b.DebugString(), orderString(oa), orderString(ob))
	}
}

func orderString(batches []storagetest.Batch) string {
	var sb strings.Builder
	for _, b := range batches {
		fmt.Fprintf(&sb, "#%d", b.Index)
		for _, e := range b.Effects {
			fmt.Fprintf(&sb, " [%s", e)
			switch {
			case e.Field != "":
				fmt.Fprintf(&sb, " %q", e.Field)
			case !e.ID.TS.IsZero():
				fmt.Fprintf(&sb, " id=%v/%d ref=%v/%d", e.ID.TS, e.ID.Seq, e.Ref.TS, e.Ref.Seq)
			}
			if e.Value != nil {
				fmt.Fprintf(&sb, " %q", e.Value)
			}
			if e.Int != 0 || e.Float != 0 {
				fmt.Fprintf(&sb, " %d %g", e.Int, e.Float)
			}
			sb.WriteString("]")
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// TestMergeDeterministic checks that Apply is a function of its input: the
// same batches in the same order give byte-identical snapshots, whether
// the stable frontier stays at zero or follows every batch (compaction).
func TestMergeDeterministic(t *testing.T) {
	for _, mc := range mergeConfigs {
		t.Run(mc.name, func(t *testing.T) {
			for _, seed := range mergeSeeds(100) {
				g := storagetest.NewGen(seed, mc.cfg)
				batches := g.Batches(80)
				order := storagetest.Shuffle(rand.New(rand.NewPCG(seed, 7)), batches, 0.3)
				for _, compact := range []bool{false, true} {
					var snaps [2][]byte
					for i := range snaps {
						s := storage.NewStore()
						var before func(storagetest.Batch)
						if compact {
							before = func(b storagetest.Batch) { s.SetStable(hlc.Max(s.Stable(), b.TS)) }
						}
						storagetest.ApplyAll(s, order, before)
						var buf bytes.Buffer
						if err := s.WriteSnapshot(&buf); err != nil {
							t.Fatal(err)
						}
						snaps[i] = buf.Bytes()
					}
					if !bytes.Equal(snaps[0], snaps[1]) {
						t.Fatalf("seed %d (replay with -seed=%d), compact=%v: snapshots of the same batches differ", seed, seed, compact)
					}
				}
			}
		})
	}
}

// TestMergeConvergesWithCompaction moves the stable frontier the way the
// inter-region layer does: once every store has applied every batch up to
// a stamp, that stamp becomes stable and tombstones and increments up to it
// may be compacted (each store compacts the keys it touches, so their merge
// states differ). Later batches, in different orders, must still give the
// same logical state everywhere. (Not the same digest: a live hash field
// or set member keeps the stamp of a removal that another store compacted
// before the re-add arrived. TestListMergeConvergesWithCompaction checks
// digests for lists, whose merge state compaction leaves canonical.)
//
// Lists are in: the list frontier is the largest stamp that keeps the
// promise of SetFrontiers for these batches, which name references at
// random (tombstones included) rather than as the evaluator does: no later
// batch names, as its reference, an item removed at or before it
// (listFrontier). TestListMergeConvergesWithCompaction runs regions that
// evaluate as the evaluator does and compute the frontier as the
// inter-region layer is to.
func TestMergeConvergesWithCompaction(t *testing.T) {
	for _, mc := range mergeConfigs {
		t.Run(mc.name, func(t *testing.T) {
			if mc.known != "" {
				t.Skip("known divergence: " + mc.known)
			}
			listGC := 0
			for _, seed := range mergeSeeds(200) {
				g := storagetest.NewGen(seed, mc.cfg)
				batches := g.Batches(90)
				// Every batch stamped up to the 45th largest stamp is
				// delivered before the frontier moves there.
				stamps := make([]hlc.Timestamp, len(batches))
				for i, b := range batches {
					stamps[i] = b.TS
				}
				slices.SortFunc(stamps, hlc.Timestamp.Compare)
				stable := stamps[len(stamps)/2]
				var old, recent []storagetest.Batch
				for _, b := range batches {
					if stable.Less(b.TS) {
						recent = append(recent, b)
					} else {
						old = append(old, b)
					}
				}
				list := listFrontier(old, recent, stable)
				if !list.IsZero() {
					listGC++
				}
				r := rand.New(rand.NewPCG(seed, 11))
				var stores []*storage.Store
				var orders [][]storagetest.Batch
				for range 3 {
					s := storage.NewStore()
					o1 := storagetest.Shuffle(r, old, 0.3)
					storagetest.ApplyAll(s, o1, nil)
					s.SetFrontiers(stable, list)
					o2 := storagetest.Shuffle(r, recent, 0.3)
					storagetest.ApplyAll(s, o2, nil)
					stores = append(stores, s)
					orders = append(orders, append(o1, o2...))
				}
				for i := 1; i < len(stores); i++ {
					for _, at := range []int64{0, 1_000_100} {
						da, db := storagetest.Dump(stores[0].At(at)), storagetest.Dump(stores[i].At(at))
						if da != db {
							t.Fatalf("seed %d (replay with -seed=%d): logical state at %d differs\n--- a:\n%s--- b:\n%s--- a merge state:\n%s--- b merge state:\n%s--- a order:\n%s--- b order:\n%s",
								seed, seed, at, da, db, stores[0].DebugString(), stores[i].DebugString(), orderString(orders[0]), orderString(orders[i]))
						}
					}
				}
			}
			if listGC == 0 && !testing.Short() && *seedFlag == 0 {
				t.Fatal("the list frontier never moved: list tombstones were never compacted")
			}
		})
	}
}

// listFrontier returns the largest stamp among old's, at most stable,
// such that no batch of recent names as its insertion reference a list
// item that a batch of old removes (OpLRem, or a key or database delete
// stamped after the item) at or before that stamp: the promise
// SetFrontiers asks of the list frontier, for these batches. LSETs and
// removals of compacted items are no-ops either way.
func listFrontier(old, recent []storagetest.Batch, stable hlc.Timestamp) hlc.Timestamp {
	type ref struct {
		db  int
		key string
		id  storage.ItemID
	}
	named := map[ref]bool{}
	for _, b := range recent {
		for _, e := range b.Effects {
			if e.Op == storage.OpLInsert && !e.Ref.IsZero() {
				named[ref{e.DB, e.Key, e.Ref}] = true
			}
		}
	}
	var limit hlc.Timestamp // the earliest removal of a named item
	lower := func(ts hlc.Timestamp) {
		if limit.IsZero() || ts.Less(limit) {
			limit = ts
		}
	}
	for _, b := range old {
		for _, e := range b.Effects {
			for r := range named {
				switch {
				case e.Op == storage.OpLRem && e.DB == r.db && e.Key == r.key && e.ID == r.id,
					e.Op == storage.OpDel && e.DB == r.db && e.Key == r.key && r.id.TS.Less(e.TS),
					e.Op == storage.OpFlushDB && e.DB == r.db && r.id.TS.Less(e.TS),
					e.Op == storage.OpFlushAll && r.id.TS.Less(e.TS):
					lower(e.TS)
				}
			}
		}
	}
	var list hlc.Timestamp
	for _, b := range old {
		if !stable.Less(b.TS) && list.Less(b.TS) && (limit.IsZero() || b.TS.Less(limit)) {
			list = b.TS
		}
	}
	return list
}
