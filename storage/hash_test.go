package storage_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/meridian-kv/meridian/storage"
)

// hashFields reads a hash through Range, checking Get and Len agree.
func hashFields(t *testing.T, h *storage.Hash) map[string]string {
	t.Helper()
	out := map[string]string{}
	if h == nil {
		return out
	}
	h.Range(func(f string, v []byte) bool {
		out[f] = string(v)
		if g, ok := h.Get(f); !ok || string(g) != string(v) {
			t.Fatalf("Get(%q) = %q, %v; Range has %q", f, g, ok, v)
		}
		return true
	})
	if h.Len() != len(out) {
		t.Fatalf("Len = %d, Range saw %d fields", h.Len(), len(out))
	}
	return out
}

func TestHash(t *testing.T) {
	s := storage.NewStore()
	h := func(wall int64) fx { return fx{0, "h", at(wall, 1)} }
	apply(s, false,
		[]storage.Effect{h(1).hset("a", "1"), h(1).hset("b", "2"), h(1).hset("c", "3")},
		[]storage.Effect{h(2).field(storage.OpHDel, "b")},
		[]storage.Effect{h(3).hincr("a", 10), h(3).hincrFloat("n", 0.5)},
		[]storage.Effect{h(4).field(storage.OpHDel, "missing")},
	)
	hs := s.At(0).Get(0, "h").Hash()
	want := map[string]string{"a": "11", "c": "3", "n": "0.5"}
	if got := hashFields(t, hs); !maps.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	if _, ok := hs.Get("b"); ok {
		t.Fatal("a removed field is still there")
	}
	// Range stops when told to.
	n := 0
	hs.Range(func(string, []byte) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Range went on after false: %d calls", n)
	}
	// Removing every field leaves no key.
	apply(s, false, []storage.Effect{h(5).field(storage.OpHDel, "a"), h(5).field(storage.OpHDel, "c"), h(5).field(storage.OpHDel, "n")})
	if s.At(0).Get(0, "h") != nil || s.Keys() != 0 {
		t.Fatal("an empty hash still exists")
	}
}

// TestHashModel applies random hash commands from one region in stamp
// order and compares the hash with a map.
func TestHashModel(t *testing.T) {
	for _, seed := range mergeSeeds(200) {
		r := rand.New(rand.NewPCG(seed, 13))
		s := storage.NewStore()
		model := map[string]string{}
		compact := seed%2 == 0
		for i := range 60 {
			f := fx{0, "h", at(int64(i+1), 1)}
			field := fmt.Sprintf("f%d", r.IntN(6))
			switch r.IntN(6) {
			case 0, 1:
				v := strconv.Itoa(r.IntN(50))
				apply(s, compact, []storage.Effect{f.hset(field, v)})
				model[field] = v
			case 2, 3:
				n, _ := strconv.ParseInt(model[field], 10, 64)
				apply(s, compact, []storage.Effect{f.hincr(field, 3)})
				model[field] = strconv.FormatInt(n+3, 10)
			case 4:
				apply(s, compact, []storage.Effect{f.field(storage.OpHDel, field)})
				delete(model, field)
			case 5:
				apply(s, compact, []storage.Effect{f.del()})
				clear(model)
			}
			var hs *storage.Hash
			if o := s.At(0).Get(0, "h"); o != nil {
				hs = o.Hash()
			}
			if got := hashFields(t, hs); !maps.Equal(got, model) {
				t.Fatalf("seed %d (replay with -seed=%d), step %d: got %v, want %v", seed, seed, i, got, model)
			}
		}
	}
}

func TestSet(t *testing.T) {
	s := storage.NewStore()
	k := func(wall int64) fx { return fx{0, "s", at(wall, 1)} }
	apply(s, false,
		[]storage.Effect{k(1).field(storage.OpSAdd, "a"), k(1).field(storage.OpSAdd, "b"), k(1).field(storage.OpSAdd, "c")},
		[]storage.Effect{k(2).field(storage.OpSRem, "b"), k(2).field(storage.OpSRem, "missing")},
		[]storage.Effect{k(3).field(storage.OpSAdd, "a")}, // already a member
	)
	set := s.At(0).Get(0, "s").Set()
	got := set.Members()
	slices.Sort(got)
	if fmt.Sprint(got) != "[a c]" || set.Len() != 2 {
		t.Fatalf("Members %v, Len %d", got, set.Len())
	}
	for m, want := range map[string]bool{"a": true, "b": false, "c": true, "missing": false} {
		if set.Has(m) != want {
			t.Errorf("Has(%q) = %v", m, !want)
		}
	}
	var ranged []string
	set.Range(func(m string) bool { ranged = append(ranged, m); return true })
	slices.Sort(ranged)
	if !slices.Equal(ranged, got) {
		t.Fatalf("Range %v, Members %v", ranged, got)
	}
	n := 0
	set.Range(func(string) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Range went on after false: %d calls", n)
	}
	// A member removed and added again by a later SADD is back.
	apply(s, false, []storage.Effect{k(4).field(storage.OpSAdd, "b")})
	if !s.At(0).Get(0, "s").Set().Has("b") {
		t.Fatal("SADD after SREM did not add")
	}
}
