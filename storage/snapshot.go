package storage

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// Snapshot format: "MRDS", a version byte, then sections, then a CRC-32C of
// everything before it. Keys are written in sorted order so that equal
// stores give equal bytes.
//
// Version 2 adds the list-tombstone frontier after the stable frontier. A
// store whose two frontiers are equal (one region, SetStable) still writes
// version 1, which older readers accept; reading version 1 gives equal
// frontiers.
//
// A key whose TTL history is not empty (replaced TTL writes that expiry
// between regions may still depend on, see ttl.go) sets kindTTLHistory in
// its kind byte and writes the history after it: a count, then each
// write's deadline and stamp. Other keys are written as before, so a
// store that holds no history (every store of one region, and most of
// the time a linked one) writes the same bytes as before; readers that
// predate it refuse a snapshot that holds one (unknown kind).
const (
	snapshotMagic   = "MRDS"
	snapshotVersion = 2
	kindTTLHistory  = 0x80
)

// WriteSnapshot writes the whole store, every element with its stamp and
// every tombstone, to w. To write while the store goes on changing, write
// a [Frozen] view instead ([Store.Freeze]): the bytes are the same.
func (s *Store) WriteSnapshot(w io.Writer) error {
	st := s.state()
	return st.writeSnapshot(w)
}

// state is what a snapshot holds: the store's log index and frontiers,
// and each database's floor and keys. A Store's own state shares its
// maps; a Frozen's has copies of them.
type state struct {
	index      uint64
	last       hlc.Timestamp
	stable     hlc.Timestamp
	listStable hlc.Timestamp
	floors     [NumDBs]hlc.Timestamp
	keys       [NumDBs]map[string]*Object
}

// state returns the store's state, sharing its maps.
func (s *Store) state() state {
	st := state{index: s.index, last: s.last, stable: s.stable, listStable: s.listStable}
	for i := range s.dbs {
		st.floors[i] = s.dbs[i].floor
		st.keys[i] = s.dbs[i].keys
	}
	return st
}

// writeSnapshot writes st in the snapshot format, checksum included.
func (st *state) writeSnapshot(w io.Writer) error {
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 64<<10)
	if err := st.write(bw, true); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// write writes the snapshot body to w. Without logIndexes it leaves out
// the log indexes (the store's and every key's Mod), which depend on the
// order batches were applied in, not on the state: that is Digest's
// input.
func (st *state) write(w io.Writer, logIndexes bool) error {
	e := encoder{b: make([]byte, 0, 4096)}
	flush := func() error {
		if _, err := w.Write(e.b); err != nil {
			return err
		}
		e.b = e.b[:0]
		return nil
	}
	e.b = append(e.b, snapshotMagic...)
	version := byte(1)
	if st.listStable != st.stable {
		version = 2
	}
	e.byte(version)
	if logIndexes {
		e.uvarint(st.index)
	}
	e.ts(st.last)
	e.ts(st.stable)
	if version >= 2 {
		e.ts(st.listStable)
	}
	for i := range st.keys {
		e.ts(st.floors[i])
		m := st.keys[i]
		keys := sortedKeys(m)
		e.uvarint(uint64(len(keys)))
		for _, k := range keys {
			o := m[k]
			e.string(k)
			e.ts(o.Floor)
			e.varint(o.TTL.At)
			e.ts(o.TTL.TS)
			if logIndexes {
				e.uvarint(o.Mod)
			}
			if hist := o.ttlHist(); len(hist) == 0 {
				e.byte(byte(o.Kind()))
			} else {
				e.byte(byte(o.Kind()) | kindTTLHistory)
				e.uvarint(uint64(len(hist)))
				for _, h := range hist {
					e.varint(h.At)
					e.ts(h.TS)
				}
			}
			if o.val != nil {
				o.val.encode(&e)
			}
			if len(e.b) > 32<<10 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// ReadSnapshot reads a store written by WriteSnapshot. Corrupt input returns
// an error wrapping ErrCorrupt.
func ReadSnapshot(r io.Reader) (*Store, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("storage: read snapshot: %w", err)
	}
	return DecodeSnapshot(b)
}

// DecodeSnapshot is ReadSnapshot over bytes already in memory.
func DecodeSnapshot(b []byte) (*Store, error) {
	if len(b) < len(snapshotMagic)+5 {
		return nil, fmt.Errorf("%w: snapshot too short", ErrCorrupt)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	var h hash.Hash32 = crc32.New(crcTable)
	h.Write(body)
	if h.Sum32() != sum {
		return nil, fmt.Errorf("%w: snapshot checksum mismatch", ErrCorrupt)
	}
	if string(body[:4]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a snapshot", ErrCorrupt)
	}
	d := decoder{b: body[4:]}
	v := d.byte()
	if v == 0 || v > snapshotVersion {
		return nil, fmt.Errorf("%w: unknown snapshot version %d", ErrCorrupt, v)
	}
	s := NewStore()
	s.index = d.uvarint()
	s.last = d.ts()
	s.stable = d.ts()
	s.listStable = s.stable
	if v >= 2 {
		s.listStable = d.ts()
		if s.stable.Less(s.listStable) {
			d.fail("list frontier after the stable frontier")
		}
	}
	for i := range s.dbs {
		db := &s.dbs[i]
		db.floor = d.ts()
		n := d.count(8)
		prev := ""
		for j := 0; j < n && d.err == nil; j++ {
			k := d.string()
			if j > 0 && k <= prev {
				d.fail("keys out of order")
				break
			}
			prev = k
			o := &Object{Floor: d.ts()}
			o.TTL.At = d.varint()
			o.TTL.TS = d.ts()
			o.Mod = d.uvarint()
			kind := d.byte()
			if kind&kindTTLHistory != 0 {
				kind &^= kindTTLHistory
				decodeTTLHistory(&d, o)
			}
			switch Kind(kind) {
			case KindNone:
			case KindString:
				o.val = decodeRegister(&d)
			case KindHash:
				o.val = decodeHash(&d)
			case KindSet:
				o.val = decodeSet(&d)
			case KindZSet:
				o.val = decodeZSet(&d)
			case KindList:
				o.val = decodeList(&d)
			default:
				d.fail("unknown kind")
			}
			if d.err != nil {
				break
			}
			db.keys[k] = o
			db.scan.Set(scanEntry{scanHash(k), k})
			s.account(o, k, false)
			if o.Live() {
				db.live++
				if o.TTL.At != 0 {
					db.expires[k] = o.TTL.At
					o.inExpires = true
				}
			}
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes in snapshot", ErrCorrupt, len(d.b))
	}
	return s, nil
}

// decodeTTLHistory reads a key's TTL history (see kindTTLHistory): at
// least one write, by ascending stamp, all between the key's floor and
// its register.
func decodeTTLHistory(d *decoder, o *Object) {
	n := d.count(5)
	if n == 0 {
		d.fail("empty TTL history")
		return
	}
	hist := make([]TTL, 0, n)
	prev := o.Floor
	for range n {
		h := TTL{At: d.varint(), TS: d.ts()}
		if d.err != nil {
			return
		}
		if h.TS.Less(prev) || len(hist) > 0 && h.TS == prev || !h.TS.Less(o.TTL.TS) {
			d.fail("TTL history out of order")
			return
		}
		hist = append(hist, h)
		prev = h.TS
	}
	o.setTTLHist(hist)
}
