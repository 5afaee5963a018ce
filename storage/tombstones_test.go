package storage_test

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

func tombTS(wall int64) hlc.Timestamp { return hlc.Timestamp{Wall: wall, Region: 1, Node: 1} }

// TestTombstonesCount checks that removals of every kind raise
// Tombstones().Count, and that compaction past the frontier brings it back
// to zero, through Apply touching the keys or through Compact.
func TestTombstonesCount(t *testing.T) {
	t1, t2 := tombTS(1), tombTS(2)
	item := func(seq uint32) storage.ItemID { return storage.ItemID{TS: t1, Seq: seq} }
	s := storage.NewStore()
	s.Apply(1, []storage.Effect{
		{Op: storage.OpSet, Key: "s", TS: t1, Value: []byte("v")},
		{Op: storage.OpHSet, Key: "h", TS: t1, Field: "f1", Value: []byte("v")},
		{Op: storage.OpHSet, Key: "h", TS: t1, Field: "f2", Value: []byte("v")},
		{Op: storage.OpSAdd, Key: "set", TS: t1, Field: "m1"},
		{Op: storage.OpSAdd, Key: "set", TS: t1, Field: "m2"},
		{Op: storage.OpZAdd, Key: "z", TS: t1, Field: "m1", Float: 1},
		{Op: storage.OpZAdd, Key: "z", TS: t1, Field: "m2", Float: 2},
		{Op: storage.OpLInsert, Key: "l", TS: t1, ID: item(0), Value: []byte("a")},
		{Op: storage.OpLInsert, Key: "l", TS: t1, ID: item(1), Ref: item(0), Value: []byte("b")},
	})
	if got := s.Tombstones(); got != (storage.TombstoneStats{}) {
		t.Fatalf("Tombstones() = %+v before any removal, want zero", got)
	}
	steps := []struct {
		name  string
		e     storage.Effect
		count int64
	}{
		{"HDEL", storage.Effect{Op: storage.OpHDel, Key: "h", Field: "f1"}, 1},
		{"SREM", storage.Effect{Op: storage.OpSRem, Key: "set", Field: "m1"}, 2},
		{"ZREM", storage.Effect{Op: storage.OpZRem, Key: "z", Field: "m1"}, 3},
		{"LPOP", storage.Effect{Op: storage.OpLRem, Key: "l", ID: item(0)}, 4},
		// A key-level delete of a string: the key stays as a tombstone.
		{"DEL string", storage.Effect{Op: storage.OpDel, Key: "s"}, 5},
		// DEL of a hash: the key's floor stands for its fields, f1's
		// tombstone included (Register.cut): the key is held instead.
		{"DEL hash", storage.Effect{Op: storage.OpDel, Key: "h"}, 5},
	}
	var bytes int64
	for i, st := range steps {
		st.e.TS = t2
		s.Apply(uint64(2+i), []storage.Effect{st.e})
		got := s.Tombstones()
		if got.Count != st.count {
			t.Fatalf("after %s: Count = %d, want %d", st.name, got.Count, st.count)
		}
		if got.Bytes <= bytes {
			t.Fatalf("after %s: Bytes = %d, not above %d", st.name, got.Bytes, bytes)
		}
		bytes = got.Bytes
		if want := s.RecountTombstones(); got != want {
			t.Fatalf("after %s: Tombstones() = %+v, a full count gives %+v", st.name, got, want)
		}
	}
	// The frontier alone compacts nothing: keys go as they are touched.
	s.SetStable(t2)
	if got := s.Tombstones().Count; got != 5 {
		t.Fatalf("Count = %d right after SetStable, want 5 (nothing touched yet)", got)
	}
	t3 := tombTS(3)
	s.Apply(10, []storage.Effect{
		{Op: storage.OpSAdd, Key: "set", TS: t3, Field: "m3"},
		{Op: storage.OpLSet, Key: "l", TS: t3, ID: item(1), Value: []byte("c")},
	})
	if got := s.Tombstones().Count; got != 3 {
		t.Fatalf("Count = %d after writes to the set and the list, want 3", got)
	}
	s.Compact()
	if got := s.Tombstones(); got != (storage.TombstoneStats{}) {
		t.Fatalf("Tombstones() = %+v after Compact past every removal, want zero", got)
	}
	if got := s.RecountTombstones(); got != (storage.TombstoneStats{}) {
		t.Fatalf("a full count finds %+v after Compact", got)
	}
}

