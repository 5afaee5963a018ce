package regional

import (
	"errors"
	"log/slog"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

func testEffects(region uint32, wall int64) []storage.Effect {
	ts := hlc.Timestamp{Wall: wall, Logical: 2, Region: region, Node: 1}
	return []storage.Effect{
		{Op: storage.OpSet, Key: "k", Value: []byte("v"), TS: ts},
		{Op: storage.OpHSet, Key: "h", Field: "f", Value: []byte("x"), TS: ts},
	}
}

// TestEntryRoundTrip: every entry kind decodes to what was encoded.
func TestEntryRoundTrip(t *testing.T) {
	f := fence{epoch: 1 << 40, seq: 7}
	closed := hlc.Timestamp{Wall: 1_700_000_000_000, Logical: 3, Region: 1, Node: 2}
	batch := interregion.Batch{
		Origin: 2, First: 10, Last: 19, Closed: closed, Effects: testEffects(2, 5), State: true,
		Raise: []interregion.Progress{{Region: 2, Index: 19, Closed: closed}, {Region: 3, Index: 4}},
	}
	frontier := hlc.Timestamp{Wall: 1_699_999_999_000, Region: 3, Node: 1}
	marks := []peerMark{{region: 2, settled: closed, frontier: frontier}, {region: 3}}
	links := []LinkSpec{{Name: "west", ID: 2, Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000"}}, {Name: "n", ID: 3, Addrs: []string{"x:1"}}}
	cases := []struct {
		name string
		data []byte
		want entry
	}{
		{"local", encodeLocalEntry(f, closed, frontier, testEffects(1, 9)), entry{kind: entryLocal, fence: f, stamp: closed, frontier: frontier, effects: testEffects(1, 9)}},
		{"heartbeat", encodeLocalEntry(f, closed, hlc.Timestamp{}, nil), entry{kind: entryLocal, fence: f, stamp: closed}},
		{"remote", encodeRemoteEntry(f, &batch), entry{kind: entryRemote, fence: f, effects: batch.Effects, remote: batch}},
		{"stable", encodeStableEntry(f, closed, 42, marks), entry{kind: entryStable, fence: f, stamp: closed, retain: 42, marks: marks}},
		{"links", encodeLinksEntry(f, links), entry{kind: entryLinks, fence: f, links: links}},
		{"legacy effects", encodeEffectsEntry(f, testEffects(1, 9)), entry{kind: entryLocal, fence: f, stamp: testEffects(1, 9)[0].TS, effects: testEffects(1, 9)}},
	}
	for _, tc := range cases {
		got, err := decodeEntry(tc.data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got.raw = nil
		got.remote.Effects = nil
		tc.want.remote.Effects = nil
		if len(got.effects) == 0 {
			got.effects = nil
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

// TestEntryCorruptRefused: a flipped bit anywhere in an entry, or a cut,
// is refused with ErrCorrupt, never a panic and never a different entry.
func TestEntryCorruptRefused(t *testing.T) {
	f := fence{3, 1}
	closed := hlc.Timestamp{Wall: 99, Region: 1, Node: 1}
	b := interregion.Batch{Origin: 2, First: 1, Last: 1, Closed: closed, Effects: testEffects(2, 5)}
	for _, data := range [][]byte{
		encodeLocalEntry(f, closed, closed, testEffects(1, 9)),
		encodeRemoteEntry(f, &b),
		encodeStableEntry(f, closed, 1, []peerMark{{region: 2, settled: closed}}),
		encodeLinksEntry(f, []LinkSpec{{Name: "w", ID: 2, Addrs: []string{"a:1"}}}),
	} {
		for i := range data {
			bad := append([]byte(nil), data...)
			bad[i] ^= 0x10
			if _, err := decodeEntry(bad); !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("kind %d, bit flipped at byte %d of %d: err = %v, want ErrCorrupt", data[1], i, len(data), err)
			}
			if _, err := decodeEntry(data[:i]); !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("kind %d cut to %d bytes: err = %v, want ErrCorrupt", data[1], i, err)
			}
		}
	}
}

// TestFSMReplicationState: merged batches apply once and in order, the
// records survive a snapshot, and a state transfer raises them.
func TestFSMReplicationState(t *testing.T) {
	clock := hlc.NewClock(hlc.NewManualClock(1000), 1, 1)
	f := newFSM(clock, slog.New(slog.DiscardHandler))
	seq := uint64(0)
	apply := func(idx uint64, data []byte) interface{} {
		return f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: data})
	}
	next := func() fence { seq++; return fence{5, seq} }
	closed := hlc.Timestamp{Wall: 2000, Region: 2, Node: 1}
	apply(1, encodeLinksEntry(next(), []LinkSpec{{Name: "west", ID: 2, Addrs: []string{"a:1"}}}))
	// Batch 1..5 of west, a duplicate of it, and one after a gap.
	apply(2, encodeRemoteEntry(next(), &interregion.Batch{Origin: 2, First: 1, Last: 5, Closed: closed, Effects: testEffects(2, 1500)}))
	apply(3, encodeRemoteEntry(next(), &interregion.Batch{Origin: 2, First: 1, Last: 5, Closed: closed, Effects: []storage.Effect{{Op: storage.OpSet, Key: "dup", TS: closed}}}))
	apply(4, encodeRemoteEntry(next(), &interregion.Batch{Origin: 2, First: 7, Last: 8, Closed: closed, Effects: []storage.Effect{{Op: storage.OpSet, Key: "gap", TS: closed}}}))
	apply(5, encodeLocalEntry(next(), hlc.Timestamp{Wall: 2100, Region: 1, Node: 1}, hlc.Timestamp{}, testEffects(1, 2100)))
	apply(6, encodeStableEntry(next(), hlc.Timestamp{Wall: 1200}, 3, nil))
	if got := clock.Last(); got.Wall < 2100 {
		t.Fatalf("clock after merge = %v, want past the merged stamps", got)
	}
	check := func(f *fsm, what string) {
		t.Helper()
		f.read(func(s *storage.Store) {
			r := &f.mu.repl
			if a := r.applied[2]; a.Index != 5 || a.Closed != closed {
				t.Errorf("%s: applied[west] = %+v, want index 5 closed %v", what, a, closed)
			}
			if r.localIndex != 5 || r.localClosed.Wall != 2100 || r.stable.Wall != 1200 || r.retain != 3 || len(r.links) != 1 {
				t.Errorf("%s: repl = %+v", what, *r)
			}
			if s.At(0).Get(0, "dup") != nil || s.At(0).Get(0, "gap") != nil {
				t.Errorf("%s: a duplicate or out-of-order batch was merged", what)
			}
		})
	}
	check(f, "applied")
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
	check(g, "restored")
	// A state transfer raises the record of a third region, not ours.
	g.Apply(&raft.Log{Index: 7, Type: raft.LogCommand, Data: encodeRemoteEntry(fence{5, seq + 1}, &interregion.Batch{
		Origin: 3, State: true, Raise: []interregion.Progress{{Region: 3, Index: 40}, {Region: 1, Index: 999}},
	})})
	g.read(func(*storage.Store) {
		if g.mu.repl.applied[3].Index != 40 || g.mu.repl.localIndex != 5 {
			t.Fatalf("after state transfer: applied[3] = %+v, local index %d", g.mu.repl.applied[3], g.mu.repl.localIndex)
		}
	})
	// A corrupt snapshot header is refused.
	bad := append([]byte(nil), sink.data...)
	bad[len(snapMagic)+3] ^= 1
	if err := newFSM(clock, slog.New(slog.DiscardHandler)).Restore(&memSink{data: bad}); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("corrupt snapshot header: err = %v", err)
	}
}
