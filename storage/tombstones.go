package storage

import "unsafe"

// TombstoneStats counts what a store keeps only to merge correctly: removed
// elements and deleted keys that wait for the stable frontier.
type TombstoneStats struct {
	// Count is the number of removed elements (hash fields, set and
	// sorted-set members, list items, string registers) still held as
	// tombstones, plus the number of keys held with no live element (a
	// key-level delete, or a key whose elements are all tombstones: such
	// a key counts once itself and once per tombstone it holds).
	Count int64
	// Bytes is an estimate of the memory they hold: keys, field and
	// member names, stamps, and the structures and map entries around
	// them. Live data in the same keys is not counted.
	Bytes int64
}

// Tombstones returns the store's tombstone counts. It costs nothing to
// call: Apply keeps the totals up to date as it settles the keys it
// touches (each key's share is recomputed then, at the cost of a walk over
// its tombstones, which compaction makes anyway). Tombstones that the
// frontier has passed stay counted until Apply or Compact next touches
// their key.
func (s *Store) Tombstones() TombstoneStats { return s.tombs }

// Estimated sizes, in bytes, of what one tombstone holds besides its
// name: the structures themselves, pointers, string headers and a map
// entry's share of its table.
const (
	mapEntryOverhead = 8 // control byte and load-factor slack of a map slot
	stringHeader     = int(unsafe.Sizeof(""))
	pointerSize      = int(unsafe.Sizeof(uintptr(0)))
	registerSize     = int(unsafe.Sizeof(Register{}))
	// A removed hash field or set member: the register and its entry in
	// the fields map, and its entry in the pending map.
	fieldTombSize = registerSize + stringHeader + pointerSize + mapEntryOverhead +
		stringHeader + mapEntryOverhead
	zmemberTombSize = int(unsafe.Sizeof(zmember{})) + stringHeader + pointerSize + mapEntryOverhead +
		stringHeader + mapEntryOverhead
	// A removed list item: the item and its slot in the items slice.
	litemTombSize = int(unsafe.Sizeof(litem{})) + pointerSize
	// A key with no live element: its object, its entry in the keys map
	// and in the scan index.
	keyTombSize = int(unsafe.Sizeof(Object{})) + stringHeader + pointerSize + mapEntryOverhead +
		int(unsafe.Sizeof(scanEntry{}))
)

// tombs returns what the object holds as tombstones (see TombstoneStats).
func (o *Object) tombs(key string) (n int32, bytes int64) {
	var vn, vb int
	if o.val != nil {
		vn, vb = o.val.tombs()
	}
	if !o.Live() {
		vn++
		vb += len(key) + keyTombSize
	}
	return int32(vn), int64(vb)
}

// account brings the store's totals and the object's share up to date
// with what the object holds now; gone says it left the keyspace.
func (s *Store) account(o *Object, key string, gone bool) {
	var n int32
	var b int64
	if !gone {
		n, b = o.tombs(key)
	}
	if n == o.tombN && b == o.tombB {
		return // nothing to write: an object a frozen view shares stays untouched
	}
	s.tombs.Count += int64(n) - int64(o.tombN)
	s.tombs.Bytes += b - o.tombB
	o.tombN, o.tombB = n, b
}

func (r *Register) tombs() (n, bytes int) {
	if r.tombstones() {
		return 1, registerSize
	}
	return 0, 0
}

// Removed fields and members are all in pending (see markPending and
// update), so these walks cost what compact's walk costs.

func (h *Hash) tombs() (n, bytes int) {
	if !h.tombstones() {
		return 0, 0
	}
	for f := range h.pending {
		if r := h.fields[f]; r != nil && !r.Live() {
			n++
			bytes += len(f) + fieldTombSize
		}
	}
	return n, bytes
}

func (s *Set) tombs() (n, bytes int) {
	if !s.tombstones() {
		return 0, 0
	}
	for m := range s.pending {
		if r := s.members[m]; r != nil && !r.Live() {
			n++
			bytes += len(m) + fieldTombSize
		}
	}
	return n, bytes
}

func (z *ZSet) tombs() (n, bytes int) {
	if !z.tombstones() {
		return 0, 0
	}
	for m := range z.pending {
		if zm := z.members[m]; zm != nil && !zm.live {
			n++
			bytes += len(m) + zmemberTombSize
		}
	}
	return n, bytes
}

// A dead list item keeps no value (see List.kill): its size is fixed.
func (l *List) tombs() (n, bytes int) { return l.dead, l.dead * litemTombSize }
