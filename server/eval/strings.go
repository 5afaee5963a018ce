package eval

import (
	"math"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

func init() {
	Register(map[string]Handler{
		"get": cmdGet,
		"set": cmdSet,
	})
}

// getString looks a string key up for reading; ok is false after a
// WRONGTYPE reply.
func getString(c *Ctx, key []byte) (val []byte, exists, ok bool) {
	o, ok := c.Lookup(key, storage.KindString)
	if !ok || o == nil {
		return nil, false, ok
	}
	return o.Str().Value(), true, true
}

func cmdGet(c *Ctx, args [][]byte) {
	val, exists, ok := getString(c, args[1])
	switch {
	case !ok:
	case !exists:
		c.W.Null()
	default:
		c.W.Bulk(val)
	}
}

// setOptions are the options of SET (and GETEX's expiry part).
type setOptions struct {
	nx, xx, get, keepTTL bool
	expireAt             int64 // absolute Unix ms; 0 = none
}

// parseExpiry converts an EX/PX/EXAT/PXAT argument to absolute Unix ms.
// It returns false for a value Valkey calls invalid.
func parseExpiry(c *Ctx, unit string, arg []byte) (int64, bool) {
	n, ok := ParseInt(arg)
	if !ok {
		return 0, false
	}
	if n <= 0 {
		return 0, false
	}
	switch unit {
	case "ex":
		if n > math.MaxInt64/1000 {
			return 0, false
		}
		n *= 1000
		fallthrough
	case "px":
		if n > math.MaxInt64-c.Now() {
			return 0, false
		}
		return c.Now() + n, true
	case "exat":
		if n > math.MaxInt64/1000 {
			return 0, false
		}
		return n * 1000, true
	}
	return n, true // pxat
}

func cmdSet(c *Ctx, args [][]byte) {
	// >> Args
	var opt setOptions
	unitSeen := false
	for i := 3; i < len(args); i++ {
		a := args[i]
		switch {
		case EqualFold(a, "nx") && !opt.xx:
			opt.nx = true
		case EqualFold(a, "xx") && !opt.nx:
			opt.xx = true
		case EqualFold(a, "get"):
			opt.get = true
		case EqualFold(a, "keepttl") && !unitSeen:
			opt.keepTTL = true
		case (EqualFold(a, "ex") || EqualFold(a, "px") || EqualFold(a, "exat") || EqualFold(a, "pxat")) && !opt.keepTTL && !unitSeen && i+1 < len(args):
			unit := lowerASCII(a)
			at, ok := parseExpiry(c, unit, args[i+1])
			if !ok {
				if _, isInt := ParseInt(args[i+1]); !isInt {
					c.W.Error(protocol.ErrNotInteger)
				} else {
					c.W.Error("ERR invalid expire time in 'set' command")
				}
				return
			}
			opt.expireAt, unitSeen = at, true
			i++
		default:
			c.W.Error(protocol.ErrSyntax)
			return
		}
	}
	key := args[1]

	// >> Operation
	o := c.GetForWrite(key)
	var old []byte
	if opt.get && o != nil {
		if o.Kind() != storage.KindString {
			c.W.Error(protocol.ErrWrongType)
			return
		}
		old = o.Str().Value()
	}
	doSet := !(opt.nx && o != nil) && !(opt.xx && o == nil)
	if doSet {
		setString(c, key, args[2], o, opt.keepTTL, opt.expireAt)
	}

	// >> Response
	switch {
	case opt.get && o == nil:
		c.W.Null()
	case opt.get:
		c.W.Bulk(old)
	case doSet:
		c.W.OK()
	default:
		c.W.Null()
	}
}

// setString emits the effects of overwriting key with a string: a
// key-level delete (SET ignores the old type and, without KEEPTTL, clears
// the TTL), the new value, and the new deadline if any.
func setString(c *Ctx, key, val []byte, old *storage.Object, keepTTL bool, expireAt int64) {
	k := string(key)
	if old != nil {
		ttl := old.TTL
		c.Emit(storage.Effect{Op: storage.OpDel, Key: k})
		if keepTTL && ttl.At != 0 && expireAt == 0 {
			expireAt = ttl.At
		}
	}
	c.Emit(storage.Effect{Op: storage.OpSet, Key: k, Value: val})
	if expireAt != 0 {
		c.Emit(storage.Effect{Op: storage.OpExpire, Key: k, Int: expireAt})
	}
}

func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return string(out)
}
