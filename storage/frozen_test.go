package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// frozenGen makes batches that change every kind of value, TTLs, deletes
// and FLUSHDB/FLUSHALL, on keys whose types clash, across three databases.
func frozenGen(seed uint64) *storagetest.Gen {
	return storagetest.NewGen(seed, storagetest.GenConfig{
		DBs: 3, Keys: 8, Fields: 5, Conflicts: true, Flush: true,
	})
}

// frozenRun applies generated batches to a store, in generation order,
// and now and then moves its frontiers to the stamps of earlier batches
// and compacts, so that tombstones and increments go.
type frozenRun struct {
	r       *rand.Rand
	gen     *storagetest.Gen
	batches []storagetest.Batch
}

func newFrozenRun(seed uint64) *frozenRun {
	return &frozenRun{r: rand.New(rand.NewPCG(seed, 7)), gen: frozenGen(seed)}
}

// step applies the next batch to every store given (the same changes to
// each), with a frontier move and a Compact one step in eight.
func (x *frozenRun) step(stores ...*storage.Store) {
	b := x.gen.Next()
	x.batches = append(x.batches, b)
	i := len(x.batches)
	for _, s := range stores {
		s.Apply(uint64(i), b.Effects)
	}
	if x.r.IntN(8) == 0 {
		stable := x.batches[x.r.IntN(i)].TS
		list := x.batches[x.r.IntN(i)].TS
		compact := x.r.IntN(2) == 0
		for _, s := range stores {
			s.SetFrontiers(stable, list)
			if compact {
				s.Compact()
			}
		}
	}
}

// view is a frozen view and the bytes the store wrote when it was taken.
type view struct {
	at   int
	want []byte
	f    *storage.Frozen
}

// freeze takes a view of s and the bytes s writes now. (Writing to a
// bytes.Buffer cannot fail; should it, check reports the difference.)
func freeze(s *storage.Store, at int) view {
	var b bytes.Buffer
	_ = s.WriteSnapshot(&b)
	return view{at: at, want: b.Bytes(), f: s.Freeze()}
}

func (v view) check(t testing.TB, seed uint64, now int) {
	t.Helper()
	var b bytes.Buffer
	if err := v.f.WriteSnapshot(&b); err != nil {
		t.Fatalf("seed %d: view frozen at step %d, written at %d: %v", seed, v.at, now, err)
	}
	if !bytes.Equal(b.Bytes(), v.want) {
		t.Fatalf("seed %d: view frozen at step %d, written at step %d: %d bytes differ from the %d the store wrote at the freeze",
			seed, v.at, now, b.Len(), len(v.want))
	}
}

// TestFrozenWritesTheFreezeInstant freezes a store at random steps of a
// random history and checks that each view, written after many more
// batches (every op, TTLs, deletes, FLUSHDB, frontier moves and
// compactions), gives exactly the bytes WriteSnapshot gave at the freeze.
// A second store applies the same history and is never frozen: the two
// must agree on everything at the end, so copying objects for the views
// changes nothing the store does.
func TestFrozenWritesTheFreezeInstant(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		x := newFrozenRun(seed)
		s, plain := storage.NewStore(), storage.NewStore()
		var alive []view
		for i := range 1500 {
			x.step(s, plain)
			switch n := x.r.IntN(40); {
			case n == 0 || i == 100:
				alive = append(alive, freeze(s, i))
			case n == 1 && len(alive) > 0:
				// Write a view, then let it go: the others stay.
				j := x.r.IntN(len(alive))
				alive[j].check(t, seed, i)
				alive[j].f.Release()
				alive = append(alive[:j], alive[j+1:]...)
			case n == 2 && len(alive) > 0:
				alive[x.r.IntN(len(alive))].check(t, seed, i)
			}
		}
		for _, v := range alive {
			v.check(t, seed, -1)
			v.f.Release()
		}
		if !bytes.Equal(snapshotBytes(t, s), snapshotBytes(t, plain)) {
			t.Fatalf("seed %d: the frozen store's snapshot differs from the one of a store never frozen", seed)
		}
		readsEqual(t, s, plain)
		if s.Tombstones() != plain.Tombstones() || s.Tombstones() != s.RecountTombstones() {
			t.Fatalf("seed %d: Tombstones %+v, never frozen %+v, recounted %+v", seed, s.Tombstones(), plain.Tombstones(), s.RecountTombstones())
		}
	}
}

