package storage_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// TestReaderExpiry checks that every read of a Reader judges expiry
// against its own instant, except Len (DBSIZE counts keys not yet
// deleted) and GetExpired.
func TestReaderExpiry(t *testing.T) {
	s := storage.NewStore()
	apply(s, false,
		[]storage.Effect{fx{0, "live", at(1, 1)}.set("v")},
		[]storage.Effect{fx{0, "ttl", at(1, 1)}.set("v"), fx{0, "ttl", at(1, 1)}.expire(1000)},
	)
	cases := []struct {
		now     int64
		visible []string // keys Get, Range, Scan and RandomKey see
	}{
		{0, []string{"live", "ttl"}},   // long before the deadline
		{999, []string{"live", "ttl"}}, // one ms before it
		{1000, []string{"live"}},       // at the deadline: expired
		{1 << 50, []string{"live"}},    // long after
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.now), func(t *testing.T) {
			r := s.At(c.now)
			if r.Now() != c.now {
				t.Fatalf("Now() = %d", r.Now())
			}
			for _, k := range []string{"live", "ttl"} {
				want := slices.Contains(c.visible, k)
				if got := r.Get(0, k) != nil; got != want {
					t.Errorf("Get(%q) found=%v, want %v", k, got, want)
				}
				o, expired := r.GetExpired(0, k)
				if o == nil || expired == want {
					t.Errorf("GetExpired(%q) = %v, %v", k, o != nil, expired)
				}
			}
			var ranged, scanned []string
			r.Range(0, func(k string, _ *storage.Object) bool { ranged = append(ranged, k); return true })
			for cur := uint64(0); ; {
				cur = r.Scan(0, cur, 1, func(k string, _ *storage.Object) { scanned = append(scanned, k) })
				if cur == 0 {
					break
				}
			}
			slices.Sort(ranged)
			slices.Sort(scanned)
			if !slices.Equal(ranged, c.visible) || !slices.Equal(scanned, c.visible) {
				t.Errorf("Range %v, Scan %v, want %v", ranged, scanned, c.visible)
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			for range 50 {
				k, ok := r.RandomKey(0, rnd)
				if !ok || !slices.Contains(c.visible, k) {
					t.Fatalf("RandomKey = %q, %v", k, ok)
				}
			}
			if r.Len(0) != 2 {
				t.Errorf("Len = %d, want 2 (expired keys count until deleted)", r.Len(0))
			}
		})
	}
	if s.Expires(0) != 1 {
		t.Fatalf("Expires = %d, want 1", s.Expires(0))
	}
	// PERSIST drops the key from the deadlines.
	apply(s, false, []storage.Effect{fx{0, "ttl", at(2, 1)}.expire(0)})
	if s.Expires(0) != 0 || s.At(1<<50).Get(0, "ttl") == nil {
		t.Fatalf("after PERSIST: Expires = %d", s.Expires(0))
	}
}

// TestSampleExpired runs the active-expiry loop: sample, delete, repeat.
// Every sampled key has expired, and every expired key is found.
func TestSampleExpired(t *testing.T) {
	s := storage.NewStore()
	const n, now = 400, 10_000
	expired := map[string]bool{}
	var batch []storage.Effect
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		deadline := int64(now - 100 + i%200) // half at or before now
		batch = append(batch, fx{3, k, at(1, 1)}.set("v"), fx{3, k, at(1, 1)}.expire(deadline))
		if deadline <= now {
			expired[k] = true
		}
	}
	batch = append(batch, fx{3, "nottl", at(1, 1)}.set("v"))
	apply(s, true, batch)
	if s.Expires(3) != n {
		t.Fatalf("Expires = %d, want %d", s.Expires(3), n)
	}
	if got := s.SampleExpired(3, now, 0); len(got) > 0 {
		t.Fatalf("SampleExpired with n=0 returned %v", got)
	}
	found := map[string]bool{}
	for round := 0; len(found) < len(expired); round++ {
		if round > 10*n {
			t.Fatalf("found %d of %d expired keys", len(found), len(expired))
		}
		keys := s.SampleExpired(3, now, 5)
		if len(keys) > 5 {
			t.Fatalf("SampleExpired(5) returned %d keys", len(keys))
		}
		var dels []storage.Effect
		for _, k := range keys {
			if !expired[k] {
				t.Fatalf("SampleExpired returned %q, which has not expired", k)
			}
			found[k] = true
			dels = append(dels, fx{3, k, at(int64(2+round), 1)}.del())
		}
		apply(s, true, dels)
	}
	if got := s.SampleExpired(3, now, 10); len(got) != 0 {
		t.Fatalf("expired keys left: %v", got)
	}
	if s.Expires(3) != n-len(expired) || s.At(now).Len(3) != n-len(expired)+1 {
		t.Fatalf("Expires = %d, Len = %d", s.Expires(3), s.At(now).Len(3))
	}
}

