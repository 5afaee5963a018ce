package eval

import (
	"math"
	"slices"
	"strconv"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Set commands. Members are listed in a content order: ascending numbers
// when every member is an integer (Valkey's intset order), byte order
// otherwise, so that equal sets always reply alike.

func init() {
	Register(map[string]Handler{
		"sadd":        cmdSAdd,
		"srem":        cmdSRem,
		"sismember":   cmdSIsMember,
		"smismember":  cmdSMIsMember,
		"smembers":    cmdSMembers,
		"scard":       cmdSCard,
		"spop":        cmdSPop,
		"srandmember": cmdSRandMember,
		"smove":       cmdSMove,
		"sinter":      cmdSInter,
		"sunion":      cmdSUnion,
		"sdiff":       cmdSDiff,
		"sinterstore": cmdSInterStore,
		"sunionstore": cmdSUnionStore,
		"sdiffstore":  cmdSDiffStore,
		"sintercard":  cmdSInterCard,
		"sscan":       cmdSScan,
	})
}

// setRead looks a set up for reading. It returns (nil, true) if the key
// does not exist and (nil, false) after replying WRONGTYPE.
func setRead(c *Ctx, key []byte) (*storage.Set, bool) {
	o, ok := c.Lookup(key, storage.KindSet)
	if !ok || o == nil {
		return nil, ok
	}
	return o.Set(), true
}

// setWrite is setRead for a command about to change the set.
func setWrite(c *Ctx, key []byte) (*storage.Set, bool) {
	o, ok := c.LookupWrite(key, storage.KindSet)
	if !ok || o == nil {
		return nil, ok
	}
	return o.Set(), true
}

func setLen(s *storage.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

func setHas(s *storage.Set, m string) bool { return s != nil && s.Has(m) }

// setSort puts members in the content order (see the file comment).
func setSort(members []string) []string {
	nums := make([]int64, len(members))
	for i, m := range members {
		n, ok := ParseInt([]byte(m))
		if !ok {
			slices.Sort(members)
			return members
		}
		nums[i] = n
	}
	slices.Sort(nums)
	for i, n := range nums {
		members[i] = strconv.FormatInt(n, 10)
	}
	return members
}

// setMembers returns the members of s in the content order.
func setMembers(s *storage.Set) []string {
	if s == nil {
		return nil
	}
	return setSort(s.Members())
}

// setWriteMembers replies with members as a set (an array in RESP2).
func setWriteMembers(c *Ctx, members []string) {
	c.W.SetHeader(len(members))
	for _, m := range members {
		c.W.BulkString(m)
	}
}

// setUnique returns the distinct arguments, in order of first appearance.
func setUnique(args [][]byte) []string {
	seen := make(map[string]bool, len(args))
	out := make([]string, 0, len(args))
	for _, a := range args {
		if m := string(a); !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

func cmdSAdd(c *Ctx, args [][]byte) {
	// >> Operation
	s, ok := setWrite(c, args[1])
	if !ok {
		return
	}
	k := string(args[1])
	added := 0
	for _, m := range setUnique(args[2:]) {
		if !setHas(s, m) {
			c.Emit(storage.Effect{Op: storage.OpSAdd, Key: k, Field: m})
			added++
		}
	}

	// >> Response
	c.W.Int(int64(added))
}

func cmdSRem(c *Ctx, args [][]byte) {
	// >> Operation
	s, ok := setWrite(c, args[1])
	if !ok {
		return
	}
	k := string(args[1])
	removed := 0
	for _, m := range setUnique(args[2:]) {
		if setHas(s, m) {
			c.Emit(storage.Effect{Op: storage.OpSRem, Key: k, Field: m})
			removed++
		}
	}
	if removed > 0 && removed == setLen(s) {
		c.Emptied(args[1]) // the last member went: the key (and its TTL) goes
	}

	// >> Response
	c.W.Int(int64(removed))
}

func cmdSIsMember(c *Ctx, args [][]byte) {
	s, ok := setRead(c, args[1])
	if !ok {
		return
	}
	if setHas(s, string(args[2])) {
		c.W.Int(1)
	} else {
		c.W.Int(0)
	}
}

func cmdSMIsMember(c *Ctx, args [][]byte) {
	s, ok := setRead(c, args[1])
	if !ok {
		return
	}
	c.W.Array(len(args) - 2)
	for _, m := range args[2:] {
		if setHas(s, string(m)) {
			c.W.Int(1)
		} else {
			c.W.Int(0)
		}
	}
}

func cmdSMembers(c *Ctx, args [][]byte) {
	s, ok := setRead(c, args[1])
	if !ok {
		return
	}
	setWriteMembers(c, setMembers(s))
}

func cmdSCard(c *Ctx, args [][]byte) {
	s, ok := setRead(c, args[1])
	if !ok {
		return
	}
	c.W.Int(int64(setLen(s)))
}

// setPick chooses n distinct members at random (n < len(members)), with a
// partial Fisher-Yates shuffle of members.
func setPick(c *Ctx, members []string, n int) []string {
	for i := range n {
		j := i + c.Rand.IntN(len(members)-i)
		members[i], members[j] = members[j], members[i]
	}
	return members[:n]
}

// cmdSPop removes random members. The effects name the members chosen, so
// every replica removes the same ones.
func cmdSPop(c *Ctx, args [][]byte) {
	// >> Args
	if len(args) > 3 {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	withCount := len(args) == 3
	var count int64
	if withCount {
		n, ok := ParseInt(args[2])
		if !ok || n < 0 {
			c.W.Error(protocol.ErrPositive)
			return
		}
		count = n
	}

	// >> Operation
	s, ok := setWrite(c, args[1])
	if !ok {
		return
	}
	size := setLen(s)
	var popped []string
	switch {
	case size == 0 || (withCount && count == 0):
	case !withCount:
		members := setMembers(s)
		popped = []string{members[c.Rand.IntN(size)]}
	case count >= int64(size):
		popped = setMembers(s)
	default:
		popped = setPick(c, setMembers(s), int(count))
	}
	k := string(args[1])
	for _, m := range popped {
		c.Emit(storage.Effect{Op: storage.OpSRem, Key: k, Field: m})
	}
	if size > 0 && len(popped) == size {
		c.Emptied(args[1])
	}

	// >> Response
	switch {
	case withCount:
		setWriteMembers(c, popped)
	case len(popped) == 0:
		c.W.Null()
	default:
		c.W.BulkString(popped[0])
	}
}

func cmdSRandMember(c *Ctx, args [][]byte) {
	// >> Args
	if len(args) > 3 {
		c.W.Error(protocol.ErrSyntax)
		return
	}
	if len(args) == 2 {
		s, ok := setRead(c, args[1])
		switch {
		case !ok:
		case setLen(s) == 0:
			c.W.Null()
		default:
			members := setMembers(s)
			c.W.BulkString(members[c.Rand.IntN(len(members))])
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
	if n < -hashMaxRepeats {
		c.W.Error("ERR value is out of range")
		return
	}

	// >> Operation
	s, ok := setRead(c, args[1])
	if !ok {
		return
	}
	members := setMembers(s)
	var picked []string
	switch {
	case n == 0 || len(members) == 0:
	case n < 0: // repeats allowed
		picked = make([]string, -n)
		for i := range picked {
			picked[i] = members[c.Rand.IntN(len(members))]
		}
	case n >= int64(len(members)):
		picked = members
	default:
		picked = setPick(c, members, int(n))
	}

	// >> Response
	c.W.Array(len(picked))
	for _, m := range picked {
		c.W.BulkString(m)
	}
}

func cmdSMove(c *Ctx, args [][]byte) {
	// >> Operation
	srcKey, dstKey, m := args[1], args[2], string(args[3])
	src := c.GetForWrite(srcKey)
	dst := src
	if string(srcKey) != string(dstKey) {
		dst = c.GetForWrite(dstKey)
	}
	if src == nil {
		c.W.Int(0)
		return
	}
	if src.Kind() != storage.KindSet || (dst != nil && dst.Kind() != storage.KindSet) {
		c.W.Error(protocol.ErrWrongType)
		return
	}
	if string(srcKey) == string(dstKey) {
		if src.Set().Has(m) {
			c.W.Int(1)
		} else {
			c.W.Int(0)
		}
		return
	}
	if !src.Set().Has(m) {
		c.W.Int(0)
		return
	}
	c.Emit(storage.Effect{Op: storage.OpSRem, Key: string(srcKey), Field: m})
	if src.Len() == 1 {
		c.Emptied(srcKey)
	}
	if dst == nil || !dst.Set().Has(m) {
		c.Emit(storage.Effect{Op: storage.OpSAdd, Key: string(dstKey), Field: m})
	}

	// >> Response
	c.W.Int(1)
}

// setLoad looks keys up for reading, as sets; a missing key is a nil set.
// It returns false after replying WRONGTYPE: every key is checked, before
// anything is computed.
func setLoad(c *Ctx, keys [][]byte) ([]*storage.Set, bool) {
	sets := make([]*storage.Set, len(keys))
	for i, k := range keys {
		s, ok := setRead(c, k)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// setInter returns the members of every set (none if one is missing), at
// most limit of them when limit > 0.
func setInter(sets []*storage.Set, limit int) []string {
	smallest := -1
	for i, s := range sets {
		if setLen(s) == 0 {
			return nil
		}
		if smallest < 0 || s.Len() < sets[smallest].Len() {
			smallest = i
		}
	}
	var out []string
	sets[smallest].Range(func(m string) bool {
		for _, s := range sets {
			if !s.Has(m) {
				return true
			}
		}
		out = append(out, m)
		return limit <= 0 || len(out) < limit
	})
	return out
}

// setUnion returns the members of any set.
func setUnion(sets []*storage.Set) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sets {
		if s == nil {
			continue
		}
		s.Range(func(m string) bool {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
			return true
		})
	}
	return out
}

// setDiff returns the members of the first set that are in no other.
func setDiff(sets []*storage.Set) []string {
	var out []string
	if setLen(sets[0]) == 0 {
		return nil
	}
	sets[0].Range(func(m string) bool {
		for _, s := range sets[1:] {
			if setHas(s, m) {
				return true
			}
		}
		out = append(out, m)
		return true
	})
	return out
}

// setAlgebra is SINTER, SUNION or SDIFF over keys.
func setAlgebra(c *Ctx, keys [][]byte, op func([]*storage.Set) []string) ([]string, bool) {
	sets, ok := setLoad(c, keys)
	if !ok {
		return nil, false
	}
	return setSort(op(sets)), true
}

func setInterAll(sets []*storage.Set) []string { return setInter(sets, 0) }

func cmdSInter(c *Ctx, args [][]byte) {
	if res, ok := setAlgebra(c, args[1:], setInterAll); ok {
		setWriteMembers(c, res)
	}
}

func cmdSUnion(c *Ctx, args [][]byte) {
	if res, ok := setAlgebra(c, args[1:], setUnion); ok {
		setWriteMembers(c, res)
	}
}

func cmdSDiff(c *Ctx, args [][]byte) {
	if res, ok := setAlgebra(c, args[1:], setDiff); ok {
		setWriteMembers(c, res)
	}
}

// setStore is the STORE variant of an algebra command: the destination is
// overwritten whatever it held (a key-level delete, which also clears its
// TTL, then the members, stamped alike), or deleted if the result is empty.
func setStore(c *Ctx, args [][]byte, op func([]*storage.Set) []string) {
	// >> Operation
	res, ok := setAlgebra(c, args[2:], op)
	if !ok {
		return
	}
	dst := args[1]
	if c.GetForWrite(dst) != nil {
		c.Delete(dst)
	}
	k := string(dst)
	for _, m := range res {
		c.Emit(storage.Effect{Op: storage.OpSAdd, Key: k, Field: m})
	}

	// >> Response
	c.W.Int(int64(len(res)))
}

func cmdSInterStore(c *Ctx, args [][]byte) { setStore(c, args, setInterAll) }
func cmdSUnionStore(c *Ctx, args [][]byte) { setStore(c, args, setUnion) }
func cmdSDiffStore(c *Ctx, args [][]byte)  { setStore(c, args, setDiff) }

func cmdSInterCard(c *Ctx, args [][]byte) {
	// >> Args
	numkeys, ok := ParseInt(args[1])
	if !ok || numkeys < 1 {
		c.W.Error("ERR numkeys should be greater than 0")
		return
	}
	if numkeys > int64(len(args)-2) {
		c.W.Error("ERR Number of keys can't be greater than number of args")
		return
	}
	var limit int64
	for i := 2 + int(numkeys); i < len(args); i++ {
		if EqualFold(args[i], "limit") && i+1 < len(args) {
			i++
			n, ok := ParseInt(args[i])
			if !ok || n < 0 {
				c.W.Error("ERR LIMIT can't be negative")
				return
			}
			limit = n
			continue
		}
		c.W.Error(protocol.ErrSyntax)
		return
	}

	// >> Operation
	sets, ok := setLoad(c, args[2:2+numkeys])
	if !ok {
		return
	}
	n := len(setInter(sets, int(min(limit, math.MaxInt32))))

	// >> Response
	c.W.Int(int64(n))
}

func cmdSScan(c *Ctx, args [][]byte) {
	// >> Args
	cursor, ok := hashParseCursor(args[2])
	if !ok {
		c.W.Error("ERR invalid cursor")
		return
	}
	s, ok := setRead(c, args[1])
	if !ok {
		return
	}
	if s == nil {
		hashWriteScan(c, 0, nil)
		return
	}
	opt, ok := hashParseScanOptions(c, args, false)
	if !ok {
		return
	}

	// >> Operation
	members := s.Members()
	var next uint64
	if setScanWhole(members) {
		members = setSort(members)
	} else {
		members, next = hashScanPage(members, cursor, opt.count)
	}
	var elems [][]byte
	for _, m := range members {
		if opt.pattern == nil || hashGlobMatch(opt.pattern, []byte(m)) {
			elems = append(elems, []byte(m))
		}
	}

	// >> Response
	hashWriteScan(c, next, elems)
}

// setScanWhole reports whether Valkey would scan a set of these members
// in one call: a listpack or an intset.
func setScanWhole(members []string) bool {
	if len(members) <= hashScanSmall {
		return true
	}
	if len(members) > hashScanIntset {
		return false
	}
	for _, m := range members {
		if _, ok := ParseInt([]byte(m)); !ok {
			return false
		}
	}
	return true
}
