package eval

import (
	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Sorted-set ranges: ZRANGE and ZRANGESTORE, the older ZREVRANGE,
// Z[REV]RANGEBYSCORE and Z[REV]RANGEBYLEX, ZCOUNT and ZLEXCOUNT.

// zsetRangeType is how a range's bounds are read.
type zsetRangeType int

const (
	zsetRangeAuto zsetRangeType = iota // ZRANGE: decided by BYSCORE/BYLEX
	zsetRangeRank
	zsetRangeScore
	zsetRangeLex
)

// zsetRangeDir is a range's direction.
type zsetRangeDir int

const (
	zsetDirAuto zsetRangeDir = iota // ZRANGE: decided by REV
	zsetDirForward
	zsetDirReverse
)

func cmdZRange(c *Ctx, args [][]byte) {
	zsetRangeCommand(c, args, 1, false, zsetRangeAuto, zsetDirAuto)
}

func cmdZRangeStore(c *Ctx, args [][]byte) {
	zsetRangeCommand(c, args, 2, true, zsetRangeAuto, zsetDirAuto)
}

func cmdZRevRange(c *Ctx, args [][]byte) {
	zsetRangeCommand(c, args, 1, false, zsetRangeRank, zsetDirReverse)
}

func cmdZRangeByScore(c *Ctx, args [][]byte) {
	zsetRangeCommand(c, args, 1, false, zsetRangeScore, zsetDirForward)
}

func cmdZRevRangeByScore(c *Ctx, args [][]byte) {
	zsetRangeCommand(c, args, 1, false, zsetRangeScore, zsetDirReverse)
}

func cmdZRangeByLex(c *Ctx, args [][]byte) {
	zsetRangeCommand(c, args, 1, false, zsetRangeLex, zsetDirForward)
}

func cmdZRevRangeByLex(c *Ctx, args [][]byte) {
	zsetRangeCommand(c, args, 1, false, zsetRangeLex, zsetDirReverse)
}

// zsetRangeCommand is Valkey's zrangeGenericCommand. args[src] is the
// source key, followed by the two bounds and the options; store makes it
// ZRANGESTORE, whose destination is args[1].
func zsetRangeCommand(c *Ctx, args [][]byte, src int, store bool, typ zsetRangeType, dir zsetRangeDir) {
	// >> Args
	minIdx, maxIdx := src+1, src+2
	withScores := false
	offset, limit := int64(0), int64(-1)
	for j := src + 3; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case !store && EqualFold(a, "withscores"):
			withScores = true
		case EqualFold(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = zsetParseLong(c, args[j+1]); !ok {
				return
			}
			if limit, ok = zsetParseLong(c, args[j+2]); !ok {
				return
			}
			j += 2
		case dir == zsetDirAuto && EqualFold(a, "rev"):
			dir = zsetDirReverse
		case typ == zsetRangeAuto && EqualFold(a, "bylex"):
			typ = zsetRangeLex
		case typ == zsetRangeAuto && EqualFold(a, "byscore"):
			typ = zsetRangeScore
		default:
			c.W.Error(protocol.ErrSyntax)
			return
		}
	}
	if dir == zsetDirAuto {
		dir = zsetDirForward
	}
	if typ == zsetRangeAuto {
		typ = zsetRangeRank
	}
	if limit != -1 && typ == zsetRangeRank {
		c.W.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && typ == zsetRangeLex {
		c.W.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	reverse := dir == zsetDirReverse
	if reverse && typ != zsetRangeRank {
		minIdx, maxIdx = maxIdx, minIdx // given as max, min
	}
	var (
		start, end int64
		scores     zsetScoreRange
		lex        zsetLexRange
		ok         bool
	)
	switch typ {
	case zsetRangeRank:
		if start, ok = zsetParseLong(c, args[minIdx]); !ok {
			return
		}
		if end, ok = zsetParseLong(c, args[maxIdx]); !ok {
			return
		}
	case zsetRangeScore:
		if scores, ok = zsetParseScoreRange(args[minIdx], args[maxIdx]); !ok {
			c.W.Error(protocol.ErrMinMaxFloat)
			return
		}
	case zsetRangeLex:
		if lex, ok = zsetParseLexRange(args[minIdx], args[maxIdx]); !ok {
			c.W.Error(protocol.ErrMinMaxLex)
			return
		}
	}

	// >> Operation
	z, ok := zsetLookup(c, args[src])
	if !ok {
		return
	}
	var items []storage.ZItem
	if z != nil {
		switch typ {
		case zsetRangeRank:
			items = zsetRangeByRank(z, start, end, reverse)
		case zsetRangeScore:
			items = zsetRangeByScore(z, scores, offset, limit, reverse)
		case zsetRangeLex:
			items = zsetRangeByLex(z, lex, offset, limit, reverse)
		}
	}

	// >> Response
	if store {
		zsetStore(c, args[1], items)
		return
	}
	zsetReplyItems(c, items, withScores)
}

// zsetRangeByRank returns the members of ranks start..end (inclusive,
// negative from the end), counted from the top when reverse.
func zsetRangeByRank(z *storage.ZSet, start, end int64, reverse bool) []storage.ZItem {
	lo, hi, ok := zsetRankRange(start, end, z.Len())
	if !ok {
		return nil
	}
	items := make([]storage.ZItem, 0, hi-lo+1)
	from := lo
	if reverse {
		from = z.Len() - 1 - lo
	}
	zsetWalk(z, from, reverse, func(it storage.ZItem) bool {
		items = append(items, it)
		return len(items) < hi-lo+1
	})
	return items
}

// zsetRangeByScore returns the members within r, skipping offset of them
// and returning at most limit (all if limit is negative). A negative
// offset selects nothing, as Valkey's listpack walk does.
func zsetRangeByScore(z *storage.ZSet, r zsetScoreRange, offset, limit int64, reverse bool) []storage.ZItem {
	if offset < 0 || (offset > 0 && offset >= int64(z.Len())) || limit == 0 {
		return nil
	}
	first, last := r.bounds(z)
	if int64(last-first) <= offset {
		return nil
	}
	n := int64(last-first) - offset
	if limit > 0 && limit < n {
		n = limit
	}
	from := first + int(offset)
	if reverse {
		from = last - 1 - int(offset)
	}
	items := make([]storage.ZItem, 0, n)
	zsetWalk(z, from, reverse, func(it storage.ZItem) bool {
		items = append(items, it)
		return int64(len(items)) < n
	})
	return items
}

// zsetRangeByLex is zsetRangeByScore for a lexicographic range.
func zsetRangeByLex(z *storage.ZSet, r zsetLexRange, offset, limit int64, reverse bool) []storage.ZItem {
	if offset < 0 || limit == 0 {
		return nil
	}
	i := r.start(z, reverse)
	if i < 0 {
		return nil
	}
	var items []storage.ZItem
	zsetWalk(z, i, reverse, func(it storage.ZItem) bool {
		if offset > 0 {
			offset--
			return true
		}
		if (reverse && !r.gteMin(it.Member)) || (!reverse && !r.lteMax(it.Member)) {
			return false
		}
		items = append(items, it)
		return limit < 0 || int64(len(items)) < limit
	})
	return items
}

func cmdZCount(c *Ctx, args [][]byte) {
	// >> Args
	r, ok := zsetParseScoreRange(args[2], args[3])
	if !ok {
		c.W.Error(protocol.ErrMinMaxFloat)
		return
	}

	// >> Operation
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	n := 0
	if z != nil {
		first, last := r.bounds(z)
		n = last - first
	}

	// >> Response
	c.W.Int(int64(n))
}

func cmdZLexCount(c *Ctx, args [][]byte) {
	// >> Args
	r, ok := zsetParseLexRange(args[2], args[3])
	if !ok {
		c.W.Error(protocol.ErrMinMaxLex)
		return
	}

	// >> Operation
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	n := 0
	if z != nil {
		if i := r.start(z, false); i >= 0 {
			z.Ascend(i, func(it storage.ZItem) bool {
				if !r.lteMax(it.Member) {
					return false
				}
				n++
				return true
			})
		}
	}

	// >> Response
	c.W.Int(int64(n))
}
