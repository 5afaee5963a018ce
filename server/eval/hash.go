package eval

import (
	"math"
	"slices"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Hash commands. Fields are listed in byte order of their names, so that
// two hashes with the same content always reply alike (Valkey's order is
// its encoding's: insertion order for a listpack, bucket order for a hash
// table; clients must not rely on either).

func init() {
	Register(map[string]Handler{
		"hset":         cmdHSet,
		"hmset":        cmdHMSet,
		"hsetnx":       cmdHSetNX,
		"hget":         cmdHGet,
		"hmget":        cmdHMGet,
		"hdel":         cmdHDel,
		"hexists":      cmdHExists,
		"hgetall":      cmdHGetAll,
		"hkeys":        cmdHKeys,
		"hvals":        cmdHVals,
		"hlen":         cmdHLen,
		"hstrlen":      cmdHStrLen,
		"hincrby":      cmdHIncrBy,
		"hincrbyfloat": cmdHIncrByFloat,
		"hscan":        cmdHScan,
		"hrandfield":   cmdHRandField,
	})
}

// hashRead looks a hash up for reading. It returns (nil, true) if the key
// does not exist and (nil, false) after replying WRONGTYPE.
func hashRead(c *Ctx, key []byte) (*storage.Hash, bool) {
	o, ok := c.Lookup(key, storage.KindHash)
	if !ok || o == nil {
		return nil, ok
	}
	return o.Hash(), true
}

// hashWrite is hashRead for a command about to change the hash.
func hashWrite(c *Ctx, key []byte) (*storage.Hash, bool) {
	o, ok := c.LookupWrite(key, storage.KindHash)
	if !ok || o == nil {
		return nil, ok
	}
	return o.Hash(), true
}

// hashGet returns a field's value; h may be nil.
func hashGet(h *storage.Hash, field []byte) ([]byte, bool) {
	if h == nil {
		return nil, false
	}
	return h.Get(string(field))
}

// hashField is one field and its value.
type hashField struct {
	name string
	val  []byte
}

// hashFields returns the fields of h in byte order of their names.
func hashFields(h *storage.Hash) []hashField {
	if h == nil {
		return nil
	}
	out := make([]hashField, 0, h.Len())
	h.Range(func(f string, v []byte) bool {
		out = append(out, hashField{f, v})
		return true
	})
	slices.SortFunc(out, func(a, b hashField) int { return strings.Compare(a.name, b.name) })
	return out
}

// hashEmitSets records HSET-like writes of field/value pairs (args[i],
// args[i+1]) from args[from] on. A field named twice is written once,
// with its last value. It returns how many fields are new.
func hashEmitSets(c *Ctx, key []byte, h *storage.Hash, args [][]byte, from int) (created int) {
	last := make(map[string]int, (len(args)-from)/2)
	var order []string
	for i := from; i+1 < len(args); i += 2 {
		f := string(args[i])
		if _, seen := last[f]; !seen {
			order = append(order, f)
		}
		last[f] = i + 1
	}
	k := string(key)
	for _, f := range order {
		if _, exists := hashGet(h, []byte(f)); !exists {
			created++
		}
		c.Emit(storage.Effect{Op: storage.OpHSet, Key: k, Field: f, Value: args[last[f]]})
	}
	return created
}

func cmdHSet(c *Ctx, args [][]byte) {
	// >> Args
	if len(args)%2 == 1 {
		c.W.Error(protocol.ErrArity("hset"))
		return
	}

	// >> Operation
	h, ok := hashWrite(c, args[1])
	if !ok {
		return
	}
	created := hashEmitSets(c, args[1], h, args, 2)

	// >> Response
	c.W.Int(int64(created))
}

func cmdHMSet(c *Ctx, args [][]byte) {
	// >> Args
	if len(args)%2 == 1 {
		c.W.Error(protocol.ErrArity("hmset"))
		return
	}

	// >> Operation
	h, ok := hashWrite(c, args[1])
	if !ok {
		return
	}
	hashEmitSets(c, args[1], h, args, 2)

	// >> Response
	c.W.OK()
}

func cmdHSetNX(c *Ctx, args [][]byte) {
	// >> Operation
	h, ok := hashWrite(c, args[1])
	if !ok {
		return
	}
	_, exists := hashGet(h, args[2])
	if !exists {
		c.Emit(storage.Effect{Op: storage.OpHSet, Key: string(args[1]), Field: string(args[2]), Value: args[3]})
	}

	// >> Response
	if exists {
		c.W.Int(0)
	} else {
		c.W.Int(1)
	}
}

func cmdHGet(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	if v, exists := hashGet(h, args[2]); exists {
		c.W.Bulk(v)
	} else {
		c.W.Null()
	}
}

func cmdHMGet(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	c.W.Array(len(args) - 2)
	for _, f := range args[2:] {
		if v, exists := hashGet(h, f); exists {
			c.W.Bulk(v)
		} else {
			c.W.Null()
		}
	}
}

func cmdHDel(c *Ctx, args [][]byte) {
	// >> Operation
	h, ok := hashWrite(c, args[1])
	if !ok {
		return
	}
	deleted := 0
	if h != nil {
		k := string(args[1])
		seen := make(map[string]bool, len(args)-2)
		for _, f := range args[2:] {
			name := string(f)
			if seen[name] {
				continue
			}
			seen[name] = true
			if _, exists := h.Get(name); exists {
				c.Emit(storage.Effect{Op: storage.OpHDel, Key: k, Field: name})
				deleted++
			}
		}
		if deleted > 0 && deleted == h.Len() {
			c.Emptied(args[1]) // the last field went: the key (and its TTL) goes
		}
	}

	// >> Response
	c.W.Int(int64(deleted))
}

func cmdHExists(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	if _, exists := hashGet(h, args[2]); exists {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdHGetAll(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	fields := hashFields(h)
	c.W.Map(len(fields))
	for _, f := range fields {
		c.W.BulkString(f.name)
		c.W.Bulk(f.val)
	}
}

func cmdHKeys(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	fields := hashFields(h)
	c.W.Array(len(fields))
	for _, f := range fields {
		c.W.BulkString(f.name)
	}
}

func cmdHVals(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	fields := hashFields(h)
	c.W.Array(len(fields))
	for _, f := range fields {
		c.W.Bulk(f.val)
	}
}

func cmdHLen(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	if h == nil {
		c.W.Int(0)
		return
	}
	c.W.Int(int64(h.Len()))
}

func cmdHStrLen(c *Ctx, args [][]byte) {
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	v, _ := hashGet(h, args[2])
	c.W.Int(int64(len(v)))
}

// cmdHIncrBy emits the increment, not the new value, so that increments
// made concurrently in several regions add up; the reply is the value
// read plus the increment.
func cmdHIncrBy(c *Ctx, args [][]byte) {
	// >> Args
	incr, ok := ParseInt(args[3])
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
		return
	}

	// >> Operation
	h, ok := hashWrite(c, args[1])
	if !ok {
		return
	}
	var cur int64
	if v, exists := hashGet(h, args[2]); exists {
		if cur, ok = ParseInt(v); !ok {
			c.W.Error(protocol.ErrHashNotInteger)
			return
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.W.Error(protocol.ErrOverflow)
		return
	}
	c.Emit(storage.Effect{Op: storage.OpHIncr, Key: string(args[1]), Field: string(args[2]), Int: incr})

	// >> Response
	c.W.Int(cur + incr)
}

// cmdHIncrByFloat is cmdHIncrBy for floats. The reply is formatted as the
// store formats the sum, so that HGET afterwards reads the same text.
func cmdHIncrByFloat(c *Ctx, args [][]byte) {
	// >> Args
	incr, ok := ParseFloat(args[3])
	if !ok {
		c.W.Error(protocol.ErrNotFloat)
		return
	}
	if math.IsInf(incr, 0) {
		c.W.Error("ERR value is NaN or Infinity")
		return
	}

	// >> Operation
	h, ok := hashWrite(c, args[1])
	if !ok {
		return
	}
	var cur float64
	if v, exists := hashGet(h, args[2]); exists {
		if cur, ok = ParseFloat(v); !ok {
			c.W.Error(protocol.ErrHashNotFloat)
			return
		}
	}
	sum := cur + incr
	if math.IsNaN(sum) || math.IsInf(sum, 0) {
		c.W.Error(protocol.ErrNaN)
		return
	}
	c.Emit(storage.Effect{Op: storage.OpHIncrFloat, Key: string(args[1]), Field: string(args[2]), Float: incr})

	// >> Response
	c.W.Bulk(storage.FormatFloat(nil, sum))
}

func cmdHScan(c *Ctx, args [][]byte) {
	// >> Args
	cursor, ok := hashParseCursor(args[2])
	if !ok {
		c.W.Error("ERR invalid cursor")
		return
	}
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	if h == nil {
		hashWriteScan(c, 0, nil)
		return
	}
	opt, ok := hashParseScanOptions(c, args, true)
	if !ok {
		return
	}

	// >> Operation
	var names []string
	var next uint64
	if h.Len() <= hashScanSmall {
		for _, f := range hashFields(h) {
			names = append(names, f.name)
		}
	} else {
		all := make([]string, 0, h.Len())
		h.Range(func(f string, _ []byte) bool { all = append(all, f); return true })
		names, next = hashScanPage(all, cursor, opt.count)
	}
	var elems [][]byte
	for _, f := range names {
		if opt.pattern != nil && !hashGlobMatch(opt.pattern, []byte(f)) {
			continue
		}
		elems = append(elems, []byte(f))
		if !opt.novalues {
			v, _ := h.Get(f)
			elems = append(elems, v)
		}
	}

	// >> Response
	hashWriteScan(c, next, elems)
}

// hashMaxRepeats bounds a negative HRANDFIELD/SRANDMEMBER count: the whole
// reply is built in memory, and a count in the billions would exhaust it
// (Valkey streams such a reply until the client's output limit).
const hashMaxRepeats = 1 << 27

func cmdHRandField(c *Ctx, args [][]byte) {
	// >> Args
	if len(args) == 2 {
		h, ok := hashRead(c, args[1])
		switch {
		case !ok:
		case h == nil || h.Len() == 0:
			c.W.Null()
		default:
			fields := hashFields(h)
			c.W.BulkString(fields[c.Rand.IntN(len(fields))].name)
		}
		return
	}
	n, ok := ParseInt(args[2])
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
		return
	}
	if n == math.MinInt64 {
		c.W.Error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	if len(args) > 4 || (len(args) == 4 && !EqualFold(args[3], "withvalues")) {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	withValues := len(args) == 4
	if withValues && (n < -math.MaxInt64/2 || n > math.MaxInt64/2) {
		c.W.Error("ERR value is out of range")
		return
	}
	if n < -hashMaxRepeats {
		c.W.Error("ERR value is out of range")
		return
	}

	// >> Operation
	h, ok := hashRead(c, args[1])
	if !ok {
		return
	}
	fields := hashFields(h)
	var picked []hashField
	switch {
	case n == 0 || len(fields) == 0:
	case n < 0: // repeats allowed
		picked = make([]hashField, -n)
		for i := range picked {
			picked[i] = fields[c.Rand.IntN(len(fields))]
		}
	case n >= int64(len(fields)):
		picked = fields
	default: // n distinct fields: a partial Fisher-Yates shuffle
		for i := range int(n) {
			j := i + c.Rand.IntN(len(fields)-i)
			fields[i], fields[j] = fields[j], fields[i]
		}
		picked = fields[:n]
	}

	// >> Response
	switch {
	case !withValues:
		c.W.Array(len(picked))
		for _, f := range picked {
			c.W.BulkString(f.name)
		}
	case c.W.Proto >= 3: // an array of [field, value] pairs
		c.W.Array(len(picked))
		for _, f := range picked {
			c.W.Array(2)
			c.W.BulkString(f.name)
			c.W.Bulk(f.val)
		}
	default:
		c.W.Array(2 * len(picked))
		for _, f := range picked {
			c.W.BulkString(f.name)
			c.W.Bulk(f.val)
		}
	}
}
