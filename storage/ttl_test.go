package storage_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// Expiry at the stable frontier (Store.ExpireStable): what a linked
// region's stable entries do. Deadlines here are Unix ms around 2000;
// stamps come from at(wall, region).

// applyFx applies effects as one batch, at the next log index.
func applyFx(s *storage.Store, effects ...storage.Effect) {
	s.Apply(s.Index()+1, effects)
}

// advance moves both frontiers to f and expires what they passed, as a
// stable entry of a linked region does.
func advance(s *storage.Store, f hlc.Timestamp) {
	s.SetFrontiers(f, f)
	s.ExpireStable(s.Index() + 1)
}

// TestExpireStableAtDeadline: a key expires exactly when the frontier
// reaches the smallest stamp with its deadline's wall time, and not a
// stamp before.
func TestExpireStableAtDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		frontier hlc.Timestamp
		gone     bool
	}{
		// Every stamp with wall time 1999 is before the deadline: an
		// effect stamped there may still change the TTL.
		{"last stamp before the deadline", hlc.Timestamp{Wall: 1999, Logical: math.MaxUint32, Region: math.MaxUint32, Node: math.MaxUint32}, false},
		// Every effect stamped before wall time 2000 has been applied.
		{"first stamp of the deadline", hlc.Timestamp{Wall: 2000}, true},
		{"well past the deadline", at(5000, 1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := storage.NewStore()
			h := fx{key: "h", ts: at(1000, 1)}
			applyFx(s, h.hset("f1", "v1"), h.expire(2000))
			applyFx(s, fx{key: "h", ts: at(1500, 2)}.hset("f2", "v2"))
			applyFx(s, fx{key: "k", ts: at(1000, 1)}.set("no ttl"))
			advance(s, tc.frontier)
			got := s.At(0).Get(0, "h")
			if (got == nil) != tc.gone {
				t.Fatalf("frontier %v: h present = %v, want gone = %v\n%s", tc.frontier, got != nil, tc.gone, s.TTLString())
			}
			want := 2 // h and k
			if tc.gone {
				want = 1
			}
			if s.Keys() != want {
				t.Fatalf("Keys() = %d, want %d", s.Keys(), want)
			}
			if s.At(0).Get(0, "k") == nil {
				t.Fatal("a key without a TTL expired")
			}
		})
	}
}

// TestExpireStableTTLChange: the TTL write in force at the deadline
// decides, whatever order the writes arrive in and wherever the frontier
// is when they do (as long as every write stamped before the frontier
// has arrived, as the frontier promises).
func TestExpireStableTTLChange(t *testing.T) {
	orig := fx{key: "k", ts: at(1000, 1)}
	for _, tc := range []struct {
		name   string
		change storage.Effect // region 2's TTL write
		// want is k's value and deadline once the frontier is at 3000;
		// "" for gone.
		want   string
		wantAt int64
	}{
		// The case of docs/CONFLICTS.md: a region extends the TTL before
		// the deadline; the other's clock passes the deadline before it
		// merges the change. The key never expires.
		{"PEXPIRE before the deadline", fx{key: "k", ts: at(1500, 2)}.expire(600000), "v", 600000},
		{"PERSIST before the deadline", fx{key: "k", ts: at(1500, 2)}.expire(0), "v", 0},
		{"shortened before the deadline", fx{key: "k", ts: at(1500, 2)}.expire(1800), "", 0},
		// Stamped after the deadline (a region that had not merged the
		// original TTL, or whose clock runs ahead): the key had expired,
		// the value goes; the TTL write survives, on a key holding
		// nothing.
		{"PEXPIRE after the deadline", fx{key: "k", ts: at(2500, 2)}.expire(600000), "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := at(2200, 1)
			var digest [32]byte
			orders := [][]string{{"orig", "change", "frontier"}, {"change", "orig", "frontier"}}
			if first.Less(tc.change.TS) {
				// Stamped after the frontier: it may also arrive after it.
				orders = append(orders, []string{"orig", "frontier", "change"})
			}
			for i, order := range orders {
				s := storage.NewStore()
				for _, step := range order {
					switch step {
					case "orig":
						applyFx(s, orig.set("v"), orig.expire(2000))
					case "change":
						applyFx(s, tc.change)
					case "frontier":
						advance(s, first)
					}
				}
				advance(s, at(3000, 1))
				s.Compact()
				got, gotAt := "", int64(0)
				if o := s.At(0).Get(0, "k"); o != nil {
					got, gotAt = string(o.Str().Value()), o.ExpireAt()
				}
				if got != tc.want || gotAt != tc.wantAt {
					t.Fatalf("%s: k = %q with deadline %d, want %q with %d\n%s", order, got, gotAt, tc.want, tc.wantAt, s.TTLString())
				}
				// The first two orders apply the same writes before each
				// frontier: same merge state. (The third one's k has no
				// key floor: a key holding nothing once the frontier has
				// passed its stamps goes, floor and all, as in Compact.)
				if d := s.Digest(); i == 0 {
					digest = d
				} else if d != digest && i < 2 {
					t.Fatalf("%s: digest differs from %s's\n%s", order, orders[0], s.TTLString())
				}
			}
		})
	}
}

