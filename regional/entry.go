package regional

import (
	"encoding/binary"
	"fmt"

	"github.com/meridian-kv/meridian/storage"
)

// Log entry format: a version byte, a kind byte, then the payload. Values
// are part of the on-disk format: never renumber them.
const (
	entryVersion = 1

	// entryEffects carries the effects of one evaluator batch: the
	// evaluator's epoch and the batch's sequence number in it (uvarints),
	// then storage.AppendEffects encoding, CRC included.
	entryEffects = 1
	// entryRemoved records that a node id left the region for good; the
	// payload is the id.
	entryRemoved = 2
)

// fence identifies an evaluator's entry: its epoch (one per evaluator
// instance) and its position among that evaluator's entries (from 1).
//
// Invariant: the FSM applies an effects entry only if it directly follows
// the previous entry of the same epoch, or is the first (seq 1) of a new
// epoch. hashicorp/raft can refuse a proposal without appending it (a
// leadership transfer in progress, an enqueue timeout) while later ones
// from the same leader do get appended; those later entries were
// evaluated on top of effects that never happened, so they must not apply.
type fence struct {
	epoch, seq uint64
}

// encodeEffectsEntry returns the log entry for a batch of effects.
func encodeEffectsEntry(f fence, effects []storage.Effect) []byte {
	b := make([]byte, 2, 64+32*len(effects))
	b[0], b[1] = entryVersion, entryEffects
	b = binary.AppendUvarint(b, f.epoch)
	b = binary.AppendUvarint(b, f.seq)
	return storage.AppendEffects(b, effects)
}

// decodeEntry decodes a log entry. Corrupt entries return an error wrapping
// storage.ErrCorrupt. Entries other than effects return no effects.
func decodeEntry(b []byte) (fence, []storage.Effect, error) {
	if len(b) < 2 {
		return fence{}, nil, fmt.Errorf("regional: entry of %d bytes: %w", len(b), storage.ErrCorrupt)
	}
	if b[0] != entryVersion {
		return fence{}, nil, fmt.Errorf("regional: entry version %d: %w", b[0], storage.ErrCorrupt)
	}
	switch b[1] {
	case entryEffects:
		p := b[2:]
		epoch, n := binary.Uvarint(p)
		if n <= 0 {
			return fence{}, nil, fmt.Errorf("regional: entry epoch: %w", storage.ErrCorrupt)
		}
		p = p[n:]
		seq, n := binary.Uvarint(p)
		if n <= 0 || seq == 0 {
			return fence{}, nil, fmt.Errorf("regional: entry sequence: %w", storage.ErrCorrupt)
		}
		effects, err := storage.DecodeEffects(p[n:])
		return fence{epoch, seq}, effects, err
	case entryRemoved:
		return fence{}, nil, nil
	}
	return fence{}, nil, fmt.Errorf("regional: entry kind %d: %w", b[1], storage.ErrCorrupt)
}
