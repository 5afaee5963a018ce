package regional

import (
	"fmt"

	"github.com/meridian-kv/meridian/storage"
)

// Log entry format: a version byte, a kind byte, then the payload. Values
// are part of the on-disk format: never renumber them.
const (
	entryVersion = 1

	// entryEffects carries the effects of one evaluator batch:
	// storage.AppendEffects encoding, CRC included.
	entryEffects = 1
	// entryRemoved records that a node id left the region for good; the
	// payload is the id.
	entryRemoved = 2
)

// encodeEffectsEntry returns the log entry for a batch of effects.
func encodeEffectsEntry(effects []storage.Effect) []byte {
	b := make([]byte, 2, 64+32*len(effects))
	b[0], b[1] = entryVersion, entryEffects
	return storage.AppendEffects(b, effects)
}

// decodeEntry decodes a log entry. Corrupt entries return an error wrapping
// storage.ErrCorrupt.
func decodeEntry(b []byte) ([]storage.Effect, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("regional: entry of %d bytes: %w", len(b), storage.ErrCorrupt)
	}
	if b[0] != entryVersion {
		return nil, fmt.Errorf("regional: entry version %d: %w", b[0], storage.ErrCorrupt)
	}
	switch b[1] {
	case entryEffects:
		return storage.DecodeEffects(b[2:])
	case entryRemoved:
		return nil, nil
	}
	return nil, fmt.Errorf("regional: entry kind %d: %w", b[1], storage.ErrCorrupt)
}
