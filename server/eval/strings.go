package eval

import (
	"bytes"
	"math"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// String commands. Counters (INCR, INCRBYFLOAT, ...) are in
// strings_counter.go.
func init() {
	Register(map[string]Handler{
		"get":      cmdGet,
		"set":      cmdSet,
		"setnx":    cmdSetNX,
		"setex":    cmdSetEX,
		"psetex":   cmdPSetEX,
		"getset":   cmdGetSet,
		"getdel":   cmdGetDel,
		"getex":    cmdGetEx,
		"delifeq":  cmdDelIfEq,
		"mget":     cmdMGet,
		"mset":     cmdMSet,
		"msetnx":   cmdMSetNX,
		"append":   cmdAppend,
		"strlen":   cmdStrLen,
		"getrange": cmdGetRange,
		"substr":   cmdGetRange,
		"setrange": cmdSetRange,
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

// stringsExtArgs are the options of SET and GETEX, parsed as Valkey's
// parseExtendedStringArgumentsOrReply does.
type stringsExtArgs struct {
	nx, xx, get, keepTTL, persist bool
	// ifeq is the IFEQ comparison value when hasIfeq is set.
	ifeq    []byte
	hasIfeq bool
	// unit is "ex", "px", "exat" or "pxat" when an expiry was given (in
	// expire), "" otherwise.
	unit   string
	expire []byte
}

// stringsParseExt parses args[from:] as SET options (set true) or GETEX
// options. It replies "ERR syntax error" and returns false on a bad
// combination. As in Valkey, repeating the same option is allowed (the
// last EX wins); mixing exclusive ones is not.
func stringsParseExt(c *Ctx, args [][]byte, from int, set bool) (stringsExtArgs, bool) {
	var a stringsExtArgs
	for j := from; j < len(args); j++ {
		opt := args[j]
		hasNext := j+1 < len(args)
		expireAs := func(unit string) bool {
			if !hasNext || a.keepTTL || a.persist || (a.unit != "" && a.unit != unit) {
				return false
			}
			a.unit, a.expire = unit, args[j+1]
			j++
			return true
		}
		switch {
		case set && EqualFold(opt, "nx") && !a.xx && !a.hasIfeq:
			a.nx = true
		case set && EqualFold(opt, "xx") && !a.nx && !a.hasIfeq:
			a.xx = true
		case set && EqualFold(opt, "ifeq") && hasNext && !a.nx && !a.xx && !a.hasIfeq:
			a.ifeq, a.hasIfeq = args[j+1], true
			j++
		case set && EqualFold(opt, "get"):
			a.get = true
		case set && EqualFold(opt, "keepttl") && !a.persist && a.unit == "":
			a.keepTTL = true
		case !set && EqualFold(opt, "persist") && a.unit == "" && !a.keepTTL:
			a.persist = true
		case EqualFold(opt, "ex") && expireAs("ex"):
		case EqualFold(opt, "px") && expireAs("px"):
		case EqualFold(opt, "exat") && expireAs("exat"):
		case EqualFold(opt, "pxat") && expireAs("pxat"):
		default:
			c.W.Error(protocol.ErrSyntax)
			return a, false
		}
	}
	return a, true
}

// stringsExpireAt turns an EX/PX/EXAT/PXAT argument into an absolute
// deadline in Unix ms, replying Valkey's error ("invalid expire time in
// '<cmd>' command") and returning false when it is not positive or
// overflows.
func stringsExpireAt(c *Ctx, cmd, unit string, arg []byte) (int64, bool) {
	n, ok := ParseInt(arg)
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
		return 0, false
	}
	seconds := unit == "ex" || unit == "exat"
	if n <= 0 || (seconds && n > math.MaxInt64/1000) {
		c.W.Error(stringsErrExpire(cmd))
		return 0, false
	}
	if seconds {
		n *= 1000
	}
	if unit == "ex" || unit == "px" {
		if n > math.MaxInt64-c.Now() {
			c.W.Error(stringsErrExpire(cmd))
			return 0, false
		}
		n += c.Now()
	}
	return n, true
}

func stringsErrExpire(cmd string) string {
	return "ERR invalid expire time in '" + cmd + "' command"
}

// stringsMaxBulk returns proto-max-bulk-len, the longest string a command
// may build.
func stringsMaxBulk(c *Ctx) int64 {
	if c.MaxBulk > 0 {
		return c.MaxBulk
	}
	return protocol.DefaultMaxBulk
}

// stringsCheckLen replies Valkey's error and returns false when a string
// of size+add bytes would exceed proto-max-bulk-len.
func stringsCheckLen(c *Ctx, size, add int64) bool {
	total := size + add
	if total > stringsMaxBulk(c) || total < size || total < add {
		c.W.Error(protocol.ErrStringTooLong)
		return false
	}
	return true
}

// SET key value [NX | XX | IFEQ comparison-value] [GET]
// [EX seconds | PX milliseconds | EXAT unix-seconds | PXAT unix-ms | KEEPTTL]
func cmdSet(c *Ctx, args [][]byte) {
	// >> Args
	opt, ok := stringsParseExt(c, args, 3, true)
	if !ok {
		return
	}
	stringsSet(c, "set", args[1], args[2], opt)
}

// stringsSet is setGenericCommand: it replies OK (or the old value with
// GET) and writes, or replies null when NX, XX or IFEQ refuses.
func stringsSet(c *Ctx, cmd string, key, val []byte, opt stringsExtArgs) {
	var at int64
	if opt.unit != "" {
		var ok bool
		if at, ok = stringsExpireAt(c, cmd, opt.unit, opt.expire); !ok {
			return
		}
	}

	// >> Operation
	o := c.GetForWrite(key)
	isString := o != nil && o.Kind() == storage.KindString
	if o != nil && !isString && (opt.get || opt.hasIfeq) {
		c.W.Error(protocol.ErrWrongType)
		return
	}
	var old []byte
	if isString {
		old = o.Str().Value()
	}
	doSet := true
	switch {
	case opt.hasIfeq:
		doSet = isString && bytes.Equal(old, opt.ifeq)
	case opt.nx:
		doSet = o == nil
	case opt.xx:
		doSet = o != nil
	}
	if doSet {
		if opt.unit != "" && at <= c.Now() {
			// Already past: Valkey does not store the key, and deletes
			// what was there.
			if o != nil {
				c.Delete(key)
			}
		} else {
			setString(c, key, val, o, opt.keepTTL, at)
		}
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

// SETNX key value
func cmdSetNX(c *Ctx, args [][]byte) {
	o := c.GetForWrite(args[1])
	if o != nil {
		c.W.Int(0)
		return
	}
	setString(c, args[1], args[2], nil, false, 0)
	c.W.Int(1)
}

// SETEX key seconds value
func cmdSetEX(c *Ctx, args [][]byte) {
	stringsSet(c, "setex", args[1], args[3], stringsExtArgs{unit: "ex", expire: args[2]})
}

// PSETEX key milliseconds value
func cmdPSetEX(c *Ctx, args [][]byte) {
	stringsSet(c, "psetex", args[1], args[3], stringsExtArgs{unit: "px", expire: args[2]})
}

// GETSET key value
func cmdGetSet(c *Ctx, args [][]byte) {
	o, ok := c.LookupWrite(args[1], storage.KindString)
	if !ok {
		return
	}
	if o == nil {
		c.W.Null()
	} else {
		c.W.Bulk(o.Str().Value())
	}
	setString(c, args[1], args[2], o, false, 0)
}

// GETDEL key
func cmdGetDel(c *Ctx, args [][]byte) {
	o, ok := c.LookupWrite(args[1], storage.KindString)
	switch {
	case !ok:
	case o == nil:
		c.W.Null()
	default:
		c.W.Bulk(o.Str().Value())
		c.Delete(args[1])
	}
}

// GETEX key [EX seconds | PX milliseconds | EXAT unix-seconds | PXAT unix-ms | PERSIST]
func cmdGetEx(c *Ctx, args [][]byte) {
	// >> Args
	opt, ok := stringsParseExt(c, args, 2, false)
	if !ok {
		return
	}
	var at int64
	if opt.unit != "" {
		if at, ok = stringsExpireAt(c, "getex", opt.unit, opt.expire); !ok {
			return
		}
	}
	key := args[1]

	// >> Operation
	o, ok := c.LookupWrite(key, storage.KindString)
	if !ok {
		return
	}
	if o == nil {
		c.W.Null()
		return
	}
	switch {
	case (opt.unit == "exat" || opt.unit == "pxat") && at <= c.Now():
		c.Delete(key)
	case opt.unit != "":
		c.Emit(storage.Effect{Op: storage.OpExpire, Key: string(key), Int: at})
	case opt.persist && o.TTL.At != 0:
		c.Emit(storage.Effect{Op: storage.OpExpire, Key: string(key), Int: 0})
	}

	// >> Response
	c.W.Bulk(o.Str().Value())
}

// DELIFEQ key value
func cmdDelIfEq(c *Ctx, args [][]byte) {
	o, ok := c.LookupWrite(args[1], storage.KindString)
	switch {
	case !ok:
	case o == nil || !bytes.Equal(o.Str().Value(), args[2]):
		c.W.Int(0)
	default:
		c.Delete(args[1])
		c.W.Int(1)
	}
}

// MGET key [key ...]
func cmdMGet(c *Ctx, args [][]byte) {
	c.W.Array(len(args) - 1)
	for _, k := range args[1:] {
		if o := c.Get(k); o != nil && o.Kind() == storage.KindString {
			c.W.Bulk(o.Str().Value())
		} else {
			c.W.Null()
		}
	}
}

// stringsPairs returns the key/value pairs of MSET-like arguments with
// each key once, holding its last value (a command never emits two
// effects on one element), in first-seen order.
func stringsPairs(args [][]byte) (keys, vals [][]byte) {
	at := make(map[string]int, len(args)/2)
	for i := 1; i+1 < len(args); i += 2 {
		if j, seen := at[string(args[i])]; seen {
			vals[j] = args[i+1]
			continue
		}
		at[string(args[i])] = len(keys)
		keys = append(keys, args[i])
		vals = append(vals, args[i+1])
	}
	return keys, vals
}

// MSET key value [key value ...]
func cmdMSet(c *Ctx, args [][]byte) {
	if len(args)%2 == 0 {
		c.W.Error(protocol.ErrArity("mset"))
		return
	}
	keys, vals := stringsPairs(args)
	for i, k := range keys {
		setString(c, k, vals[i], c.GetForWrite(k), false, 0)
	}
	c.W.OK()
}

// MSETNX key value [key value ...]
func cmdMSetNX(c *Ctx, args [][]byte) {
	if len(args)%2 == 0 {
		c.W.Error(protocol.ErrArity("msetnx"))
		return
	}
	keys, vals := stringsPairs(args)
	for _, k := range keys {
		if c.GetForWrite(k) != nil {
			c.W.Int(0)
			return
		}
	}
	for i, k := range keys {
		setString(c, k, vals[i], nil, false, 0)
	}
	c.W.Int(1)
}

// APPEND key value
func cmdAppend(c *Ctx, args [][]byte) {
	key, add := args[1], args[2]
	o, ok := c.LookupWrite(key, storage.KindString)
	if !ok {
		return
	}
	val := add
	if o != nil {
		old := o.Str().Value()
		if !stringsCheckLen(c, int64(len(old)), int64(len(add))) {
			return
		}
		val = make([]byte, 0, len(old)+len(add))
		val = append(append(val, old...), add...)
	}
	// A plain OpSet keeps the TTL, as APPEND does.
	c.Emit(storage.Effect{Op: storage.OpSet, Key: string(key), Value: val})
	c.W.Int(int64(len(val)))
}

// STRLEN key
func cmdStrLen(c *Ctx, args [][]byte) {
	val, _, ok := getString(c, args[1])
	if ok {
		c.W.Int(int64(len(val)))
	}
}

// GETRANGE key start end (and its old name SUBSTR)
func cmdGetRange(c *Ctx, args [][]byte) {
	// >> Args
	start, ok1 := ParseInt(args[2])
	end, ok2 := ParseInt(args[3])
	if !ok1 || !ok2 {
		c.W.Error(protocol.ErrNotInteger)
		return
	}

	// >> Operation
	val, _, ok := getString(c, args[1])
	if !ok {
		return
	}
	n := int64(len(val))
	if start < 0 && end < 0 && start > end {
		c.W.Bulk([]byte{})
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}

	// >> Response
	if start > end || n == 0 {
		c.W.Bulk([]byte{})
		return
	}
	c.W.Bulk(val[start : end+1])
}

// SETRANGE key offset value
func cmdSetRange(c *Ctx, args [][]byte) {
	// >> Args
	key, patch := args[1], args[3]
	offset, ok := ParseInt(args[2])
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
		return
	}
	if offset < 0 {
		c.W.Error("ERR offset is out of range")
		return
	}

	// >> Operation
	o, ok := c.LookupWrite(key, storage.KindString)
	if !ok {
		return
	}
	var old []byte
	if o != nil {
		old = o.Str().Value()
	}
	if len(patch) == 0 {
		// Setting nothing changes nothing and creates nothing.
		c.W.Int(int64(len(old)))
		return
	}
	if !stringsCheckLen(c, offset, int64(len(patch))) {
		return
	}
	size := max(int64(len(old)), offset+int64(len(patch)))
	val := make([]byte, size)
	copy(val, old)
	copy(val[offset:], patch)
	c.Emit(storage.Effect{Op: storage.OpSet, Key: string(key), Value: val})

	// >> Response
	c.W.Int(size)
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