// TestScanComplete checks that a scan of an unchanging database returns
// every key exactly once, whatever the COUNT.
func TestScanComplete(t *testing.T) {
	s := storage.NewStore()
	var batch []storage.Effect
	for i := range 1000 {
		batch = append(batch, fx{0, fmt.Sprintf("key:%d", i), at(1, 1)}.set("v"))
	}
	apply(s, false, batch)
	for _, count := range []int{0, 1, 7, 100, 5000} {
		seen := map[string]int{}
		calls := 0
		for cur := uint64(0); ; {
			got := 0
			cur = s.At(0).Scan(0, cur, count, func(k string, _ *storage.Object) { seen[k]++; got++ })
			calls++
			if count > 0 && got > count && got > 1 {
				// Only keys sharing one hash may overflow COUNT.
				t.Logf("COUNT %d returned %d keys", count, got)
			}
			if cur == 0 {
				break
			}
		}
		if len(seen) != 1000 {
			t.Fatalf("COUNT %d: %d distinct keys, want 1000", count, len(seen))
		}
		for k, n := range seen {
			if n != 1 {
				t.Fatalf("COUNT %d: %q returned %d times", count, k, n)
			}
		}
		if count == 1 && calls < 1000 {
			t.Fatalf("COUNT 1 took only %d calls", calls)
		}
	}
}

// TestScanUnderChurn is SCAN's guarantee: a key present during the whole
// scan is returned at least once, while other keys come and go between
// calls.
func TestScanUnderChurn(t *testing.T) {
	for _, seed := range mergeSeeds(40) {
		r := rand.New(rand.NewPCG(seed, 5))
		s := storage.NewStore()
		var batch []storage.Effect
		for i := range 300 {
			batch = append(batch, fx{0, fmt.Sprintf("stay:%d", i), at(1, 1)}.set("v"))
			batch = append(batch, fx{0, fmt.Sprintf("churn:%d", i), at(1, 1)}.set("v"))
		}
		apply(s, seed%2 == 0, batch)
		count := 1 + r.IntN(10)
		seen := map[string]bool{}
		wall := int64(2)
		for cur, calls := uint64(0), 0; ; calls++ {
			if calls > 10_000 {
				t.Fatalf("seed %d: scan does not end", seed)
			}
			cur = s.At(0).Scan(0, cur, count, func(k string, _ *storage.Object) { seen[k] = true })
			if cur == 0 {
				break
			}
			// Between calls: delete some churn keys, add new ones, expire
			// some.
			var churn []storage.Effect
			for range 3 {
				k := fmt.Sprintf("churn:%d", r.IntN(600))
				switch r.IntN(3) {
				case 0:
					churn = append(churn, fx{0, k, at(wall, 2)}.del())
				case 1:
					churn = append(churn, fx{0, k, at(wall, 2)}.set("v"))
				case 2:
					churn = append(churn, fx{0, k, at(wall, 2)}.set("v"), fx{0, k, at(wall, 2)}.expire(-1))
				}
				wall++
			}
			apply(s, seed%2 == 0, churn)
		}
		for i := range 300 {
			if k := fmt.Sprintf("stay:%d", i); !seen[k] {
				t.Fatalf("seed %d (replay with -seed=%d), COUNT %d: %q present all along, never returned", seed, seed, count, k)
			}
		}
	}
}

// TestRandomKey checks RandomKey on empty, live, and mostly dead
// databases.
func TestRandomKey(t *testing.T) {
	s := storage.NewStore()
	rnd := rand.New(rand.NewPCG(7, 7))
	if k, ok := s.At(0).RandomKey(0, rnd); ok {
		t.Fatalf("RandomKey of an empty database = %q", k)
	}
	// 500 expired keys and one live one: the fallback finds it.
	var batch []storage.Effect
	for i := range 500 {
		k := fmt.Sprintf("x%d", i)
		batch = append(batch, fx{0, k, at(1, 1)}.set("v"), fx{0, k, at(1, 1)}.expire(10))
	}
	batch = append(batch, fx{0, "alive", at(1, 1)}.set("v"))
	apply(s, false, batch)
	for range 20 {
		if k, ok := s.At(100).RandomKey(0, rnd); !ok || k != "alive" {
			t.Fatalf("RandomKey = %q, %v; want alive", k, ok)
		}
	}
	// Every key of a live database comes up.
	seen := map[string]bool{}
	for range 20000 {
		k, _ := s.At(0).RandomKey(0, rnd)
		seen[k] = true
	}
	if len(seen) < 450 {
		t.Fatalf("RandomKey returned only %d distinct keys of 501", len(seen))
	}
}