// TestExpireStableLaterWritesSurvive: expiring is a delete at the
// deadline: what was written before it goes, what was written at or
// after it (a region whose clock ran ahead) stays, without the TTL.
func TestExpireStableLaterWritesSurvive(t *testing.T) {
	for _, lateFirst := range []bool{false, true} {
		s := storage.NewStore()
		h := fx{key: "h", ts: at(1000, 1)}
		late := fx{key: "h", ts: at(2000, 2)}.hset("after", "1")
		if lateFirst {
			applyFx(s, late)
		}
		applyFx(s, h.hset("before", "1"), h.expire(2000))
		applyFx(s, fx{key: "h", ts: at(1999, 3)}.hset("just-before", "1"))
		advance(s, at(1999, 9))
		if !lateFirst {
			applyFx(s, late)
		}
		advance(s, at(2500, 1))
		o := s.At(0).Get(0, "h")
		if o == nil || o.Len() != 1 || !hashHas(o, "after") || o.ExpireAt() != 0 {
			t.Fatalf("late write first = %v: h = %s, want only field after, no TTL\n%s", lateFirst, storagetest.Dump(s.At(0)), s.TTLString())
		}
	}
}

// TestExpireStableKeepsEmptyKey: a key holding no element but a TTL
// that has yet to expire stays, even once the frontier passes all its
// stamps: an element stamped before the deadline may still arrive, and
// must expire with the key as it does in a store that got it earlier.
func TestExpireStableKeepsEmptyKey(t *testing.T) {
	for _, early := range []bool{false, true} {
		s := storage.NewStore()
		h := fx{key: "h", ts: at(1000, 1)}
		f2 := fx{key: "h", ts: at(1400, 3)}.hset("f2", "v") // region 3 saw nothing
		if early {
			applyFx(s, f2)
		}
		applyFx(s, h.hset("f1", "v"))
		// Region 2 removes the last field (and the TTL, as Valkey does);
		// region 1, which still had the field, sets a TTL after it.
		r2 := fx{key: "h", ts: at(1100, 2)}
		applyFx(s, r2.field(storage.OpHDel, "f1"), r2.expire(0))
		applyFx(s, fx{key: "h", ts: at(1200, 1)}.expire(5000))
		advance(s, at(1300, 1))
		s.Compact() // the sweep a stable entry makes now and then
		if !early {
			applyFx(s, f2)
		}
		if o := s.At(0).Get(0, "h"); o == nil || o.ExpireAt() != 5000 {
			t.Fatalf("early = %v: before the deadline h = %s, want f2 with deadline 5000\n%s", early, storagetest.Dump(s.At(0)), s.TTLString())
		}
		advance(s, at(5000, 1))
		if s.At(0).Get(0, "h") != nil {
			t.Fatalf("early = %v: after the deadline h = %s, want gone\n%s", early, storagetest.Dump(s.At(0)), s.TTLString())
		}
	}
}

// TestExpireStableRestore: the deadline index is not in snapshots; a
// restored store builds it again, and expires what the original expires,
// TTL history included.
func TestExpireStableRestore(t *testing.T) {
	s := storage.NewStore()
	k := fx{key: "k", ts: at(1000, 1)}
	applyFx(s, k.set("v"), k.expire(2000))
	// k2's TTL is replaced, before the frontier passes the deadline, by a
	// write stamped after it: only the history knows k2 expires at 2000.
	k2 := fx{key: "k2", ts: at(1000, 1)}
	applyFx(s, k2.set("v"), k2.expire(2000))
	applyFx(s, fx{key: "k2", ts: at(2500, 2)}.expire(900000))
	advance(s, at(1500, 1)) // builds the index; nothing expires yet
	if len(s.TTLHistory(0, "k2")) != 1 {
		t.Fatalf("k2 keeps no TTL history:\n%s", s.TTLString())
	}

	var buf bytes.Buffer
	if err := s.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := storage.ReadSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest() != s.Digest() {
		t.Fatalf("restored digest differs:\n%s---\n%s", s.TTLString(), r.TTLString())
	}
	for _, st := range []*storage.Store{s, r} {
		advance(st, at(2200, 1))
		if st.At(0).Get(0, "k") != nil || st.At(0).Get(0, "k2") != nil || st.Keys() != 0 {
			t.Fatalf("after the deadline: %s\n%s", storagetest.Dump(st.At(0)), st.TTLString())
		}
	}
	if r.Digest() != s.Digest() {
		t.Fatalf("restored store expired differently:\n%s---\n%s", s.TTLString(), r.TTLString())
	}
}

