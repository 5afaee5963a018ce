package eval

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

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
	cursor, ok := zsetParseCursor(args[2])
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

// zsetParseCursor parses a scan cursor as Valkey's string2ull: a string2ll
// integer that is not negative, or what strtoull accepts (leading spaces,
// a sign, digits to the end, no overflow; a '-' negates modulo 2^64).
func zsetParseCursor(b []byte) (uint64, bool) {
	if n, ok := ParseInt(b); ok {
		return uint64(n), n >= 0
	}
	i := 0
	for i < len(b) && isSpaceByte(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	if i == len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:]), 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// zsetScanHash orders the members of a large sorted set for ZSCAN. It is
// never 0, so that cursor 0 means both "start" and "done".
func zsetScanHash(m string) uint64 { return xxhash.Sum64String(m) | 1 }

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
		if h := zsetScanHash(it.Member); h >= cursor {
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

// zsetGlobMatch reports whether s matches the glob pattern as Valkey's
// stringmatchlen (case-sensitive): '*', '?', '[...]' with '^' and ranges,
// and '\' escapes.
func zsetGlobMatch(pattern, s []byte) bool {
	skip := false
	return zsetGlob(pattern, s, &skip, 0)
}

// zsetGlob is stringmatchlen_impl. Positions past the end of the pattern
// read as NUL, as the C code reads the string's terminator.
func zsetGlob(p, s []byte, skipLonger *bool, nesting int) bool {
	if nesting > 1000 {
		return false // protection against abusive patterns
	}
	at := func(i int) byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	i, j := 0, 0
	for i < len(p) && j < len(s) {
		switch p[i] {
		case '*':
			for at(i+1) == '*' {
				i++
			}
			if len(p)-i == 1 {
				return true
			}
			for j < len(s) {
				if zsetGlob(p[i+1:], s[j:], skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				j++
			}
			*skipLonger = true
			return false
		case '?':
			j++
		case '[':
			i++
			not := at(i) == '^'
			if not {
				i++
			}
			match := false
		class:
			for {
				switch {
				case at(i) == '\\' && len(p)-i >= 2:
					i++
					if p[i] == s[j] {
						match = true
					}
				case at(i) == ']':
					break class
				case len(p)-i == 0:
					i--
					break class
				case len(p)-i >= 3 && p[i+1] == '-':
					lo, hi, ch := int(int8(p[i])), int(int8(p[i+2])), int(int8(s[j]))
					if lo > hi {
						lo, hi = hi, lo
					}
					i += 2
					if ch >= lo && ch <= hi {
						match = true
					}
				default:
					if p[i] == s[j] {
						match = true
					}
				}
				i++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			j++
		case '\\':
			if len(p)-i >= 2 {
				i++
			}
			fallthrough
		default:
			if p[i] != s[j] {
				return false
			}
			j++
		}
		i++
		if j == len(s) {
			for at(i) == '*' {
				i++
			}
			break
		}
	}
	return i == len(p) && j == len(s)
}
