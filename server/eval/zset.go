package eval

import (
	"bytes"
	"slices"
	"sort"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Sorted-set commands, as Valkey's src/t_zset.c.
//
// The handlers live in files by concept: zset_write.go (ZADD, ZINCRBY,
// ZREM, ZREMRANGEBY*, ZPOPMIN/ZPOPMAX, ZMPOP), zset_range.go (ZRANGE and
// its variants, ZRANGESTORE, ZCOUNT, ZLEXCOUNT), zset_setops.go (ZUNION,
// ZINTER, ZDIFF, their STORE forms, ZINTERCARD), zset_read.go (ZSCORE,
// ZMSCORE, ZCARD, ZRANK, ZREVRANK, ZRANDMEMBER) and zset_scan.go
// (ZSCAN). This file holds what they share: lookups, range specs and
// reply shapes.
//
// Effects: ZADD writes a member with OpZAdd (the final score); ZINCRBY and
// ZADD INCR add OpZIncr deltas, so that concurrent increments from
// regions add up; removals are OpZRem, followed by a key-level delete when
// the set empties; the STORE forms delete the destination, then add every
// member of the result.

func init() {
	Register(map[string]Handler{
		"zadd":             cmdZAdd,
		"zincrby":          cmdZIncrBy,
		"zrem":             cmdZRem,
		"zremrangebyrank":  cmdZRemRangeByRank,
		"zremrangebyscore": cmdZRemRangeByScore,
		"zremrangebylex":   cmdZRemRangeByLex,
		"zpopmin":          cmdZPopMin,
		"zpopmax":          cmdZPopMax,
		"zmpop":            cmdZMPop,
		"zrange":           cmdZRange,
		"zrangestore":      cmdZRangeStore,
		"zrevrange":        cmdZRevRange,
		"zrangebyscore":    cmdZRangeByScore,
		"zrevrangebyscore": cmdZRevRangeByScore,
		"zrangebylex":      cmdZRangeByLex,
		"zrevrangebylex":   cmdZRevRangeByLex,
		"zcount":           cmdZCount,
		"zlexcount":        cmdZLexCount,
		"zunionstore":      cmdZUnionStore,
		"zinterstore":      cmdZInterStore,
		"zdiffstore":       cmdZDiffStore,
		"zunion":           cmdZUnion,
		"zinter":           cmdZInter,
		"zdiff":            cmdZDiff,
		"zintercard":       cmdZInterCard,
		"zscore":           cmdZScore,
		"zmscore":          cmdZMScore,
		"zcard":            cmdZCard,
		"zrank":            cmdZRank,
		"zrevrank":         cmdZRevRank,
		"zrandmember":      cmdZRandMember,
		"zscan":            cmdZScan,
	})
}

// zsetListpackMax is zset-max-listpack-entries: Valkey keeps sorted sets
// of at most this many members in a listpack, which ZSCAN returns whole
// and lexicographic ranges walk linearly.
const zsetListpackMax = 128

// zsetLookup finds a sorted set for reading: (nil, true) if the key does
// not exist, (nil, false) after a WRONGTYPE reply.
func zsetLookup(c *Ctx, key []byte) (*storage.ZSet, bool) {
	o, ok := c.Lookup(key, storage.KindZSet)
	if !ok || o == nil {
		return nil, ok
	}
	return o.ZSet(), true
}

// zsetLookupWrite is zsetLookup for a command about to change the key.
func zsetLookupWrite(c *Ctx, key []byte) (*storage.ZSet, bool) {
	o, ok := c.LookupWrite(key, storage.KindZSet)
	if !ok || o == nil {
		return nil, ok
	}
	return o.ZSet(), true
}

// zsetResp3 reports whether the client speaks RESP3, where WITHSCORES
// replies are arrays of [member, score] pairs rather than flat arrays.
func zsetResp3(c *Ctx) bool { return c.W.Proto >= 3 }

// zsetReplyItems writes members, with their scores if withScores: flat in
// RESP2, as [member, score] pairs in RESP3.
func zsetReplyItems(c *Ctx, items []storage.ZItem, withScores bool) {
	nested := withScores && zsetResp3(c)
	if withScores && !nested {
		c.W.Array(2 * len(items))
	} else {
		c.W.Array(len(items))
	}
	for _, it := range items {
		if nested {
			c.W.Array(2)
		}
		c.W.BulkString(it.Member)
		if withScores {
			c.W.Double(it.Score)
		}
	}
}

// zsetRemove emits the removal of members from key, and the key-level
// delete when they are all of its size members.
func zsetRemove(c *Ctx, key []byte, members []string, size int) {
	k := string(key)
	for _, m := range members {
		c.Emit(storage.Effect{Op: storage.OpZRem, Key: k, Field: m})
	}
	if len(members) > 0 && len(members) == size {
		c.Emptied(key)
	}
}

// zsetStore replaces dst with items, as the STORE commands do: delete the
// destination (whatever its type and TTL), then add every member. An empty
// result only deletes the destination, if there is one. It replies with
// the number of members stored.
func zsetStore(c *Ctx, dst []byte, items []storage.ZItem) {
	o, _ := c.R.GetExpired(c.DB, string(dst))
	if o != nil || len(items) > 0 {
		c.Delete(dst)
	}
	k := string(dst)
	for _, it := range items {
		c.Emit(storage.Effect{Op: storage.OpZAdd, Key: k, Field: it.Member, Float: it.Score})
	}
	c.W.Int(int64(len(items)))
}

// zsetSortItems orders items as a sorted set does: by score, then member.
func zsetSortItems(items []storage.ZItem) {
	slices.SortFunc(items, func(a, b storage.ZItem) int {
		switch {
		case a.Score < b.Score:
			return -1
		case a.Score > b.Score:
			return 1
		}
		return strings.Compare(a.Member, b.Member)
	})
}

// zsetSearch returns the smallest rank whose member satisfies pred, which
// must be false then true along the ranks (Len if none does).
func zsetSearch(z *storage.ZSet, pred func(storage.ZItem) bool) int {
	return sort.Search(z.Len(), func(i int) bool { return pred(z.At(i)) })
}

// zsetScoreRange is a score interval, Valkey's zrangespec.
type zsetScoreRange struct {
	min, max     float64
	minEx, maxEx bool
}

// zsetParseScoreBound parses one bound of a score range: a float, or '('
// and a float for an exclusive bound. As with Valkey's strtod, an empty
// number reads as 0.
func zsetParseScoreBound(b []byte) (v float64, ex, ok bool) {
	if len(b) > 0 && b[0] == '(' {
		ex = true
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, ex, true
	}
	v, ok = ParseFloat(b)
	return v, ex, ok
}

// zsetParseScoreRange parses min and max; false means Valkey's "min or max
// is not a float".
func zsetParseScoreRange(minArg, maxArg []byte) (zsetScoreRange, bool) {
	var r zsetScoreRange
	var ok1, ok2 bool
	r.min, r.minEx, ok1 = zsetParseScoreBound(minArg)
	r.max, r.maxEx, ok2 = zsetParseScoreBound(maxArg)
	return r, ok1 && ok2
}

func (r zsetScoreRange) gteMin(v float64) bool {
	if r.minEx {
		return v > r.min
	}
	return v >= r.min
}

func (r zsetScoreRange) lteMax(v float64) bool {
	if r.maxEx {
		return v < r.max
	}
	return v <= r.max
}

// bounds returns the ranks [first, last) of the members within r.
func (r zsetScoreRange) bounds(z *storage.ZSet) (first, last int) {
	if r.min > r.max || (r.min == r.max && (r.minEx || r.maxEx)) {
		return 0, 0
	}
	first = zsetSearch(z, func(it storage.ZItem) bool { return r.gteMin(it.Score) })
	last = zsetSearch(z, func(it storage.ZItem) bool { return !r.lteMax(it.Score) })
	return first, max(first, last)
}

// zsetLexBound is one bound of a lexicographic range: "-" (inf < 0), "+"
// (inf > 0), or a member, inclusive ('[') or exclusive ('(').
type zsetLexBound struct {
	inf int
	val []byte
	ex  bool
}

// zsetLexRange is Valkey's zlexrangespec.
type zsetLexRange struct{ min, max zsetLexBound }

func zsetParseLexBound(b []byte) (zsetLexBound, bool) {
	if len(b) == 0 {
		return zsetLexBound{}, false
	}
	switch b[0] {
	case '+':
		return zsetLexBound{inf: 1, ex: true}, len(b) == 1
	case '-':
		return zsetLexBound{inf: -1, ex: true}, len(b) == 1
	case '(':
		return zsetLexBound{val: b[1:], ex: true}, true
	case '[':
		return zsetLexBound{val: b[1:]}, true
	}
	return zsetLexBound{}, false
}

// zsetParseLexRange parses min and max; false means Valkey's "min or max
// not valid string range item".
func zsetParseLexRange(minArg, maxArg []byte) (zsetLexRange, bool) {
	lo, ok1 := zsetParseLexBound(minArg)
	hi, ok2 := zsetParseLexBound(maxArg)
	return zsetLexRange{lo, hi}, ok1 && ok2
}

// zsetLexCmpBounds compares two bounds as Valkey's sdscmplex.
func zsetLexCmpBounds(a, b zsetLexBound) int {
	switch {
	case a.inf != 0 && a.inf == b.inf:
		return 0
	case a.inf < 0 || b.inf > 0:
		return -1
	case a.inf > 0 || b.inf < 0:
		return 1
	}
	return bytes.Compare(a.val, b.val)
}

// zsetLexCmp compares a member with a bound.
func zsetLexCmp(m string, b zsetLexBound) int {
	if b.inf != 0 {
		return -b.inf
	}
	return strings.Compare(m, string(b.val))
}

func (r zsetLexRange) gteMin(m string) bool {
	if r.min.ex {
		return zsetLexCmp(m, r.min) > 0
	}
	return zsetLexCmp(m, r.min) >= 0
}

func (r zsetLexRange) lteMax(m string) bool {
	if r.max.ex {
		return zsetLexCmp(m, r.max) < 0
	}
	return zsetLexCmp(m, r.max) <= 0
}

func (r zsetLexRange) empty() bool {
	c := zsetLexCmpBounds(r.min, r.max)
	return c > 0 || (c == 0 && (r.min.ex || r.max.ex))
}

// start returns the rank a walk over r begins at: the first member from
// the head that is not below min (forward), or the first from the tail
// that is not above max (reverse); -1 if there is none or it is outside
// the other bound. A small set is walked member by member, as Valkey walks
// a listpack; a large one is searched, as Valkey descends its skiplist.
// The two agree whenever all members share a score, the case lexicographic
// ranges are meant for.
func (r zsetLexRange) start(z *storage.ZSet, reverse bool) int {
	n := z.Len()
	if n == 0 || r.empty() {
		return -1
	}
	i := -1
	switch {
	case n <= zsetListpackMax && !reverse:
		for j := range n {
			if r.gteMin(z.At(j).Member) {
				i = j
				break
			}
		}
	case n <= zsetListpackMax:
		for j := n - 1; j >= 0; j-- {
			if r.lteMax(z.At(j).Member) {
				i = j
				break
			}
		}
	case !reverse:
		i = zsetSearch(z, func(it storage.ZItem) bool { return r.gteMin(it.Member) })
	default:
		i = zsetSearch(z, func(it storage.ZItem) bool { return !r.lteMax(it.Member) }) - 1
	}
	if i < 0 || i >= n {
		return -1
	}
	if m := z.At(i).Member; (reverse && !r.gteMin(m)) || (!reverse && !r.lteMax(m)) {
		return -1
	}
	return i
}

// zsetWalk calls fn for the members from rank i on, upwards or (reverse)
// downwards, until fn returns false.
func zsetWalk(z *storage.ZSet, i int, reverse bool, fn func(storage.ZItem) bool) {
	if reverse {
		z.Descend(i, fn)
	} else {
		z.Ascend(i, fn)
	}
}

// zsetRankRange sanitizes rank indexes as Valkey does (negative counts
// from the end) and returns the inclusive ranks, or ok false if the range
// is empty.
func zsetRankRange(start, end int64, n int) (int, int, bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= ln {
		return 0, 0, false
	}
	if end >= ln {
		end = ln - 1
	}
	return int(start), int(end), true
}

// zsetParseLong parses an integer argument, replying Valkey's "value is
// not an integer or out of range" if it is not one.
func zsetParseLong(c *Ctx, b []byte) (int64, bool) {
	n, ok := ParseInt(b)
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
	}
	return n, ok
}
