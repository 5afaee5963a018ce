package eval

import (
	"math"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Sorted-set writes: ZADD, ZINCRBY, ZREM, ZREMRANGEBY*, ZPOPMIN, ZPOPMAX,
// ZMPOP.

const zsetErrNaN = "ERR resulting score is not a number (NaN)"

// zsetAddFlags are ZADD's options.
type zsetAddFlags struct {
	nx, xx, gt, lt, ch, incr bool
}

func cmdZAdd(c *Ctx, args [][]byte) { zsetAdd(c, args, false) }

// cmdZIncrBy is ZADD key INCR increment member, as in Valkey, which even
// parses ZADD's options where the increment goes.
func cmdZIncrBy(c *Ctx, args [][]byte) { zsetAdd(c, args, true) }

// zsetAddState is what ZADD knows of one member while it works through
// its pairs: the score it has now, and whether the command changed it.
type zsetAddState struct {
	score   float64
	exists  bool
	changed bool
}

func zsetAdd(c *Ctx, args [][]byte, incr bool) {
	// >> Args
	f := zsetAddFlags{incr: incr}
	i := 2
options:
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case EqualFold(a, "nx"):
			f.nx = true
		case EqualFold(a, "xx"):
			f.xx = true
		case EqualFold(a, "ch"):
			f.ch = true
		case EqualFold(a, "incr"):
			f.incr = true
		case EqualFold(a, "gt"):
			f.gt = true
		case EqualFold(a, "lt"):
			f.lt = true
		default:
			break options
		}
	}
	pairs := len(args) - i
	if pairs == 0 || pairs%2 != 0 {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	pairs /= 2
	if f.nx && f.xx {
		c.W.Error("ERR XX and NX options at the same time are not compatible")
		return
	}
	if (f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt) {
		c.W.Error("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if f.incr && pairs > 1 {
		c.W.Error("ERR INCR option supports a single increment-element pair")
		return
	}
	scores := make([]float64, pairs)
	for j := range pairs {
		s, ok := ParseFloat(args[i+2*j])
		if !ok {
			c.W.Error(protocol.ErrNotFloat)
			return
		}
		scores[j] = s
	}
	key := args[1]

	// >> Operation
	z, ok := zsetLookupWrite(c, key)
	if !ok {
		return
	}
	if z == nil && f.xx {
		if f.incr {
			c.W.Null()
		} else {
			c.W.Int(0)
		}
		return
	}
	states := map[string]*zsetAddState{}
	var order []string // members in first-seen order
	added, updated, processed := 0, 0, 0
	var score float64
	for j := range pairs {
		m := string(args[i+2*j+1])
		st := states[m]
		if st == nil {
			st = &zsetAddState{}
			if z != nil {
				st.score, st.exists = z.Score(m)
			}
			states[m] = st
			order = append(order, m)
		}
		score = scores[j]
		if st.exists {
			if f.nx {
				continue
			}
			if f.incr {
				score += st.score
				if math.IsNaN(score) {
					c.W.Error(zsetErrNaN)
					return
				}
			}
			if (f.lt && score >= st.score) || (f.gt && score <= st.score) {
				continue
			}
			processed++
			if score != st.score {
				st.score, st.changed = score, true
				updated++
			}
			continue
		}
		if f.xx {
			continue
		}
		st.score, st.exists, st.changed = score, true, true
		processed++
		added++
	}
	k := string(key)
	for _, m := range order {
		st := states[m]
		switch {
		case !st.changed:
		case f.incr:
			c.Emit(storage.Effect{Op: storage.OpZIncr, Key: k, Field: m, Float: scores[0]})
		default:
			c.Emit(storage.Effect{Op: storage.OpZAdd, Key: k, Field: m, Float: st.score})
		}
	}

	// >> Response
	switch {
	case f.incr && processed > 0:
		c.W.Double(score)
	case f.incr:
		c.W.Null()
	case f.ch:
		c.W.Int(int64(added + updated))
	default:
		c.W.Int(int64(added))
	}
}

func cmdZRem(c *Ctx, args [][]byte) {
	// >> Operation
	z, ok := zsetLookupWrite(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	seen := map[string]bool{}
	var removed []string
	for _, a := range args[2:] {
		m := string(a)
		if _, in := z.Score(m); in && !seen[m] {
			seen[m] = true
			removed = append(removed, m)
		}
	}
	zsetRemove(c, args[1], removed, z.Len())

	// >> Response
	c.W.Int(int64(len(removed)))
}

func cmdZRemRangeByRank(c *Ctx, args [][]byte) {
	// >> Args
	start, ok := zsetParseLong(c, args[2])
	if !ok {
		return
	}
	end, ok := zsetParseLong(c, args[3])
	if !ok {
		return
	}

	// >> Operation
	z, ok := zsetLookupWrite(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	lo, hi, nonEmpty := zsetRankRange(start, end, z.Len())
	var removed []string
	if nonEmpty {
		z.Ascend(lo, func(it storage.ZItem) bool {
			removed = append(removed, it.Member)
			return len(removed) < hi-lo+1
		})
	}
	zsetRemove(c, args[1], removed, z.Len())

	// >> Response
	c.W.Int(int64(len(removed)))
}

func cmdZRemRangeByScore(c *Ctx, args [][]byte) {
	// >> Args
	r, ok := zsetParseScoreRange(args[2], args[3])
	if !ok {
		c.W.Error(protocol.ErrMinMaxFloat)
		return
	}

	// >> Operation
	z, ok := zsetLookupWrite(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	first, last := r.bounds(z)
	var removed []string
	if first < last {
		z.Ascend(first, func(it storage.ZItem) bool {
			removed = append(removed, it.Member)
			return first+len(removed) < last
		})
	}
	zsetRemove(c, args[1], removed, z.Len())

	// >> Response
	c.W.Int(int64(len(removed)))
}

func cmdZRemRangeByLex(c *Ctx, args [][]byte) {
	// >> Args
	r, ok := zsetParseLexRange(args[2], args[3])
	if !ok {
		c.W.Error(protocol.ErrMinMaxLex)
		return
	}

	// >> Operation
	z, ok := zsetLookupWrite(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	var removed []string
	if i := r.start(z, false); i >= 0 {
		z.Ascend(i, func(it storage.ZItem) bool {
			if !r.lteMax(it.Member) {
				return false
			}
			removed = append(removed, it.Member)
			return true
		})
	}
	zsetRemove(c, args[1], removed, z.Len())

	// >> Response
	c.W.Int(int64(len(removed)))
}

func cmdZPopMin(c *Ctx, args [][]byte) { zsetPopCommand(c, args, false) }
func cmdZPopMax(c *Ctx, args [][]byte) { zsetPopCommand(c, args, true) }

// zsetPopCommand is ZPOPMIN and ZPOPMAX: key [count].
func zsetPopCommand(c *Ctx, args [][]byte, max bool) {
	// >> Args
	if len(args) > 3 {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	count := int64(-1) // plain single pop
	if len(args) == 3 {
		n, ok := ParseInt(args[2])
		if !ok || n < 0 {
			// getPositiveLongFromObjectOrReply: the same error for a
			// negative count and for one that is not an integer.
			c.W.Error(protocol.ErrPositive)
			return
		}
		count = n
	}

	// >> Operation
	z, ok := zsetLookupWrite(c, args[1])
	if !ok {
		return
	}
	if z == nil || count == 0 {
		c.W.Array(0)
		return
	}
	nested := zsetResp3(c) && count != -1
	if count == -1 {
		count = 1
	}
	items := zsetPop(c, args[1], z, max, count)

	// >> Response
	// A count gives [member, score] pairs in RESP3; without one the reply
	// is flat in both protocols.
	zsetReplyPopped(c, items, nested)
}

// zsetReplyPopped writes popped items: flat, or nested pairs.
func zsetReplyPopped(c *Ctx, items []storage.ZItem, nested bool) {
	if nested {
		c.W.Array(len(items))
	} else {
		c.W.Array(2 * len(items))
	}
	for _, it := range items {
		if nested {
			c.W.Array(2)
		}
		c.W.BulkString(it.Member)
		c.W.Double(it.Score)
	}
}

// zsetPop removes up to count members from the low (or, max, the high)
// end of z and returns them in popping order.
func zsetPop(c *Ctx, key []byte, z *storage.ZSet, max bool, count int64) []storage.ZItem {
	n := int64(z.Len())
	if count > n {
		count = n
	}
	items := make([]storage.ZItem, 0, count)
	from := 0
	if max {
		from = int(n) - 1
	}
	zsetWalk(z, from, max, func(it storage.ZItem) bool {
		items = append(items, it)
		return int64(len(items)) < count
	})
	members := make([]string, len(items))
	for i, it := range items {
		members[i] = it.Member
	}
	zsetRemove(c, key, members, int(n))
	return items
}

// cmdZMPop is ZMPOP numkeys key [key ...] MIN|MAX [COUNT count].
func cmdZMPop(c *Ctx, args [][]byte) {
	// >> Args
	numkeys, ok := ParseInt(args[1])
	if !ok || numkeys < 1 {
		c.W.Error("ERR numkeys should be greater than 0")
		return
	}
	whereIdx := int64(2) + numkeys
	if whereIdx >= int64(len(args)) || whereIdx < 0 {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	var max bool
	switch w := args[whereIdx]; {
	case EqualFold(w, "min"):
	case EqualFold(w, "max"):
		max = true
	default:
		c.W.Error(protocol.ErrSyntax)
		return
	}
	count := int64(-1)
	for j := int(whereIdx) + 1; j < len(args); j++ {
		if count == -1 && EqualFold(args[j], "count") && j+1 < len(args) {
			j++
			n, ok := ParseInt(args[j])
			if !ok || n < 1 {
				c.W.Error("ERR count should be greater than 0")
				return
			}
			count = n
			continue
		}
		c.W.Error(protocol.ErrSyntax)
		return
	}
	if count == -1 {
		count = 1
	}

	// >> Operation
	for _, key := range args[2:whereIdx] {
		z, ok := zsetLookupWrite(c, key)
		if !ok {
			return
		}
		if z == nil {
			continue
		}
		items := zsetPop(c, key, z, max, count)

		// >> Response
		c.W.Array(2)
		c.W.Bulk(key)
		zsetReplyPopped(c, items, true)
		return
	}
	c.W.NullArray()
}
