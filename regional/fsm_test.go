package regional

import (
	"io"
	"log/slog"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// TestFSMFenceSkipsEntriesAfterAGap: an evaluator entry applies only
// right after its predecessor of the same epoch, or as the first of a new
// epoch.
func TestFSMFenceSkipsEntriesAfterAGap(t *testing.T) {
	f := newFSM(hlc.NewClock(hlc.NewManualClock(1000), 1, 1), slog.New(slog.DiscardHandler))
	set := func(key string, wall int64) []storage.Effect {
		return []storage.Effect{{Op: storage.OpSet, Key: key, Value: []byte("v"), TS: hlc.Timestamp{Wall: wall, Region: 1, Node: 1}}}
	}
	entries := []struct {
		fence   fence
		key     string
		applied bool
	}{
		{fence{7, 1}, "a", true},  // first entry of epoch 7
		{fence{7, 2}, "b", true},  // its successor
		{fence{7, 4}, "c", false}, // seq 3 was never appended: void
		{fence{7, 5}, "d", false}, // still after the gap
		{fence{9, 2}, "e", false}, // a new epoch must start at 1
		{fence{9, 1}, "f", true},  // new epoch
		{fence{9, 2}, "g", true},
	}
	for i, e := range entries {
		f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: encodeEffectsEntry(e.fence, set(e.key, int64(100+i)))})
	}
	f.read(func(s *storage.Store) {
		r := s.At(0)
		for _, e := range entries {
			if got := r.Get(0, e.key) != nil; got != e.applied {
				t.Errorf("entry %v (key %s): applied = %v, want %v", e.fence, e.key, got, e.applied)
			}
		}
	})
	if f.skipped.Load() != 3 {
		t.Fatalf("skipped = %d, want 3", f.skipped.Load())
	}
	// The fence survives a snapshot: the next entry of epoch 9 is seq 3.
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	snap.Persist(&sink)
	g := newFSM(hlc.NewClock(hlc.NewManualClock(1000), 1, 1), slog.New(slog.DiscardHandler))
	if err := g.Restore(&sink); err != nil {
		t.Fatal(err)
	}
	g.Apply(&raft.Log{Index: 20, Type: raft.LogCommand, Data: encodeEffectsEntry(fence{9, 3}, set("h", 200))})
	g.read(func(s *storage.Store) {
		if s.At(0).Get(0, "h") == nil {
			t.Fatal("entry after a restored fence was refused")
		}
	})
}

type memSink struct {
	data []byte
	off  int
}

func (m *memSink) Write(p []byte) (int, error) { m.data = append(m.data, p...); return len(p), nil }
func (m *memSink) Close() error                { return nil }
func (m *memSink) ID() string                  { return "mem" }
func (m *memSink) Cancel() error               { return nil }
func (m *memSink) Read(p []byte) (int, error) {
	if m.off >= len(m.data) {
		return 0, io.EOF
	}
	n := copy(p, m.data[m.off:])
	m.off += n
	return n, nil
}