// TestTTLHistoryCompacted: once the frontier passes a replaced TTL write
// that never expired, the store holds exactly what a store that never
// saw it holds (so its snapshot carries no history).
func TestTTLHistoryCompacted(t *testing.T) {
	k := fx{key: "k", ts: at(1000, 1)}
	final := fx{key: "k", ts: at(1200, 2)}.expire(900000)
	a, b := storage.NewStore(), storage.NewStore()
	applyFx(a, k.set("v"), k.expire(5000))
	applyFx(a, final)
	applyFx(b, k.set("v"), final)
	if len(a.TTLHistory(0, "k")) != 1 {
		t.Fatalf("the replaced write is not kept before the frontier passes it:\n%s", a.TTLString())
	}
	for _, s := range []*storage.Store{a, b} {
		advance(s, at(1300, 1))
	}
	if len(a.TTLHistory(0, "k")) != 0 || a.Digest() != b.Digest() {
		t.Fatalf("history left after the frontier:\n%s---\n%s", a.TTLString(), b.TTLString())
	}
}

// TestTTLHistoryFrozen: a frozen view writes the history it saw, and
// changes to the history after the freeze do not reach it.
func TestTTLHistoryFrozen(t *testing.T) {
	s := storage.NewStore()
	k := fx{key: "k", ts: at(1000, 1)}
	applyFx(s, k.set("v"), k.expire(2000))
	applyFx(s, fx{key: "k", ts: at(2500, 2)}.expire(900000))
	var want bytes.Buffer
	if err := s.WriteSnapshot(&want); err != nil {
		t.Fatal(err)
	}
	f := s.Freeze()
	defer f.Release()
	applyFx(s, fx{key: "k", ts: at(1500, 3)}.expire(1900))
	applyFx(s, fx{key: "k", ts: at(2600, 3)}.expire(800000))
	advance(s, at(3000, 1))
	var got bytes.Buffer
	if err := f.WriteSnapshot(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("the frozen view changed with the store's TTL history")
	}
	r, err := storage.ReadSnapshot(&got)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.TTLHistory(0, "k"); len(h) != 1 || h[0].At != 2000 {
		t.Fatalf("restored history = %v, want the write of deadline 2000", h)
	}
}

// TestExpireStableConverges is the convergence property with expiry:
// stores that apply the same batches in their own random orders, with
// duplicates, while the stable frontier moves in random steps (each
// keeping its promise: every batch stamped at or before it has arrived)
// end in the logical state of a model that applies the batches one by
// one in stamp order and deletes each key at its deadline as the TTL in
// force then says. Stores that deliver the same batches between frontier
// moves, each step in its own order, end in the same merge state too
// (Digest). (Across different steps digests may differ as they do
// without expiry: a key left holding nothing once the frontier passed
// its stamps goes, floor and all, and one written again later starts
// afresh; see TestMergeConvergesWithCompaction.)
func TestExpireStableConverges(t *testing.T) {
	expired := 0
	for _, seed := range mergeSeeds(300) {
		batches := genTTLBatches(seed, 70)
		var maxWall int64
		for _, b := range batches {
			maxWall = max(maxWall, b.TS.Wall)
		}
		end := hlc.Timestamp{Wall: maxWall + 200} // past every deadline
		model, n := ttlModel(batches, end)
		expired += n
		want := storagetest.Dump(model.At(0))
		r := rand.New(rand.NewPCG(seed, 13))
		for p := range 3 {
			steps := planDelivery(r, batches, end)
			var digest [32]byte
			var first string
			for q := range 2 {
				s := storage.NewStore()
				log := deliver(r, s, steps)
				s.Compact()
				if got := storagetest.Dump(s.At(0)); got != want {
					t.Fatalf("seed %d (replay with -seed=%d), plan %d order %d: logical state differs from the model's\n--- got:\n%s--- want:\n%s--- ttl:\n%s--- model ttl:\n%s--- delivery:\n%s",
						seed, seed, p, q, got, want, s.TTLString(), model.TTLString(), log)
				}
				if d := s.Digest(); q == 0 {
					digest, first = d, s.DebugString()+s.TTLString()+log
				} else if d != digest {
					t.Fatalf("seed %d (replay with -seed=%d), plan %d: digest differs between orders\n--- got:\n%s%s%s--- first:\n%s",
						seed, seed, p, s.DebugString(), s.TTLString(), log, first)
				}
			}
		}
	}
	if expired < 100 && *seedFlag == 0 {
		t.Fatalf("keys expired %d times in all: the generator hardly tests expiry", expired)
	}
}

