package server

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
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

// finalWriteTimeout bounds how long a closing connection waits for its
// last replies to be written.
const finalWriteTimeout = 5 * time.Second

var (
	errIdleClose = errors.New("server: shutting down")
	errWrite     = errors.New("server: write failed")
)

// Conn is one client connection. Its fields are owned by the connection's
// goroutine, except shared, out and the atomics.
type Conn struct {
	srv          *Server
	id           uint64
	nc           net.Conn
	fd           int
	raddr, laddr string
	rd           *protocol.Reader
	w            protocol.Writer
	created      time.Time
	rand         *rand.Rand

	db       int // mirrored in shared.db
	authed   bool
	closing  bool // reply, then close (QUIT, CLIENT KILL of self)
	replyOff bool // CLIENT REPLY OFF
	skipNext bool // CLIENT REPLY SKIP: drop the next command's reply
	// readOnlyMode is READONLY: reads are served from this node's applied
	// state (a region follower's may be stale).
	readOnlyMode bool
	skipThis     bool

	// MULTI state.
	multi    bool
	multiErr bool
	queued   [][][]byte
	watches  []eval.Watch

	// Pub/sub state. The maps are the connection's own view; the hub
	// learns of changes when pending is applied (see syncSubs).
	subs, psubs, ssubs map[string]struct{}
	pending            []subChange
	// selfMsgs are messages this connection published to itself; they
	// follow the reply of the command that published them.
	selfMsgs []byte

	// shared holds what other goroutines read (CLIENT LIST, CLIENT KILL,
	// INFO). Only the connection goroutine writes it, under the lock; it
	// reads it without.
	shared struct {
		sync.Mutex
		connInfo
	}

	// one is the request of a command executed alone, and gathered holds
	// the requests of a gathered pipeline: both are reused, since an
	// executor keeps nothing of a request once it returns (eval.Request).
	one struct {
		req  eval.Request
		cmds [1][][]byte
	}
	gathered gatherBuf

	// out carries replies and pushed messages once the connection has
	// subscribed to something; before that, replies go straight to nc.
	out outbox

	lastCmd    atomic.Pointer[protocol.Command]
	proto      atomic.Int32 // RESP version, for publishers
	lastActive atomic.Int64 // Unix ns of the last command
	busy       atomic.Bool  // a command is being executed
	idleClose  atomic.Bool  // Shutdown asked to close once idle
	killed     atomic.Bool
}

// connInfo is the part of a connection's state CLIENT LIST shows.
type connInfo struct {
	name, libName, libVer string
	db                    int
	multi                 int // commands queued; -1 outside MULTI
	watching              int
	subs, psubs, ssubs    int
	noEvict, noTouch      bool
	resp                  int
}

// connReader is what the Reader reads from: before blocking on the
// network it sends the replies accumulated so far, so a client always gets
// the replies to everything it has sent, and it ends the connection when
// Shutdown asked for it.
type connReader struct{ c *Conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if !c.flush() {
		return 0, errWrite
	}
	if c.idleClose.Load() {
		return 0, errIdleClose
	}
	n, err := c.nc.Read(p)
	c.srv.stats.netIn.Add(int64(n))
	return n, err
}

// serve reads requests and answers them until the client goes away.
func (c *Conn) serve() {
	defer c.finish()
	for {
		c.rd.MaxBulk = c.srv.maxBulk.Load()
		c.rd.Unauthenticated = c.authRequired()
		args, err := c.rd.ReadCommand()
		if err != nil {
			var pe *protocol.ProtocolError
			switch {
			case errors.As(err, &pe):
				c.w.Error("ERR " + pe.Error())
				c.srv.log.Debug("protocol error", "client", c.id, "addr", c.raddr, "err", pe.Msg)
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, errIdleClose), errors.Is(err, errWrite):
			default:
				c.srv.log.Debug("read failed", "client", c.id, "err", err)
			}
			return
		}
		c.busy.Store(true)
		if c.killed.Load() {
			// Killed while reading: what the client sent after the kill
			// must not run once it may have seen its connection close.
			return
		}
		c.lastActive.Store(time.Now().UnixNano())
		c.dispatch(args)
		c.busy.Store(false)
		if c.closing || c.killed.Load() {
			return
		}
		if c.w.Len() >= flushAt && !c.flush() {
			return
		}
	}
}

// finish sends the last replies and releases what the connection holds.
func (c *Conn) finish() {
	if !c.killed.Load() {
		c.nc.SetWriteDeadline(time.Now().Add(finalWriteTimeout))
		c.flush()
	}
	c.unwatchAll()
	c.srv.hub.unsubscribeAll(c)
	if c.out.started {
		c.out.close()
		<-c.out.done
	}
	c.nc.Close()
}

