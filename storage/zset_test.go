package storage_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/meridian-kv/meridian/storage"
)

// zsetOf returns the sorted set stored at key "z" of database 0.
func zsetOf(t *testing.T, s *storage.Store) *storage.ZSet {
	t.Helper()
	o := s.At(0).Get(0, "z")
	if o == nil {
		return nil
	}
	z := o.ZSet()
	if z == nil {
		t.Fatalf("key holds a %v", o.Kind())
	}
	return z
}

// zsetItems reads every member through At, in rank order.
func zsetItems(z *storage.ZSet) []storage.ZItem {
	var out []storage.ZItem
	for i := range z.Len() {
		out = append(out, z.At(i))
	}
	return out
}

func TestZSetOrder(t *testing.T) {
	s := storage.NewStore()
	z := fx{0, "z", at(1, 1)}
	apply(s, false, []storage.Effect{
		z.zadd("b", 1), z.zadd("a", 1), z.zadd("c", -2.5), z.zadd("inf", math.Inf(1)),
		z.zadd("ninf", math.Inf(-1)), z.zadd("zero", 0), z.zadd("B", 1),
	})
	zs := zsetOf(t, s)
	want := []storage.ZItem{{"ninf", math.Inf(-1)}, {"c", -2.5}, {"zero", 0}, {"B", 1}, {"a", 1}, {"b", 1}, {"inf", math.Inf(1)}}
	if got := zsetItems(zs); !slices.Equal(got, want) {
		t.Fatalf("order by score, then member bytes:\n got %v\nwant %v", got, want)
	}
	for i, it := range want {
		if r, ok := zs.Rank(it.Member); !ok || r != i {
			t.Errorf("Rank(%q) = %d, %v; want %d", it.Member, r, ok, i)
		}
		if sc, ok := zs.Score(it.Member); !ok || sc != it.Score {
			t.Errorf("Score(%q) = %v, %v", it.Member, sc, ok)
		}
	}
	if _, ok := zs.Score("missing"); ok {
		t.Error("Score of a missing member")
	}
	if _, ok := zs.Rank("missing"); ok {
		t.Error("Rank of a missing member")
	}
	lb := []struct {
		it   storage.ZItem
		want int
	}{
		{storage.ZItem{Score: math.Inf(-1)}, 0},             // before everything
		{storage.ZItem{Score: 1}, 3},                        // first member with score 1
		{storage.ZItem{Member: "a", Score: 1}, 4},           // a itself
		{storage.ZItem{Member: "aa", Score: 1}, 5},          // between a and b
		{storage.ZItem{Score: math.Nextafter(1, 2)}, 6},     // just above 1
		{storage.ZItem{Member: "z", Score: math.Inf(1)}, 7}, // past the end: Len
	}
	for _, c := range lb {
		if got := zs.LowerBound(c.it); got != c.want {
			t.Errorf("LowerBound(%v) = %d, want %d", c.it, got, c.want)
		}
	}
	collect := func(f func(int, func(storage.ZItem) bool), from, limit int) []string {
		var out []string
		f(from, func(it storage.ZItem) bool {
			out = append(out, it.Member)
			return len(out) < limit
		})
		return out
	}
	asc := []struct {
		from, limit int
		want        string
	}{
		{0, 100, "[ninf c zero B a b inf]"}, // all
		{-5, 2, "[ninf c]"},                 // a negative start is the head
		{4, 2, "[a b]"},                     // from a rank, stopping early
		{7, 100, "[]"},                      // past the end
	}
	for _, c := range asc {
		if got := fmt.Sprint(collect(zs.Ascend, c.from, c.limit)); got != c.want {
			t.Errorf("Ascend(%d) = %s, want %s", c.from, got, c.want)
		}
	}
	desc := []struct {
		from, limit int
		want        string
	}{
		{6, 100, "[inf b a B zero c ninf]"}, // all
		{100, 2, "[inf b]"},                 // past the end starts at the tail
		{3, 2, "[B zero]"},                  // from a rank
		{-1, 100, "[]"},                     // before the head
	}
	for _, c := range desc {
		if got := fmt.Sprint(collect(zs.Descend, c.from, c.limit)); got != c.want {
			t.Errorf("Descend(%d) = %s, want %s", c.from, got, c.want)
		}
	}
}

// TestZSetModel applies random ZADD, ZINCRBY, ZREM and DEL batches from
// one region in stamp order and checks the index against a map.
func TestZSetModel(t *testing.T) {
	for _, seed := range mergeSeeds(200) {
		r := rand.New(rand.NewPCG(seed, 9))
		s := storage.NewStore()
		model := map[string]float64{}
		compact := seed%2 == 0
		for i := range 60 {
			f := fx{0, "z", at(int64(i+1), 1)}
			m := fmt.Sprintf("m%d", r.IntN(8))
			switch r.IntN(7) {
			case 0, 1:
				sc := float64(r.IntN(5))
				apply(s, compact, []storage.Effect{f.zadd(m, sc)})
				model[m] = sc
			case 2, 3:
				by := []float64{0.5, -1, 2}[r.IntN(3)]
				apply(s, compact, []storage.Effect{f.zincr(m, by)})
				model[m] += by
			case 4, 5:
				apply(s, compact, []storage.Effect{f.field(storage.OpZRem, m)})
				delete(model, m)
			case 6:
				apply(s, compact, []storage.Effect{f.del()})
				clear(model)
			}
			var want []storage.ZItem
			for m, sc := range model {
				want = append(want, storage.ZItem{Member: m, Score: sc})
			}
			slices.SortFunc(want, func(a, b storage.ZItem) int {
				return cmp.Or(cmp.Compare(a.Score, b.Score), cmp.Compare(a.Member, b.Member))
			})
			zs := zsetOf(t, s)
			var got []storage.ZItem
			if zs != nil {
				got = zsetItems(zs)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d (replay with -seed=%d), step %d: got %v, want %v", seed, seed, i, got, want)
			}
			for rank, it := range want {
				if rk, _ := zs.Rank(it.Member); rk != rank {
					t.Fatalf("seed %d: Rank(%q) = %d, want %d", seed, it.Member, rk, rank)
				}
			}
		}
	}
}
