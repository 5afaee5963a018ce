package storage

import (
	"slices"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// Kind is the type of the value a key holds.
type Kind uint8

// The kinds of value. Values are part of the snapshot format.
const (
	KindNone   Kind = 0
	KindString Kind = 1
	KindHash   Kind = 2
	KindSet    Kind = 3
	KindZSet   Kind = 4
	KindList   Kind = 5
)

// String returns the name TYPE replies with.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindHash:
		return "hash"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindList:
		return "list"
	}
	return "none"
}

// value is what a key holds: a collection of elements with stamps.
type value interface {
	kind() Kind
	// Len returns the number of live elements; 0 means the key does not exist.
	Len() int
	// floor kills every element stamped before ts (a key-level delete).
	// Elements left holding nothing are forgotten (see Register.cut).
	floor(ts hlc.Timestamp)
	// stamp returns the largest stamp held, live or tombstone.
	stamp() hlc.Timestamp
	// compact drops tombstones and folds increments stamped at or before stable.
	compact(stable hlc.Timestamp)
	// compactable reports whether compact (or compactAt) may change the
	// value; when it returns false they leave it untouched, so a value a
	// frozen view shares need not be copied (see Store.Compact).
	compactable() bool
	// tombstones reports whether any removed element is still remembered.
	tombstones() bool
	// tombs returns the number of removed elements remembered and an
	// estimate of the bytes they hold (see TombstoneStats).
	tombs() (n, bytes int)
	clone() value
	encode(e *encoder)
}

// TTL is the key's expiry register: an absolute deadline with the stamp of
// the command that set it.
type TTL struct {
	// At is the deadline in Unix milliseconds; zero means no expiry.
	At int64
	TS hlc.Timestamp
}

// Object is a key's state: its value with every element's stamp, the
// key-level tombstone and the TTL register.
//
// Objects returned by a Reader belong to the store: callers must not modify
// them, nor keep them past the lock under which they were read.
type Object struct {
	// Floor is the stamp of the last key-level delete: elements stamped
	// before it are dead.
	Floor hlc.Timestamp
	// TTL is the expiry register.
	TTL TTL
	// Mod is the log index of the last change (WATCH compares it).
	Mod uint64

	val value
	// hist holds TTL writes the register replaced, or that arrived
	// after a later one, while expiry may still depend on them (see
	// ttl.go), by ascending stamp; nil when there are none, as there
	// usually are (a pointer keeps the usual object small).
	//
	// Invariant: entries are stamped at or after Floor and before
	// TTL.TS; *hist is never empty.
	hist *[]TTL

	gen uint64 // Apply batch that last touched the object
	// epoch is the store's Freeze count when the object was made or
	// copied: a frozen view may hold it while it is below the store's
	// (see Store.writable). Unrelated to gen.
	epoch uint64
	// inExpires tells whether the key is in its database's expires index.
	inExpires bool
	// tombN and tombB are the object's share of the store's
	// TombstoneStats, as of the last time the store accounted for it.
	tombN int32
	tombB int64
}

// Kind returns the type of the key's value.
func (o *Object) Kind() Kind {
	if o == nil || o.val == nil {
		return KindNone
	}
	return o.val.kind()
}

// Live reports whether the key exists (ignoring expiry).
func (o *Object) Live() bool { return o != nil && o.val != nil && o.val.Len() > 0 }

// Len returns the number of live elements.
func (o *Object) Len() int {
	if o == nil || o.val == nil {
		return 0
	}
	return o.val.Len()
}

// ExpireAt returns the key's deadline in Unix ms, or 0 if it has none.
func (o *Object) ExpireAt() int64 { return o.TTL.At }

// Expired reports whether the key's deadline is at or before now (Unix ms).
func (o *Object) Expired(now int64) bool { return o.TTL.At != 0 && o.TTL.At <= now }

// Str returns the string register; nil if the key holds another type.
func (o *Object) Str() *Register { r, _ := o.val.(*Register); return r }

// Hash returns the hash; nil if the key holds another type.
func (o *Object) Hash() *Hash { h, _ := o.val.(*Hash); return h }

// Set returns the set; nil if the key holds another type.
func (o *Object) Set() *Set { s, _ := o.val.(*Set); return s }

// ZSet returns the sorted set; nil if the key holds another type.
func (o *Object) ZSet() *ZSet { z, _ := o.val.(*ZSet); return z }

// List returns the list; nil if the key holds another type.
func (o *Object) List() *List { l, _ := o.val.(*List); return l }

// Clone returns a deep copy of the object, for overlays that stage effects.
func (o *Object) Clone() *Object {
	c := *o
	if o.val != nil {
		c.val = o.val.clone()
	}
	if o.hist != nil {
		h := slices.Clone(*o.hist)
		c.hist = &h
	}
	return &c
}

func newValue(k Kind) value {
	switch k {
	case KindString:
		return &Register{}
	case KindHash:
		return newHash()
	case KindSet:
		return newSet()
	case KindZSet:
		return newZSet()
	case KindList:
		return newList()
	}
	panic("storage: newValue of unknown kind")
}

// String register as a value.
func (r *Register) kind() Kind { return KindString }

// Len returns 1 if the string exists.
func (r *Register) Len() int {
	if r.Live() {
		return 1
	}
	return 0
}
func (r *Register) floor(ts hlc.Timestamp) { r.cut(ts) }
func (r *Register) stamp() hlc.Timestamp   { return r.Stamp() }
func (r *Register) compact(stable hlc.Timestamp) {
	if r.fold(stable, false) {
		*r = Register{}
	}
}
func (r *Register) tombstones() bool { return !r.Del.IsZero() && !r.Live() }
func (r *Register) clone() value     { return r.cloneReg() }

// compactable: compact folds increments, and drops a register that is
// not live.
func (r *Register) compactable() bool { return len(r.Incs) > 0 || !r.Live() }

// valueEmpty reports whether v holds no element at all, live or removed.
// Such a value carries nothing the key's floor does not, and goes.
func valueEmpty(v value) bool {
	switch v := v.(type) {
	case *Register:
		return v.empty()
	case *Hash:
		return len(v.fields) == 0
	case *Set:
		return len(v.members) == 0
	case *ZSet:
		return len(v.members) == 0
	case *List:
		return len(v.items) == v.head
	}
	return v == nil
}
