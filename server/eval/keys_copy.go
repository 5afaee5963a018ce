package eval

import (
	"bytes"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// RENAME, RENAMENX and COPY. Effects name elements, not objects, so moving
// a value means rebuilding it element by element under the destination
// key (keysRebuild).
func init() {
	Register(map[string]Handler{
		"rename":   func(c *Ctx, args [][]byte) { keysRename(c, args, false) },
		"renamenx": func(c *Ctx, args [][]byte) { keysRename(c, args, true) },
		"copy":     cmdCopy,
	})
}

// keysRebuild emits the effects that make dst, in database db, hold a copy
// of o: a key-level delete of whatever dst held (elements written before
// this command die; those below, stamped alike, survive), every element of
// o, and o's deadline. List items get fresh ids {stamp, i}, chained in
// order.
func keysRebuild(c *Ctx, db int, dst []byte, o *storage.Object) {
	k := string(dst)
	emit := func(e storage.Effect) {
		e.Key = k
		c.EmitDB(db, e)
	}
	emit(storage.Effect{Op: storage.OpDel})
	switch o.Kind() {
	case storage.KindString:
		emit(storage.Effect{Op: storage.OpSet, Value: bytes.Clone(o.Str().Value())})
	case storage.KindHash:
		o.Hash().Range(func(field string, val []byte) bool {
			emit(storage.Effect{Op: storage.OpHSet, Field: field, Value: bytes.Clone(val)})
			return true
		})
	case storage.KindSet:
		o.Set().Range(func(m string) bool {
			emit(storage.Effect{Op: storage.OpSAdd, Field: m})
			return true
		})
	case storage.KindZSet:
		o.ZSet().Ascend(0, func(it storage.ZItem) bool {
			emit(storage.Effect{Op: storage.OpZAdd, Field: it.Member, Float: it.Score})
			return true
		})
	case storage.KindList:
		var prev storage.ItemID
		ts, seq := c.Stamp(), uint32(0)
		o.List().Range(0, func(_ int, it storage.Item) bool {
			id := storage.ItemID{TS: ts, Seq: seq}
			emit(storage.Effect{Op: storage.OpLInsert, ID: id, Ref: prev, Value: bytes.Clone(it.Value)})
			prev, seq = id, seq+1
			return true
		})
	}
	if o.TTL.At != 0 {
		emit(storage.Effect{Op: storage.OpExpire, Int: o.TTL.At})
	}
}

// keysRename is Valkey's renameGenericCommand: RENAME key newkey and
// RENAMENX key newkey. The value keeps its deadline.
func keysRename(c *Ctx, args [][]byte, nx bool) {
	// >> Args
	src, dst := args[1], args[2]

	// >> Operation
	o := c.GetForWrite(src)
	if o == nil {
		c.W.Error(protocol.ErrNoSuchKey)
		return
	}
	if bytes.Equal(src, dst) {
		keysReplyRenamed(c, nx, !nx)
		return
	}
	if c.GetForWrite(dst) != nil && nx {
		c.W.Int(0)
		return
	}
	keysRebuild(c, c.DB, dst, o)
	c.Delete(src)

	// >> Response
	keysReplyRenamed(c, nx, true)
}

func keysReplyRenamed(c *Ctx, nx, done bool) {
	switch {
	case !nx:
		c.W.OK()
	case done:
		c.W.Int(1)
	default:
		c.W.Int(0)
	}
}

// COPY source destination [DB destination-db] [REPLACE]
func cmdCopy(c *Ctx, args [][]byte) {
	// >> Args
	src, dst := args[1], args[2]
	db, replace := c.DB, false
	for j := 3; j < len(args); j++ {
		switch {
		case EqualFold(args[j], "replace"):
			replace = true
		case EqualFold(args[j], "db") && j+1 < len(args):
			n, ok := keysParseDB(c, args[j+1])
			if !ok {
				return
			}
			db = n
			j++
		default:
			c.W.Error(protocol.ErrSyntax)
			return
		}
	}
	if db == c.DB && bytes.Equal(src, dst) {
		c.W.Error("ERR source and destination objects are the same")
		return
	}

	// >> Operation
	o := c.GetForWrite(src)
	if o == nil {
		c.W.Int(0)
		return
	}
	if c.GetForWriteDB(db, dst) != nil && !replace {
		c.W.Int(0)
		return
	}
	keysRebuild(c, db, dst, o)

	// >> Response
	c.W.Int(1)
}
