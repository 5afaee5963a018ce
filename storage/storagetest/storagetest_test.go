package storagetest_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

func TestGenDeterministic(t *testing.T) {
	a := storagetest.NewGen(42, storagetest.GenConfig{Conflicts: true, Flush: true})
	b := storagetest.NewGen(42, storagetest.GenConfig{Conflicts: true, Flush: true})
	if x, y := fmt.Sprint(a.Batches(100)), fmt.Sprint(b.Batches(100)); x != y {
		t.Fatal("same seed, different batches")
	}
}

func TestGenStamps(t *testing.T) {
	g := storagetest.NewGen(7, storagetest.GenConfig{Regions: 3})
	last := map[uint32]storage.Effect{}
	seen := map[string]bool{}
	for _, b := range g.Batches(500) {
		if len(b.Effects) == 0 {
			t.Fatalf("batch %d is empty", b.Index)
		}
		for _, e := range b.Effects {
			if e.TS != b.TS {
				t.Fatalf("batch %d: effect stamped %v, batch %v", b.Index, e.TS, b.TS)
			}
		}
		if p, ok := last[b.TS.Region]; ok && !p.TS.Less(b.TS) {
			t.Fatalf("region %d: stamp %v after %v", b.TS.Region, b.TS, p.TS)
		}
		last[b.TS.Region] = b.Effects[0]
		if seen[b.TS.String()] {
			t.Fatalf("stamp %v used twice", b.TS)
		}
		seen[b.TS.String()] = true
		for _, d := range b.Deps {
			if d >= b.Index {
				t.Fatalf("batch %d depends on later batch %d", b.Index, d)
			}
		}
	}
	if len(last) != 3 {
		t.Fatalf("%d regions wrote, want 3", len(last))
	}
}

func TestShuffle(t *testing.T) {
	g := storagetest.NewGen(3, storagetest.GenConfig{Kinds: []storage.Kind{storage.KindList}})
	batches := g.Batches(200)
	order := storagetest.Shuffle(rand.New(rand.NewPCG(1, 1)), batches, 0.5)
	delivered := map[int]int{}
	for _, b := range order {
		for _, d := range b.Deps {
			if delivered[d] == 0 {
				t.Fatalf("batch %d delivered before its dependency %d", b.Index, d)
			}
		}
		delivered[b.Index]++
	}
	dups := 0
	for _, b := range batches {
		switch n := delivered[b.Index]; {
		case n == 0:
			t.Fatalf("batch %d never delivered", b.Index)
		case n > 1:
			dups++
		}
	}
	if dups < 50 || dups > 150 {
		t.Fatalf("%d of 200 batches delivered twice at rate 0.5", dups)
	}
	inOrder := true
	for i, b := range order[:len(batches)] {
		if b.Index != i {
			inOrder = false
		}
	}
	if inOrder {
		t.Fatal("Shuffle kept generation order")
	}
}
