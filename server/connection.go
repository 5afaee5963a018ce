package server

import (
	"crypto/subtle"
	"strconv"
	"time"

	"github.com/meridian-kv/meridian/protocol"
)

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){
		"ping":  (*Conn).cmdPing,
		"echo":  (*Conn).cmdEcho,
		"auth":  (*Conn).cmdAuth,
		"quit":  (*Conn).cmdQuit,
		"reset": (*Conn).cmdReset,
		"time":  (*Conn).cmdTime,
	})
}

func (c *Conn) cmdPing(args [][]byte) {
	if len(args) > 2 {
		c.w.Error(protocol.ErrArity("ping"))
		return
	}
	if c.w.Proto < 3 && c.subscribed() {
		// RESP2 subscribed clients get a pong message (pubsub.c).
		c.w.Array(2)
		c.w.BulkString("pong")
		if len(args) == 2 {
			c.w.Bulk(args[1])
		} else {
			c.w.BulkString("")
		}
		return
	}
	if len(args) == 2 {
		c.w.Bulk(args[1])
		return
	}
	c.w.Simple("PONG")
}

func (c *Conn) cmdEcho(args [][]byte) { c.w.Bulk(args[1]) }

func (c *Conn) cmdQuit(args [][]byte) {
	c.w.OK()
	c.closing = true
}

// checkAuth validates AUTH/HELLO credentials: the only user is "default".
func (c *Conn) checkAuth(user, pass []byte) bool {
	want := c.srv.config().RequirePass
	if user != nil && string(user) != "default" {
		return false
	}
	if want == "" {
		return user != nil // "default" with any password when there is none
	}
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

func (c *Conn) cmdAuth(args [][]byte) {
	if len(args) > 3 {
		c.w.Error(protocol.ErrSyntax)
		return
	}
	var user, pass []byte
	if len(args) == 3 {
		user, pass = args[1], args[2]
	} else {
		pass = args[1]
		if c.srv.config().RequirePass == "" {
			c.w.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
	}
	if !c.checkAuth(user, pass) {
		c.w.Error(protocol.ErrWrongPass)
		return
	}
	c.authed = true
	c.w.OK()
}

// cmdReset is RESET: the connection returns to the state of a new one
// (clearClientConnectionState), except for its library name and version.
func (c *Conn) cmdReset(args [][]byte) {
	c.resetMulti()
	c.unwatchAll()
	c.unsubscribeAllQuietly()
	c.setDB(0)
	c.setProto(2)
	c.authed = !c.srv.passSet.Load()
	c.replyOff, c.skipNext, c.skipThis = false, false, false
	c.readOnlyMode = false
	c.shared.Lock()
	c.shared.name = ""
	c.shared.noEvict, c.shared.noTouch = false, false
	c.shared.Unlock()
	c.w.Simple("RESET")
}

// cmdTime is TIME: Unix seconds and microseconds, as bulk strings.
func (c *Conn) cmdTime(args [][]byte) {
	now := time.Now()
	c.w.Array(2)
	c.w.BulkInt(now.Unix())
	c.w.BulkInt(int64(now.Nanosecond() / 1000))
}

// Version is the Meridian version HELLO and INFO report.
var Version = "0.1.0"

// RedisVersion is the Redis version Meridian's command set corresponds to;
// INFO reports it as redis_version for clients that check it.
const RedisVersion = "7.2.4"

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){"hello": (*Conn).cmdHello})
}

func (c *Conn) cmdHello(args [][]byte) {
	proto := c.w.Proto
	if len(args) >= 2 {
		v, ok := parseInt(args[1])
		if !ok {
			c.w.Error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.w.Error("NOPROTO unsupported protocol version")
			return
		}
		proto = int(v)
	}
	var user, pass, name []byte
	authGiven := false
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch lower(args[i]) {
		case "auth":
			if more < 2 {
				c.w.Error("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
				return
			}
			user, pass, authGiven = args[i+1], args[i+2], true
			i += 2
		case "setname":
			if more < 1 {
				c.w.Error("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
				return
			}
			name = args[i+1]
			i++
		default:
			c.w.Error("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
			return
		}
	}
	if authGiven {
		if !c.checkAuth(user, pass) {
			c.w.Error(protocol.ErrWrongPass)
			return
		}
		c.authed = true
	}
	if c.authRequired() {
		c.w.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if name != nil {
		if msg := validClientName(name); msg != "" {
			c.w.Error(msg)
			return
		}
		c.shared.Lock()
		c.shared.name = string(name)
		c.shared.Unlock()
	}
	c.setProto(proto)
	c.w.Map(7)
	c.w.BulkString("server")
	c.w.BulkString("valkey")
	c.w.BulkString("version")
	c.w.BulkString(RedisVersion)
	c.w.BulkString("proto")
	c.w.Int(int64(proto))
	c.w.BulkString("id")
	c.w.Int(int64(c.id))
	c.w.BulkString("mode")
	c.w.BulkString("standalone")
	c.w.BulkString("role")
	c.w.BulkString("master")
	c.w.BulkString("modules")
	c.w.Array(0)
}

// validClientName returns Valkey's error for a client name with spaces or
// newlines, or "".
func validClientName(name []byte) string {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return "ERR Client names cannot contain spaces, newlines or special characters."
		}
	}
	return ""
}

func parseInt(b []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){
		"readonly":  func(c *Conn, args [][]byte) { c.readOnlyMode = true; c.w.OK() },
		"readwrite": func(c *Conn, args [][]byte) { c.readOnlyMode = false; c.w.OK() },
	})
}
