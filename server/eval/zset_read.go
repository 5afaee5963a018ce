package eval

import (
	"math"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Sorted-set reads: ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK, ZRANDMEMBER.

func cmdZScore(c *Ctx, args [][]byte) {
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Null()
		return
	}
	if s, in := z.Score(string(args[2])); in {
		c.W.Double(s)
	} else {
		c.W.Null()
	}
}

func cmdZMScore(c *Ctx, args [][]byte) {
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	c.W.Array(len(args) - 2)
	for _, m := range args[2:] {
		if z == nil {
			c.W.Null()
			continue
		}
		if s, in := z.Score(string(m)); in {
			c.W.Double(s)
		} else {
			c.W.Null()
		}
	}
}

func cmdZCard(c *Ctx, args [][]byte) {
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(z.Len()))
}

func cmdZRank(c *Ctx, args [][]byte)    { zsetRankCommand(c, args, false) }
func cmdZRevRank(c *Ctx, args [][]byte) { zsetRankCommand(c, args, true) }

// zsetRankCommand is ZRANK and ZREVRANK: key member [WITHSCORE].
func zsetRankCommand(c *Ctx, args [][]byte, reverse bool) {
	// >> Args
	if len(args) > 4 {
		c.W.Error(protocol.ErrArity(string(args[0])))
		return
	}
	withScore := false
	if len(args) == 4 {
		if !EqualFold(args[3], "withscore") {
			c.W.Error(protocol.ErrSyntax)
			return
		}
		withScore = true
	}

	// >> Operation
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	var rank int
	var score float64
	found := false
	if z != nil {
		rank, found = z.Rank(string(args[2]))
		score, _ = z.Score(string(args[2]))
		if reverse {
			rank = z.Len() - 1 - rank
		}
	}

	// >> Response
	switch {
	case !found && withScore:
		c.W.NullArray()
	case !found:
		c.W.Null()
	case withScore:
		c.W.Array(2)
		c.W.Int(int64(rank))
		c.W.Double(score)
	default:
		c.W.Int(int64(rank))
	}
}

// cmdZRandMember is ZRANDMEMBER key [count [WITHSCORES]].
func cmdZRandMember(c *Ctx, args [][]byte) {
	// >> Args
	if len(args) == 2 {
		z, ok := zsetLookup(c, args[1])
		switch {
		case !ok:
		case z == nil:
			c.W.Null()
		default:
			c.W.BulkString(z.At(c.Rand.IntN(z.Len())).Member)
		}
		return
	}
	l, ok := zsetParseLong(c, args[2])
	if !ok {
		return
	}
	if l == math.MinInt64 {
		c.W.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	withScores := false
	if len(args) > 4 || (len(args) == 4 && !EqualFold(args[3], "withscores")) {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	if len(args) == 4 {
		withScores = true
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			c.W.Error("ERR value is out of range")
			return
		}
	}

	// >> Operation
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	if z == nil || l == 0 {
		c.W.Array(0)
		return
	}
	size := z.Len()
	nested := withScores && zsetResp3(c)
	header := func(n int) {
		if withScores && !nested {
			c.W.Array(2 * n)
		} else {
			c.W.Array(n)
		}
	}
	emit := func(it storage.ZItem) {
		if nested {
			c.W.Array(2)
		}
		c.W.BulkString(it.Member)
		if withScores {
			c.W.Double(it.Score)
		}
	}

	// >> Response
	switch {
	case l < 0 || l == 1:
		// Repetitions allowed (a negative count), or a single member.
		count := l
		if count < 0 {
			count = -count
		}
		header(int(count))
		for range count {
			emit(z.At(c.Rand.IntN(size)))
		}
	case l >= int64(size):
		// The whole set, from the highest score down as Valkey walks it.
		header(size)
		z.Descend(size-1, func(it storage.ZItem) bool {
			emit(it)
			return true
		})
	default:
		// Distinct members in random order: a partial shuffle of the ranks.
		count := int(l)
		header(count)
		picked := map[int]int{} // sparse Fisher-Yates over 0..size-1
		at := func(i int) int {
			if v, ok := picked[i]; ok {
				return v
			}
			return i
		}
		for i := range count {
			j := i + c.Rand.IntN(size-i)
			vi, vj := at(i), at(j)
			picked[i], picked[j] = vj, vi
			emit(z.At(vj))
		}
	}
}
