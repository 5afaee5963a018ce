package storage_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// permutations calls fn with every order of batches (at most 6 of them).
func permutations(batches [][]storage.Effect, fn func(order [][]storage.Effect)) {
	if len(batches) > 6 {
		panic("too many batches to permute")
	}
	idx := make([]int, len(batches))
	for i := range idx {
		idx[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == len(idx) {
			order := make([][]storage.Effect, len(idx))
			for i, j := range idx {
				order[i] = batches[j]
			}
			fn(order)
			return
		}
		for i := k; i < len(idx); i++ {
			idx[k], idx[i] = idx[i], idx[k]
			rec(k + 1)
			idx[k], idx[i] = idx[i], idx[k]
		}
	}
	rec(0)
}

// dumpKey returns the Dump line of one key of database 0 as read at now
// ("" if the key does not exist).
func dumpKey(s *storage.Store, now int64, key string) string {
	for line := range strings.Lines(storagetest.Dump(s.At(now))) {
		if strings.HasPrefix(line, fmt.Sprintf("  %q ", key)) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// causal reports whether every list effect in order comes after the
// insert of the item it names: the list CRDT needs that much order (see
// storagetest.Shuffle); every other effect may come in any order.
func causal(order [][]storage.Effect) bool {
	inserted := map[storage.ItemID]bool{}
	for _, b := range order {
		for _, e := range b {
			var named storage.ItemID
			switch e.Op {
			case storage.OpLInsert:
				inserted[e.ID] = true
				named = e.Ref
			case storage.OpLRem, storage.OpLSet:
				named = e.ID
			}
			if !named.IsZero() && !inserted[named] {
				return false
			}
		}
	}
	return true
}

// mergeCase is batches whose merge, in every order, gives one key a
// value.
type mergeCase struct {
	name    string
	batches [][]storage.Effect
	key     string
	want    string // the key's Dump line, without its name; "" = no key
}

func runMergeCases(t *testing.T, cases []mergeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var digest [32]byte
			var firstState string
			first := true
			permutations(c.batches, func(order [][]storage.Effect) {
				if !causal(order) {
					return
				}
				s := storage.NewStore()
				apply(s, false, order...)
				got := strings.TrimPrefix(dumpKey(s, 0, c.key), fmt.Sprintf("%q ", c.key))
				if got != c.want {
					t.Fatalf("order %v:\n got %s\nwant %s", order, got, c.want)
				}
				if d := s.Digest(); first {
					digest, first, firstState = d, false, s.DebugString()
				} else if d != digest {
					t.Fatalf("order %v: merge state differs from the first order's:\n%s\nfirst:\n%s", order, s.DebugString(), firstState)
				}
			})
		})
	}
}

