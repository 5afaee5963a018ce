package eval

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/meridian-kv/meridian/protocol"
)

// Collection scans (HSCAN, SSCAN).
//
// Valkey returns a small collection (a listpack or an intset) whole, with
// cursor 0, and walks a large one (a hash table) bucket by bucket. Meridian
// does the same for collections of at most hashScanSmall elements. A larger
// one is walked in the order of a 64-bit hash of each element's name: the
// cursor is the hash of the next element to return. Elements present for
// the whole scan are returned at least once, whatever is added or removed
// in between, and cursor 0 comes back only at the end.

// hashScanSmall is hash-max-listpack-entries and set-max-listpack-entries:
// collections up to this size are scanned in one call.
const hashScanSmall = 128

// hashScanIntset is set-max-intset-entries: a set of integers up to this
// size is an intset in Valkey, scanned in one call too.
const hashScanIntset = 512

// hashScanOptions are the options of HSCAN and SSCAN.
type hashScanOptions struct {
	// count is the number of elements to examine (COUNT, default 10).
	count int
	// pattern filters element names (MATCH); nil matches everything.
	pattern []byte
	// novalues asks HSCAN for field names only.
	novalues bool
}

// hashParseCursor parses a SCAN cursor as Valkey's string2ull does: a
// string2ll integer that is not negative, or else what strtoull accepts
// (leading spaces, a sign, digits to the end, no overflow).
func hashParseCursor(b []byte) (uint64, bool) {
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
		n = -n // strtoull negates in unsigned arithmetic
	}
	return n, true
}

// hashParseScanOptions parses the options from args[3] on. It replies with
// the error and returns false on a bad option; isHash allows NOVALUES.
func hashParseScanOptions(c *Ctx, args [][]byte, isHash bool) (hashScanOptions, bool) {
	opt := hashScanOptions{count: 10}
	for i := 3; i < len(args); {
		more := len(args) - i
		switch a := args[i]; {
		case EqualFold(a, "count") && more >= 2:
			n, ok := ParseInt(args[i+1])
			if !ok {
				c.W.Error(protocol.ErrNotInteger)
				return opt, false
			}
			if n < 1 {
				c.W.Error(protocol.ErrSyntax)
				return opt, false
			}
			opt.count = int(min(n, 1<<31))
			i += 2
		case EqualFold(a, "match") && more >= 2:
			opt.pattern = args[i+1]
			if len(opt.pattern) == 1 && opt.pattern[0] == '*' {
				opt.pattern = nil // "*" matches everything
			}
			i += 2
		case EqualFold(a, "novalues"):
			if !isHash {
				c.W.Error("ERR NOVALUES option can only be used in HSCAN")
				return opt, false
			}
			opt.novalues = true
			i++
		case EqualFold(a, "noscores"):
			c.W.Error("ERR NOSCORES option can only be used in ZSCAN")
			return opt, false
		default:
			c.W.Error(protocol.ErrSyntax)
			return opt, false
		}
	}
	return opt, true
}

// hashScanHash orders elements of a large collection for scanning. It is
// never 0, so that cursor 0 means both "start" and "done".
func hashScanHash(name string) uint64 { return xxhash.Sum64String(name) | 1 }

// hashScanPage returns the elements of names a scan from cursor examines
// next, at least count of them (more only to finish the elements sharing
// one hash), and the cursor to continue from, 0 at the end.
func hashScanPage(names []string, cursor uint64, count int) (page []string, next uint64) {
	type entry struct {
		hash uint64
		name string
	}
	var rest []entry
	for _, n := range names {
		if h := hashScanHash(n); h >= cursor {
			rest = append(rest, entry{h, n})
		}
	}
	slices.SortFunc(rest, func(a, b entry) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	i := 0
	for i < len(rest) && (i < count || rest[i].hash == rest[i-1].hash) {
		page = append(page, rest[i].name)
		i++
	}
	if i < len(rest) {
		next = rest[i].hash
	}
	return page, next
}

// hashWriteScan writes a scan reply: the cursor, then the elements.
func hashWriteScan(c *Ctx, cursor uint64, elems [][]byte) {
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(cursor, 10))
	c.W.Array(len(elems))
	for _, e := range elems {
		c.W.Bulk(e)
	}
}

// hashGlobMatch reports whether s matches the glob pattern, exactly as
// Valkey's stringmatchlen (case-sensitive): '*', '?', '[...]' with '^'
// and ranges, and '\' escapes.
func hashGlobMatch(pattern, s []byte) bool { return protocol.GlobMatch(pattern, s, false) }
