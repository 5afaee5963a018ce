package storage

import (
	"maps"
	"slices"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// Hash is a hash value: fields, each a Register, including removed fields
// whose tombstones are not yet stable.
type Hash struct {
	fields map[string]*Register
	live   int
	// pending names fields holding a tombstone or increments, the only
	// ones compact needs to look at.
	pending map[string]struct{}
}

func newHash() *Hash { return &Hash{fields: map[string]*Register{}} }

func (h *Hash) kind() Kind { return KindHash }

// Len returns the number of fields.
func (h *Hash) Len() int { return h.live }

// Get returns a field's value, or nil and false.
func (h *Hash) Get(field string) ([]byte, bool) {
	r := h.fields[field]
	if r == nil || !r.Live() {
		return nil, false
	}
	return r.Value(), true
}

// Range calls fn for each live field until it returns false. The order is
// unspecified.
func (h *Hash) Range(fn func(field string, val []byte) bool) {
	for f, r := range h.fields {
		if r.Live() && !fn(f, r.Value()) {
			return
		}
	}
}

// update runs op on a field's register and keeps the live count.
func (h *Hash) update(field string, op func(r *Register) bool) {
	r := h.fields[field]
	if r == nil {
		r = &Register{}
		h.fields[field] = r
	}
	was := r.Live()
	op(r)
	h.count(was, r.Live())
	h.markPending(field, r)
}

func (h *Hash) markPending(field string, r *Register) {
	if len(r.Incs) > 0 || !r.Live() {
		if h.pending == nil {
			h.pending = map[string]struct{}{}
		}
		h.pending[field] = struct{}{}
	}
}

func (h *Hash) count(was, now bool) {
	switch {
	case was && !now:
		h.live--
	case !was && now:
		h.live++
	}
}

func (h *Hash) set(ts hlc.Timestamp, field string, val []byte) {
	h.update(field, func(r *Register) bool { return r.Set(ts, val) })
}

func (h *Hash) del(ts hlc.Timestamp, field string) {
	h.update(field, func(r *Register) bool { return r.Remove(ts) })
}

func (h *Hash) incr(field string, inc Inc) {
	h.update(field, func(r *Register) bool { return r.Incr(inc) })
}

func (h *Hash) floor(ts hlc.Timestamp) {
	for f, r := range h.fields {
		was := r.Live()
		empty := r.cut(ts)
		h.count(was, r.Live())
		if empty {
			delete(h.fields, f)
			delete(h.pending, f)
		} else {
			h.markPending(f, r)
		}
	}
}

func (h *Hash) stamp() hlc.Timestamp {
	var m hlc.Timestamp
	for _, r := range h.fields {
		m = hlc.Max(m, r.Stamp())
	}
	return m
}

func (h *Hash) compact(stable hlc.Timestamp) {
	for f := range h.pending {
		r := h.fields[f]
		if r == nil || r.fold(stable, false) {
			delete(h.fields, f)
			delete(h.pending, f)
		} else if len(r.Incs) == 0 && r.Live() {
			delete(h.pending, f)
		}
	}
}

func (h *Hash) tombstones() bool { return len(h.fields) > h.live }

// compactable: compact looks only at pending fields.
func (h *Hash) compactable() bool { return len(h.pending) > 0 }

func (h *Hash) clone() value {
	c := &Hash{fields: make(map[string]*Register, len(h.fields)), live: h.live, pending: maps.Clone(h.pending)}
	for f, r := range h.fields {
		c.fields[f] = r.cloneReg()
	}
	return c
}

func (h *Hash) encode(e *encoder) {
	e.uvarint(uint64(len(h.fields)))
	for _, f := range sortedKeys(h.fields) {
		e.string(f)
		h.fields[f].encode(e)
	}
}

func decodeHash(d *decoder) *Hash {
	h := newHash()
	n := d.count(4)
	prev := ""
	for i := 0; i < n && d.err == nil; i++ {
		f := d.string()
		if i > 0 && f <= prev {
			d.fail("hash fields out of order")
			break
		}
		prev = f
		r := decodeRegister(d)
		h.fields[f] = r
		if r.Live() {
			h.live++
		}
		h.markPending(f, r)
	}
	return h
}

// Set is a set value: members with add and remove stamps.
type Set struct {
	members map[string]*Register
	live    int
	// pending names members holding a tombstone.
	pending map[string]struct{}
}

func newSet() *Set { return &Set{members: map[string]*Register{}} }

func (s *Set) kind() Kind { return KindSet }

// Len returns the number of members.
func (s *Set) Len() int { return s.live }

// Has reports whether m is a member.
func (s *Set) Has(m string) bool {
	r := s.members[m]
	return r != nil && r.Live()
}

// Range calls fn for each member until it returns false. The order is
// unspecified.
func (s *Set) Range(fn func(member string) bool) {
	for m, r := range s.members {
		if r.Live() && !fn(m) {
			return
		}
	}
}

// Members returns the members in unspecified order.
func (s *Set) Members() []string {
	out := make([]string, 0, s.live)
	s.Range(func(m string) bool { out = append(out, m); return true })
	return out
}

func (s *Set) update(m string, op func(r *Register) bool) {
	r := s.members[m]
	if r == nil {
		r = &Register{}
		s.members[m] = r
	}
	was := r.Live()
	op(r)
	now := r.Live()
	switch {
	case was && !now:
		s.live--
	case !was && now:
		s.live++
	}
	if !now {
		if s.pending == nil {
			s.pending = map[string]struct{}{}
		}
		s.pending[m] = struct{}{}
	}
}

func (s *Set) add(ts hlc.Timestamp, m string) {
	s.update(m, func(r *Register) bool { return r.Set(ts, nil) })
}

func (s *Set) rem(ts hlc.Timestamp, m string) {
	s.update(m, func(r *Register) bool { return r.Remove(ts) })
}

func (s *Set) floor(ts hlc.Timestamp) {
	for m, r := range s.members {
		was := r.Live()
		empty := r.cut(ts)
		switch now := r.Live(); {
		case was && !now:
			s.live--
		case !was && now:
			s.live++
		}
		if empty {
			delete(s.members, m)
			delete(s.pending, m)
		} else if !r.Live() {
			if s.pending == nil {
				s.pending = map[string]struct{}{}
			}
			s.pending[m] = struct{}{}
		}
	}
}

func (s *Set) stamp() hlc.Timestamp {
	var m hlc.Timestamp
	for _, r := range s.members {
		m = hlc.Max(m, r.Stamp())
	}
	return m
}

func (s *Set) compact(stable hlc.Timestamp) {
	for m := range s.pending {
		r := s.members[m]
		if r == nil || r.fold(stable, false) {
			delete(s.members, m)
			delete(s.pending, m)
		} else if r.Live() {
			delete(s.pending, m)
		}
	}
}

func (s *Set) tombstones() bool { return len(s.members) > s.live }

// compactable: compact looks only at pending members.
func (s *Set) compactable() bool { return len(s.pending) > 0 }

func (s *Set) clone() value {
	c := &Set{members: make(map[string]*Register, len(s.members)), live: s.live, pending: maps.Clone(s.pending)}
	for m, r := range s.members {
		c.members[m] = r.cloneReg()
	}
	return c
}

func (s *Set) encode(e *encoder) {
	e.uvarint(uint64(len(s.members)))
	for _, m := range sortedKeys(s.members) {
		e.string(m)
		s.members[m].encode(e)
	}
}

func decodeSet(d *decoder) *Set {
	s := newSet()
	n := d.count(4)
	prev := ""
	for i := 0; i < n && d.err == nil; i++ {
		m := d.string()
		if i > 0 && m <= prev {
			d.fail("set members out of order")
			break
		}
		prev = m
		r := decodeRegister(d)
		s.members[m] = r
		if r.Live() {
			s.live++
		} else {
			if s.pending == nil {
				s.pending = map[string]struct{}{}
			}
			s.pending[m] = struct{}{}
		}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
