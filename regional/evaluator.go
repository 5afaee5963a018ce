package regional

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Error replies of a region. The first word is the code clients see.
const (
	// ErrUncertain is the reply when a write may or may not have been
	// applied: leadership was lost, or time ran out, after it was proposed.
	ErrUncertain = "UNCERTAIN the write may or may not have been applied: leadership changed or timed out before it was confirmed"
	// ErrNoLeader is the reply when no leader could be reached; the
	// command was not executed.
	ErrNoLeader = "TRYAGAIN no leader in the region; the command was not executed"
)

// call is one request waiting for the evaluator.
type call struct {
	req   *eval.Request
	proto int
	w     protocol.Writer
	db    int
	done  chan struct{}
	// uncertain is set when the reply must be ErrUncertain.
	uncertain bool
	// expire, if set, makes the call an active-expiry check of one key
	// instead of a client request.
	expire *dbKey
	// sys, if set, makes the call a replication entry instead of a client
	// request (see sysCall).
	sys *sysCall
	// notRun is set when the call was not executed (ErrNoLeader).
	notRun bool
}

// sysCall is an entry the region's replication proposes through the
// evaluator, so that it takes its place in the order of evaluation: a
// merged batch changes what later commands read, and a heartbeat's stamp
// must fall between the stamps of the entries around it.
type sysCall struct {
	kind byte // entryLocal (a heartbeat), entryRemote, entryStable or entryLinks
	// batch is the batch of an entryRemote.
	batch *interregion.Batch
	// stamp, retain and marks are those of an entryStable.
	stamp  hlc.Timestamp
	retain uint64
	marks  []peerMark
	// links is the new peer set of an entryLinks.
	links []LinkSpec
}

// notRun answers a call that was not executed.
func (c *call) refuse() {
	c.w.Error(ErrNoLeader)
	c.notRun = true
	close(c.done)
}

// pendingRemote is the last batch of one origin the evaluator proposed.
type pendingRemote struct {
	last, seq uint64
}

// batch is one evaluator round: its calls' replies are released once its
// entry (or, with no effects, a leadership check) completes and every
// earlier batch has.
type batch struct {
	seq   uint64
	calls []*call
	fut   raft.Future
	// slot is set on a round's last batch: completing it frees a slot.
	slot bool
}