// TestFrozenConcurrentWithApply writes frozen views on one goroutine while
// another applies batches, compacts and freezes again, as a region's Raft
// does between Persist and Apply. Each view must give the bytes of its
// freeze; under -race, an in-place change to an object a view holds is
// also reported as a race.
func TestFrozenConcurrentWithApply(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		x := newFrozenRun(seed)
		s := storage.NewStore()
		for range 300 {
			x.step(s)
		}
		views := make(chan view)
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(views)
			for i := range 1200 {
				x.step(s)
				if i%200 == 0 {
					views <- freeze(s, i) // the writer takes it; Apply goes on
				}
			}
		})
		for v := range views {
			v.check(t, seed, -1)
			v.check(t, seed, -1) // a view writes the same bytes every time
			v.f.Release()
		}
		wg.Wait()
	}
}

// TestFrozenCopiesOnlyWhileAlive checks when Apply copies an object: only
// while a view is alive, only an object that was there at the last
// Freeze, and once.
func TestFrozenCopiesOnlyWhileAlive(t *testing.T) {
	s := storage.NewStore()
	n := int64(0)
	set := func(key string) *storage.Object {
		t.Helper()
		n++
		s.Apply(uint64(n), []storage.Effect{{Op: storage.OpSet, Key: key, TS: at(n, 1), Value: []byte(strconv.FormatInt(n, 10))}})
		o := s.At(0).Get(0, key)
		if o == nil {
			t.Fatalf("%s missing after SET", key)
		}
		return o
	}
	a := set("a")
	if set("a") != a {
		t.Fatal("no view alive: SET copied the object")
	}
	f1 := s.Freeze()
	a1 := set("a")
	if a1 == a {
		t.Fatal("view alive: SET changed the object the view holds in place")
	}
	if set("a") != a1 {
		t.Fatal("view alive: the object was copied again, though made after the Freeze")
	}
	b := set("b")
	if set("b") != b {
		t.Fatal("view alive: a key made after the Freeze was copied")
	}
	f2 := s.Freeze()
	a2 := set("a")
	if a2 == a1 {
		t.Fatal("second view alive: SET changed in place an object it holds")
	}
	f1.Release()
	if set("a") != a2 {
		t.Fatal("object made since the last Freeze copied")
	}
	f2.Release()
	f2.Release() // idempotent
	if set("b") != b {
		t.Fatal("no view alive: SET copied the object")
	}
	if err := f2.WriteSnapshot(io.Discard); !errors.Is(err, storage.ErrReleased) {
		t.Fatalf("WriteSnapshot after Release: err = %v, want ErrReleased", err)
	}
}

// TestFrozenCompactCopiesWhatChanges checks that Compact under a view
// copies the objects whose tombstones it drops, and leaves the others
// shared: a sweep must not copy the keyspace.
func TestFrozenCompactCopiesWhatChanges(t *testing.T) {
	t1, t2 := at(1, 1), at(2, 1)
	s := storage.NewStore()
	s.Apply(1, []storage.Effect{
		{Op: storage.OpSet, Key: "s", TS: t1, Value: []byte("v")},
		{Op: storage.OpHSet, Key: "h", TS: t1, Field: "f1", Value: []byte("v")},
		{Op: storage.OpHSet, Key: "h", TS: t1, Field: "f2", Value: []byte("v")},
	})
	s.Apply(2, []storage.Effect{{Op: storage.OpHDel, Key: "h", TS: t2, Field: "f1"}})
	want := snapshotBytes(t, s)
	str, h := s.At(0).Get(0, "s"), s.At(0).Get(0, "h")
	f := s.Freeze()
	defer f.Release()
	s.SetStable(t2)
	s.Compact()
	if s.At(0).Get(0, "s") != str {
		t.Error("Compact copied a string with nothing to compact")
	}
	if s.At(0).Get(0, "h") == h {
		t.Error("Compact dropped a tombstone in place from a hash a view holds")
	}
	var b bytes.Buffer
	if err := f.WriteSnapshot(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatal("the view changed with Compact")
	}
	if bytes.Equal(snapshotBytes(t, s), want) {
		t.Fatal("Compact dropped nothing: the test shows nothing")
	}
}

