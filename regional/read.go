package regional

import (
	"sync"

	"github.com/hashicorp/raft"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
)

// readFence makes reads linearizable on the leader with the ReadIndex
// recipe (raft-anchors §3.3): note the commit index, confirm leadership
// with one VerifyLeader shared by every read waiting at that moment, wait
// until the FSM has applied the noted index, then read the applied store.
type readFence struct {
	g  *Group
	mu sync.Mutex
	// waiting are the reads queued for the next fence.
	waiting []*readCall
	running bool
}

type readCall struct {
	req   *eval.Request
	w     *protocol.Writer
	db    int
	err   string
	ready chan struct{}
}

func newReadFence(g *Group) *readFence { return &readFence{g: g} }

// do runs a read-only request linearizably and writes its reply to w.
func (f *readFence) do(req *eval.Request, w *protocol.Writer) int {
	rc := &readCall{req: req, w: w, db: req.DB, ready: make(chan struct{})}
	f.mu.Lock()
	f.waiting = append(f.waiting, rc)
	if !f.running {
		f.running = true
		go f.loop()
	}
	f.mu.Unlock()
	<-rc.ready
	return rc.db
}

// loop runs fences until no read is waiting.
func (f *readFence) loop() {
	for {
		f.mu.Lock()
		reads := f.waiting
		f.waiting = nil
		if len(reads) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		f.fence(reads)
	}
}

func (f *readFence) fence(reads []*readCall) {
	g := f.g
	fail := func(msg string) {
		for _, rc := range reads {
			rc.w.Error(msg)
			close(rc.ready)
		}
	}
	if g.ev.Load() == nil {
		fail(ErrNoLeader)
		return
	}
	idx := g.raft.CommitIndex()
	term := g.raft.CurrentTerm()
	if err := g.waitFuture(g.raft.VerifyLeader()); err != nil || g.raft.CurrentTerm() != term {
		fail(ErrNoLeader)
		return
	}
	timeout := make(chan struct{})
	t := time.AfterFunc(g.cfg.RequestTimeout, func() { close(timeout) })
	ok := g.fsm.waitApplied(idx, timeout)
	t.Stop()
	if !ok {
		fail(ErrNoLeader)
		return
	}
	for _, rc := range reads {
		rc.db = g.execLocalRead(rc.req, rc.w)
		close(rc.ready)
	}
}

// waitFuture returns a future's error, giving up after RequestTimeout or
// when the node closes (some futures are never answered at shutdown).
func (g *Group) waitFuture(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	t := time.NewTimer(g.cfg.RequestTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return errStopping
	case <-g.done:
		return errStopping
	}
}
