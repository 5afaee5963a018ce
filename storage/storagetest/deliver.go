package storagetest

import (
	"math/rand/v2"

	"github.com/meridian-kv/meridian/storage"
)

// Shuffle returns batches in a random order, with about dup*len(batches)
// of them delivered a second time, as links between regions may deliver
// them. The order is causal only where list effects need it: a batch comes
// after every batch it depends on (Batch.Deps) that is among batches; a
// dependency outside them counts as delivered already. Everything else is
// in any order: element merges must not care.
func Shuffle(r *rand.Rand, batches []Batch, dup float64) []Batch {
	order := append([]Batch(nil), batches...)
	for i := range batches {
		if r.Float64() < dup {
			order = append(order, batches[i])
		}
	}
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	done := map[int]bool{}
	in := map[int]bool{}
	for _, b := range batches {
		in[b.Index] = true
	}
	ready := func(b Batch) bool {
		for _, d := range b.Deps {
			if in[d] && !done[d] {
				return false
			}
		}
		return true
	}
	out := make([]Batch, 0, len(order))
	var held []Batch
	for _, b := range order {
		if !ready(b) {
			held = append(held, b)
			continue
		}
		out = append(out, b)
		done[b.Index] = true
		// Release what this batch unblocked, in the order it was held.
		for progress := true; progress; {
			progress = false
			for i := 0; i < len(held); i++ {
				if ready(held[i]) {
					out = append(out, held[i])
					done[held[i].Index] = true
					held = append(held[:i], held[i+1:]...)
					progress = true
					i--
				}
			}
		}
	}
	if len(held) != 0 {
		panic("storagetest: batch depends on a batch that is not delivered")
	}
	return out
}

// ApplyAll applies batches to s one by one, with log indexes following
// s.Index(). It calls before, if not nil, ahead of each batch (to move the
// stable frontier, say).
func ApplyAll(s *storage.Store, batches []Batch, before func(b Batch)) {
	for _, b := range batches {
		if before != nil {
			before(b)
		}
		s.Apply(s.Index()+1, b.Effects)
	}
}
