package regional

import (
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
)

// ExecBatch runs a pipeline of requests from one connection: all writes,
// or all reads, none of them MULTI, all in one database. Writes are queued
// to the evaluator together (so a pipeline costs one log entry, not one
// per command) and their replies still come back in order; reads share
// one read fence. Replies are appended to w in request order. It returns
// the database after the batch.
func (g *Group) ExecBatch(reqs []*eval.Request, w *protocol.Writer) int {
	if len(reqs) == 0 {
		return 0
	}
	db := reqs[0].DB
	if len(reqs) == 1 {
		return g.Exec(reqs[0], w)
	}
	if reqs[0].ReadOnly && reqs[0].Stale {
		for _, r := range reqs {
			db = g.execLocalRead(r, w)
		}
		return db
	}
	deadline := time.Now().Add(g.cfg.RequestTimeout)
	for {
		if ev := g.ev.Load(); ev != nil {
			if reqs[0].ReadOnly {
				return g.reads.doMany(reqs, w)
			}
			return g.submitMany(ev, reqs, w, deadline)
		}
		addr, id := g.raft.LeaderWithID()
		if addr != "" && id != raft.ServerID(g.cfg.NodeID) {
			if db, ok := g.fwd.forwardMany(addr, reqs, w, deadline); ok {
				return db
			}
		}
		if time.Now().After(deadline) {
			for range reqs {
				w.Error(ErrNoLeader)
			}
			return db
		}
		select {
		case <-g.readyChan():
		case <-time.After(20 * time.Millisecond):
		case <-g.done:
			for range reqs {
				w.Error(ErrNoLeader)
			}
			return db
		}
	}
}

// execBatchLeader runs a forwarded batch on this node, which leads; it
// never forwards again.
func (g *Group) execBatchLeader(reqs []*eval.Request, w *protocol.Writer) int {
	ev := g.ev.Load()
	if ev == nil {
		for range reqs {
			w.Error(ErrNoLeader)
		}
		return reqs[0].DB
	}
	if reqs[0].ReadOnly {
		return g.reads.doMany(reqs, w)
	}
	return g.submitMany(ev, reqs, w, time.Now().Add(g.cfg.RequestTimeout))
}

// submitMany queues every request to the evaluator, then collects the
// replies in order. Requests the evaluator no longer takes (leadership
// lost mid-batch) are answered TRYAGAIN: they were not executed.
func (g *Group) submitMany(ev *evaluator, reqs []*eval.Request, w *protocol.Writer, deadline time.Time) int {
	calls := make([]*call, len(reqs))
	for i, r := range reqs {
		c := &call{req: cloneRequest(r), proto: w.Proto, done: make(chan struct{})}
		if ev.submit(c) {
			calls[i] = c
		}
	}
	db := reqs[0].DB
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	expired := false
	for i, c := range calls {
		if c == nil {
			w.Error(ErrNoLeader)
			continue
		}
		if !expired {
			select {
			case <-c.done:
				w.Raw(c.w.Bytes())
				db = c.db
				continue
			case <-t.C:
				expired = true
			}
		}
		_ = i
		w.Error(ErrUncertain)
	}
	return db
}

// doMany runs several read-only requests behind one fence.
func (f *readFence) doMany(reqs []*eval.Request, w *protocol.Writer) int {
	calls := make([]*readCall, len(reqs))
	ws := make([]protocol.Writer, len(reqs))
	f.mu.Lock()
	for i, r := range reqs {
		ws[i].Proto = w.Proto
		calls[i] = &readCall{req: r, w: &ws[i], db: r.DB, ready: make(chan struct{})}
		f.waiting = append(f.waiting, calls[i])
	}
	if !f.running {
		f.running = true
		go f.loop()
	}
	f.mu.Unlock()
	db := reqs[0].DB
	for i, rc := range calls {
		<-rc.ready
		w.Raw(ws[i].Bytes())
		db = rc.db
	}
	return db
}
