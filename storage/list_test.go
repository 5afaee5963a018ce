package storage

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// These tests drive Store.Apply with list effects directly, as the
// evaluator (server/eval/list.go) and other regions produce them.

const listKey = "l"

// listTS returns a stamp at wall ms in a region.
func listTS(wall int64, region uint32) hlc.Timestamp {
	return hlc.Timestamp{Wall: wall, Region: region, Node: 1}
}

// listID returns the id of the seq-th item pushed by the command stamped ts.
func listID(ts hlc.Timestamp, seq uint32) ItemID { return ItemID{TS: ts, Seq: seq} }

func listIns(id, ref ItemID, val string) Effect {
	return Effect{Op: OpLInsert, Key: listKey, TS: id.TS, ID: id, Ref: ref, Value: []byte(val)}
}

func listRem(ts hlc.Timestamp, id ItemID) Effect {
	return Effect{Op: OpLRem, Key: listKey, TS: ts, ID: id}
}

func listSet(ts hlc.Timestamp, id ItemID, val string) Effect {
	return Effect{Op: OpLSet, Key: listKey, TS: ts, ID: id, Value: []byte(val)}
}

func listDel(ts hlc.Timestamp) Effect { return Effect{Op: OpDel, Key: listKey, TS: ts} }

// listRPush returns the effects of RPUSH vals at ts on a list whose last
// item (tombstones included) is last: each item after the previous one.
func listRPush(ts hlc.Timestamp, last ItemID, vals ...string) []Effect {
	var out []Effect
	for i, v := range vals {
		id := listID(ts, uint32(i))
		out = append(out, listIns(id, last, v))
		last = id
	}
	return out
}

// listLPush returns the effects of LPUSH vals at ts: every item names the
// head, and the growing sequence puts the last one first.
func listLPush(ts hlc.Timestamp, vals ...string) []Effect {
	var out []Effect
	for i, v := range vals {
		out = append(out, listIns(listID(ts, uint32(i)), ItemID{}, v))
	}
	return out
}

// listApply applies batches in order, one log index each, with the
// compaction frontier left where it is.
func listApply(s *Store, batches ...[]Effect) {
	for _, b := range batches {
		s.Apply(s.Index()+1, b)
	}
}

// listValues returns the live items of the test list, head first, and
// checks that every read accessor agrees with Range.
func listValues(t *testing.T, s *Store) []string {
	t.Helper()
	o := s.At(0).Get(0, listKey)
	if o == nil {
		return nil
	}
	l := o.List()
	if l == nil {
		t.Fatalf("key holds %v, not a list", o.Kind())
	}
	var out []string
	l.Range(0, func(i int, it Item) bool {
		if i != len(out) {
			t.Fatalf("Range index %d at position %d", i, len(out))
		}
		out = append(out, string(it.Value))
		return true
	})
	if l.Len() != len(out) {
		t.Fatalf("Len = %d, Range saw %d items", l.Len(), len(out))
	}
	var rev []string
	l.Reverse(l.Len()-1, func(i int, it Item) bool {
		if i != len(out)-1-len(rev) {
			t.Fatalf("Reverse index %d at position %d", i, len(rev))
		}
		rev = append(rev, string(it.Value))
		return true
	})
	slices.Reverse(rev)
	if !slices.Equal(rev, out) {
		t.Fatalf("Reverse = %q, Range = %q", rev, out)
	}
	for i := range out {
		it, ok := l.At(i)
		if !ok || string(it.Value) != out[i] {
			t.Fatalf("At(%d) = %q, %v; Range has %q", i, it.Value, ok, out[i])
		}
		if it, ok := l.At(i - len(out)); !ok || string(it.Value) != out[i] {
			t.Fatalf("At(%d) = %q, %v; Range has %q", i-len(out), it.Value, ok, out[i])
		}
	}
	return out
}

