package regional

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Log entry format: a version byte, a kind byte, then the payload. Values
// are part of the on-disk format: never renumber them.
//
// Kinds from entryLocal on share one layout: the header (uvarint length,
// the header bytes, their CRC-32C), then the storage.AppendEffects encoding
// of the entry's effects (checksummed on its own), or nothing. The header
// starts with the evaluator's fence (epoch, seq).
const (
	entryVersion = 1

	// entryEffects carries the effects of one evaluator batch: the
	// evaluator's epoch and the batch's sequence number in it (uvarints),
	// then storage.AppendEffects encoding, CRC included. Written by
	// version 0.1 only; still read.
	entryEffects = 1
	// entryRemoved records that a node id left the region for good; the
	// payload is the id.
	entryRemoved = 2
	// entryLocal carries the effects of the region's own commands (or
	// none: a heartbeat) and its closed stamp: the largest stamp of the
	// entry, which every later local entry's stamps exceed. It is what a
	// region ships to its peers.
	entryLocal = 3
	// entryRemote carries a batch merged from another region
	// (interregion.Batch).
	entryRemote = 4
	// entryStable moves the tombstone GC frontier and says which local
	// index peer regions still need (log retention).
	entryStable = 5
	// entryLinks replaces the set of peer regions.
	entryLinks = 6
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fence identifies an evaluator's entry: its epoch (one per evaluator
// instance) and its position among that evaluator's entries (from 1).
//
// Invariant: the FSM applies an evaluator entry only if it directly
// follows the previous entry of the same epoch, or is the first (seq 1) of
// a new epoch. hashicorp/raft can refuse a proposal without appending it
// (a leadership transfer in progress, an enqueue timeout) while later ones
// from the same leader do get appended; those later entries were
// evaluated on top of effects that never happened, so they must not apply.
type fence struct {
	epoch, seq uint64
}

// LinkSpec is one peer region as the region's links record it.
type LinkSpec struct {
	// Name is the peer region's name.
	Name string `json:"name"`
	// ID is the peer region's id (the region of its stamps).
	ID uint32 `json:"id"`
	// Addrs are the link (gRPC) addresses of the peer's nodes; its leader
	// answers on one of them.
	Addrs []string `json:"addrs"`
}

// entry is a decoded log entry of any kind.
type entry struct {
	kind  byte
	fence fence
	// stamp is the closed stamp of a local entry, or the frontier of a
	// stable entry.
	stamp   hlc.Timestamp
	effects []storage.Effect
	// raw is the effects encoding within the entry (local entries).
	raw []byte
	// remote is the batch of a remote entry (Effects unset: see effects).
	remote interregion.Batch
	// retain is the lowest local index peers still need (stable entries),
	// 0 if none is known.
	retain uint64
	// links is the new peer set (links entries).
	links []LinkSpec
	// frontier is a local entry's evaluation frontier (see
	// interregion.Entry.Frontier).
	frontier hlc.Timestamp
	// marks are a stable entry's records of what the link holds of each
	// peer (interregion.PeerStatus Settled and Frontier).
	marks []peerMark
	// removed is the node id of a removed entry.
	removed string
}

// peerMark is what a stable entry records of one peer region: its log is
// applied here up to stamp settled, and frontier is the largest evaluation
// frontier of its entries applied here.
type peerMark struct {
	region            uint32
	settled, frontier hlc.Timestamp
}

// encodeEffectsEntry returns the legacy (entryEffects) entry for a batch of
// effects. Tests use it to check that old logs still apply.
func encodeEffectsEntry(f fence, effects []storage.Effect) []byte {
	b := make([]byte, 2, 64+32*len(effects))
	b[0], b[1] = entryVersion, entryEffects
	b = binary.AppendUvarint(b, f.epoch)
	b = binary.AppendUvarint(b, f.seq)
	return storage.AppendEffects(b, effects)
}

// headerEncoder builds the header of an entry of the shared layout.
type headerEncoder struct{ b []byte }

func (h *headerEncoder) uvarint(v uint64) { h.b = binary.AppendUvarint(h.b, v) }
func (h *headerEncoder) stamp(t hlc.Timestamp) {
	h.b = binary.AppendVarint(h.b, t.Wall)
	h.uvarint(uint64(t.Logical))
	h.uvarint(uint64(t.Region))
	h.uvarint(uint64(t.Node))
}
func (h *headerEncoder) str(s string) {
	h.uvarint(uint64(len(s)))
	h.b = append(h.b, s...)
}

// frame assembles kind, header and effects into an entry.
func frame(kind byte, h *headerEncoder, effects []storage.Effect, withEffects bool) []byte {
	b := make([]byte, 2, 16+len(h.b)+32*len(effects))
	b[0], b[1] = entryVersion, kind
	b = binary.AppendUvarint(b, uint64(len(h.b)))
	b = append(b, h.b...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(h.b, castagnoli))
	if withEffects {
		b = storage.AppendEffects(b, effects)
	}
	return b
}

func newHeader(f fence) *headerEncoder {
	h := &headerEncoder{b: make([]byte, 0, 64)}
	h.uvarint(f.epoch)
	h.uvarint(f.seq)
	return h
}

// encodeLocalEntry returns the entry for the region's own effects; closed
// is the largest stamp they carry (or a heartbeat's stamp), frontier the
// evaluation frontier.
func encodeLocalEntry(f fence, closed, frontier hlc.Timestamp, effects []storage.Effect) []byte {
	h := newHeader(f)
	h.stamp(closed)
	h.stamp(frontier)
	return frame(entryLocal, h, effects, true)
}

// encodeRemoteEntry returns the entry that merges a batch from another
// region.
func encodeRemoteEntry(f fence, b *interregion.Batch) []byte {
	h := newHeader(f)
	h.uvarint(uint64(b.Origin))
	h.uvarint(b.First)
	h.uvarint(b.Last)
	h.stamp(b.Closed)
	if b.State {
		h.uvarint(1)
	} else {
		h.uvarint(0)
	}
	h.uvarint(uint64(len(b.Raise)))
	for _, p := range b.Raise {
		h.uvarint(uint64(p.Region))
		h.uvarint(p.Index)
		h.stamp(p.Closed)
	}
	return frame(entryRemote, h, b.Effects, true)
}

// encodeStableEntry returns the entry that moves the GC frontier to ts and
// records that peers need the local log from index retain on.
func encodeStableEntry(f fence, ts hlc.Timestamp, retain uint64, marks []peerMark) []byte {
	h := newHeader(f)
	h.stamp(ts)
	h.uvarint(retain)
	h.uvarint(uint64(len(marks)))
	for _, m := range marks {
		h.uvarint(uint64(m.region))
		h.stamp(m.settled)
		h.stamp(m.frontier)
	}
	return frame(entryStable, h, nil, false)
}

// encodeLinksEntry returns the entry that sets the peer regions.
func encodeLinksEntry(f fence, links []LinkSpec) []byte {
	h := newHeader(f)
	h.links(links)
	return frame(entryLinks, h, nil, false)
}

// links appends a peer set (links entries and snapshots).
func (h *headerEncoder) links(links []LinkSpec) {
	h.uvarint(uint64(len(links)))
	for _, l := range links {
		h.uvarint(uint64(l.ID))
		h.str(l.Name)
		h.uvarint(uint64(len(l.Addrs)))
		for _, a := range l.Addrs {
			h.str(a)
		}
	}
}

// links reads what headerEncoder.links wrote.
func (d *headerDecoder) links() []LinkSpec {
	var out []LinkSpec
	n := d.count(3)
	for range n {
		l := LinkSpec{ID: d.u32(), Name: d.str()}
		na := d.count(1)
		for range na {
			l.Addrs = append(l.Addrs, d.str())
		}
		out = append(out, l)
	}
	return out
}

// headerDecoder reads a header; the first error sticks.
type headerDecoder struct {
	b   []byte
	err error
}

var errShortHeader = errors.New("short header")

func (d *headerDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortHeader
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *headerDecoder) u32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.err = errShortHeader
	}
	return uint32(v)
}

