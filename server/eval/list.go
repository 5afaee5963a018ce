package eval

import (
	"bytes"
	"math"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// List commands. A list is a sequence CRDT (storage.List): every pushed
// item gets a fresh ItemID (the command's stamp and a sequence number
// unique within the command) and names the item it goes right after.
// Removals (pops, LREM, LTRIM, the source side of LMOVE) are OpLRem
// effects on item ids, LSET is OpLSet, so that a region merging them
// removes or changes exactly the items this command saw.
func init() {
	Register(map[string]Handler{
		"lpush":     cmdLPush,
		"rpush":     cmdRPush,
		"lpushx":    cmdLPushX,
		"rpushx":    cmdRPushX,
		"lpop":      cmdLPop,
		"rpop":      cmdRPop,
		"llen":      cmdLLen,
		"lrange":    cmdLRange,
		"lindex":    cmdLIndex,
		"lset":      cmdLSet,
		"lrem":      cmdLRem,
		"ltrim":     cmdLTrim,
		"linsert":   cmdLInsert,
		"lpos":      cmdLPos,
		"lmove":     cmdLMove,
		"rpoplpush": cmdRPopLPush,
	})
}

// Valkey's list error texts that protocol/errors.go does not hold.
const (
	listErrRankZero    = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	listErrCountNeg    = "ERR COUNT can't be negative"
	listErrMaxLenNeg   = "ERR MAXLEN can't be negative"
	listErrOutOfLongNZ = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)

// listRead looks a list up for reading: (nil, true) when the key does not
// exist, (nil, false) after a WRONGTYPE reply.
func listRead(c *Ctx, key []byte) (*storage.List, bool) {
	o, ok := c.Lookup(key, storage.KindList)
	if !ok || o == nil {
		return nil, ok
	}
	return o.List(), true
}

// listWrite is listRead for a command about to change the key.
func listWrite(c *Ctx, key []byte) (*storage.List, bool) {
	o, ok := c.LookupWrite(key, storage.KindList)
	if !ok || o == nil {
		return nil, ok
	}
	return o.List(), true
}

// listLen returns the number of items of l, 0 for a missing list.
func listLen(l *storage.List) int {
	if l == nil {
		return 0
	}
	return l.Len()
}

// listItemID returns the id of the n-th item a command pushes.
func listItemID(c *Ctx, n int) storage.ItemID {
	return storage.ItemID{TS: c.Stamp(), Seq: uint32(n)}
}

// listEmitPush emits the inserts of vals at one end of l (nil: a new
// list). At the head every item names the head as its reference and a
// larger sequence puts it first, so LPUSH a b c gives c b a; at the tail
// the first item goes after the last live item and each other after the
// previous one.
//
// References are live items only, never tombstones: another region may
// have compacted a tombstone by the time the insert reaches it (see
// storage.List and storage.Store.SetFrontiers).
func listEmitPush(c *Ctx, key []byte, l *storage.List, left bool, vals [][]byte) {
	var ref storage.ItemID
	if !left && l != nil {
		ref = l.LastLive()
	}
	for i, v := range vals {
		id := listItemID(c, i)
		c.Emit(storage.Effect{Op: storage.OpLInsert, Key: string(key), ID: id, Ref: ref, Value: v})
		if !left {
			ref = id
		}
	}
}

// listEmitRemove emits the removal of items from a list of length n, and
// the key-level delete when they were all of it.
func listEmitRemove(c *Ctx, key []byte, n int, ids []storage.ItemID) {
	for _, id := range ids {
		c.Emit(storage.Effect{Op: storage.OpLRem, Key: string(key), ID: id})
	}
	if len(ids) > 0 && len(ids) == n {
		c.Emptied(key)
	}
}

// listEnds returns up to n items from one end of l, in the order a pop
// from that end takes them.
func listEnds(l *storage.List, left bool, n int) []storage.Item {
	n = min(n, l.Len())
	out := make([]storage.Item, 0, n)
	if n == 0 {
		return out
	}
	fn := func(_ int, it storage.Item) bool {
		out = append(out, it)
		return len(out) < n
	}
	if left {
		l.Range(0, fn)
	} else {
		l.Reverse(l.Len()-1, fn)
	}
	return out
}

// listRange normalises a start/stop pair the way Valkey's LRANGE and LTRIM
// do. It returns the inclusive range [start, stop] of indexes into a list
// of length n, or ok false when the range is empty.
func listRange(start, stop int64, n int) (from, to int, ok bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if stop < 0 {
		stop += ln
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= ln {
		return 0, 0, false
	}
	if stop >= ln {
		stop = ln - 1
	}
	return int(start), int(stop), true
}

// listParseLong parses a Valkey "long" argument; it replies and returns
// false when the argument is not an integer.
func listParseLong(c *Ctx, arg []byte) (int64, bool) {
	n, ok := ParseInt(arg)
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
	}
	return n, ok
}

// listParseEnd parses LEFT|RIGHT (LMOVE); left reports LEFT.
func listParseEnd(c *Ctx, arg []byte) (left, ok bool) {
	switch {
	case EqualFold(arg, "left"):
		return true, true
	case EqualFold(arg, "right"):
		return false, true
	}
	c.W.Error(protocol.ErrSyntax)
	return false, false
}

func cmdLPush(c *Ctx, args [][]byte)  { listPush(c, args, true, false) }
func cmdRPush(c *Ctx, args [][]byte)  { listPush(c, args, false, false) }
func cmdLPushX(c *Ctx, args [][]byte) { listPush(c, args, true, true) }
func cmdRPushX(c *Ctx, args [][]byte) { listPush(c, args, false, true) }

// listPush is LPUSH, RPUSH, LPUSHX and RPUSHX; xx pushes only onto an
// existing list.
func listPush(c *Ctx, args [][]byte, left, xx bool) {
	// >> Args
	key, vals := args[1], args[2:]

	// >> Operation
	l, ok := listWrite(c, key)
	if !ok {
		return
	}
	if l == nil && xx {
		c.W.Int(0)
		return
	}
	listEmitPush(c, key, l, left, vals)

	// >> Response
	c.W.Int(int64(listLen(l) + len(vals)))
}

func cmdLPop(c *Ctx, args [][]byte) { listPop(c, args, true) }
func cmdRPop(c *Ctx, args [][]byte) { listPop(c, args, false) }

// listPop is LPOP and RPOP, with their optional count.
func listPop(c *Ctx, args [][]byte, left bool) {
	// >> Args
	if len(args) > 3 {
		c.W.Error(protocol.ErrArity(string(args[0])))
		return
	}
	key := args[1]
	hasCount := len(args) == 3
	count := int64(1)
	if hasCount {
		n, ok := ParseInt(args[2])
		if !ok || n < 0 {
			c.W.Error(protocol.ErrPositive)
			return
		}
		count = n
	}

	// >> Operation
	l, ok := listWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		if hasCount {
			c.W.NullArray()
		} else {
			c.W.Null()
		}
		return
	}
	popped := listEnds(l, left, int(min(count, math.MaxInt32)))
	ids := make([]storage.ItemID, len(popped))
	for i, it := range popped {
		ids[i] = it.ID
	}
	listEmitRemove(c, key, l.Len(), ids)

	// >> Response
	if !hasCount {
		c.W.Bulk(popped[0].Value)
		return
	}
	c.W.Array(len(popped))
	for _, it := range popped {
		c.W.Bulk(it.Value)
	}
}