// ttlModel applies batches one by one in stamp order to a fresh store,
// deleting, before each, every key whose TTL in force expired at or
// before its stamp (at the expiry stamp), and at the end every key that
// expired at or before end. It returns the store and how many times a
// key expired.
func ttlModel(batches []storagetest.Batch, end hlc.Timestamp) (*storage.Store, int) {
	m := storage.NewStore()
	n := 0
	expire := func(upTo hlc.Timestamp) {
		var dels []storage.Effect
		m.ForEachExpiry(func(db int, key string, e hlc.Timestamp) {
			if !upTo.Less(e) {
				dels = append(dels, storage.Effect{Op: storage.OpDel, DB: db, Key: key, TS: e})
			}
		})
		if len(dels) > 0 {
			m.Apply(m.Index()+1, dels)
			n += len(dels)
		}
	}
	sorted := slices.Clone(batches)
	slices.SortFunc(sorted, func(a, b storagetest.Batch) int { return a.TS.Compare(b.TS) })
	for _, b := range sorted {
		expire(b.TS)
		m.Apply(m.Index()+1, b.Effects)
	}
	expire(end)
	return m, n
}

// step is one move of the stable frontier: the batches delivered before
// it moves to frontier.
type step struct {
	batches  []storagetest.Batch
	frontier hlc.Timestamp
	// compact: sweep the store after the move, as every 128th stable
	// entry of a region does.
	compact bool
}

// planDelivery splits batches into steps at random frontiers, the last
// at end. Every batch stamped at or before a step's frontier is in that
// step or an earlier one; others come early at random.
func planDelivery(r *rand.Rand, batches []storagetest.Batch, end hlc.Timestamp) []step {
	var frontiers []hlc.Timestamp
	for range 1 + r.IntN(6) {
		if r.IntN(2) == 0 {
			frontiers = append(frontiers, batches[r.IntN(len(batches))].TS)
		} else {
			frontiers = append(frontiers, hlc.Timestamp{Wall: batches[0].TS.Wall + r.Int64N(end.Wall-batches[0].TS.Wall)})
		}
	}
	slices.SortFunc(frontiers, hlc.Timestamp.Compare)
	frontiers = append(frontiers, end)
	pending := batches
	var steps []step
	for _, f := range frontiers {
		st := step{frontier: f, compact: r.IntN(3) == 0}
		var later []storagetest.Batch
		for _, b := range pending {
			if !f.Less(b.TS) || r.IntN(3) == 0 {
				st.batches = append(st.batches, b)
			} else {
				later = append(later, b)
			}
		}
		steps = append(steps, st)
		pending = later
	}
	return steps
}

// deliver applies each step's batches to s in a random order, some of
// them twice (and some of an earlier step's again, if stamped after the
// frontier: the frontier promises nothing at or before it comes twice),
// then moves the frontier and expires. It returns the delivery, as text.
func deliver(r *rand.Rand, s *storage.Store, steps []step) string {
	var log []byte
	var delivered []storagetest.Batch
	for _, st := range steps {
		now := slices.Clone(st.batches)
		for _, b := range append(delivered, st.batches...) {
			if s.Stable().Less(b.TS) && r.IntN(5) == 0 {
				now = append(now, b)
			}
		}
		r.Shuffle(len(now), func(i, j int) { now[i], now[j] = now[j], now[i] })
		for _, b := range now {
			s.Apply(s.Index()+1, b.Effects)
			log = append(log, "#"+strconv.Itoa(b.Index)+" "...)
		}
		delivered = append(delivered, st.batches...)
		advance(s, st.frontier)
		log = append(log, "| frontier "+st.frontier.String()...)
		if st.compact {
			s.Compact()
			log = append(log, " compact"...)
		}
		log = append(log, '\n')
	}
	return string(log)
}

// skewedWall is a wall clock running ahead of another by a fixed offset.
type skewedWall struct {
	base  hlc.WallClock
	ahead time.Duration
}

func (w skewedWall) Now() time.Time { return w.base.Now().Add(w.ahead) }