// authRequired reports whether the client must still authenticate.
func (c *Conn) authRequired() bool { return !c.authed && c.srv.passSet.Load() }

// flush sends the accumulated replies; false means the connection is dead.
func (c *Conn) flush() bool {
	if len(c.pending) > 0 {
		return c.syncSubs(true)
	}
	if c.w.Len() == 0 && len(c.selfMsgs) == 0 {
		return true
	}
	if !c.out.started {
		n, err := c.nc.Write(c.w.Bytes())
		c.srv.stats.netOut.Add(int64(n))
		c.resetWriter()
		return err == nil
	}
	mark, ok := c.out.enqueue(c.w.Bytes(), c.selfMsgs)
	c.resetWriter()
	c.selfMsgs = c.selfMsgs[:0]
	return ok && c.out.wait(mark)
}

// resetWriter empties the reply buffer, giving back the memory of a big
// reply.
func (c *Conn) resetWriter() {
	if c.w.Len() > 1<<20 {
		c.w = protocol.Writer{Proto: c.w.Proto}
		return
	}
	c.w.Reset()
}

func (c *Conn) closeWhenIdle() {
	c.idleClose.Store(true)
	if !c.busy.Load() {
		// Wake a reader blocked on an idle connection.
		c.nc.SetReadDeadline(time.Now())
	}
}

// kill closes the connection from another goroutine (CLIENT KILL). A
// command being executed finishes first, and its connection closes right
// after, without the reply; no later command runs. (Closing the socket
// under it would let the client see the close, reconnect and write, and
// only then the killed command apply.)
func (c *Conn) kill() {
	c.killed.Store(true)
	if !c.busy.Load() {
		c.nc.Close()
	}
}

func (c *Conn) unwatchAll() {
	for _, w := range c.watches {
		c.srv.exec.Unwatch(w.DB, w.Key)
	}
	c.watches = nil
	c.setWatching(0)
}

func (c *Conn) setDB(db int) {
	if db == c.db {
		return
	}
	c.db = db
	c.shared.Lock()
	c.shared.db = db
	c.shared.Unlock()
}

func (c *Conn) setProto(p int) {
	c.w.Proto = p
	c.proto.Store(int32(p))
	c.shared.Lock()
	c.shared.resp = p
	c.shared.Unlock()
}

func (c *Conn) setMultiCount(n int) {
	c.shared.Lock()
	c.shared.multi = n
	c.shared.Unlock()
}

func (c *Conn) setWatching(n int) {
	c.shared.Lock()
	c.shared.watching = n
	c.shared.Unlock()
}

// subscribed reports whether the client is in Valkey's pub/sub state.
func (c *Conn) subscribed() bool { return len(c.subs)+len(c.psubs)+len(c.ssubs) > 0 }

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
	c.skipThis, c.skipNext = c.skipNext, false
	name, rejected, queued := c.run(args)
	if !queued {
		// Queued commands are counted when EXEC runs them.
		c.srv.recordCommand(name, time.Since(start), rejected, c.w.Bytes()[mark:])
	}
	// CLIENT REPLY OFF and SKIP silence replies, but not subscription
	// notifications, which Valkey sends as pushes (CLIENT_PUSHING).
	if (c.replyOff || c.skipThis) && (rejected || !subscribeFamily[name]) {
		c.w.Truncate(mark)
	}
}

// subscribeFamily are the commands whose replies are notifications.
var subscribeFamily = map[string]bool{
	"subscribe": true, "unsubscribe": true, "psubscribe": true, "punsubscribe": true,
	"ssubscribe": true, "sunsubscribe": true,
}

