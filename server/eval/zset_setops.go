package eval

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Sorted-set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms and
// ZINTERCARD, as Valkey's zunionInterDiffGenericCommand. Plain sets count
// as sorted sets whose members all score 1.

// zsetSetOp is the operation.
type zsetSetOp int

const (
	zsetUnion zsetSetOp = iota
	zsetInter
	zsetDiff
)

// zsetAggregate is AGGREGATE SUM|MIN|MAX.
type zsetAggregate int

const (
	zsetAggSum zsetAggregate = iota
	zsetAggMin
	zsetAggMax
)

// zsetSource is one input: a sorted set, a set, or nothing.
type zsetSource struct {
	z      *storage.ZSet
	s      *storage.Set
	weight float64
}

func (s *zsetSource) len() int {
	switch {
	case s.z != nil:
		return s.z.Len()
	case s.s != nil:
		return s.s.Len()
	}
	return 0
}

// score returns a member's score in the source (1 for a set member).
func (s *zsetSource) score(m string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.Score(m)
	case s.s != nil && s.s.Has(m):
		return 1, true
	}
	return 0, false
}

// each calls fn for every member of the source.
func (s *zsetSource) each(fn func(m string, score float64)) {
	switch {
	case s.z != nil:
		s.z.Ascend(0, func(it storage.ZItem) bool {
			fn(it.Member, it.Score)
			return true
		})
	case s.s != nil:
		s.s.Range(func(m string) bool {
			fn(m, 1)
			return true
		})
	}
}

// zsetAggregateInto folds val into *target, as zunionInterAggregate: a sum
// of +inf and -inf is 0, and MIN/MAX keep the target against a NaN.
func zsetAggregateInto(target *float64, val float64, agg zsetAggregate) {
	switch agg {
	case zsetAggSum:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case zsetAggMin:
		if val < *target {
			*target = val
		}
	case zsetAggMax:
		if val > *target {
			*target = val
		}
	}
}

func cmdZUnionStore(c *Ctx, args [][]byte) { zsetSetOpCommand(c, args, zsetUnion, true, false) }
func cmdZInterStore(c *Ctx, args [][]byte) { zsetSetOpCommand(c, args, zsetInter, true, false) }
func cmdZDiffStore(c *Ctx, args [][]byte)  { zsetSetOpCommand(c, args, zsetDiff, true, false) }
func cmdZUnion(c *Ctx, args [][]byte)      { zsetSetOpCommand(c, args, zsetUnion, false, false) }
func cmdZInter(c *Ctx, args [][]byte)      { zsetSetOpCommand(c, args, zsetInter, false, false) }
func cmdZDiff(c *Ctx, args [][]byte)       { zsetSetOpCommand(c, args, zsetDiff, false, false) }
func cmdZInterCard(c *Ctx, args [][]byte)  { zsetSetOpCommand(c, args, zsetInter, false, true) }

