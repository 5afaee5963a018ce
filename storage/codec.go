package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// ErrCorrupt is returned by DecodeEffects and ReadSnapshot when their input
// is truncated, fails its checksum or holds values no encoder produces.
var ErrCorrupt = errors.New("storage: corrupt encoding")

// encoder appends the primitive values of the binary formats.
type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) string(v string)  { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) float(v float64) {
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
}
func (e *encoder) ts(t hlc.Timestamp) {
	e.varint(t.Wall)
	e.uvarint(uint64(t.Logical))
	e.uvarint(uint64(t.Region))
	e.uvarint(uint64(t.Node))
}
func (e *encoder) itemID(id ItemID) { e.ts(id.TS); e.uvarint(uint64(id.Seq)) }

// decoder reads what encoder wrote. The first error sticks: every later read
// returns zero values, and err reports it.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail("value out of range")
		return 0
	}
	return uint32(v)
}

// count reads a length and checks it against the bytes left, each item
// taking at least min bytes, so a corrupt length cannot make us allocate.
func (d *decoder) count(min int) int {
	v := d.uvarint()
	if min < 1 {
		min = 1
	}
	if v > uint64(len(d.b)/min) {
		d.fail("length exceeds input")
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	v := make([]byte, n)
	copy(v, d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.fail("truncated float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) ts() hlc.Timestamp {
	return hlc.Timestamp{Wall: d.varint(), Logical: d.uint32(), Region: d.uint32(), Node: d.uint32()}
}

func (d *decoder) itemID() ItemID { return ItemID{TS: d.ts(), Seq: d.uint32()} }
