package storage

import (
	"errors"
	"io"
	"maps"
	"sync"
)

// ErrReleased is returned by [Frozen.WriteSnapshot] once the view has been
// released.
var ErrReleased = errors.New("storage: frozen view released")

// Frozen is a read-only view of a [Store] as it was at one instant, taken
// by [Store.Freeze]. It writes the snapshot the store would have written
// then, while the store goes on applying batches.
//
// The view shares every object with the store. The store keeps it
// consistent by copy on write: while any view is alive, the first change
// to an object that was there at the last Freeze goes to a copy, put in
// the object's place in the store, and the views keep the original, which
// nothing changes again. Objects made since the last Freeze are the
// store's alone and change in place; with no view alive nothing is copied.
//
// A Frozen is safe for concurrent use, and WriteSnapshot may run alongside
// anything the store's owner does, Apply included.
type Frozen struct {
	mu struct {
		sync.Mutex
		// st is the frozen state; its maps are copies of the store's,
		// its objects shared with it.
		st state
		// s is the store, nil once released.
		s *Store
	}
}

// Freeze returns a view of the store as it is now, for
// [Frozen.WriteSnapshot] to write while the store changes. It costs a
// copy of each database's map of keys (a pointer per key); nothing is
// encoded or sorted. Every Freeze must be paired with a [Frozen.Release]:
// until then, the store copies each object that existed at the Freeze
// before its first change.
//
// Freeze reads the keyspace as a Reader does, and may run alongside
// readers and other Freezes, but not alongside Apply or any other change
// to the store.
func (s *Store) Freeze() *Frozen {
	f := &Frozen{}
	f.mu.st = s.state()
	for i := range f.mu.st.keys {
		f.mu.st.keys[i] = maps.Clone(f.mu.st.keys[i])
	}
	f.mu.s = s
	// Count the view before the epoch moves on: an Apply that sees the
	// new epoch must also see a view alive. (The owner serialises Apply
	// with Freeze anyway; the order matters only to readers of the code.)
	s.views.Add(1)
	s.epoch.Add(1)
	return f
}

// WriteSnapshot writes what [Store.WriteSnapshot] would have written at
// the Freeze, byte for byte. It returns [ErrReleased] after Release.
func (f *Frozen) WriteSnapshot(w io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.s == nil {
		return ErrReleased
	}
	return f.mu.st.writeSnapshot(w)
}

// Index returns the log index of the last batch applied at the Freeze.
func (f *Frozen) Index() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.st.index
}

// Release lets go of the view: once no view of the store is alive, its
// objects change in place again. It waits for a WriteSnapshot in
// progress to return. Release is idempotent.
func (f *Frozen) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.s == nil {
		return
	}
	f.mu.s.views.Add(-1)
	f.mu.s = nil
	f.mu.st = state{}
}

// writable returns d's object for key ready to change in place: o itself,
// or, if o was there at the last Freeze and a view may still hold it (cow,
// read once per batch from views), a deep copy of o put in its place. A
// view keeps o unchanged for ever. Every change to an object held in a
// database goes through writable first, except to the fields only the
// store reads (gen, inExpires, tombN, tombB), which no view looks at.
func (s *Store) writable(d *db, key string, o *Object, cow bool) *Object {
	if !cow {
		return o
	}
	epoch := s.epoch.Load()
	if o.epoch == epoch {
		return o
	}
	c := o.Clone()
	c.epoch = epoch
	d.keys[key] = c
	return c
}

// cow reports whether a frozen view may be alive, so that changes must go
// through writable's copies. Release may drop the count meanwhile: a stale
// true only copies for nothing.
func (s *Store) cow() bool { return s.views.Load() > 0 }