// zsetSetOpCommand parses and runs one of the algebra commands. With
// store, args[1] is the destination and numkeys is args[2]; otherwise
// numkeys is args[1]. cardOnly makes it ZINTERCARD.
func zsetSetOpCommand(c *Ctx, args [][]byte, op zsetSetOp, store, cardOnly bool) {
	// >> Args
	numIdx := 1
	if store {
		numIdx = 2
	}
	setnum, ok := zsetParseLong(c, args[numIdx])
	if !ok {
		return
	}
	if setnum < 1 {
		c.W.Error(fmt.Sprintf("ERR at least 1 input key is needed for '%s' command", strings.ToLower(string(args[0]))))
		return
	}
	if setnum > int64(len(args)-(numIdx+1)) {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	// Valkey reads (and type-checks) the inputs before it parses the
	// options.
	srcs := make([]zsetSource, setnum)
	j := numIdx + 1
	for i := range srcs {
		srcs[i].weight = 1
		o := c.Get(args[j])
		j++
		switch {
		case o == nil:
		case o.Kind() == storage.KindZSet:
			srcs[i].z = o.ZSet()
		case o.Kind() == storage.KindSet:
			srcs[i].s = o.Set()
		default:
			c.W.Error(protocol.ErrWrongType)
			return
		}
	}
	agg := zsetAggSum
	withScores := false
	limit := int64(0)
	for j < len(args) {
		remaining := len(args) - j
		a := args[j]
		switch {
		case op != zsetDiff && !cardOnly && remaining >= len(srcs)+1 && EqualFold(a, "weights"):
			j++
			for i := range srcs {
				w, ok := ParseFloat(args[j])
				if !ok {
					c.W.Error("ERR weight value is not a float")
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != zsetDiff && !cardOnly && remaining >= 2 && EqualFold(a, "aggregate"):
			switch v := args[j+1]; {
			case EqualFold(v, "sum"):
				agg = zsetAggSum
			case EqualFold(v, "min"):
				agg = zsetAggMin
			case EqualFold(v, "max"):
				agg = zsetAggMax
			default:
				c.W.Error(protocol.ErrSyntax)
				return
			}
			j += 2
		case !store && !cardOnly && EqualFold(a, "withscores"):
			withScores = true
			j++
		case cardOnly && remaining >= 2 && EqualFold(a, "limit"):
			n, ok := ParseInt(args[j+1])
			if !ok || n < 0 {
				c.W.Error("ERR LIMIT can't be negative")
				return
			}
			limit = n
			j += 2
		default:
			c.W.Error(protocol.ErrSyntax)
			return
		}
	}

	// >> Operation
	if op != zsetDiff {
		// Smallest first, as Valkey orders the inputs.
		slices.SortStableFunc(srcs, func(a, b zsetSource) int { return a.len() - b.len() })
	}
	if cardOnly {
		c.W.Int(zsetInterCard(srcs, limit))
		return
	}
	var items []storage.ZItem
	switch op {
	case zsetUnion:
		items = zsetUnionItems(srcs, agg)
	case zsetInter:
		items = zsetInterItems(srcs, agg)
	case zsetDiff:
		items = zsetDiffItems(srcs)
	}
	zsetSortItems(items)

	// >> Response
	if store {
		zsetStore(c, args[1], items)
		return
	}
	zsetReplyItems(c, items, withScores)
}

func zsetUnionItems(srcs []zsetSource, agg zsetAggregate) []storage.ZItem {
	idx := map[string]int{}
	var items []storage.ZItem
	for i := range srcs {
		src := &srcs[i]
		src.each(func(m string, s float64) {
			score := src.weight * s
			if math.IsNaN(score) {
				score = 0
			}
			if k, ok := idx[m]; ok {
				zsetAggregateInto(&items[k].Score, score, agg)
				return
			}
			idx[m] = len(items)
			items = append(items, storage.ZItem{Member: m, Score: score})
		})
	}
	return items
}

// zsetInterEach calls fn for every member of the intersection with its
// aggregated score.
func zsetInterEach(srcs []zsetSource, agg zsetAggregate, fn func(m string, score float64) bool) {
	if srcs[0].len() == 0 {
		return
	}
	stop := false
	srcs[0].each(func(m string, s float64) {
		if stop {
			return
		}
		score := srcs[0].weight * s
		if math.IsNaN(score) {
			score = 0
		}
		for j := 1; j < len(srcs); j++ {
			v, ok := srcs[j].score(m)
			if !ok {
				return
			}
			zsetAggregateInto(&score, v*srcs[j].weight, agg)
		}
		stop = !fn(m, score)
	})
}

func zsetInterItems(srcs []zsetSource, agg zsetAggregate) []storage.ZItem {
	var items []storage.ZItem
	zsetInterEach(srcs, agg, func(m string, score float64) bool {
		items = append(items, storage.ZItem{Member: m, Score: score})
		return true
	})
	return items
}

// zsetInterCard counts the intersection, stopping at limit (0: no limit).
func zsetInterCard(srcs []zsetSource, limit int64) int64 {
	var n int64
	zsetInterEach(srcs, zsetAggSum, func(string, float64) bool {
		n++
		return limit == 0 || n < limit
	})
	return n
}

// zsetDiffItems returns the members of the first input that are in none
// of the others, with their scores in the first.
func zsetDiffItems(srcs []zsetSource) []storage.ZItem {
	var items []storage.ZItem
	srcs[0].each(func(m string, s float64) {
		for j := 1; j < len(srcs); j++ {
			if _, ok := srcs[j].score(m); ok {
				return
			}
		}
		items = append(items, storage.ZItem{Member: m, Score: s})
	})
	return items
}