// TestCounters checks the counter rules of DESIGN.md ("Merge rules"), each
// in every arrival order.
func TestCounters(t *testing.T) {
	k := func(wall int64, region uint32) fx { return fx{0, "c", at(wall, region)} }
	h := func(wall int64, region uint32) fx { return fx{0, "h", at(wall, region)} }
	z := func(wall int64, region uint32) fx { return fx{0, "z", at(wall, region)} }
	runMergeCases(t, []mergeCase{
		// Concurrent INCRBY from three regions add up on the base.
		{"concurrent_increments", [][]storage.Effect{
			{k(1, 1).set("10")}, {k(2, 1).incr(1)}, {k(2, 2).incr(2)}, {k(2, 3).incr(3)},
		}, "c", `string n=1: "16"`},
		// INCR on a missing key in two regions: both count from zero.
		{"increments_without_base", [][]storage.Effect{
			{k(1, 1).incr(1)}, {k(1, 2).incr(1)},
		}, "c", `string n=1: "2"`},
		// A SET stamped after an increment hides it.
		{"set_hides_earlier_increment", [][]storage.Effect{
			{k(1, 1).set("10")}, {k(2, 2).incr(5)}, {k(3, 1).del(), k(3, 1).set("100")},
		}, "c", `string n=1: "100"`},
		// An increment stamped after the SET survives it, even if it
		// arrives first.
		{"increment_after_set_survives", [][]storage.Effect{
			{k(1, 1).set("10")}, {k(3, 2).incr(5)}, {k(2, 1).del(), k(2, 1).set("100")},
		}, "c", `string n=1: "105"`},
		// DEL stamped after increments hides them; a later one counts
		// from zero.
		{"del_between_increments", [][]storage.Effect{
			{k(1, 1).incr(7)}, {k(2, 2).del()}, {k(3, 3).incr(2)},
		}, "c", `string n=1: "2"`},
		// INCR of an expired key: DEL and INCR in one command.
		{"incr_of_expired_key", [][]storage.Effect{
			{k(1, 1).set("10"), k(1, 1).expire(50)}, {k(2, 1).del(), k(2, 1).incr(1)},
		}, "c", `string n=1: "1"`},
		// INCRBYFLOAT from two regions on an integer base.
		{"float_increments", [][]storage.Effect{
			{k(1, 1).set("10")}, {k(2, 1).incrFloat(0.5)}, {k(2, 2).incrFloat(0.25)},
		}, "c", `string n=1: "10.75"`},
		// A float increment and an integer one: the sum prints as a
		// float, without a fraction when it is whole.
		{"mixed_increments", [][]storage.Effect{
			{k(1, 1).set("1.5")}, {k(2, 1).incrFloat(0.5)}, {k(2, 2).incr(3)},
		}, "c", `string n=1: "5"`},
		// HINCRBY from two regions on one field, HSET of another field
		// in between changes nothing.
		{"hash_increments", [][]storage.Effect{
			{h(1, 1).hset("f", "5")}, {h(2, 1).hincr("f", 1)}, {h(2, 2).hincr("f", 10)}, {h(3, 3).hset("g", "x")},
		}, "h", `hash n=2: "f"="16" "g"="x"`},
		// HSET stamped between two HINCRBYs keeps only the later one.
		{"hash_set_between_increments", [][]storage.Effect{
			{h(1, 1).hincr("f", 1)}, {h(2, 2).hset("f", "100")}, {h(3, 3).hincr("f", 1)},
		}, "h", `hash n=1: "f"="101"`},
		// HINCRBYFLOAT without a base.
		{"hash_float_increments", [][]storage.Effect{
			{h(1, 1).hincrFloat("f", 0.5)}, {h(1, 2).hincrFloat("f", 2)},
		}, "h", `hash n=1: "f"="2.5"`},
		// ZINCRBY from three regions add up; a ZADD stamped after the
		// first one sets a new base.
		{"zset_increments", [][]storage.Effect{
			{z(1, 1).zincr("m", 1)}, {z(2, 2).zadd("m", 10)}, {z(3, 1).zincr("m", 0.5)}, {z(3, 3).zincr("m", 2)},
		}, "z", `zset n=1: "m"=12.5#4029000000000000`},
	})
}

