package regional

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// gatedSink is a snapshot sink whose second Write (the first one of the
// store, after the header) signals entered and waits for gate: Persist
// stops in the middle of encoding the store.
type gatedSink struct {
	memSink
	writes  int
	entered chan struct{}
	gate    chan struct{}
}

func (s *gatedSink) Write(p []byte) (int, error) {
	if s.writes++; s.writes == 2 {
		close(s.entered)
		<-s.gate
	}
	return s.memSink.Write(p)
}

// TestFSMAppliesWhilePersisting: Apply goes on while Persist is stuck in
// the middle of writing the store (raft runs the two concurrently), and
// the snapshot written holds the state at Snapshot, none of the entries
// applied meanwhile: overwrites of keys written already and not yet,
// deletes, hash and list changes, a FLUSHDB and a compaction sweep. The
// bytes equal those of a snapshot taken at the same state and written at
// once.
func TestFSMAppliesWhilePersisting(t *testing.T) {
	const hang = 20 * time.Second // a hang guard, not a timing assertion
	f := newFSM(hlc.NewClock(hlc.NewManualClock(1000), 1, 1), slog.New(slog.DiscardHandler))
	var (
		index uint64
		wall  int64
	)
	apply := func(effects ...storage.Effect) {
		index++
		wall++
		for i := range effects {
			effects[i].TS = hlc.Timestamp{Wall: wall, Region: 1, Node: 1}
		}
		// Errorf, not Fatalf: this runs on a goroutine of its own too.
		if r := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: encodeEffectsEntry(fence{1, index}, effects)}); r != nil {
			t.Errorf("entry %d: %v", index, r)
		}
	}
	key := func(i int) string { return fmt.Sprintf("key:%05d", i) }
	val := bytes.Repeat([]byte("v"), 100)
	// About 400 kB of store: Persist writes it in several chunks.
	const n = 4000
	for i := range n {
		apply(storage.Effect{Op: storage.OpSet, Key: key(i), Value: val})
	}
	apply(storage.Effect{Op: storage.OpHSet, Key: "hash", Field: "f", Value: []byte("1")},
		storage.Effect{Op: storage.OpSet, DB: 1, Key: "other", Value: []byte("db1")})
	item := storage.ItemID{TS: hlc.Timestamp{Wall: wall + 1, Region: 1, Node: 1}}
	apply(storage.Effect{Op: storage.OpLInsert, Key: "list", ID: item, Value: []byte("a")})

	// The bytes of a snapshot of this state, written at once.
	want := persist(t, f)

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &gatedSink{entered: make(chan struct{}), gate: make(chan struct{})}
	persisted := make(chan error, 1)
	go func() { persisted <- snap.Persist(sink) }()
	select {
	case <-sink.entered:
	case <-time.After(hang):
		t.Fatal("Persist never wrote the store")
	}

	// Persist is stuck in the store's first chunk. Apply goes on.
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		apply(storage.Effect{Op: storage.OpSet, Key: key(0), Value: []byte("new")})     // written already
		apply(storage.Effect{Op: storage.OpSet, Key: key(n - 1), Value: []byte("new")}) // not yet
		apply(storage.Effect{Op: storage.OpDel, Key: key(n - 2)})                       // delete
		apply(storage.Effect{Op: storage.OpExpire, Key: key(n - 3), Int: 5000})         // TTL
		apply(storage.Effect{Op: storage.OpSet, Key: "key:new", Value: []byte("new")})  // new key
		apply(storage.Effect{Op: storage.OpHSet, Key: "hash", Field: "f", Value: []byte("2")},
			storage.Effect{Op: storage.OpHSet, Key: "hash", Field: "g", Value: []byte("3")})
		apply(storage.Effect{Op: storage.OpLRem, Key: "list", ID: item})
		apply(storage.Effect{Op: storage.OpFlushDB, DB: 1})
		// A stable entry at a multiple of compactEvery sweeps the store.
		for index%compactEvery != compactEvery-1 {
			apply(storage.Effect{Op: storage.OpSet, Key: "filler", Value: []byte("x")})
		}
		index++
		if r := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: encodeStableEntry(fence{1, index}, hlc.Timestamp{Wall: wall, Region: 1, Node: 1}, 0, nil)}); r != nil {
			t.Errorf("stable entry %d: %v", index, r)
		}
	}()
	select {
	case <-applied:
	case <-time.After(hang):
		t.Fatal("Apply blocked while Persist was in progress")
	}
	select {
	case err := <-persisted:
		t.Fatalf("Persist returned (%v) before its sink let it", err)
	default:
	}
	f.read(func(s *storage.Store) {
		r := s.At(0)
		if o := r.Get(0, key(n-1)); o == nil || string(o.Str().Value()) != "new" {
			t.Error("the entries applied during Persist are not in the store")
		}
		if r.Get(0, key(n-2)) != nil || r.Get(0, "list") != nil || s.At(0).Get(1, "other") != nil {
			t.Error("the deletes applied during Persist are not in the store")
		}
	})

	close(sink.gate)
	select {
	case err := <-persisted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hang):
		t.Fatal("Persist never finished")
	}
	snap.Release()
	snap.Release() // raft calls it after Persist; idempotent
	if !bytes.Equal(sink.data, want) {
		t.Fatalf("the snapshot written during Apply (%d bytes) differs from the one of its state (%d bytes)", len(sink.data), len(want))
	}
	g := newFSM(hlc.NewClock(hlc.NewManualClock(1000), 1, 1), slog.New(slog.DiscardHandler))
	if err := g.Restore(&sink.memSink); err != nil {
		t.Fatal(err)
	}
	g.read(func(s *storage.Store) {
		r := s.At(0)
		for _, k := range []string{key(0), key(n - 1), key(n - 2)} {
			if o := r.Get(0, k); o == nil || !bytes.Equal(o.Str().Value(), val) {
				t.Errorf("restored %s is not the value at the snapshot", k)
			}
		}
		if r.Get(0, key(n-3)).ExpireAt() != 0 || r.Get(0, "key:new") != nil || r.Get(0, "filler") != nil {
			t.Error("restored store holds writes applied after the snapshot")
		}
		if h := r.Get(0, "hash").Hash(); h.Len() != 1 {
			t.Errorf("restored hash has %d fields, want 1", h.Len())
		}
		if r.Get(0, "list") == nil || r.Get(1, "other") == nil {
			t.Error("restored store misses keys deleted after the snapshot")
		}
	})
}

// persist writes a snapshot of f now and returns its bytes.
func persist(t *testing.T, f *fsm) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	return sink.data
}