// genTTLBatches makes n commands on three keys from three regions (the
// third one's clock 20 ms ahead): SETs with and without deadlines,
// EXPIRE and PERSIST with deadlines around the writer's clock, hash
// fields (on a key strings also write: types conflict), removals of the
// last field (which clear the TTL) and DELs.
func genTTLBatches(seed uint64, n int) []storagetest.Batch {
	r := rand.New(rand.NewPCG(seed, 0x7ea1))
	wall := hlc.NewManualClock(1_000_000)
	walls := []hlc.WallClock{wall, wall, skewedWall{wall, 20 * time.Millisecond}}
	var clocks []*hlc.Clock
	for i, w := range walls {
		clocks = append(clocks, hlc.NewClock(w, uint32(i+1), 1))
	}
	var last hlc.Timestamp
	out := make([]storagetest.Batch, 0, n)
	for i := range n {
		wall.Advance(time.Duration(r.IntN(4)) * time.Millisecond)
		region := r.IntN(len(clocks))
		c := clocks[region]
		if r.IntN(2) == 0 {
			c.Update(last) // this region has merged every write so far
		}
		ts := c.Now()
		last = hlc.Max(last, ts)
		deadline := func() int64 { return walls[region].Now().UnixMilli() + int64(r.IntN(46)) - 5 }
		key := []string{"a", "b", "h"}[r.IntN(3)]
		b := storagetest.Batch{Index: i, TS: ts}
		emit := func(e storage.Effect) {
			e.Key, e.TS = key, ts
			b.Effects = append(b.Effects, e)
		}
		switch op := r.IntN(10); {
		case op < 3: // SET [EX]
			if key == "h" {
				key = "a"
			}
			if r.IntN(2) == 0 {
				emit(storage.Effect{Op: storage.OpDel})
			}
			emit(storage.Effect{Op: storage.OpSet, Value: []byte("v" + strconv.Itoa(i))})
			if r.IntN(5) < 3 {
				emit(storage.Effect{Op: storage.OpExpire, Int: deadline()})
			}
		case op < 6: // EXPIRE
			emit(storage.Effect{Op: storage.OpExpire, Int: deadline()})
		case op < 7: // PERSIST
			emit(storage.Effect{Op: storage.OpExpire})
		case op < 9: // HSET, on the hash or on a string's key
			if key == "b" {
				key = "h"
			}
			for f := range 1 + r.IntN(2) {
				emit(storage.Effect{Op: storage.OpHSet, Field: "f" + strconv.Itoa((f+r.IntN(3))%3), Value: []byte("w" + strconv.Itoa(i))})
				if f == 1 && b.Effects[0].Field == b.Effects[1].Field {
					b.Effects = b.Effects[:1] // a command never names a field twice
				}
			}
		default:
			if r.IntN(2) == 0 { // HDEL of what may be the last field
				key = "h"
				emit(storage.Effect{Op: storage.OpHDel, Field: "f" + strconv.Itoa(r.IntN(3))})
				emit(storage.Effect{Op: storage.OpExpire})
			} else {
				emit(storage.Effect{Op: storage.OpDel})
			}
		}
		out = append(out, b)
	}
	return out
}

func hashHas(o *storage.Object, f string) bool {
	_, ok := o.Hash().Get(f)
	return ok
}

// BenchmarkApplyExpire measures Apply of TTL refreshes (PEXPIRE of one of
// 10k keys that have a deadline), as one region applies them (the
// frontier follows every batch, no ExpireStable) and as a linked region
// does (the frontier 1000 writes behind, moved with ExpireStable every
// 100 writes; the deadline index is kept up to date).
func BenchmarkApplyExpire(b *testing.B) {
	const keys = 10000
	for _, linked := range []bool{false, true} {
		name := map[bool]string{false: "unlinked", true: "linked"}[linked]
		b.Run(name, func(b *testing.B) {
			s := storage.NewStore()
			wall := int64(1_000_000)
			for i := range keys {
				f := fx{key: "k" + strconv.Itoa(i), ts: at(wall, 1)}
				applyFx(s, f.set("v"), f.expire(wall+3_600_000))
				wall++
			}
			if linked {
				advance(s, at(wall-keys, 1))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ts := at(wall, 1)
				if !linked {
					s.SetStable(ts)
				}
				applyFx(s, fx{key: "k" + strconv.Itoa(i%keys), ts: ts}.expire(wall+3_600_000))
				if linked && i%100 == 0 {
					advance(s, at(wall-1000, 1))
				}
				wall++
			}
		})
	}
}