func listSnapshot(t *testing.T, s *Store) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteSnapshot(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func listRaw(s *Store) *List {
	o := s.dbs[0].keys[listKey]
	if o == nil {
		return nil
	}
	return o.List()
}

func TestListPushOrder(t *testing.T) {
	s := NewStore()
	t1, t2, t3, t4 := listTS(1, 1), listTS(2, 1), listTS(3, 1), listTS(4, 1)

	// RPUSH l a b c on a new list.
	listApply(s, listRPush(t1, ItemID{}, "a", "b", "c"))
	if got, want := listValues(t, s), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("after RPUSH a b c: %q, want %q", got, want)
	}
	// LPUSH l x y z: each at the head, the last pushed first.
	listApply(s, listLPush(t2, "x", "y", "z"))
	if got, want := listValues(t, s), []string{"z", "y", "x", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("after LPUSH x y z: %q, want %q", got, want)
	}
	// RPUSH after Last, which is c.
	l := listRaw(s)
	if got := l.Last(); got != listID(t1, 2) {
		t.Fatalf("Last = %v, want c's id", got)
	}
	listApply(s, listRPush(t3, l.Last(), "d"))
	// LPUSH one more, into the room the first LPUSH left at the front.
	listApply(s, listLPush(t4, "w"))
	if got, want := listValues(t, s), []string{"w", "z", "y", "x", "a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("after RPUSH d, LPUSH w: %q, want %q", got, want)
	}
	// Pop both ends: the deque keeps working around tombstones.
	t5 := listTS(5, 1)
	listApply(s, []Effect{listRem(t5, listID(t4, 0)), listRem(t5, listID(t3, 0))})
	if got, want := listValues(t, s), []string{"z", "y", "x", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("after popping both ends: %q, want %q", got, want)
	}
	// Last includes the tombstone of d until it is compacted.
	if got := listRaw(s).Last(); got != listID(t3, 0) {
		t.Fatalf("Last = %v, want d's tombstone", got)
	}
	// RPUSH after that tombstone still lands at the tail.
	t6 := listTS(6, 1)
	listApply(s, listRPush(t6, listRaw(s).Last(), "e"), listLPush(listTS(7, 1), "v"))
	if got, want := listValues(t, s), []string{"v", "z", "y", "x", "a", "b", "c", "e"}; !slices.Equal(got, want) {
		t.Fatalf("after pushes around tombstones: %q, want %q", got, want)
	}
}

