package eval

import (
	"slices"
	"strconv"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// ZSCAN.

// zsetScanOptions are ZSCAN's options.
type zsetScanOptions struct {
	count    int
	pattern  []byte // nil matches everything
	noScores bool
}

// cmdZScan is ZSCAN key cursor [MATCH pattern] [COUNT count] [NOSCORES].
//
// A sorted set of at most zsetListpackMax members (a listpack in Valkey)
// is returned whole, in score order, with cursor 0. A larger one is walked
// in the order of a 64-bit hash of each member: the cursor is the hash of
// the next member to return, so members present for the whole scan are
// returned at least once whatever changes in between. Scores are bulk
// strings in both protocols, as Valkey sends them.
func cmdZScan(c *Ctx, args [][]byte) {
	// >> Args
	cursor, ok := hashParseCursor(args[2])
	if !ok {
		c.W.Error("ERR invalid cursor")
		return
	}
	z, ok := zsetLookup(c, args[1])
	if !ok {
		return
	}
	if z == nil {
		zsetWriteScan(c, 0, nil)
		return
	}
	opt := zsetScanOptions{count: 10}
	for i := 3; i < len(args); {
		more := len(args) - i
		switch a := args[i]; {
		case EqualFold(a, "count") && more >= 2:
			n, ok := zsetParseLong(c, args[i+1])
			if !ok {
				return
			}
			if n < 1 {
				c.W.Error(protocol.ErrSyntax)
				return
			}
			opt.count = int(min(n, 1<<31))
			i += 2
		case EqualFold(a, "match") && more >= 2:
			opt.pattern = args[i+1]
			if len(opt.pattern) == 1 && opt.pattern[0] == '*' {
				opt.pattern = nil
			}
			i += 2
		case EqualFold(a, "noscores"):
			opt.noScores = true
			i++
		case EqualFold(a, "novalues"):
			c.W.Error("ERR NOVALUES option can only be used in HSCAN")
			return
		default:
			c.W.Error(protocol.ErrSyntax)
			return
		}
	}

	// >> Operation
	var page []storage.ZItem
	next := uint64(0)
	if z.Len() <= zsetListpackMax {
		z.Ascend(0, func(it storage.ZItem) bool {
			page = append(page, it)
			return true
		})
	} else {
		page, next = zsetScanPage(z, cursor, opt.count)
	}
	var out []string
	for _, it := range page {
		if opt.pattern != nil && !zsetGlobMatch(opt.pattern, []byte(it.Member)) {
			continue
		}
		out = append(out, it.Member)
		if !opt.noScores {
			out = append(out, string(protocol.AppendFloat(nil, it.Score)))
		}
	}

	// >> Response
	zsetWriteScan(c, next, out)
}

func zsetWriteScan(c *Ctx, cursor uint64, elems []string) {
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(cursor, 10))
	c.W.Array(len(elems))
	for _, e := range elems {
		c.W.BulkString(e)
	}
}

// zsetScanPage returns the members a scan from cursor examines next: at
// least count of them (more only to finish members sharing one hash), and
// the cursor to continue from, 0 at the end.
func zsetScanPage(z *storage.ZSet, cursor uint64, count int) ([]storage.ZItem, uint64) {
	type entry struct {
		hash uint64
		it   storage.ZItem
	}
	var rest []entry
	z.Ascend(0, func(it storage.ZItem) bool {
		if h := hashScanHash(it.Member); h >= cursor {
			rest = append(rest, entry{h, it})
		}
		return true
	})
	slices.SortFunc(rest, func(a, b entry) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return strings.Compare(a.it.Member, b.it.Member)
	})
	var page []storage.ZItem
	i := 0
	for i < len(rest) && (i < count || rest[i].hash == rest[i-1].hash) {
		page = append(page, rest[i].it)
		i++
	}
	next := uint64(0)
	if i < len(rest) {
		next = rest[i].hash
	}
	return page, next
}

func zsetGlobMatch(pattern, s []byte) bool { return protocol.GlobMatch(pattern, s, false) }