// TestCountersFold checks that moving the stable frontier folds the
// increments into the base without changing the value.
func TestCountersFold(t *testing.T) {
	batches := [][]storage.Effect{
		{fx{0, "c", at(1, 1)}.set("10")},
		{fx{0, "c", at(2, 2)}.incr(5)},
		{fx{0, "c", at(3, 3)}.incrFloat(0.25)},
		{fx{0, "h", at(2, 2)}.hincr("f", 3)},
		{fx{0, "h", at(3, 3)}.hincrFloat("g", 1.5)},
		{fx{0, "z", at(2, 1)}.zadd("m", 1)},
		{fx{0, "z", at(3, 2)}.zincr("m", 0.1)},
		{fx{0, "z", at(4, 3)}.zincr("m", 0.2)},
	}
	s := storage.NewStore()
	apply(s, false, batches...)
	before := storagetest.Dump(s.At(0))
	if r := s.At(0).Get(0, "c").Str(); len(r.Incs) != 2 {
		t.Fatalf("with the frontier at zero, the counter keeps its increments: %+v", r)
	}
	// The frontier passes everything; the next write to each key folds.
	s.SetStable(at(10, 1))
	apply(s, false, []storage.Effect{
		fx{0, "c", at(11, 1)}.expire(0),
		fx{0, "h", at(11, 1)}.expire(0),
		fx{0, "z", at(11, 1)}.expire(0),
	})
	if after := storagetest.Dump(s.At(0)); after != before {
		t.Fatalf("folding changed values:\n--- before:\n%s--- after:\n%s", before, after)
	}
	if r := s.At(0).Get(0, "c").Str(); len(r.Incs) != 0 || string(r.Val) != "15.25" {
		t.Fatalf("counter not folded: %+v", r)
	}
	// Increments after the frontier still add to the folded base.
	apply(s, false, []storage.Effect{fx{0, "c", at(12, 2)}.incr(1)}, []storage.Effect{fx{0, "z", at(12, 2)}.zincr("m", 1)})
	if got := dumpKey(s, 0, "c"); got != `"c" string n=1: "16.25"` {
		t.Fatalf("after a new increment: %s", got)
	}
	if got, _ := s.At(0).Get(0, "z").ZSet().Score("m"); got != 1+0.1+0.2+1 {
		t.Fatalf("score %v, want %v", got, 1+0.1+0.2+1)
	}
}

// TestTypeConflicts checks "the newest write's type wins" (DESIGN.md) and
// that a write of another type also deletes what is older than it.
func TestTypeConflicts(t *testing.T) {
	k := func(wall int64, region uint32) fx { return fx{0, "k", at(wall, region)} }
	runMergeCases(t, []mergeCase{
		// A hash written after a string replaces it.
		{"newer_hash_wins", [][]storage.Effect{
			{k(1, 1).set("s")}, {k(2, 2).hset("f", "v")},
		}, "k", `hash n=1: "f"="v"`},
		// A string written after a hash replaces it.
		{"newer_string_wins", [][]storage.Effect{
			{k(2, 1).set("s")}, {k(1, 2).hset("f", "v")},
		}, "k", `string n=1: "s"`},
		// The losing SET still deletes the hash's older fields: f1 is
		// older than it, f2 newer.
		{"loser_deletes_older", [][]storage.Effect{
			{k(1, 1).hset("f1", "a")}, {k(2, 2).set("s")}, {k(3, 1).hset("f2", "b")},
		}, "k", `hash n=1: "f2"="b"`},
		// Fields of the winning type written between the two writes of
		// the loser survive (the winner's floor is the loser's newest
		// write).
		{"winner_keeps_newer", [][]storage.Effect{
			{k(1, 1).set("s")}, {k(2, 2).hset("f1", "a")}, {k(3, 2).hset("f2", "b")}, {k(4, 2).hset("f3", "c")},
		}, "k", `hash n=3: "f1"="a" "f2"="b" "f3"="c"`},
		// Three types: the newest wins, everything older than the second
		// newest dies.
		{"three_types", [][]storage.Effect{
			{k(1, 1).field(storage.OpSAdd, "m")}, {k(2, 2).zadd("a", 1)}, {k(3, 3).field(storage.OpSAdd, "n")}, {k(4, 1).set("x")},
		}, "k", `string n=1: "x"`},
		{"three_types_set_wins", [][]storage.Effect{
			{k(1, 1).field(storage.OpSAdd, "m")}, {k(2, 2).zadd("a", 1)}, {k(3, 3).field(storage.OpSAdd, "n")},
		}, "k", `set n=1: "n"`},
		// A removal is a write of its type too: the newest write is an
		// HDEL, so the key is an (empty) hash, which does not exist.
		{"removal_wins_type", [][]storage.Effect{
			{k(1, 1).hset("f", "v")}, {k(2, 2).set("s")}, {k(3, 1).field(storage.OpHDel, "f")},
		}, "k", ``},
		// An increment after a SET of another type: counter from zero.
		{"increment_wins", [][]storage.Effect{
			{k(1, 1).hset("f", "v")}, {k(2, 2).incr(3)},
		}, "k", `string n=1: "3"`},
		// A list pushed after a set replaces it.
		{"list_wins", [][]storage.Effect{
			{k(1, 1).field(storage.OpSAdd, "m")}, {k(2, 2).linsert(0, storage.ItemID{}, "x")},
		}, "k", `list n=1: 2.0@2.1/0="x"`},
	})
}

