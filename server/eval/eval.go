// Package eval evaluates Valkey commands into a reply and a list of
// storage effects, the approach of DESIGN.md ("Log entries are effects").
//
// A handler reads state only through its Ctx's storage.Reader, writes its
// reply to Ctx.W, and records every change as an effect with Ctx.Emit. It
// never changes state itself: the caller applies the effects (directly on a
// single node, through the Raft log in a region), so the same handler code
// serves both.
//
// Usage:
//
//	c := &eval.Ctx{R: store.At(now), DB: 0, W: w, Clock: clock, Rand: rnd}
//	eval.Run(c, args)          // reply in w, effects in c.Effects()
//	store.Apply(index, c.Effects())
//
// HAZARD: a handler must compute its reply from the state it read plus the
// effects it emits, never from state after Apply, because in a region the
// effects are applied only once the log entry commits.
package eval

import (
	"math/rand/v2"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Stamper hands out HLC stamps.
type Stamper interface {
	Now() hlc.Timestamp
}

var _ Stamper = (*hlc.Clock)(nil)

// Ctx is everything one command evaluates against.
type Ctx struct {
	// R is the state the command reads.
	R storage.Reader
	// DB is the selected database; SELECT inside MULTI changes it.
	DB int
	// W receives the reply.
	W *protocol.Writer
	// Clock stamps the command's effects.
	Clock Stamper
	// Rand makes the random choices of SPOP, SRANDMEMBER, RANDOMKEY, ...
	Rand *rand.Rand
	// MaxBulk is proto-max-bulk-len, the largest string a command may
	// build (SETRANGE, APPEND); zero means protocol.DefaultMaxBulk.
	MaxBulk int64

	effects []storage.Effect
	stamp   hlc.Timestamp
	// phys, if not zero, is the physical time (Unix ms) already read for
	// this request; stamps are taken at it instead of reading the clock
	// again.
	phys int64
}

// Handler evaluates one command. args[0] is the command name; arity has
// been checked against the command table.
type Handler func(c *Ctx, args [][]byte)

var handlers = map[string]Handler{}

// Register installs handlers by lower-case command name. It panics on a
// duplicate, a nil handler, or a name missing from the protocol table.
func Register(hs map[string]Handler) {
	for name, h := range hs {
		if h == nil {
			panic("eval: nil handler for " + name)
		}
		if _, dup := handlers[name]; dup {
			panic("eval: duplicate handler for " + name)
		}
		if protocol.Lookup([]byte(name)) == nil {
			panic("eval: no command table row for " + name)
		}
		handlers[name] = h
	}
}

// Lookup returns the handler for a command, or nil.
func Lookup(name string) Handler { return handlers[strings.ToLower(name)] }

// lookupBytes is Lookup without allocating for short names.
func lookupBytes(name []byte) Handler {
	if h, ok := handlers[string(name)]; ok {
		return h
	}
	var buf [32]byte
	if len(name) > len(buf) {
		return Lookup(string(name))
	}
	lower := buf[:len(name)]
	for i, ch := range name {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		lower[i] = ch
	}
	return handlers[string(lower)]
}

// Run evaluates one command. Its reply goes to c.W, its effects are
// appended to c.Effects().
func Run(c *Ctx, args [][]byte) {
	h := lookupBytes(args[0])
	if h == nil {
		c.W.Error(protocol.ErrUnknownCommand(args))
		return
	}
	c.stamp = hlc.Timestamp{}
	h(c, args)
}

// Effects returns the effects recorded so far.
func (c *Ctx) Effects() []storage.Effect { return c.effects }

// ResetEffects forgets the recorded effects, keeping their memory.
func (c *Ctx) ResetEffects() { c.effects = c.effects[:0] }

// Stamp returns the current command's stamp, taking one from the clock on
// first use. Every effect of one command carries the same stamp.
func (c *Ctx) Stamp() hlc.Timestamp {
	if c.stamp.IsZero() {
		if c.phys != 0 {
			if hc, ok := c.Clock.(*hlc.Clock); ok {
				c.stamp = hc.NowAt(c.phys)
				return c.stamp
			}
		}
		c.stamp = c.Clock.Now()
	}
	return c.stamp
}

// Now returns the instant, in Unix ms, that expiry is judged against.
func (c *Ctx) Now() int64 { return c.R.Now() }

// Emit records an effect on key in the selected database, stamped with the
// command's stamp.
func (c *Ctx) Emit(e storage.Effect) {
	e.DB = c.DB
	e.TS = c.Stamp()
	c.effects = append(c.effects, e)
}

// EmitDB records an effect for an explicit database (MOVE-like commands,
// FLUSHALL).
func (c *Ctx) EmitDB(db int, e storage.Effect) {
	e.DB = db
	e.TS = c.Stamp()
	c.effects = append(c.effects, e)
}

// Get returns the key's live object, or nil. For reads.
func (c *Ctx) Get(key []byte) *storage.Object { return c.R.Get(c.DB, string(key)) }

// GetForWrite returns the key's live object, or nil, for a command about to
// change the key. A key that has expired but is still stored is deleted
// first (an OpDel with the command's stamp), as Valkey's lazy expiry does,
// so that the write starts from nothing.
func (c *Ctx) GetForWrite(key []byte) *storage.Object {
	return c.GetForWriteDB(c.DB, key)
}

// GetForWriteDB is GetForWrite in an explicit database.
func (c *Ctx) GetForWriteDB(db int, key []byte) *storage.Object {
	o, expired := c.R.GetExpired(db, string(key))
	if expired {
		c.EmitDB(db, storage.Effect{Op: storage.OpDel, Key: string(key)})
		return nil
	}
	return o
}

// Lookup finds key expecting kind, for reading. It returns (nil, true) if
// the key does not exist, (o, true) if it holds kind, and (nil, false)
// after replying WRONGTYPE.
func (c *Ctx) Lookup(key []byte, kind storage.Kind) (*storage.Object, bool) {
	return c.checkKind(c.Get(key), kind)
}

// LookupWrite is Lookup for a command about to change the key (see
// GetForWrite).
func (c *Ctx) LookupWrite(key []byte, kind storage.Kind) (*storage.Object, bool) {
	return c.checkKind(c.GetForWrite(key), kind)
}

func (c *Ctx) checkKind(o *storage.Object, kind storage.Kind) (*storage.Object, bool) {
	if o == nil {
		return nil, true
	}
	if o.Kind() != kind {
		c.W.Error(protocol.ErrWrongType)
		return nil, false
	}
	return o, true
}

// Delete records a key-level delete of key (DEL, and a command that
// empties a key: Valkey deletes empty keys, and the delete also clears the
// TTL).
func (c *Ctx) Delete(key []byte) {
	c.Emit(storage.Effect{Op: storage.OpDel, Key: string(key)})
}

// Emptied records that a command removed the last element of key (after
// emitting the removals): readers see no key (an object with no live
// element is none) and its TTL goes, as in Valkey. It is not a key-level
// delete: elements another region adds concurrently, unseen here, survive
// the merge (docs/CONFLICTS.md, "Removing the last element").
func (c *Ctx) Emptied(key []byte) {
	c.Emit(storage.Effect{Op: storage.OpExpire, Key: string(key), Int: 0})
}