func TestListInsert(t *testing.T) {
	t1 := listTS(1, 1)
	a, b, c := listID(t1, 0), listID(t1, 1), listID(t1, 2)
	tests := []struct {
		name   string
		before bool
		pivot  ItemID
		want   []string
	}{
		{"before head", true, a, []string{"n", "a", "b", "c"}},   // Before(head) is the zero id
		{"before middle", true, b, []string{"a", "n", "b", "c"}}, // after a
		{"before tail", true, c, []string{"a", "b", "n", "c"}},
		{"after head", false, a, []string{"a", "n", "b", "c"}},
		{"after tail", false, c, []string{"a", "b", "c", "n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			listApply(s, listRPush(t1, ItemID{}, "a", "b", "c"))
			ref := tt.pivot
			if tt.before {
				ref = listRaw(s).Before(tt.pivot)
			}
			listApply(s, []Effect{listIns(listID(listTS(2, 1), 0), ref, "n")})
			if got := listValues(t, s); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("before skips a tombstone", func(t *testing.T) {
		// LINSERT BEFORE c when b is removed: Before(c) is b's tombstone,
		// and the new item goes right before c.
		s := NewStore()
		listApply(s, listRPush(t1, ItemID{}, "a", "b", "c"), []Effect{listRem(listTS(2, 1), b)})
		ref := listRaw(s).Before(c)
		if ref != b {
			t.Fatalf("Before(c) = %v, want b's tombstone %v", ref, b)
		}
		listApply(s, []Effect{listIns(listID(listTS(3, 1), 0), ref, "n")})
		if got, want := listValues(t, s), []string{"a", "n", "c"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// listConverge applies a shared history, then the batches of two regions
// in both orders to two stores, and checks that both see the same items and
// write byte-identical snapshots.
func listConverge(t *testing.T, shared [][]Effect, r1, r2 [][]Effect) []string {
	t.Helper()
	s1, s2 := NewStore(), NewStore()
	listApply(s1, shared...)
	listApply(s2, shared...)
	listApply(s1, append(slices.Clone(r1), r2...)...)
	listApply(s2, append(slices.Clone(r2), r1...)...)
	v1, v2 := listValues(t, s1), listValues(t, s2)
	if !slices.Equal(v1, v2) {
		t.Fatalf("diverged: r1 first %q, r2 first %q", v1, v2)
	}
	if !bytes.Equal(listSnapshot(t, s1), listSnapshot(t, s2)) {
		t.Fatalf("same items %q but snapshots differ", v1)
	}
	return v1
}

func TestListConcurrentInserts(t *testing.T) {
	t1 := listTS(1, 1)
	base := listRPush(t1, ItemID{}, "a", "b")
	a, b := listID(t1, 0), listID(t1, 1)
	// Both regions write at wall 5: region 2's stamps are larger.
	r1, r2 := listTS(5, 1), listTS(5, 2)
	tests := []struct {
		name   string
		r1, r2 [][]Effect
		want   []string
	}{{
		name: "rpush both", // both after b: the larger id first
		r1:   [][]Effect{listRPush(r1, b, "x")},
		r2:   [][]Effect{listRPush(r2, b, "y")},
		want: []string{"a", "b", "y", "x"},
	}, {
		name: "rpush runs do not interleave",
		r1:   [][]Effect{listRPush(r1, b, "x1", "x2", "x3")},
		r2:   [][]Effect{listRPush(r2, b, "y1", "y2")},
		want: []string{"a", "b", "y1", "y2", "x1", "x2", "x3"},
	}, {
		name: "lpush both",
		r1:   [][]Effect{listLPush(r1, "x1", "x2")},
		r2:   [][]Effect{listLPush(r2, "y1", "y2")},
		want: []string{"y2", "y1", "x2", "x1", "a", "b"},
	}, {
		name: "linsert after the same pivot",
		r1:   [][]Effect{{listIns(listID(r1, 0), a, "x")}},
		r2:   [][]Effect{{listIns(listID(r2, 0), a, "y")}},
		want: []string{"a", "y", "x", "b"},
	}, {
		name: "later pushes follow their own region's item",
		r1: [][]Effect{
			listRPush(r1, b, "x"),
			listRPush(listTS(6, 1), listID(r1, 0), "x2"),
		},
		r2:   [][]Effect{listRPush(r2, b, "y")},
		want: []string{"a", "b", "y", "x", "x2"},
	}, {
		name: "insert against a concurrent pop of the pivot",
		r1:   [][]Effect{{listIns(listID(r1, 0), a, "x")}},
		r2:   [][]Effect{{listRem(r2, a)}},
		want: []string{"x", "b"},
	}, {
		name: "concurrent lset and pop: the pop wins",
		r1:   [][]Effect{{listSet(listTS(6, 1), b, "B")}},
		r2:   [][]Effect{{listRem(r2, b)}},
		want: []string{"a"},
	}, {
		name: "an lset stamped before a concurrent pop",
		r1:   [][]Effect{{listSet(r1, b, "B")}},
		r2:   [][]Effect{{listRem(r2, b)}},
		want: []string{"a"},
	}, {
		name: "concurrent lsets: the later stamp wins",
		r1:   [][]Effect{{listSet(r1, a, "A1")}},
		r2:   [][]Effect{{listSet(r2, a, "A2")}},
		want: []string{"A2", "b"},
	}, {
		name: "both pop the same item",
		r1:   [][]Effect{{listRem(r1, a)}},
		r2:   [][]Effect{{listRem(r2, a)}},
		want: []string{"b"},
	}, {
		name: "delete against a concurrent lset",
		r1:   [][]Effect{{listSet(listTS(6, 1), a, "A")}},
		r2:   [][]Effect{{listDel(r2)}},
		want: nil, // the delete kills every item pushed before it
	}, {
		name: "delete against a concurrent push",
		r1:   [][]Effect{listRPush(listTS(6, 1), b, "x")},
		r2:   [][]Effect{{listDel(r2)}},
		want: []string{"x"},
	}, {
		name: "pop and delete of the same item",
		r1:   [][]Effect{{listRem(r1, a)}},
		r2:   [][]Effect{{listDel(listTS(6, 2))}},
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := listConverge(t, [][]Effect{base}, tt.r1, tt.r2)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestListInsertAfterRemovedItem(t *testing.T) {
	t1 := listTS(1, 1)
	a, b := listID(t1, 0), listID(t1, 1)
	base := listRPush(t1, ItemID{}, "a", "b", "c")

	// Region 1 inserts after b while region 2 pops b. Whichever arrives
	// first, the new item takes b's place: b's tombstone keeps it.
	ins := []Effect{listIns(listID(listTS(5, 1), 0), b, "n")}
	rem := []Effect{listRem(listTS(5, 2), b)}
	got := listConverge(t, [][]Effect{base}, [][]Effect{ins}, [][]Effect{rem})
	if want := []string{"a", "n", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}

	// An insert naming an item removed earlier (a tombstone, not yet
	// compacted) goes right after that tombstone.
	s := NewStore()
	listApply(s, base, []Effect{listRem(listTS(2, 1), a)})
	listApply(s, []Effect{listIns(listID(listTS(3, 1), 0), a, "n")})
	if got, want := listValues(t, s), []string{"n", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("after a tombstone: got %q, want %q", got, want)
	}

	// Once the removal is stable the tombstone is gone; an insert naming
	// it cannot be concurrent with the removal any more, and goes to the
	// tail.
	s = NewStore()
	listApply(s, base)
	s.SetStable(listTS(2, 1))
	listApply(s, []Effect{listRem(listTS(2, 1), a)})
	if listRaw(s).tombstones() {
		t.Fatal("stable tombstone not compacted")
	}
	listApply(s, []Effect{listIns(listID(listTS(3, 1), 0), a, "n")})
	if got, want := listValues(t, s), []string{"b", "c", "n"}; !slices.Equal(got, want) {
		t.Fatalf("after a compacted item: got %q, want %q", got, want)
	}
}

func TestListInsertBelowFloor(t *testing.T) {
	// Region 1 inserts x between b and c, then y after x. Region 2,
	// which has not seen x, deletes the key (stamp between x and y) and
	// pushes w. Where region 2's delete arrives first, x is below the
	// key's floor: it must be kept as a tombstone, or y would find no
	// reference and the regions would disagree on y's place.
	t1 := listTS(1, 1)
	base := listRPush(t1, ItemID{}, "a", "b", "c")
	b, c := listID(t1, 1), listID(t1, 2)
	x, y := listID(listTS(3, 1), 0), listID(listTS(6, 1), 0)
	r1 := [][]Effect{{listIns(x, b, "x")}, {listIns(y, x, "y")}}
	r2 := [][]Effect{{listDel(listTS(5, 2))}, listRPush(listTS(7, 2), c, "w")}
	got := listConverge(t, [][]Effect{base}, r1, r2)
	if want := []string{"y", "w"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}

	// The same through a FLUSHDB floor, on a key this store never had.
	s1, s2 := NewStore(), NewStore()
	flush := []Effect{{Op: OpFlushDB, TS: listTS(5, 2)}}
	listApply(s1, base, flush)
	listApply(s2, flush, base)
	for _, s := range []*Store{s1, s2} {
		listApply(s, []Effect{listIns(x, b, "x")})
	}
	if !bytes.Equal(listSnapshot(t, s1), listSnapshot(t, s2)) {
		t.Fatal("push before a flush: snapshots differ with the arrival order")
	}
}

func TestListDuplicateDelivery(t *testing.T) {
	t1, t2, t3, t4, t5 := listTS(1, 1), listTS(2, 1), listTS(3, 2), listTS(4, 1), listTS(5, 1)
	batches := [][]Effect{
		listRPush(t1, ItemID{}, "a", "b", "c"),
		listLPush(t2, "x"),
		{listRem(t3, listID(t1, 1))},      // pop b
		{listSet(t4, listID(t1, 0), "A")}, // LSET a
		listLPush(t5, "h"),
	}
	once, twice := NewStore(), NewStore()
	listApply(once, batches...)
	listApply(twice, batches...)
	listApply(twice, batches...) // every batch delivered a second time
	want := []string{"h", "x", "A", "c"}
	if got := listValues(t, once); !slices.Equal(got, want) {
		t.Fatalf("once: got %q, want %q", got, want)
	}
	if got := listValues(t, twice); !slices.Equal(got, want) {
		t.Fatalf("twice: got %q, want %q", got, want)
	}
	// Log indexes differ (so do Mod and the snapshot header): compare the
	// lists' own encodings.
	enc := func(s *Store) []byte {
		e := encoder{}
		listRaw(s).encode(&e)
		return e.b
	}
	if !bytes.Equal(enc(once), enc(twice)) {
		t.Fatal("duplicate delivery changed the list's encoding")
	}
}

func TestListTombstonesCompacted(t *testing.T) {
	t1 := listTS(1, 1)
	s := NewStore()
	listApply(s, listRPush(t1, ItemID{}, "a", "b", "c", "d"))
	// Pop a (head), c (middle) and d (tail) at t2; stable is behind.
	t2 := listTS(2, 1)
	listApply(s, []Effect{listRem(t2, listID(t1, 0)), listRem(t2, listID(t1, 2)), listRem(t2, listID(t1, 3))})
	l := listRaw(s)
	if !l.tombstones() || l.Last() != listID(t1, 3) {
		t.Fatalf("tombstones must stay while the removal is not stable (Last = %v)", l.Last())
	}
	// The frontier passes t2: the next Apply touching the key compacts it,
	// but for d, which e (stamped after the frontier) follows: an insert
	// still to come, stamped between t2 and t3, must stop at d's place.
	s.SetStable(t2)
	t3 := listTS(3, 1)
	listApply(s, listRPush(t3, l.Last(), "e"))
	l = listRaw(s)
	if got, want := len(l.items)-l.head, 3; got != want || l.dead != 1 {
		t.Fatalf("%d items stored (%d dead), want %d (1 dead)", got, l.dead, want)
	}
	if got, want := listValues(t, s), []string{"b", "e"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := l.LastLive(); got != listID(t3, 0) {
		t.Fatalf("LastLive = %v, want e's id", got)
	}
	// Once the frontier passes e, d goes too.
	s.SetStable(t3)
	listApply(s, []Effect{listSet(listTS(3, 2), listID(t3, 0), "e")})
	if l = listRaw(s); l.tombstones() || len(l.items)-l.head != 2 {
		t.Fatalf("tombstones left after the frontier passed them and their successor: %d items", len(l.items)-l.head)
	}
	// A frontier short of a removal keeps that tombstone.
	t4, t5 := listTS(4, 1), listTS(5, 1)
	s.SetStable(t4)
	listApply(s, []Effect{listRem(t5, listID(t1, 1))})
	if !listRaw(s).tombstones() {
		t.Fatal("a removal after the frontier was compacted")
	}
	// Emptying the list with the removal stable drops the key entirely.
	s.SetStable(listTS(6, 1))
	listApply(s, []Effect{listRem(listTS(6, 1), listID(t3, 0)), listDel(listTS(6, 1))})
	if _, ok := s.dbs[0].keys[listKey]; ok {
		t.Fatal("empty list with stable tombstones is still stored")
	}
}

func TestListSnapshotRoundTrip(t *testing.T) {
	t1 := listTS(1, 1)
	s := NewStore()
	listApply(s,
		listRPush(t1, ItemID{}, "a", "b", "c"),
		listLPush(listTS(2, 1), "x", "y"),
		[]Effect{listRem(listTS(3, 1), listID(t1, 1)), listSet(listTS(3, 1), listID(t1, 2), "C")},
	)
	snap := listSnapshot(t, s)
	r, err := DecodeSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := listValues(t, r), []string{"y", "x", "a", "C"}; !slices.Equal(got, want) {
		t.Fatalf("restored: got %q, want %q", got, want)
	}
	if !listRaw(r).tombstones() {
		t.Fatal("restored list lost its tombstone")
	}
	if !bytes.Equal(listSnapshot(t, r), snap) {
		t.Fatal("snapshot of the restored store differs")
	}
	// A push delivered again to the restored store is still a duplicate.
	listApply(r, listRPush(t1, ItemID{}, "a", "b", "c"))
	if got, want := listValues(t, r), []string{"y", "x", "a", "C"}; !slices.Equal(got, want) {
		t.Fatalf("restored, push redelivered: got %q, want %q", got, want)
	}
	// The restored list still merges: insert after the tombstone of b.
	listApply(r, []Effect{listIns(listID(listTS(4, 1), 0), listID(t1, 1), "n")})
	if got, want := listValues(t, r), []string{"y", "x", "a", "n", "C"}; !slices.Equal(got, want) {
		t.Fatalf("after insert: got %q, want %q", got, want)
	}
}

func TestListCloneIsDeep(t *testing.T) {
	t1 := listTS(1, 1)
	s := NewStore()
	listApply(s, listRPush(t1, ItemID{}, "a", "b"))
	c := s.dbs[0].keys[listKey].Clone()
	listApply(s, []Effect{listRem(listTS(2, 1), listID(t1, 0)), listSet(listTS(2, 1), listID(t1, 1), "B")})
	var got []string
	c.List().Range(0, func(_ int, it Item) bool { got = append(got, string(it.Value)); return true })
	if want := []string{"a", "b"}; !slices.Equal(got, want) || c.Len() != 2 {
		t.Fatalf("clone changed with the original: %q", got)
	}

	// A copy (as the leader's overlay makes) still knows its items: a
	// push delivered again is a duplicate there too.
	o := NewStore()
	o.CopyKey(s, 0, listKey)
	listApply(o, listRPush(t1, ItemID{}, "a", "b"))
	if got, want := listValues(t, o), []string{"B"}; !slices.Equal(got, want) {
		t.Fatalf("copy after a redelivered push: got %q, want %q", got, want)
	}
}

func TestListBatchRemovals(t *testing.T) {
	// One batch removing many items in various orders (LREM from the
	// tail, LTRIM of both ends) must remove exactly those.
	const n = 200
	t1 := listTS(1, 1)
	vals := make([]string, n)
	for i := range vals {
		vals[i] = strconv.Itoa(i)
	}
	tests := []struct {
		name   string
		remove []int // positions, in the order the batch names them
	}{
		{"odd ones from the tail", func() (out []int) {
			for i := n - 1; i >= 0; i-- {
				if i%2 == 1 {
					out = append(out, i)
				}
			}
			return out
		}()},
		{"both ends", append(listSeq(0, 50), listSeq(150, n)...)},
		{"a middle run, backwards", func() []int { r := listSeq(60, 140); slices.Reverse(r); return r }()},
		{"everything", listSeq(0, n)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			listApply(s, listRPush(t1, ItemID{}, vals...))
			ts := listTS(2, 1)
			var batch []Effect
			gone := map[int]bool{}
			for _, i := range tt.remove {
				batch = append(batch, listRem(ts, listID(t1, uint32(i))))
				gone[i] = true
			}
			listApply(s, batch)
			var want []string
			for i, v := range vals {
				if !gone[i] {
					want = append(want, v)
				}
			}
			if got := listValues(t, s); !slices.Equal(got, want) {
				t.Fatalf("got %d items %q, want %d", len(got), got, len(want))
			}
		})
	}
}

// listSeq returns the integers in [from, to).
func listSeq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestListCompactionKeepsTombstoneBeforeRecentItem is rule 2 of List's
// compaction: a tombstone followed by an item stamped after the stable
// frontier stays, or an insert still to come (stamped after the frontier,
// before that item) lands on the wrong side of it. R and Z are pushed; W
// goes after Z, stamped 8, by a region that had not seen Z's removal at 6;
// I, stamped 7 by a region that had, goes after R. A store that compacts
// Z once both frontiers pass 6, before I arrives, must end as one that
// never compacts: R I W.
func TestListCompactionKeepsTombstoneBeforeRecentItem(t *testing.T) {
	t1, t6, t7, t8 := listTS(1, 1), listTS(6, 2), listTS(7, 3), listTS(8, 1)
	r, z := listID(t1, 0), listID(t1, 1)
	push := listRPush(t1, ItemID{}, "r", "z")
	remZ := []Effect{listRem(t6, z)}
	w := []Effect{listIns(listID(t8, 0), z, "w")}
	i := []Effect{listIns(listID(t7, 0), r, "i")}

	keep := NewStore()
	listApply(keep, push, remZ, w, i)

	gc := NewStore()
	listApply(gc, push, remZ, w)
	gc.SetStable(t6) // every effect up to 6 is applied everywhere; I (7) is not
	gc.Compact()
	listApply(gc, i)

	want := []string{"r", "i", "w"}
	if got := listValues(t, keep); !slices.Equal(got, want) {
		t.Fatalf("without compaction: got %q, want %q", got, want)
	}
	if got := listValues(t, gc); !slices.Equal(got, want) {
		t.Fatalf("compacted before I arrived: got %q, want %q", got, want)
	}
	// Once the frontier passes W, Z goes, and both stores agree on the
	// merge state too.
	for _, s := range []*Store{keep, gc} {
		s.SetStable(t8)
		s.Compact()
	}
	if a, b := listSnapshot(t, keep), listSnapshot(t, gc); !bytes.Equal(a, b) {
		t.Fatalf("stores differ once the frontier passed every write:\n%s\n%s", keep.DebugString(), gc.DebugString())
	}
	if l := listRaw(gc); l.tombstones() {
		t.Fatal("Z kept after the frontier passed W")
	}
}

// TestListFrontierHoldsListTombstones checks that SetFrontiers keeps list
// tombstones the list frontier has not reached, while the stable frontier
// compacts other kinds.
func TestListFrontierHoldsListTombstones(t *testing.T) {
	t1, t2, t3 := listTS(1, 1), listTS(2, 1), listTS(3, 1)
	s := NewStore()
	listApply(s, listRPush(t1, ItemID{}, "a", "b"),
		[]Effect{{Op: OpHSet, Key: "h", TS: t1, Field: "f", Value: []byte("v")}, {Op: OpHSet, Key: "h", TS: t1, Field: "g", Value: []byte("v")}},
		[]Effect{listRem(t2, listID(t1, 0)), {Op: OpHDel, Key: "h", TS: t2, Field: "f"}})
	if got := s.Tombstones().Count; got != 2 {
		t.Fatalf("Tombstones().Count = %d after two removals, want 2", got)
	}
	s.SetFrontiers(t3, t1)
	s.Compact()
	if got := s.Tombstones().Count; got != 1 || !listRaw(s).tombstones() {
		t.Fatalf("Tombstones().Count = %d with the list frontier short of the pop, want 1 (the list's)", got)
	}
	if s.Stable() != t3 || s.ListStable() != t1 {
		t.Fatalf("frontiers = %v, %v; want %v, %v", s.Stable(), s.ListStable(), t3, t1)
	}
	// The list frontier is at most the stable one, and never goes back.
	s.SetFrontiers(t3, listTS(9, 1))
	if s.ListStable() != t3 {
		t.Fatalf("ListStable = %v after a list frontier past the stable one, want %v", s.ListStable(), t3)
	}
	s.SetFrontiers(t3, t1)
	if s.ListStable() != t3 {
		t.Fatal("the list frontier went back")
	}
	s.Compact()
	if got := s.Tombstones().Count; got != 0 {
		t.Fatalf("Tombstones().Count = %d once both frontiers passed every removal, want 0", got)
	}
	// A snapshot keeps both frontiers, in version 2 when they differ.
	s.SetFrontiers(listTS(5, 1), t3)
	var buf bytes.Buffer
	if err := s.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if v := buf.Bytes()[4]; v != 2 {
		t.Fatalf("snapshot version %d with distinct frontiers, want 2", v)
	}
	r, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stable() != s.Stable() || r.ListStable() != s.ListStable() || r.Digest() != s.Digest() {
		t.Fatalf("restored frontiers %v, %v; want %v, %v", r.Stable(), r.ListStable(), s.Stable(), s.ListStable())
	}
}

// TestListLiveReferences checks the references the evaluator takes:
// LastLive and LiveBefore skip tombstones.
func TestListLiveReferences(t *testing.T) {
	t1, t2 := listTS(1, 1), listTS(2, 1)
	s := NewStore()
	listApply(s, listRPush(t1, ItemID{}, "a", "b", "c", "d", "e"),
		[]Effect{listRem(t2, listID(t1, 0)), listRem(t2, listID(t1, 2)), listRem(t2, listID(t1, 3)), listRem(t2, listID(t1, 4))})
	l := listRaw(s)
	if got := l.LastLive(); got != listID(t1, 1) {
		t.Fatalf("LastLive = %v, want b", got)
	}
	if got := l.LiveBefore(listID(t1, 4)); got != listID(t1, 1) {
		t.Fatalf("LiveBefore(e) = %v, want b", got)
	}
	if got := l.LiveBefore(listID(t1, 1)); !got.IsZero() {
		t.Fatalf("LiveBefore(b) = %v, want the head", got)
	}
	// RPUSH after the last live item lands at the end of what commands
	// see, and LINSERT BEFORE b at the head.
	t3 := listTS(3, 1)
	listApply(s, listRPush(t3, l.LastLive(), "f"))
	listApply(s, []Effect{listIns(listID(listTS(4, 1), 0), listRaw(s).LiveBefore(listID(t1, 1)), "x")})
	if got, want := listValues(t, s), []string{"x", "b", "f"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	listApply(s, []Effect{listRem(listTS(5, 1), listID(t1, 1)), listRem(listTS(5, 1), listID(t3, 0)), listRem(listTS(5, 1), listID(listTS(4, 1), 0))})
	if got := listRaw(s).LastLive(); !got.IsZero() {
		t.Fatalf("LastLive of a list of tombstones = %v, want the head", got)
	}
}