// evaluator runs commands on the leader, in arrival order, against the
// applied state plus its own proposed effects, and packs the effects of
// many commands into one log entry. One goroutine (run) owns the overlay;
// another (complete) releases replies in log order.
type evaluator struct {
	g       *Group
	in      chan *call
	batches chan *batch
	quit    chan struct{}
	ov      *overlay
	rand    *rand.Rand
	seq     uint64        // last batch proposed (run goroutine)
	applied atomic.Uint64 // last batch completed
	// failed is set when a proposal fails: every batch evaluated after it
	// is doomed (see fence). The run goroutine answers TRYAGAIN until all
	// outstanding batches have completed, then starts a new epoch with an
	// empty overlay.
	failed atomic.Bool
	// fence of the last entry proposed (run goroutine).
	fence fence
	// remotes holds, by origin, the last merged batch proposed (run
	// goroutine): it predicts what the FSM will have applied.
	remotes map[uint32]pendingRemote
	// frontier is the evaluation frontier of the calls evalAll ran last
	// (see interregion.Entry.Frontier), taken before it read anything.
	frontier hlc.Timestamp
	// slots bounds the batches in flight (group commit): while they are
	// full, arriving calls wait in `in` and go out together in the next
	// batch, so load makes entries bigger instead of more numerous.
	slots chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// reset starts a new epoch after a failed proposal, once every earlier
// batch has completed: the overlay is rebuilt from the applied store.
func (e *evaluator) reset() {
	e.ov = newOverlay()
	e.fence = fence{epoch: newEpoch()}
	clear(e.remotes)
	e.failed.Store(false)
	e.g.log.Info("evaluator restarts after a failed proposal", "epoch", e.fence.epoch)
}

func newEpoch() uint64 {
	for {
		if v := rand.Uint64(); v != 0 {
			return v
		}
	}
}

func newEvaluator(g *Group) *evaluator {
	return &evaluator{
		fence:   fence{epoch: newEpoch()},
		g:       g,
		in:      make(chan *call, 1024),
		batches: make(chan *batch, 256),
		slots:   make(chan struct{}, maxInflight),
		quit:    make(chan struct{}),
		ov:      newOverlay(),
		remotes: map[uint32]pendingRemote{},
		rand:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
}

func (e *evaluator) start() {
	e.wg.Go(e.run)
	e.wg.Go(e.complete)
	e.wg.Go(e.expireLoop)
}

// stop ends the evaluator; calls still pending get ErrUncertain if they
// were proposed, or are re-queued for the next leader otherwise (they get
// ErrNoLeader).
func (e *evaluator) stop() {
	e.once.Do(func() { close(e.quit) })
	e.wg.Wait()
	// Calls never evaluated: not executed.
	for {
		select {
		case c := <-e.in:
			c.refuse()
		default:
			return
		}
	}
}

// submit queues a call; false if the evaluator is stopping.
func (e *evaluator) submit(c *call) bool {
	select {
	case e.in <- c:
		return true
	case <-e.quit:
		return false
	}
}

// maxInflight is how many batches may wait for Raft at once.
const maxInflight = 2

func (e *evaluator) run() {
	defer close(e.batches)
	calls := make([]*call, 0, e.g.cfg.MaxBatch)
	for {
		calls = calls[:0]
		select {
		case c := <-e.in:
			calls = append(calls, c)
		case <-e.quit:
			return
		}
		// Wait for a slot, letting more calls queue up meanwhile.
		select {
		case e.slots <- struct{}{}:
		case <-e.quit:
			calls[0].refuse()
			return
		}
	fill:
		for len(calls) < e.g.cfg.MaxBatch {
			select {
			case c := <-e.in:
				calls = append(calls, c)
			default:
				break fill
			}
		}
		if e.failed.Load() {
			if e.applied.Load() < e.seq {
				for _, c := range calls {
					c.refuse()
				}
				<-e.slots
				continue
			}
			e.reset()
		}
		e.round(calls)
		// The slot is handed back by the completer when the round's last
		// batch completes (see propose).
	}
}

// needsDrain reports whether a request reads the whole keyspace or
// flushes it, which the overlay does not stage: such a request waits until
// everything proposed before it is applied.
func needsDrain(req *eval.Request) bool {
	for _, args := range req.Cmds {
		switch lowerName(args[0]) {
		case "keys", "scan", "dbsize", "randomkey", "flushdb", "flushall", "swapdb":
			return true
		}
	}
	return false
}

func (e *evaluator) drain() {
	for e.applied.Load() < e.seq {
		select {
		case <-e.quit:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// round evaluates calls and proposes their effects as one entry, or as
// several when a call needs the pipeline drained or is a replication entry
// of its own.
func (e *evaluator) round(calls []*call) {
	var effects []storage.Effect
	start := 0
	for i, c := range calls {
		own := c.sys != nil && c.sys.kind != entryLocal
		if (own || needsDrain(c.req)) && i > start {
			// Propose what came before.
			effects = e.evalAll(calls[start:i], effects)
			e.propose(calls[start:i], effects, false)
			effects, start = nil, i
		}
		if own {
			e.proposeSys(c, i == len(calls)-1)
			start = i + 1
			continue
		}
		if needsDrain(c.req) {
			e.drain()
		}
	}
	if start == len(calls) {
		return
	}
	effects = e.evalAll(calls[start:], effects)
	e.propose(calls[start:], effects, true)
	// A flush is applied before anything after it is evaluated.
	for _, c := range calls[start:] {
		if needsDrain(c.req) {
			e.drain()
			break
		}
	}
}

// proposeSys proposes a replication entry of its own (not a heartbeat).
// A merged batch is staged in the overlay if the FSM will apply it, and
// moves the clock past its stamps (the HLC receive rule) so that commands
// evaluated on top of it stamp later.
func (e *evaluator) proposeSys(c *call, slot bool) {
	sc := c.sys
	var data []byte
	e.fence.seq++
	switch sc.kind {
	case entryRemote:
		b := sc.batch
		var maxTS hlc.Timestamp
		for i := range b.Effects {
			maxTS = hlc.Max(maxTS, b.Effects[i].TS)
		}
		e.g.clock.Update(maxTS)
		g := e.g
		g.fsm.mu.RLock()
		e.ov.base = g.fsm.mu.store
		e.ov.prune(e.applied.Load())
		stage := b.Effects
		if b.State {
			stable := g.fsm.mu.repl.stable
			stage = nil
			for i := range b.Effects {
				if stable.Less(b.Effects[i].TS) {
					stage = append(stage, b.Effects[i])
				}
			}
		} else {
			expect := g.fsm.mu.repl.applied[b.Origin].Index
			if p, ok := e.remotes[b.Origin]; ok && p.seq > e.applied.Load() {
				expect = p.last
			}
			if b.First-1 != expect {
				stage = nil // the FSM will skip it
			} else {
				e.remotes[b.Origin] = pendingRemote{last: b.Last, seq: e.seq + 1}
			}
		}
		e.ov.stage(e.seq+1, stage)
		g.fsm.mu.RUnlock()
		data = encodeRemoteEntry(e.fence, b)
	case entryStable:
		data = encodeStableEntry(e.fence, sc.stamp, sc.retain, sc.marks)
	case entryLinks:
		data = encodeLinksEntry(e.fence, sc.links)
	}
	e.proposeEntry([]*call{c}, data, slot)
}

func (e *evaluator) evalAll(calls []*call, effects []storage.Effect) []storage.Effect {
	g := e.g
	g.fsm.mu.RLock()
	defer g.fsm.mu.RUnlock()
	e.ov.base = g.fsm.mu.store
	e.ov.prune(e.applied.Load())
	e.ov.now = g.clock.PhysicalNow()
	e.frontier = g.fsm.mu.repl.evalFrontier()
	for _, c := range calls {
		if c.sys != nil {
			continue // a heartbeat: its stamp is taken at proposal
		}
		c.db = c.req.DB
		c.w.Proto = c.proto
		ctx := &eval.Ctx{R: e.ov.reader(), DB: c.req.DB, W: &c.w, Clock: g.clock, Rand: e.rand, MaxBulk: g.cfg.MaxBulk}
		if c.expire != nil {
			// GetForWrite turns a still-expired key into a delete.
			ctx.DB = c.expire.db
			ctx.GetForWrite([]byte(c.expire.key))
			if n := len(ctx.Effects()); n > 0 {
				e.ov.stage(e.seq+1, ctx.Effects())
				effects = append(effects, ctx.Effects()...)
			}
			continue
		}
		if c.req.Multi {
			if !e.watchesHold(c.req.Watches) {
				c.w.NullArray()
				continue
			}
			c.w.Array(len(c.req.Cmds))
		}
		for _, args := range c.req.Cmds {
			ctx.R = e.ov.reader()
			eval.Run(ctx, args)
			// Stage each command's effects so the next command of the
			// same request (MULTI) and every later request read them.
			if n := len(ctx.Effects()); n > 0 {
				e.ov.stage(e.seq+1, ctx.Effects())
				effects = append(effects, ctx.Effects()...)
				ctx.ResetEffects()
			}
		}
		c.db = ctx.DB
	}
	return effects
}

func (e *evaluator) watchesHold(ws []eval.Watch) bool {
	r := e.ov.reader()
	for _, w := range ws {
		if r.Version(w.DB, w.Key) != w.Version {
			return false
		}
		if _, expired := r.GetExpired(w.DB, w.Key); expired && w.Version != 0 {
			return false
		}
	}
	return true
}

// propose sends one batch's effects to Raft as a local entry, or a
// leadership check when there are none (and no heartbeat among the
// calls), and hands the batch to the completer.
func (e *evaluator) propose(calls []*call, effects []storage.Effect, slot bool) {
	if len(calls) == 0 {
		if slot {
			<-e.slots
		}
		return
	}
	heartbeat := false
	for _, c := range calls {
		if c.sys != nil {
			heartbeat = true
		}
	}
	if len(effects) == 0 && !heartbeat {
		// Nothing to write, but the replies read state: make sure we are
		// still the leader (linearizable), after every earlier batch.
		e.proposeEntry(calls, nil, slot)
		return
	}
	var closed hlc.Timestamp
	for i := range effects {
		closed = hlc.Max(closed, effects[i].TS)
	}
	if heartbeat {
		// A stamp past every local stamp so far and before every later
		// one: the closed stamp of an idle region moves.
		closed = hlc.Max(closed, e.g.clock.Now())
	}
	e.fence.seq++
	e.proposeEntry(calls, encodeLocalEntry(e.fence, closed, e.frontier, effects), slot)
}

// proposeEntry proposes data (the next fenced entry), or a leadership
// check if data is nil, for calls.
func (e *evaluator) proposeEntry(calls []*call, data []byte, slot bool) {
	e.seq++
	b := &batch{seq: e.seq, calls: append([]*call(nil), calls...), slot: slot}
	if data != nil {
		b.fut = e.g.raft.Apply(data, e.g.cfg.RequestTimeout)
		e.g.stats.batches.Add(1)
		e.g.stats.batchedReqs.Add(int64(len(calls)))
	} else {
		b.fut = e.g.raft.VerifyLeader()
	}
	select {
	case e.batches <- b:
	case <-e.quit:
		e.finish(b, true)
	}
}

// complete releases replies batch by batch, in proposal order.
func (e *evaluator) complete() {
	for b := range e.batches {
		err := e.wait(b.fut)
		fenced := false
		if af, ok := b.fut.(raft.ApplyFuture); ok && err == nil {
			fenced = af.Response() == errFenced
		}
		failed := err != nil || fenced || e.failed.Load()
		if failed && !e.failed.Swap(true) {
			e.g.log.Warn("proposal failed; later batches are void until the evaluator restarts", "err", err, "fenced", fenced)
		}
		e.finish(b, failed)
		e.applied.Store(b.seq)
		if b.slot {
			<-e.slots
		}
	}
}

// errStopping is the outcome of a future the evaluator stopped waiting
// for.
var errStopping = errors.New("regional: evaluator stopping")

// wait returns a future's error, or errStopping once the evaluator stops:
// hashicorp/raft leaves some futures unanswered at shutdown (a
// VerifyLeader still queued for the leader loop), and the completer must
// not hang on them.
func (e *evaluator) wait(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-e.quit:
		select {
		case err := <-done:
			return err
		case <-time.After(e.g.cfg.RequestTimeout):
			return errStopping
		}
	}
}

func (e *evaluator) finish(b *batch, failed bool) {
	for _, c := range b.calls {
		if failed {
			c.w.Reset()
			c.w.Error(ErrUncertain)
			c.db = c.req.DB
			c.uncertain = true
		}
		close(c.done)
	}
}

// expireLoop proposes deletes for expired keys every 100 ms, as Valkey's
// active expiry does; followers only hide expired keys.
func (e *evaluator) expireLoop() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		var keys [][]byte
		var dbs []int
		e.g.fsm.read(func(s *storage.Store) {
			now := e.g.clock.PhysicalNow()
			for db := range storage.NumDBs {
				for _, k := range s.SampleExpired(db, now, 20) {
					keys = append(keys, []byte(k))
					dbs = append(dbs, db)
				}
			}
		})
		for i, k := range keys {
			c := &call{req: &eval.Request{DB: dbs[i]}, expire: &dbKey{dbs[i], string(k)}, proto: 2, done: make(chan struct{})}
			if !e.submit(c) {
				return
			}
		}
	}
}

func lowerName(b []byte) string {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return string(out)
}