// TestKeyDelete checks key-level deletes: elements stamped before die,
// elements stamped at or after live, in every order.
func TestKeyDelete(t *testing.T) {
	k := func(wall int64, region uint32) fx { return fx{0, "k", at(wall, region)} }
	runMergeCases(t, []mergeCase{
		// DEL after the write.
		{"del", [][]storage.Effect{{k(1, 1).set("v")}, {k(2, 2).del()}}, "k", ``},
		// A write after the DEL lives.
		{"write_after_del", [][]storage.Effect{{k(2, 1).set("v")}, {k(1, 2).del()}}, "k", `string n=1: "v"`},
		// SET over an old value: DEL and SET in one command.
		{"set_over_value", [][]storage.Effect{{k(1, 1).set("old")}, {k(2, 2).del(), k(2, 2).set("new")}}, "k", `string n=1: "new"`},
		// Only the hash fields written after the DEL survive.
		{"hash_fields", [][]storage.Effect{
			{k(1, 1).hset("a", "1")}, {k(2, 2).del()}, {k(3, 1).hset("b", "2")},
		}, "k", `hash n=1: "b"="2"`},
		// A removal stamped at the delete (HDEL of the last field, then
		// DEL, in one command) changes nothing more.
		{"removal_with_del", [][]storage.Effect{
			{k(1, 1).hset("a", "1")}, {k(2, 1).field(storage.OpHDel, "a"), k(2, 1).del()}, {k(3, 2).hset("b", "2")},
		}, "k", `hash n=1: "b"="2"`},
		// Set members and sorted-set members likewise.
		{"set_members", [][]storage.Effect{
			{k(1, 1).field(storage.OpSAdd, "a")}, {k(2, 2).del()}, {k(3, 1).field(storage.OpSAdd, "b")}, {k(2, 3).field(storage.OpSRem, "b")},
		}, "k", `set n=1: "b"`},
		{"zset_members", [][]storage.Effect{
			{k(1, 1).zadd("a", 1)}, {k(2, 2).del()}, {k(3, 1).zadd("b", 2)}, {k(4, 3).zincr("a", 1)},
		}, "k", `zset n=2: "a"=1#3ff0000000000000 "b"=2#4000000000000000`},
		// List items pushed before the DEL die, even if set after it;
		// items pushed after live.
		{"list_items", [][]storage.Effect{
			{k(1, 1).linsert(0, storage.ItemID{}, "a")}, {k(2, 2).del()}, {k(3, 1).lset(k(1, 1).item(0), "A")}, {k(4, 1).linsert(0, k(1, 1).item(0), "b")},
		}, "k", `list n=1: 4.0@1.1/0="b"`},
	})
}

