package eval

import (
	"math"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Expiry commands. A key's TTL is one register (storage.OpExpire with an
// absolute deadline in Unix ms; 0 removes it).
func init() {
	Register(map[string]Handler{
		"expire":      func(c *Ctx, args [][]byte) { keysExpire(c, args, "expire", true, true) },
		"pexpire":     func(c *Ctx, args [][]byte) { keysExpire(c, args, "pexpire", false, true) },
		"expireat":    func(c *Ctx, args [][]byte) { keysExpire(c, args, "expireat", true, false) },
		"pexpireat":   func(c *Ctx, args [][]byte) { keysExpire(c, args, "pexpireat", false, false) },
		"ttl":         func(c *Ctx, args [][]byte) { keysTTL(c, args, false, false) },
		"pttl":        func(c *Ctx, args [][]byte) { keysTTL(c, args, true, false) },
		"expiretime":  func(c *Ctx, args [][]byte) { keysTTL(c, args, false, true) },
		"pexpiretime": func(c *Ctx, args [][]byte) { keysTTL(c, args, true, true) },
		"persist":     cmdPersist,
	})
}

// keysExpire is Valkey's expireGenericCommand: EXPIRE, PEXPIRE, EXPIREAT
// and PEXPIREAT key time [NX | XX | GT | LT]. A deadline at or before now
// deletes the key.
func keysExpire(c *Ctx, args [][]byte, cmd string, seconds, relative bool) {
	// >> Args
	var nx, xx, gt, lt bool
	for _, opt := range args[3:] {
		switch {
		case EqualFold(opt, "nx"):
			nx = true
		case EqualFold(opt, "xx"):
			xx = true
		case EqualFold(opt, "gt"):
			gt = true
		case EqualFold(opt, "lt"):
			lt = true
		default:
			c.W.Error("ERR Unsupported option " + string(opt))
			return
		}
	}
	if nx && (xx || gt || lt) {
		c.W.Error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if gt && lt {
		c.W.Error("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := ParseInt(args[2])
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.W.Error(stringsErrExpire(cmd))
			return
		}
		when *= 1000
	}
	if relative {
		if when > math.MaxInt64-c.Now() {
			c.W.Error(stringsErrExpire(cmd))
			return
		}
		when += c.Now()
	}
	when = max(when, 0)
	key := args[1]

	// >> Operation
	o := c.GetForWrite(key)
	if o == nil {
		c.W.Int(0)
		return
	}
	cur := o.TTL.At // 0: no deadline, which GT and LT treat as infinite
	switch {
	case nx && cur != 0,
		xx && cur == 0,
		gt && (cur == 0 || when <= cur),
		lt && cur != 0 && when >= cur:
		c.W.Int(0)
		return
	}
	if when <= c.Now() {
		c.Delete(key)
	} else {
		c.Emit(storage.Effect{Op: storage.OpExpire, Key: string(key), Int: when})
	}

	// >> Response
	c.W.Int(1)
}

// keysTTL is Valkey's ttlGenericCommand: TTL, PTTL, EXPIRETIME and
// PEXPIRETIME reply -2 for a missing key, -1 for a key without deadline.
// Seconds are rounded to the nearest, as Valkey does.
func keysTTL(c *Ctx, args [][]byte, ms, absolute bool) {
	o := c.Get(args[1])
	if o == nil {
		c.W.Int(-2)
		return
	}
	at := o.TTL.At
	if at == 0 {
		c.W.Int(-1)
		return
	}
	ttl := at
	if !absolute {
		ttl = max(at-c.Now(), 0)
	}
	if !ms {
		ttl = (ttl + 500) / 1000
	}
	c.W.Int(ttl)
}

// PERSIST key
func cmdPersist(c *Ctx, args [][]byte) {
	o := c.GetForWrite(args[1])
	if o == nil || o.TTL.At == 0 {
		c.W.Int(0)
		return
	}
	c.Emit(storage.Effect{Op: storage.OpExpire, Key: string(args[1]), Int: 0})
	c.W.Int(1)
}
