// Package storagetest helps test code built on package storage: a seeded
// generator of the effect batches several regions' evaluators emit, a
// delivery shuffler that reorders and duplicates them as links between
// regions may, and a text dump of a store's logical state for comparing
// stores.
//
// Usage:
//
//	g := storagetest.NewGen(seed, storagetest.GenConfig{Conflicts: true})
//	batches := g.Batches(200)
//	a, b := storage.NewStore(), storage.NewStore()
//	storagetest.ApplyAll(a, storagetest.Shuffle(rand.New(rand.NewPCG(seed, 1)), batches, 0.2), nil)
//	storagetest.ApplyAll(b, storagetest.Shuffle(rand.New(rand.NewPCG(seed, 2)), batches, 0.2), nil)
//	if storagetest.Dump(a.At(0)) != storagetest.Dump(b.At(0)) { ... }
//
// Every generator is deterministic for its seed: print the seed when a
// test fails, so the failure can be replayed.
//
// HAZARD: Shuffle keeps list effects after the inserts they name (a
// causal order), because the list CRDT needs it; element merges of the
// other types are tested in any order.
package storagetest