// snapshotBenchStore returns a store of n keys: nine in ten strings of
// 32 bytes, one in ten hashes of eight fields.
func snapshotBenchStore(n int) *storage.Store {
	s := storage.NewStore()
	val := bytes.Repeat([]byte("x"), 32)
	var batch []storage.Effect
	for i := range n {
		ts := hlc.Timestamp{Wall: int64(i + 1), Region: 1, Node: 1}
		key := fmt.Sprintf("key:%08d", i)
		if i%10 == 0 {
			for f := range 8 {
				batch = append(batch, storage.Effect{Op: storage.OpHSet, Key: key, TS: ts, Field: "f" + strconv.Itoa(f), Value: val})
			}
		} else {
			batch = append(batch, storage.Effect{Op: storage.OpSet, Key: key, TS: ts, Value: val})
		}
		if len(batch) >= 4000 {
			s.Apply(uint64(i), batch)
			batch = batch[:0]
		}
	}
	s.Apply(uint64(n), batch)
	return s
}

// BenchmarkSnapshotFreeze is what a region's FSM.Snapshot now costs Apply
// on a store of 100k keys: a Freeze (and its Release).
func BenchmarkSnapshotFreeze(b *testing.B) {
	s := snapshotBenchStore(100_000)
	for b.Loop() {
		s.Freeze().Release()
	}
}

// BenchmarkSnapshotEncode is what FSM.Snapshot cost Apply before Freeze,
// on the same store: the whole encoding, into memory.
func BenchmarkSnapshotEncode(b *testing.B) {
	s := snapshotBenchStore(100_000)
	for b.Loop() {
		var buf bytes.Buffer
		if err := s.WriteSnapshot(&buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotFrozenWrite is the encoding that Persist now does off
// the FSM goroutine, from a view (no Apply meanwhile).
func BenchmarkSnapshotFrozenWrite(b *testing.B) {
	s := snapshotBenchStore(100_000)
	f := s.Freeze()
	defer f.Release()
	for b.Loop() {
		if err := f.WriteSnapshot(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotApplyUnderView measures Apply of one SET to a key a
// view holds (its first change after the Freeze: a copy), against the
// same SET with no view alive.
func BenchmarkSnapshotApplyUnderView(b *testing.B) {
	for _, frozen := range []bool{false, true} {
		b.Run("frozen="+strconv.FormatBool(frozen), func(b *testing.B) {
			s := snapshotBenchStore(100_000)
			var f *storage.Frozen
			if frozen {
				f = s.Freeze()
				defer func() { f.Release() }()
			}
			val := []byte("y")
			i := 0
			for b.Loop() {
				// Keys not ending in 0 are strings: write each once per
				// view, so that every SET under a view copies.
				j := i % 90_000
				if j == 0 && frozen && i > 0 {
					f.Release()
					f = s.Freeze()
				}
				i++
				key := fmt.Sprintf("key:%08d", j/9*10+1+j%9)
				s.Apply(uint64(100_000+i), []storage.Effect{{Op: storage.OpSet, Key: key, TS: hlc.Timestamp{Wall: int64(200_000 + i), Region: 1, Node: 1}, Value: val}})
			}
		})
	}
}