func cmdLLen(c *Ctx, args [][]byte) {
	l, ok := listRead(c, args[1])
	if !ok {
		return
	}
	c.W.Int(int64(listLen(l)))
}

func cmdLRange(c *Ctx, args [][]byte) {
	// >> Args
	start, ok := listParseLong(c, args[2])
	if !ok {
		return
	}
	stop, ok := listParseLong(c, args[3])
	if !ok {
		return
	}

	// >> Operation
	l, ok := listRead(c, args[1])
	if !ok {
		return
	}
	from, to, nonEmpty := listRange(start, stop, listLen(l))

	// >> Response
	if !nonEmpty {
		c.W.Array(0)
		return
	}
	c.W.Array(to - from + 1)
	l.Range(from, func(i int, it storage.Item) bool {
		c.W.Bulk(it.Value)
		return i < to
	})
}

func cmdLIndex(c *Ctx, args [][]byte) {
	// Valkey looks the key up before it parses the index.
	l, ok := listRead(c, args[1])
	if !ok {
		return
	}
	if l == nil {
		c.W.Null()
		return
	}
	idx, ok := listParseLong(c, args[2])
	if !ok {
		return
	}
	it, found := listAt(l, idx)
	if !found {
		c.W.Null()
		return
	}
	c.W.Bulk(it.Value)
}