// TestWatchVersion checks WATCH versions: they change with every applied
// change to the key, and survive the key's removal from the store.
func TestWatchVersion(t *testing.T) {
	s := storage.NewStore()
	apply(s, true, []storage.Effect{fx{0, "k", at(1, 1)}.set("v")})
	v := s.Watch(0, "k")
	if v != 1 || s.At(0).Version(0, "k") != 1 {
		t.Fatalf("Watch = %d, Version = %d, want 1", v, s.At(0).Version(0, "k"))
	}
	if v2 := s.Watch(0, "k"); v2 != v {
		t.Fatalf("second Watch = %d", v2)
	}
	apply(s, true, []storage.Effect{fx{0, "other", at(2, 1)}.set("v")})
	if s.At(0).Version(0, "k") != 1 {
		t.Fatal("a write to another key changed the version")
	}
	// DEL with a stable frontier removes the key entirely; the watched
	// version still moves.
	apply(s, true, []storage.Effect{fx{0, "k", at(3, 1)}.del()})
	if got := s.At(0).Version(0, "k"); got != 3 {
		t.Fatalf("version after DEL = %d, want 3", got)
	}
	// A watch on a missing key sees it created.
	if v := s.Watch(0, "new"); v != 0 {
		t.Fatalf("Watch of a missing key = %d", v)
	}
	apply(s, true, []storage.Effect{fx{0, "new", at(4, 1)}.set("v")})
	if got := s.At(0).Version(0, "new"); got != 4 {
		t.Fatalf("version of a created key = %d, want 4", got)
	}
	s.Unwatch(0, "k")
	s.Unwatch(0, "k")
	s.Unwatch(0, "k") // one too many: harmless
	if got := s.At(0).Version(0, "k"); got != 0 {
		t.Fatalf("version of a gone, unwatched key = %d", got)
	}
}

// TestKeysAndLen checks the key counts across databases, deletes, flushes
// and type changes.
func TestKeysAndLen(t *testing.T) {
	s := storage.NewStore()
	apply(s, false,
		[]storage.Effect{fx{0, "a", at(1, 1)}.set("v"), fx{0, "b", at(1, 1)}.hset("f", "v"), fx{5, "c", at(1, 1)}.field(storage.OpSAdd, "m")},
		[]storage.Effect{fx{0, "a", at(2, 1)}.del()},
		[]storage.Effect{fx{0, "b", at(3, 2)}.set("now a string")},
	)
	if s.Keys() != 2 || s.At(0).Len(0) != 1 || s.At(0).Len(5) != 1 {
		t.Fatalf("Keys %d, Len(0) %d, Len(5) %d", s.Keys(), s.At(0).Len(0), s.At(0).Len(5))
	}
	apply(s, false, []storage.Effect{{Op: storage.OpFlushAll, TS: at(4, 1)}})
	if s.Keys() != 0 || s.At(0).Len(5) != 0 {
		t.Fatalf("after FLUSHALL: Keys %d", s.Keys())
	}
}

// TestCopyKeyIsDeep checks the overlay helpers: CopyKey copies an object
// so that effects on the copy leave the source alone, and Forget drops it.
func TestCopyKeyIsDeep(t *testing.T) {
	base := storage.NewStore()
	apply(base, false, snapshotFixture()...)
	before := storagetest.Dump(base.At(0))
	staged := storage.NewStore()
	for _, k := range []string{"str", "ctr", "h", "s", "z", "l", "ttl", "missing"} {
		staged.CopyKey(base, 0, k)
	}
	apply(staged, false, []storage.Effect{
		fx{0, "str", at(900, 1)}.set("changed"),
		fx{0, "ctr", at(900, 1)}.incr(1),
		fx{0, "h", at(900, 1)}.hset("a", "changed"),
		fx{0, "s", at(900, 1)}.field(storage.OpSRem, "m1"),
		fx{0, "z", at(900, 1)}.zincr("c", 1),
		fx{0, "l", at(900, 1)}.lset(storage.ItemID{TS: at(100, 1)}, "changed"),
		fx{0, "ttl", at(900, 1)}.expire(0),
	})
	if after := storagetest.Dump(base.At(0)); after != before {
		t.Fatalf("effects on a copy changed the source:\n%s\n%s", before, after)
	}
	if staged.At(0).Get(0, "missing") != nil || staged.At(0).Len(0) != 7 {
		t.Fatalf("staged store: Len %d", staged.At(0).Len(0))
	}
	staged.Forget(0, "str")
	staged.Forget(0, "missing")
	if staged.At(0).Get(0, "str") != nil || staged.At(0).Len(0) != 6 {
		t.Fatalf("after Forget: Len %d", staged.At(0).Len(0))
	}
}