// TestExpire checks the TTL register: last writer wins, a key-level delete
// clears an older TTL, PERSIST writes "no deadline".
func TestExpire(t *testing.T) {
	k := func(wall int64, region uint32) fx { return fx{0, "k", at(wall, region)} }
	runMergeCases(t, []mergeCase{
		// The later EXPIRE wins.
		{"lww", [][]storage.Effect{{k(1, 1).set("v")}, {k(2, 1).expire(500)}, {k(3, 2).expire(900)}}, "k", `string ttl=900 n=1: "v"`},
		// PERSIST after EXPIRE.
		{"persist", [][]storage.Effect{{k(1, 1).set("v")}, {k(2, 1).expire(500)}, {k(3, 2).expire(0)}}, "k", `string n=1: "v"`},
		// DEL after the EXPIRE takes the TTL with it; the key written
		// again has none.
		{"del_clears", [][]storage.Effect{{k(1, 1).set("v"), k(1, 1).expire(500)}, {k(2, 2).del()}, {k(3, 1).set("w")}}, "k", `string n=1: "w"`},
		// SET with EX: DEL, SET and EXPIRE in one command.
		{"set_ex", [][]storage.Effect{{k(1, 1).set("v"), k(1, 1).expire(500)}, {k(2, 2).del(), k(2, 2).set("w"), k(2, 2).expire(800)}}, "k", `string ttl=800 n=1: "w"`},
		// An EXPIRE stamped after a concurrent DEL survives it.
		{"expire_after_del", [][]storage.Effect{{k(1, 1).set("v")}, {k(2, 2).del()}, {k(3, 1).expire(500)}, {k(4, 3).set("w")}}, "k", `string ttl=500 n=1: "w"`},
	})
}

// TestTombstoneGC checks that tombstones and dead keys go once the stable
// frontier passes them, and stay while it does not.
func TestTombstoneGC(t *testing.T) {
	type stateCheck func(t *testing.T, s *storage.Store)
	noKey := func(key string) stateCheck {
		return func(t *testing.T, s *storage.Store) {
			t.Helper()
			if strings.Contains(s.DebugString(), fmt.Sprintf("%q", key)) {
				t.Fatalf("key %q still stored:\n%s", key, s.DebugString())
			}
		}
	}
	cases := []struct {
		name    string
		batches [][]storage.Effect
		gone    stateCheck
	}{
		// A deleted string.
		{"string", [][]storage.Effect{{fx{0, "k", at(1, 1)}.set("v")}, {fx{0, "k", at(2, 1)}.del()}}, noKey("k")},
		// A hash emptied field by field, then deleted.
		{"hash", [][]storage.Effect{{fx{0, "k", at(1, 1)}.hset("f", "v")}, {fx{0, "k", at(2, 1)}.field(storage.OpHDel, "f"), fx{0, "k", at(2, 1)}.del()}}, noKey("k")},
		// A set member removed without a key delete.
		{"set_member", [][]storage.Effect{{fx{0, "k", at(1, 1)}.field(storage.OpSAdd, "m")}, {fx{0, "k", at(2, 1)}.field(storage.OpSRem, "m")}}, noKey("k")},
		// A sorted set deleted.
		{"zset", [][]storage.Effect{{fx{0, "k", at(1, 1)}.zadd("m", 1)}, {fx{0, "k", at(2, 1)}.del()}}, noKey("k")},
		// A DEL of a key that never existed.
		{"del_missing", [][]storage.Effect{{fx{0, "k", at(1, 1)}.del()}}, noKey("k")},
		// An EXPIRE of a key that never existed, then PERSIST... and DEL.
		{"expire_missing", [][]storage.Effect{{fx{0, "k", at(1, 1)}.expire(9)}, {fx{0, "k", at(2, 1)}.del()}}, noKey("k")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Frontier at zero: the tombstone stays, and a late write
			// stamped before it cannot bring the key back.
			kept := storage.NewStore()
			apply(kept, false, c.batches...)
			if !strings.Contains(kept.DebugString(), `"k"`) {
				t.Fatalf("tombstone dropped before it was stable:\n%s", kept.DebugString())
			}
			// Frontier following every batch (one region): gone at once.
			gc := storage.NewStore()
			apply(gc, true, c.batches...)
			c.gone(t, gc)
			if gc.Keys() != 0 || gc.Expires(0) != 0 {
				t.Fatalf("Keys() = %d, Expires = %d", gc.Keys(), gc.Expires(0))
			}
			// Frontier moved later: untouched keys stay until an Apply
			// touches them (here a late, dropped write).
			kept.SetStable(at(5, 1))
			apply(kept, false, []storage.Effect{fx{0, "other", at(6, 1)}.set("v")})
			if !strings.Contains(kept.DebugString(), `"k"`) {
				t.Fatal("an untouched key was compacted")
			}
			apply(kept, false, []storage.Effect{fx{0, "k", at(1, 1)}.del()})
			noKey("k")(t, kept)
		})
	}
}