// run checks and executes or queues one request. It returns the command's
// full name ("" if unknown), and whether it was rejected before running or
// queued for EXEC.
func (c *Conn) run(args [][]byte) (name string, rejected, queued bool) {
	cmd := protocol.Lookup(args[0])
	if cmd == nil {
		c.rejectInMulti()
		c.w.Error(protocol.ErrUnknownCommand(args))
		return "", true, false
	}
	name = cmd.FullName()
	if !cmd.CheckArity(len(args)) {
		c.rejectInMulti()
		c.w.Error(protocol.ErrArity(cmd.Name))
		return name, true, false
	}
	top := cmd
	if len(cmd.Subcommands) > 0 && len(args) >= 2 {
		sub := cmd.Subcommand(args[1])
		if sub == nil {
			c.rejectInMulti()
			c.w.Error(protocol.ErrUnknownSubcommand(string(args[0]), args[1]))
			return "", true, false
		}
		cmd, name = sub, sub.FullName()
		if !sub.CheckArity(len(args)) {
			c.rejectInMulti()
			c.w.Error(protocol.ErrArity(name))
			return name, true, false
		}
	}
	c.lastCmd.Store(cmd)
	if c.authRequired() && top.Flags&protocol.NoAuth == 0 {
		c.rejectInMulti()
		c.w.Error(protocol.ErrNoAuth)
		return name, true, false
	}
	if c.multi && (cmd.Flags|top.Flags)&protocol.NoMulti != 0 {
		c.rejectInMulti()
		c.w.Error("ERR Command not allowed inside a transaction")
		return name, true, false
	}
	if c.w.Proto < 3 && c.subscribed() && !subscribedAllowed[top.Name] {
		c.rejectInMulti()
		c.w.Error("ERR Can't execute '" + name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return name, true, false
	}
	if c.multi && !multiImmediate[top.Name] {
		c.queued = append(c.queued, cloneArgs(args))
		c.setMultiCount(len(c.queued))
		c.w.Simple("QUEUED")
		return name, false, true
	}
	c.execute(top, args)
	return name, false, false
}

// execute runs a checked command outside MULTI (or from EXEC, for
// connection commands).
func (c *Conn) execute(cmd *protocol.Command, args [][]byte) {
	if cmd.Flags&protocol.Conn != 0 {
		h := connHandlers[cmd.Name]
		if h == nil {
			c.w.Error(protocol.ErrUnknownCommand(args))
			return
		}
		h(c, args)
		return
	}
	readOnly := cmd.Flags&protocol.Write == 0
	if be, ok := c.srv.exec.(BatchExecutor); ok && !c.replyOff && !c.skipThis && c.rd.Buffered() > 0 {
		// gather parses more of the read buffer, which reuses the
		// storage of args: from here on only reqs are valid.
		switch reqs := c.gather(cmd, args, readOnly); {
		case len(reqs) > 1:
			c.setDB(be.ExecBatch(reqs, &c.w))
			c.gathered.release()
			return
		case len(reqs) == 1:
			c.setDB(c.srv.exec.Exec(reqs[0], &c.w))
			c.gathered.release()
			return
		}
	}
	o := &c.one
	o.cmds[0] = args
	o.req = eval.Request{DB: c.db, Cmds: o.cmds[:], Rand: c.rand, ReadOnly: readOnly, Stale: readOnly && c.readOnlyMode}
	c.setDB(c.srv.exec.Exec(&o.req, &c.w))
	o.req, o.cmds[0] = eval.Request{}, nil // let the arguments go
}

// BatchExecutor is implemented by executors that can run a connection's
// pipeline in one go (regional.Group: one log entry for many writes). The
// requests are all writes or all reads, in one database, none of them a
// transaction; replies come back in order. As with Exec, the executor
// keeps no reference to the requests once ExecBatch returns (the
// connection reuses them).
type BatchExecutor interface {
	ExecBatch(reqs []*eval.Request, w *protocol.Writer) int
}

// maxGather bounds the requests of one gathered pipeline.
const maxGather = 512

// gather collects, after the command just read, the requests already
// complete in the read buffer that can run with it as one batch: plain
// data commands of the same kind (all writes or all reads), with the right
// arity, that do not change the database. It stops at the first that does
// not fit, which is dispatched as usual on the next read (so ordering is
// kept).
//
// The arguments are not copied: they stay in the read buffer, which
// moves on only at the next read, after the batch has run. Only the
// argument lists are, since each parse reuses the last one's; they and
// the requests live in c.gathered, reused by the next gather.
func (c *Conn) gather(cmd *protocol.Command, args [][]byte, readOnly bool) []*eval.Request {
	if !batchable(cmd, args, readOnly) {
		return nil
	}
	g := &c.gathered
	g.args = append(g.args[:0], args...)
	g.ends = append(g.ends[:0], len(g.args))
	var ncmd *protocol.Command
	keep := func(next [][]byte) bool {
		ncmd = protocol.Lookup(next[0])
		return ncmd != nil && batchable(ncmd, next, readOnly)
	}
	for len(g.ends) < maxGather && c.rd.Buffered() > 0 {
		next, ok := c.rd.ReadBufferedIf(keep)
		if !ok {
			break
		}
		g.args = append(g.args, next...)
		g.ends = append(g.ends, len(g.args))
		c.srv.recordCommand(ncmd.FullName(), 0, false, nil)
	}
	return g.requests(c.db, c.rand, readOnly, readOnly && c.readOnlyMode)
}

// gatherBuf is the memory of a connection's gathered pipelines.
type gatherBuf struct {
	// args holds the requests' arguments back to back; ends[i] is where
	// request i's end.
	args [][]byte
	ends []int
	cmds [][][]byte
	reqs []eval.Request
	ptrs []*eval.Request
}

// requests builds the gathered requests.
func (g *gatherBuf) requests(db int, rnd *rand.Rand, readOnly, stale bool) []*eval.Request {
	n := len(g.ends)
	g.cmds = slices.Grow(g.cmds[:0], n)[:n]
	g.reqs = slices.Grow(g.reqs[:0], n)[:n]
	g.ptrs = slices.Grow(g.ptrs[:0], n)[:n]
	start := 0
	for i, end := range g.ends {
		g.cmds[i] = g.args[start:end:end]
		g.reqs[i] = eval.Request{DB: db, Cmds: g.cmds[i : i+1 : i+1], Rand: rnd, ReadOnly: readOnly, Stale: stale}
		g.ptrs[i] = &g.reqs[i]
		start = end
	}
	return g.ptrs
}

// release lets go of the arguments of the last gathered pipeline (they
// point into the read buffer), keeping the memory.
func (g *gatherBuf) release() {
	clear(g.args)
	clear(g.cmds)
	clear(g.reqs)
}

// batchable reports whether a command can join a gathered pipeline.
func batchable(cmd *protocol.Command, args [][]byte, readOnly bool) bool {
	return cmd.Flags&(protocol.Conn|protocol.Admin) == 0 && len(cmd.Subcommands) == 0 &&
		cmd.CheckArity(len(args)) && (cmd.Flags&protocol.Write == 0) == readOnly &&
		cmd.Name != "select" && cmd.Name != "debug"
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
		out[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
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

// outbox queues the bytes of a subscribed connection for its pusher
// goroutine, so that publishers never write to a slow client themselves
// and replies and messages never interleave.
type outbox struct {
	mu   sync.Mutex
	cond sync.Cond // L is &mu; signalled when bytes arrive or are taken, or the box closes
	// buf is what the pusher writes next.
	buf []byte
	// held are messages delivered while hold is set: the connection has
	// subscribed in replies not yet queued, so messages wait for them.
	held []byte
	hold bool
	// queued and taken count bytes put in buf and taken by the pusher.
	queued, taken int64
	closed        bool // the connection is ending: drain buf, then stop
	dead          bool // writing failed or the client fell too far behind

	started bool          // set once by the connection goroutine, before the pusher runs
	done    chan struct{} // closed when the pusher ends
}

// pubsubLimit is Valkey's client-output-buffer-limit for pub/sub clients
// (the hard limit): a subscriber that falls this far behind is closed.
const pubsubLimit = 32 << 20

// start runs the pusher. Called by the connection goroutine.
func (c *Conn) startPusher() {
	c.out.started = true
	c.out.done = make(chan struct{})
	c.srv.wg.Go(c.pushLoop)
}

func (c *Conn) pushLoop() {
	o := &c.out
	defer close(o.done)
	var spare []byte
	for {
		o.mu.Lock()
		for len(o.buf) == 0 && !o.closed && !o.dead {
			o.cond.Wait()
		}
		if o.dead || len(o.buf) == 0 {
			o.mu.Unlock()
			return
		}
		b := o.buf
		o.buf = spare[:0]
		o.taken += int64(len(b))
		o.cond.Broadcast()
		o.mu.Unlock()
		n, err := c.nc.Write(b)
		c.srv.stats.netOut.Add(int64(n))
		if err != nil {
			o.fail()
			c.nc.Close()
			return
		}
		if cap(b) <= 1<<20 {
			spare = b
		} else {
			spare = nil
		}
	}
}

// enqueue appends the connection's replies, then its messages to itself,
// then the held messages, and ends holding. It returns the mark to wait
// for.
func (o *outbox) enqueue(reply, self []byte) (int64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead {
		return 0, false
	}
	o.put(reply)
	o.put(self)
	o.put(o.held)
	o.held, o.hold = o.held[:0], false
	o.cond.Broadcast()
	return o.queued, true
}

func (o *outbox) put(b []byte) {
	o.buf = append(o.buf, b...)
	o.queued += int64(len(b))
}

// wait blocks until the pusher has taken every byte up to mark.
func (o *outbox) wait(mark int64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.taken < mark && !o.dead {
		o.cond.Wait()
	}
	return !o.dead
}

// deliver queues a message from another connection. It reports false if
// the client fell too far behind and must be closed.
func (o *outbox) deliver(msg []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead || o.closed {
		return true
	}
	if len(o.buf)+len(o.held)+len(msg) > pubsubLimit {
		o.dead, o.buf, o.held = true, nil, nil
		o.cond.Broadcast()
		return false
	}
	if o.hold {
		o.held = append(o.held, msg...)
		return true
	}
	o.put(msg)
	o.cond.Broadcast()
	return true
}

func (o *outbox) holdMessages() {
	o.mu.Lock()
	o.hold = true
	o.mu.Unlock()
}

func (o *outbox) fail() {
	o.mu.Lock()
	o.dead, o.buf, o.held = true, nil, nil
	o.cond.Broadcast()
	o.mu.Unlock()
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.cond.Broadcast()
	o.mu.Unlock()
}
