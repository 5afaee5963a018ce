package server

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
)

// flushAt is how many reply bytes a pipeline may accumulate before they are
// sent even though more requests are waiting.
const flushAt = 64 << 10

// Conn is one client connection. Its fields are owned by the connection's
// goroutine, except those under wmu and the atomics.
type Conn struct {
	srv     *Server
	id      uint64
	nc      net.Conn
	rd      *protocol.Reader
	w       protocol.Writer
	created time.Time
	rand    *rand.Rand

	db       int
	name     string
	authed   bool
	lastCmd  string
	closing  bool // reply, then close (QUIT, protocol error, CLIENT KILL of self)
	libName  string
	libVer   string
	noEvict  bool

	// MULTI state.
	multi    bool
	multiErr bool
	queued   [][][]byte
	watches  []eval.Watch

	// Pub/sub state, owned by the connection goroutine; the hub holds
	// the Conn under its own lock to deliver messages.
	subs  map[string]struct{}
	psubs map[string]struct{}

	// wmu guards writes to nc: the connection goroutine's replies and
	// messages pushed by publishers on other goroutines.
	wmu sync.Mutex

	lastActive atomic.Int64 // Unix ns of the last command
	busy       atomic.Bool  // a command is being executed
	idleClose  atomic.Bool  // Shutdown asked to close once idle
	killed     atomic.Bool
}

// serve reads requests and answers them until the client goes away.
func (c *Conn) serve() {
	defer c.nc.Close()
	for {
		args, err := c.rd.ReadCommand()
		if err != nil {
			var pe *protocol.ProtocolError
			if errors.As(err, &pe) {
				c.w.Error("ERR " + pe.Error())
				c.flush()
				c.srv.log.Debug("protocol error", "client", c.id, "err", pe.Msg)
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.srv.log.Debug("read failed", "client", c.id, "err", err)
			}
			return
		}
		c.busy.Store(true)
		c.lastActive.Store(time.Now().UnixNano())
		c.dispatch(args)
		c.busy.Store(false)
		if c.closing || c.killed.Load() {
			c.flush()
			return
		}
		if c.rd.Buffered() == 0 || c.w.Len() >= flushAt {
			if !c.flush() {
				return
			}
			if c.idleClose.Load() && c.rd.Buffered() == 0 {
				return
			}
		}
	}
}

// flush sends the accumulated replies; false means the connection is dead.
func (c *Conn) flush() bool {
	if c.w.Len() == 0 {
		return true
	}
	c.wmu.Lock()
	_, err := c.nc.Write(c.w.Bytes())
	c.wmu.Unlock()
	c.w.Reset()
	return err == nil
}

// push writes an out-of-band message (pub/sub) from another goroutine.
func (c *Conn) push(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.nc.Close()
	}
	c.nc.SetWriteDeadline(time.Time{})
}

func (c *Conn) closeWhenIdle() {
	c.idleClose.Store(true)
	if !c.busy.Load() {
		// Wake a reader blocked on an idle connection.
		c.nc.SetReadDeadline(time.Now())
	}
}

// kill closes the connection from another goroutine (CLIENT KILL).
func (c *Conn) kill() {
	c.killed.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// cleanup releases what the connection holds: watches, subscriptions.
func (c *Conn) cleanup() {
	c.unwatchAll()
	c.srv.hub.unsubscribeAll(c)
}

func (c *Conn) unwatchAll() {
	for _, w := range c.watches {
		c.srv.exec.Unwatch(w.DB, w.Key)
	}
	c.watches = nil
}

// commands executed at once inside MULTI instead of being queued.
var multiImmediate = map[string]bool{"exec": true, "discard": true, "multi": true, "watch": true, "quit": true, "reset": true}

// commands allowed in the RESP2 subscribed state.
var subscribedAllowed = map[string]bool{
	"subscribe": true, "unsubscribe": true, "psubscribe": true, "punsubscribe": true,
	"ssubscribe": true, "sunsubscribe": true, "ping": true, "quit": true, "reset": true,
}

// dispatch runs one request.
func (c *Conn) dispatch(args [][]byte) {
	start := time.Now()
	mark := c.w.Len()
	cmd := protocol.Lookup(args[0])
	name := ""
	if cmd != nil {
		name = cmd.FullName()
	}
	defer func() {
		c.srv.stats.commands.Add(1)
		if obs := c.srv.cfg.Observer; obs != nil && name != "" {
			failed := c.w.Len() > mark && c.w.Bytes()[mark] == '-'
			obs.Command(name, time.Since(start), failed)
		}
	}()
	if cmd == nil {
		c.rejectInMulti()
		c.w.Error(protocol.ErrUnknownCommand(args))
		return
	}
	if !cmd.CheckArity(len(args)) {
		c.rejectInMulti()
		c.w.Error(protocol.ErrArity(cmd.Name))
		return
	}
	if len(cmd.Subcommands) > 0 && len(args) >= 2 {
		sub := cmd.Subcommand(args[1])
		if sub == nil {
			c.rejectInMulti()
			c.w.Error(protocol.ErrUnknownSubcommand(cmd.Name, args[1]))
			return
		}
		name = sub.FullName()
		if !sub.CheckArity(len(args) - 1) {
			c.rejectInMulti()
			c.w.Error(protocol.ErrArity(name))
			return
		}
	}
	if !c.authed && cmd.Flags&protocol.NoAuth == 0 {
		c.rejectInMulti()
		c.w.Error(protocol.ErrNoAuth)
		return
	}
	if c.w.Proto < 3 && len(c.subs)+len(c.psubs) > 0 && !subscribedAllowed[cmd.Name] {
		c.w.Error("ERR Can't execute '" + name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	c.lastCmd = name
	if c.multi && !multiImmediate[cmd.Name] {
		if cmd.Flags&protocol.NoMulti != 0 {
			c.rejectInMulti()
			c.w.Error("ERR Command not allowed inside a transaction")
			return
		}
		c.queued = append(c.queued, cloneArgs(args))
		c.w.Simple("QUEUED")
		return
	}
	if cmd.Flags&protocol.Conn != 0 {
		h := connHandlers[cmd.Name]
		if h == nil {
			c.w.Error(protocol.ErrUnknownCommand(args))
			return
		}
		h(c, args)
		return
	}
	req := eval.Request{DB: c.db, Cmds: [][][]byte{args}, Rand: c.rand, ReadOnly: cmd.Flags&protocol.Write == 0}
	c.db = c.srv.exec.Exec(&req, &c.w)
}

// rejectInMulti marks a transaction as failed when a command could not be
// queued (EXEC then replies EXECABORT).
func (c *Conn) rejectInMulti() {
	if c.multi {
		c.multiErr = true
	}
}

func cloneArgs(args [][]byte) [][]byte {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		out[i] = buf[len(buf)-len(a):]
	}
	return out
}

// connHandlers run commands flagged protocol.Conn.
var connHandlers = map[string]func(c *Conn, args [][]byte){}

func registerConn(hs map[string]func(c *Conn, args [][]byte)) {
	for name, h := range hs {
		if _, dup := connHandlers[name]; dup {
			panic("server: duplicate handler " + name)
		}
		if cmd := protocol.Lookup([]byte(name)); cmd == nil || cmd.Flags&protocol.Conn == 0 {
			panic("server: no Conn command table row for " + name)
		}
		connHandlers[name] = h
	}
}

func lower(b []byte) string { return strings.ToLower(string(b)) }