// TestLateWrites checks writes that arrive after a delete stamped after
// them: they stay dead, and the tombstone that stops them stays until it
// is stable.
func TestLateWrites(t *testing.T) {
	s := storage.NewStore()
	apply(s, false,
		[]storage.Effect{fx{0, "h", at(1, 1)}.hset("f", "v")},
		[]storage.Effect{fx{0, "h", at(3, 2)}.field(storage.OpHDel, "f"), fx{0, "h", at(3, 2)}.del()},
		[]storage.Effect{storage.Effect{Op: storage.OpFlushDB, DB: 1, TS: at(3, 2)}},
	)
	late := [][]storage.Effect{
		{fx{0, "h", at(2, 3)}.hset("f", "late")},          // before the HDEL
		{fx{0, "h", at(2, 3)}.hset("g", "late")},          // before the DEL
		{fx{0, "h", at(2, 3)}.expire(100)},                // before the DEL
		{fx{1, "x", at(2, 3)}.set("late")},                // before the FLUSHDB
		{fx{1, "x", at(2, 3)}.field(storage.OpSAdd, "m")}, // before the FLUSHDB
	}
	apply(s, false, late...)
	if d := storagetest.Dump(s.At(0)); d != "" {
		t.Fatalf("late writes came back:\n%s", d)
	}
	if s.Keys() != 0 {
		t.Fatalf("Keys() = %d", s.Keys())
	}
}

// TestApplyIgnoresBadDB checks that effects naming a database out of range
// are skipped, not a panic (DecodeEffects refuses them; direct callers
// might not).
func TestApplyIgnoresBadDB(t *testing.T) {
	s := storage.NewStore()
	s.Apply(1, []storage.Effect{
		{Op: storage.OpSet, DB: -1, Key: "k", TS: at(1, 1), Value: []byte("v")},
		{Op: storage.OpSet, DB: storage.NumDBs, Key: "k", TS: at(1, 1), Value: []byte("v")},
	})
	if s.Keys() != 0 {
		t.Fatal("an effect out of range was applied")
	}
}

// TestApplyIndexAndStamps checks the bookkeeping of Apply: Index, LastStamp
// and each key's Mod.
func TestApplyIndexAndStamps(t *testing.T) {
	s := storage.NewStore()
	s.Apply(5, []storage.Effect{fx{0, "a", at(9, 2)}.set("v"), fx{0, "b", at(9, 2)}.set("v")})
	s.Apply(3, []storage.Effect{fx{0, "a", at(4, 1)}.set("old")}) // an older index never lowers Index
	if s.Index() != 5 {
		t.Fatalf("Index() = %d, want 5", s.Index())
	}
	if want := at(9, 2); s.LastStamp() != want {
		t.Fatalf("LastStamp() = %v, want %v", s.LastStamp(), want)
	}
	r := s.At(0)
	if r.Version(0, "a") != 3 || r.Version(0, "b") != 5 || r.Version(0, "none") != 0 {
		t.Fatalf("versions a=%d b=%d none=%d", r.Version(0, "a"), r.Version(0, "b"), r.Version(0, "none"))
	}
	var touched []string
	s.OnTouch = func(db int, key string) { touched = append(touched, fmt.Sprintf("%d/%s", db, key)) }
	s.Apply(6, []storage.Effect{fx{0, "a", at(10, 1)}.del(), fx{0, "a", at(10, 1)}.set("n"), {Op: storage.OpFlushDB, DB: 2, TS: at(10, 1)}})
	slices.Sort(touched)
	if fmt.Sprint(touched) != "[0/a]" {
		t.Fatalf("OnTouch calls %v, want one for a", touched)
	}
}