// listAt returns the item at a Valkey index (negative counts from the
// tail), guarding the conversion to int.
func listAt(l *storage.List, idx int64) (storage.Item, bool) {
	if idx >= int64(l.Len()) || idx < -int64(l.Len()) {
		return storage.Item{}, false
	}
	return l.At(int(idx))
}

func cmdLSet(c *Ctx, args [][]byte) {
	// >> Args
	key, val := args[1], args[3]

	// >> Operation
	// Valkey looks the key up before it parses the index.
	l, ok := listWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.W.Error(protocol.ErrNoSuchKey)
		return
	}
	idx, ok := listParseLong(c, args[2])
	if !ok {
		return
	}
	it, found := listAt(l, idx)
	if !found {
		c.W.Error(protocol.ErrIndexRange)
		return
	}
	c.Emit(storage.Effect{Op: storage.OpLSet, Key: string(key), ID: it.ID, Value: val})

	// >> Response
	c.W.OK()
}

func cmdLRem(c *Ctx, args [][]byte) {
	// >> Args
	key, elem := args[1], args[3]
	count, ok := listParseLong(c, args[2])
	if !ok {
		return
	}
	if count == math.MinInt64 {
		c.W.Error(listErrOutOfLongNZ)
		return
	}

	// >> Operation
	l, ok := listWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	var ids []storage.ItemID
	match := func(_ int, it storage.Item) bool {
		if bytes.Equal(it.Value, elem) {
			ids = append(ids, it.ID)
		}
		return count == 0 || int64(len(ids)) < listAbs(count)
	}
	if count < 0 {
		l.Reverse(l.Len()-1, match)
	} else {
		l.Range(0, match)
	}
	listEmitRemove(c, key, l.Len(), ids)

	// >> Response
	c.W.Int(int64(len(ids)))
}

func listAbs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func cmdLTrim(c *Ctx, args [][]byte) {
	// >> Args
	key := args[1]
	start, ok := listParseLong(c, args[2])
	if !ok {
		return
	}
	stop, ok := listParseLong(c, args[3])
	if !ok {
		return
	}

	// >> Operation
	l, ok := listWrite(c, key)
	if !ok {
		return
	}
	if l != nil {
		n := l.Len()
		from, to, keep := listRange(start, stop, n)
		var ids []storage.ItemID
		l.Range(0, func(i int, it storage.Item) bool {
			if !keep || i < from || i > to {
				ids = append(ids, it.ID)
			}
			return true
		})
		listEmitRemove(c, key, n, ids)
	}

	// >> Response
	c.W.OK()
}

func cmdLInsert(c *Ctx, args [][]byte) {
	// >> Args
	var before bool
	switch {
	case EqualFold(args[2], "before"):
		before = true
	case EqualFold(args[2], "after"):
	default:
		c.W.Error(protocol.ErrSyntax)
		return
	}
	key, pivot, elem := args[1], args[3], args[4]

	// >> Operation
	l, ok := listWrite(c, key)
	if !ok {
		return
	}
	if l == nil {
		c.W.Int(0)
		return
	}
	var pivotID storage.ItemID
	found := false
	l.Range(0, func(_ int, it storage.Item) bool {
		if bytes.Equal(it.Value, pivot) {
			pivotID, found = it.ID, true
		}
		return !found
	})
	if !found {
		c.W.Int(-1)
		return
	}
	ref := pivotID
	if before {
		ref = l.LiveBefore(pivotID) // a live item, as listEmitPush explains
	}
	c.Emit(storage.Effect{Op: storage.OpLInsert, Key: string(key), ID: listItemID(c, 0), Ref: ref, Value: elem})

	// >> Response
	c.W.Int(int64(l.Len() + 1))
}

