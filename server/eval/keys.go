package eval

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Generic key-space commands and the database commands. Expiry commands
// are in keys_expire.go, RENAME and COPY in keys_copy.go.
func init() {
	Register(map[string]Handler{
		"del":       cmdDel,
		"unlink":    cmdDel,
		"exists":    cmdExists,
		"touch":     cmdExists,
		"type":      cmdType,
		"keys":      cmdKeys,
		"scan":      cmdScan,
		"randomkey": cmdRandomKey,
		"dbsize":    cmdDBSize,
		"flushdb":   cmdFlushDB,
		"flushall":  cmdFlushAll,
		"select":    cmdSelect,
	})
}

// DEL key [key ...] and UNLINK key [key ...]
func cmdDel(c *Ctx, args [][]byte) {
	var n int64
	seen := make(map[string]struct{}, len(args)-1)
	for _, k := range args[1:] {
		if _, dup := seen[string(k)]; dup {
			continue // deleted already: counted once, as in Valkey
		}
		seen[string(k)] = struct{}{}
		if c.GetForWrite(k) != nil {
			c.Delete(k)
			n++
		}
	}
	c.W.Int(n)
}

// EXISTS key [key ...] and TOUCH key [key ...]: a key named twice counts
// twice.
func cmdExists(c *Ctx, args [][]byte) {
	var n int64
	for _, k := range args[1:] {
		if c.Get(k) != nil {
			n++
		}
	}
	c.W.Int(n)
}

// TYPE key
func cmdType(c *Ctx, args [][]byte) {
	c.W.Simple(c.Get(args[1]).Kind().String())
}

// KEYS pattern
func cmdKeys(c *Ctx, args [][]byte) {
	pattern := args[1]
	all := keysMatchAll(pattern)
	var out []string
	c.R.Range(c.DB, func(k string, _ *storage.Object) bool {
		if all || keysMatch(pattern, []byte(k)) {
			out = append(out, k)
		}
		return true
	})
	c.W.BulkStrings(out)
}

// keysParseCursor parses a SCAN cursor as Valkey's string2ull does: a
// strict integer, or else whatever strtoull accepts whole (leading
// spaces, a sign, leading zeros), negative strict integers excepted.
func keysParseCursor(b []byte) (uint64, bool) {
	if n, ok := ParseInt(b); ok {
		return uint64(n), n >= 0
	}
	s := string(b)
	i := 0
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return 0, false
	}
	u, err := strconv.ParseUint(s[i:], 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		u = -u // strtoull negates in unsigned arithmetic
	}
	return u, true
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
func cmdScan(c *Ctx, args [][]byte) {
	// >> Args
	cursor, ok := keysParseCursor(args[1])
	if !ok {
		c.W.Error("ERR invalid cursor")
		return
	}
	count := int64(10)
	var pattern []byte
	kind, byKind := storage.KindNone, false
	for i := 2; i < len(args); {
		more := len(args) - i
		switch opt := args[i]; {
		case EqualFold(opt, "count") && more >= 2:
			n, ok := ParseInt(args[i+1])
			if !ok {
				c.W.Error(protocol.ErrNotInteger)
				return
			}
			if n < 1 {
				c.W.Error(protocol.ErrSyntax)
				return
			}
			count = n
			i += 2
		case EqualFold(opt, "match") && more >= 2:
			pattern = args[i+1]
			if keysMatchAll(pattern) {
				pattern = nil
			}
			i += 2
		case EqualFold(opt, "type") && more >= 2:
			name := lowerASCII(args[i+1])
			switch name {
			case "string":
				kind = storage.KindString
			case "list":
				kind = storage.KindList
			case "set":
				kind = storage.KindSet
			case "zset":
				kind = storage.KindZSet
			case "hash":
				kind = storage.KindHash
			case "stream":
				kind = storage.KindNone // no key is ever a stream here
			default:
				c.W.Error("ERR unknown type name '" + string(args[i+1]) + "'")
				return
			}
			byKind = true
			i += 2
		case EqualFold(opt, "novalues"):
			c.W.Error("ERR NOVALUES option can only be used in HSCAN")
			return
		case EqualFold(opt, "noscores"):
			c.W.Error("ERR NOSCORES option can only be used in ZSCAN")
			return
		default:
			c.W.Error(protocol.ErrSyntax)
			return
		}
	}

	// >> Operation
	var out []string
	next := c.R.Scan(c.DB, cursor, int(min(count, math.MaxInt32)), func(k string, o *storage.Object) {
		if byKind && o.Kind() != kind {
			return
		}
		if pattern != nil && !keysMatch(pattern, []byte(k)) {
			return
		}
		out = append(out, k)
	})

	// >> Response
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(next, 10))
	c.W.BulkStrings(out)
}

// RANDOMKEY
func cmdRandomKey(c *Ctx, _ [][]byte) {
	r := c.Rand
	if r == nil {
		r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	k, ok := c.R.RandomKey(c.DB, r)
	if !ok {
		c.W.Null()
		return
	}
	c.W.BulkString(k)
}

// DBSIZE
func cmdDBSize(c *Ctx, _ [][]byte) { c.W.Int(int64(c.R.Len(c.DB))) }

// keysFlushArgs accepts FLUSHDB's and FLUSHALL's optional ASYNC or SYNC
// (both flush at once here: a flush is one effect).
func keysFlushArgs(c *Ctx, args [][]byte) bool {
	if len(args) == 1 || (len(args) == 2 && (EqualFold(args[1], "async") || EqualFold(args[1], "sync"))) {
		return true
	}
	c.W.Error(protocol.ErrSyntax)
	return false
}

// FLUSHDB [ASYNC | SYNC]
func cmdFlushDB(c *Ctx, args [][]byte) {
	if !keysFlushArgs(c, args) {
		return
	}
	c.EmitDB(c.DB, storage.Effect{Op: storage.OpFlushDB})
	c.W.OK()
}

// FLUSHALL [ASYNC | SYNC]
func cmdFlushAll(c *Ctx, args [][]byte) {
	if !keysFlushArgs(c, args) {
		return
	}
	c.EmitDB(0, storage.Effect{Op: storage.OpFlushAll})
	c.W.OK()
}

// keysParseDB parses a database index as getIntFromObjectOrReply does,
// then checks its range. It replies and returns false on error.
func keysParseDB(c *Ctx, arg []byte) (int, bool) {
	n, ok := ParseInt(arg)
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		c.W.Error(protocol.ErrNotInteger)
		return 0, false
	}
	if n < 0 || n >= storage.NumDBs {
		c.W.Error(protocol.ErrDBIndex)
		return 0, false
	}
	return int(n), true
}

// SELECT index
func cmdSelect(c *Ctx, args [][]byte) {
	db, ok := keysParseDB(c, args[1])
	if !ok {
		return
	}
	c.DB = db
	c.W.OK()
}