// TestTombstonesTrackEveryChange drives stores with random batches of
// every kind, moving the frontier now and then, and checks after each
// batch that the totals Tombstones keeps equal a full count; also after a
// snapshot round trip and through an overlay's CopyKey and Forget.
func TestTombstonesTrackEveryChange(t *testing.T) {
	for _, mc := range mergeConfigs {
		t.Run(mc.name, func(t *testing.T) {
			for _, seed := range mergeSeeds(40) {
				g := storagetest.NewGen(seed, mc.cfg)
				batches := g.Batches(120)
				r := rand.New(rand.NewPCG(seed, 3))
				s := storage.NewStore()
				staged := storage.NewStore()
				for i, b := range storagetest.Shuffle(r, batches, 0.2) {
					if r.IntN(10) == 0 {
						s.SetFrontiers(b.TS, batches[r.IntN(min(i+1, len(batches)))].TS)
					}
					if r.IntN(25) == 0 {
						s.Compact()
					}
					s.Apply(s.Index()+1, b.Effects)
					if got, want := s.Tombstones(), s.RecountTombstones(); got != want {
						t.Fatalf("seed %d, batch %d: Tombstones() = %+v, a full count gives %+v\n%s", seed, i, got, want, s.DebugString())
					}
					e := b.Effects[0]
					staged.CopyKey(s, e.DB, e.Key)
					if r.IntN(3) == 0 {
						staged.Forget(e.DB, e.Key)
					}
					if got, want := staged.Tombstones(), staged.RecountTombstones(); got != want {
						t.Fatalf("seed %d, batch %d: overlay Tombstones() = %+v, a full count gives %+v", seed, i, got, want)
					}
				}
				var buf bytes.Buffer
				if err := s.WriteSnapshot(&buf); err != nil {
					t.Fatal(err)
				}
				c, err := storage.ReadSnapshot(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := c.Tombstones(), s.Tombstones(); got != want {
					t.Fatalf("seed %d: restored Tombstones() = %+v, want %+v", seed, got, want)
				}
			}
		})
	}
}

// tombstoneStore returns a store of n hash keys of 4 fields each, one in
// ten with a removed field, one in ten deleted, and the frontier behind.
func tombstoneStore(n int) *storage.Store {
	s := storage.NewStore()
	t1, t2 := tombTS(1), tombTS(2)
	batch := make([]storage.Effect, 0, 4096)
	flush := func() {
		s.Apply(s.Index()+1, batch)
		batch = batch[:0]
	}
	for i := range n {
		k := "key:" + strconv.Itoa(i)
		for f := range 4 {
			batch = append(batch, storage.Effect{Op: storage.OpHSet, Key: k, TS: t1, Field: "f" + strconv.Itoa(f), Value: []byte("value")})
		}
		switch i % 10 {
		case 1:
			batch = append(batch, storage.Effect{Op: storage.OpHDel, Key: k, TS: t2, Field: "f0"})
		case 2:
			batch = append(batch, storage.Effect{Op: storage.OpDel, Key: k, TS: t2})
		}
		if len(batch) >= 4000 {
			flush()
		}
	}
	flush()
	return s
}

// BenchmarkTombstones measures Tombstones on a store of a million keys:
// the totals are kept as Apply goes, so a scrape reads two numbers.
func BenchmarkTombstones(b *testing.B) {
	s := tombstoneStore(1_000_000)
	b.ResetTimer()
	var st storage.TombstoneStats
	for b.Loop() {
		st = s.Tombstones()
	}
	b.ReportMetric(float64(st.Count), "tombstones")
}

// BenchmarkTombstonesRecount is what a scrape would cost if it walked the
// store instead (the test helper's full count), for comparison.
func BenchmarkTombstonesRecount(b *testing.B) {
	s := tombstoneStore(1_000_000)
	b.ResetTimer()
	for b.Loop() {
		_ = s.RecountTombstones()
	}
}