func cmdLPos(c *Ctx, args [][]byte) {
	// >> Args
	elem := args[2]
	rank, count, maxlen := int64(1), int64(-1), int64(0) // count -1: no COUNT
	for i := 3; i < len(args); i++ {
		more := i+1 < len(args)
		switch {
		case EqualFold(args[i], "rank") && more:
			i++
			n, ok := listParseLong(c, args[i])
			if !ok {
				return
			}
			if n == math.MinInt64 {
				c.W.Error(listErrOutOfLongNZ)
				return
			}
			if n == 0 {
				c.W.Error(listErrRankZero)
				return
			}
			rank = n
		case EqualFold(args[i], "count") && more:
			i++
			n, ok := ParseInt(args[i])
			if !ok || n < 0 {
				c.W.Error(listErrCountNeg)
				return
			}
			count = n
		case EqualFold(args[i], "maxlen") && more:
			i++
			n, ok := ParseInt(args[i])
			if !ok || n < 0 {
				c.W.Error(listErrMaxLenNeg)
				return
			}
			maxlen = n
		default:
			c.W.Error(protocol.ErrSyntax)
			return
		}
	}
	fromTail := rank < 0
	rank = listAbs(rank)

	// >> Operation
	l, ok := listRead(c, args[1])
	if !ok {
		return
	}
	var found []int64
	if l != nil {
		var scanned, matches int64
		visit := func(i int, it storage.Item) bool {
			if maxlen != 0 && scanned >= maxlen {
				return false
			}
			scanned++
			if !bytes.Equal(it.Value, elem) {
				return true
			}
			if matches++; matches < rank {
				return true
			}
			found = append(found, int64(i))
			// Without COUNT the first hit is the answer; COUNT 0 means all.
			return count > 0 && int64(len(found)) < count || count == 0
		}
		if fromTail {
			l.Reverse(l.Len()-1, visit)
		} else {
			l.Range(0, visit)
		}
	}

	// >> Response
	switch {
	case count != -1:
		c.W.Array(len(found))
		for _, i := range found {
			c.W.Int(i)
		}
	case len(found) == 0:
		c.W.Null()
	default:
		c.W.Int(found[0])
	}
}

func cmdLMove(c *Ctx, args [][]byte) {
	// >> Args
	fromLeft, ok := listParseEnd(c, args[3])
	if !ok {
		return
	}
	toLeft, ok := listParseEnd(c, args[4])
	if !ok {
		return
	}
	listMove(c, args[1], args[2], fromLeft, toLeft)
}

func cmdRPopLPush(c *Ctx, args [][]byte) { listMove(c, args[1], args[2], false, true) }

// listMove is LMOVE and RPOPLPUSH. Every choice is made on the state
// before the command, also when source and destination are one list: the
// popped item becomes a tombstone and its copy, a new item, goes after the
// list's last live item or at the head. That reference may be the popped
// item itself (a one-item list): it is live until this very command, so
// every region applies the insert with the item still there.
func listMove(c *Ctx, src, dst []byte, fromLeft, toLeft bool) {
	// >> Operation
	sl, ok := listWrite(c, src)
	if !ok {
		return
	}
	if sl == nil {
		c.W.Null()
		return
	}
	dl := sl
	same := bytes.Equal(src, dst)
	if !same {
		if dl, ok = listWrite(c, dst); !ok {
			return
		}
	}
	it := listEnds(sl, fromLeft, 1)[0]
	c.Emit(storage.Effect{Op: storage.OpLRem, Key: string(src), ID: it.ID})
	if !same && sl.Len() == 1 {
		c.Emptied(src)
	}
	listEmitPush(c, dst, dl, toLeft, [][]byte{it.Value})

	// >> Response
	c.W.Bulk(it.Value)
}