func (d *headerDecoder) stamp() hlc.Timestamp {
	if d.err != nil {
		return hlc.Timestamp{}
	}
	w, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShortHeader
		return hlc.Timestamp{}
	}
	d.b = d.b[n:]
	return hlc.Timestamp{Wall: w, Logical: d.u32(), Region: d.u32(), Node: d.u32()}
}

func (d *headerDecoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShortHeader
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// count reads a count of items of at least min bytes each, refusing one
// the rest of the header cannot hold.
func (d *headerDecoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.err = errShortHeader
		return 0
	}
	return int(n)
}

// decodeEntry decodes a log entry. Corrupt entries return an error wrapping
// storage.ErrCorrupt.
func decodeEntry(b []byte) (entry, error) {
	corrupt := func(what string) (entry, error) {
		return entry{}, fmt.Errorf("regional: entry %s: %w", what, storage.ErrCorrupt)
	}
	if len(b) < 2 {
		return corrupt(fmt.Sprintf("of %d bytes", len(b)))
	}
	if b[0] != entryVersion {
		return corrupt(fmt.Sprintf("version %d", b[0]))
	}
	e := entry{kind: b[1]}
	switch e.kind {
	case entryEffects:
		p := b[2:]
		epoch, n := binary.Uvarint(p)
		if n <= 0 {
			return corrupt("epoch")
		}
		p = p[n:]
		seq, n := binary.Uvarint(p)
		if n <= 0 || seq == 0 {
			return corrupt("sequence")
		}
		e.fence = fence{epoch, seq}
		e.raw = p[n:]
		var err error
		if e.effects, err = storage.DecodeEffects(e.raw); err != nil {
			return entry{}, err
		}
		for i := range e.effects {
			e.stamp = hlc.Max(e.stamp, e.effects[i].TS)
		}
		e.kind = entryLocal
		return e, nil
	case entryRemoved:
		e.removed = string(b[2:])
		return e, nil
	case entryLocal, entryRemote, entryStable, entryLinks:
	default:
		return corrupt(fmt.Sprintf("kind %d", b[1]))
	}
	p := b[2:]
	hl, n := binary.Uvarint(p)
	if n <= 0 || hl > uint64(len(p)-n) || uint64(len(p)-n)-hl < 4 {
		return corrupt("header length")
	}
	hdr := p[n : n+int(hl)]
	rest := p[n+int(hl):]
	if crc32.Checksum(hdr, castagnoli) != binary.LittleEndian.Uint32(rest) {
		return corrupt("header checksum")
	}
	rest = rest[4:]
	d := &headerDecoder{b: hdr}
	e.fence = fence{d.uvarint(), d.uvarint()}
	if d.err == nil && e.fence.seq == 0 {
		return corrupt("sequence")
	}
	withEffects := false
	switch e.kind {
	case entryLocal:
		e.stamp = d.stamp()
		e.frontier = d.stamp()
		withEffects = true
	case entryRemote:
		r := &e.remote
		r.Origin = d.u32()
		r.First = d.uvarint()
		r.Last = d.uvarint()
		r.Closed = d.stamp()
		r.State = d.uvarint() == 1
		n := d.count(5)
		for range n {
			r.Raise = append(r.Raise, interregion.Progress{Region: d.u32(), Index: d.uvarint(), Closed: d.stamp()})
		}
		withEffects = true
	case entryStable:
		e.stamp = d.stamp()
		e.retain = d.uvarint()
		n := d.count(5)
		for range n {
			e.marks = append(e.marks, peerMark{region: d.u32(), settled: d.stamp(), frontier: d.stamp()})
		}
	case entryLinks:
		e.links = d.links()
	}
	if d.err != nil || len(d.b) != 0 {
		return corrupt("header")
	}
	if withEffects {
		e.raw = rest
		var err error
		if e.effects, err = storage.DecodeEffects(rest); err != nil {
			return entry{}, err
		}
	} else if len(rest) != 0 {
		return corrupt("trailing bytes")
	}
	return e, nil
}
