package regional

import (
	"math/rand/v2"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
)

// Exec runs a request on the region: on the leader, writes go through the
// evaluator and reads through the read fence; on a follower the request is
// forwarded to the leader (stale reads excepted). It implements
// server.Executor.
func (g *Group) Exec(req *eval.Request, w *protocol.Writer) int {
	return g.exec(req, w, true)
}

func (g *Group) exec(req *eval.Request, w *protocol.Writer, mayForward bool) int {
	if req.ReadOnly && req.Stale && !req.Multi {
		return g.execLocalRead(req, w)
	}
	deadline := time.Now().Add(g.cfg.RequestTimeout)
	for {
		if ev := g.ev.Load(); ev != nil {
			if req.ReadOnly && !req.Multi {
				return g.reads.do(req, w)
			}
			// The call may outlive this function (time out): it must not
			// share the connection's read buffer.
			c := &call{req: cloneRequest(req), proto: w.Proto, done: make(chan struct{})}
			if ev.submit(c) {
				t := time.NewTimer(time.Until(deadline))
				select {
				case <-c.done:
					t.Stop()
					w.Raw(c.w.Bytes())
					return c.db
				case <-t.C:
					w.Error(ErrUncertain)
					return req.DB
				}
			}
			continue // leadership changed before the call was taken
		}
		addr, id := g.raft.LeaderWithID()
		if mayForward && addr != "" && id != raft.ServerID(g.cfg.NodeID) {
			db, ok := g.fwd.forward(addr, req, w, deadline)
			if ok {
				return db
			}
		}
		if time.Now().After(deadline) {
			w.Error(ErrNoLeader)
			return req.DB
		}
		select {
		case <-g.readyChan():
		case <-time.After(20 * time.Millisecond):
		case <-g.done:
			w.Error(ErrNoLeader)
			return req.DB
		}
	}
}

// execLocalRead runs a read-only request against this node's applied
// state.
func (g *Group) execLocalRead(req *eval.Request, w *protocol.Writer) int {
	g.fsm.mu.RLock()
	defer g.fsm.mu.RUnlock()
	rnd := req.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	c := &eval.Ctx{R: g.fsm.mu.store.At(g.clock.PhysicalNow()), DB: req.DB, W: w, Clock: g.clock, Rand: rnd, MaxBulk: g.cfg.MaxBulk}
	for _, args := range req.Cmds {
		eval.Run(c, args)
	}
	if len(c.Effects()) > 0 {
		panic("regional: read-only request produced effects: " + string(req.Cmds[0][0]))
	}
	return c.DB
}

// Watch registers a WATCH on this node's store and returns the key's
// version (the log index of its last change, equal on every node).
func (g *Group) Watch(db int, key string) uint64 {
	g.fsm.mu.Lock()
	defer g.fsm.mu.Unlock()
	return g.fsm.mu.store.Watch(db, key)
}

// Unwatch undoes one Watch.
func (g *Group) Unwatch(db int, key string) {
	g.fsm.mu.Lock()
	defer g.fsm.mu.Unlock()
	g.fsm.mu.store.Unwatch(db, key)
}

// Read runs fn with the applied store under the read lock (INFO, metrics).
func (g *Group) Read(fn func(s *storage.Store)) { g.fsm.read(fn) }

// cloneRequest deep-copies a request's arguments and watches.
func cloneRequest(r *eval.Request) *eval.Request {
	c := *r
	n := 0
	for _, args := range r.Cmds {
		for _, a := range args {
			n += len(a)
		}
	}
	buf := make([]byte, 0, n)
	c.Cmds = make([][][]byte, len(r.Cmds))
	for i, args := range r.Cmds {
		out := make([][]byte, len(args))
		for j, a := range args {
			buf = append(buf, a...)
			out[j] = buf[len(buf)-len(a) : len(buf) : len(buf)]
		}
		c.Cmds[i] = out
	}
	c.Watches = append([]eval.Watch(nil), r.Watches...)
	return &c
}
