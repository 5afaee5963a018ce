package storage

import (
	"crypto/sha256"
)

// Digest returns a hash of the store's merge state: every element with its
// stamps, every tombstone and pending increment, the key and database
// floors, the TTL registers, the largest stamp applied and the stable
// frontier. It leaves out log indexes (Index and each key's Mod), which
// depend on the order in which batches were applied.
//
// Two stores that applied the same set of effects, in any order and with
// any duplicates, and whose stable frontiers are equal, have equal digests
// (DESIGN.md, "Merge rules"; see HAZARD in the package doc for the limits).
func (s *Store) Digest() [32]byte {
	h := sha256.New()
	st := s.state()
	_ = st.write(h, false) // a hash.Hash never fails to write
	var out [32]byte
	h.Sum(out[:0])
	return out
}
