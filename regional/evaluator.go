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
	// marks maps the fence of each entry proposed and not yet known
	// applied to its batch (run goroutine), oldest first; syncBase uses it
	// to tell exactly which batches the applied store holds.
	marks []fenceMark
	// baseSeq is the last batch the applied store holds (run goroutine).
	baseSeq uint64
	// ctx is reused by evalAll for every client call; effects is the
	// round's effects buffer (run goroutine).
	ctx     eval.Ctx
	effects []storage.Effect
	// frontier is the evaluation frontier of the calls evalAll ran last
	// (see interregion.Entry.Frontier), taken before it read anything.
	frontier hlc.Timestamp
	// slots holds a token per round in flight (group commit): while one
	// is, arriving calls wait in `in` and go out together in the next
	// round, so load makes entries bigger instead of more numerous (see
	// admit). Only the run goroutine adds tokens; release takes them
	// back and signals freed.
	slots chan struct{}
	freed chan struct{}
	// cohort is what admit knows of the calls whose replies were released
	// last: how many (n), when, and how many calls had arrived by then.
	// The completer sets it, admit consumes it.
	cohort struct {
		sync.Mutex
		n, arrived int64
		at         time.Time
	}
	// arrivals counts client calls submitted.
	arrivals atomic.Int64
	// mergeSkip is how many rounds admit still starts without waiting
	// for a cohort, after one did not come back in time (run goroutine).
	mergeSkip int
	// mergeTimer is admit's reusable timer (run goroutine).
	mergeTimer *time.Timer
	wg         sync.WaitGroup
	once       sync.Once
}

// fenceMark ties an entry's fence seq to its batch.
type fenceMark struct{ fence, batch uint64 }

// syncBase points the overlay at the applied store, under the FSM's read
// lock, with the last batch it holds: from the FSM's last fence, which
// moves with every evaluator entry applied (e.applied moves later, once
// the completer has seen the future).
func (e *evaluator) syncBase() {
	f := e.g.fsm
	if last := f.mu.last; last.epoch == e.fence.epoch {
		n := 0
		for n < len(e.marks) && e.marks[n].fence <= last.seq {
			e.baseSeq = max(e.baseSeq, e.marks[n].batch)
			n++
		}
		if n > 0 {
			e.marks = append(e.marks[:0], e.marks[n:]...)
		}
	}
	e.baseSeq = max(e.baseSeq, e.applied.Load())
	e.ov.base = f.mu.store
	e.ov.baseSeq = e.baseSeq
}

// reset starts a new epoch after a failed proposal, once every earlier
// batch has completed: the overlay is rebuilt from the applied store.
func (e *evaluator) reset() {
	e.ov = newOverlay()
	e.fence = fence{epoch: newEpoch()}
	e.marks = e.marks[:0]
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
		freed:   make(chan struct{}, 1),
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
	if c.client() {
		e.arrivals.Add(1)
	}
	select {
	case e.in <- c:
		return true
	case <-e.quit:
		return false
	}
}

// client reports whether c is a client's request (not an expiry check or
// a replication entry).
func (c *call) client() bool { return c.sys == nil && c.expire == nil }

// Group commit. Every log entry costs a round of fixed work on every node,
// whatever its size: a bolt transaction with two fdatasyncs, an
// AppendEntries RPC, an FSM batch. So the evaluator makes few, big
// entries:
//
//   - One round is in flight at a time. A second one may start while the
//     first is replicated only with a full batch (MaxBatch calls) waiting:
//     then evaluating it meanwhile pays for the extra entry. Two smaller
//     rounds in flight cost more than they save: the second one's local
//     append holds up raft's leader loop (hashicorp/raft stores on the
//     leader before it replicates, in that loop), which then handles the
//     first one's commit late; the second one's evaluation holds the FSM's
//     read lock while the first one wants to apply; and every node pays
//     for two entries instead of one.
//   - When a round's replies are released, their clients usually send
//     their next requests at once: the next round waits for most of them
//     (up to mergeWait after the release) instead of leaving with whoever
//     happened to be queued, which splits the clients into cohorts that
//     take turns, each paying a full round. A cohort that does not come
//     back in time turns the wait off for mergeSkipRounds rounds (clients
//     that think between requests), and a lone client never waits.
const (
	// maxInflight is how many rounds may wait for Raft at once.
	maxInflight = 2
	// mergeWait bounds how long after a release the next round waits for
	// the released clients.
	mergeWait = time.Millisecond
	// mergeSkipRounds is how many rounds start without waiting after a
	// wait timed out.
	mergeSkipRounds = 8
)

// admit gathers the calls of the next round into calls (which holds the
// first one) and takes a slot for it. It returns false when the evaluator
// stops; it has refused the calls gathered then.
func (e *evaluator) admit(calls []*call) ([]*call, bool) {
	limit := e.g.cfg.MaxBatch
	for {
		n := len(e.slots)
		if n == 0 || n < maxInflight && len(calls) >= limit {
			e.slots <- struct{}{} // never blocks: only this goroutine adds
			break
		}
		in := e.in
		if len(calls) >= limit {
			in = nil
		}
		select {
		case c := <-in:
			calls = append(calls, c)
		case <-e.freed:
		case <-e.quit:
			for _, c := range calls {
				c.refuse()
			}
			return calls, false
		}
	}
	calls = e.take(calls, limit)
	if len(e.slots) > 1 {
		return calls, true // the other round's replies are not out yet
	}
	e.cohort.Lock()
	n, arrived, at := e.cohort.n, e.cohort.arrived, e.cohort.at
	e.cohort.n = 0
	e.cohort.Unlock()
	if e.mergeSkip > 0 {
		e.mergeSkip--
		return calls, true
	}
	need := arrived + n*9/10
	wait := mergeWait - time.Since(at)
	if n == 0 || len(calls) >= limit || e.arrivals.Load() >= need || wait <= 0 {
		return calls, true
	}
	if e.mergeTimer == nil {
		e.mergeTimer = time.NewTimer(wait)
	} else {
		e.mergeTimer.Reset(wait)
	}
	defer e.mergeTimer.Stop()
	for len(calls) < limit && e.arrivals.Load() < need {
		select {
		case c := <-e.in:
			calls = append(calls, c)
		case <-e.mergeTimer.C:
			e.mergeSkip = mergeSkipRounds
			return e.take(calls, limit), true
		case <-e.quit:
			return calls, true // the round runs; stop refuses the rest
		}
	}
	return e.take(calls, limit), true
}

// take appends the calls already queued, up to limit in all.
func (e *evaluator) take(calls []*call, limit int) []*call {
	for len(calls) < limit {
		select {
		case c := <-e.in:
			calls = append(calls, c)
		default:
			return calls
		}
	}
	return calls
}

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
		var ok bool
		if calls, ok = e.admit(calls); !ok {
			return
		}
		if e.failed.Load() {
			if e.applied.Load() < e.seq {
				for _, c := range calls {
					c.refuse()
				}
				e.release()
				continue
			}
			e.reset()
		}
		e.round(calls)
		// The slot is handed back by the completer when the round's last
		// batch completes (see propose).
	}
}

// release hands a slot back.
func (e *evaluator) release() {
	<-e.slots
	select {
	case e.freed <- struct{}{}:
	default:
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
	effects := e.effects[:0]
	defer func() {
		clear(effects) // they hold requests' bytes
		e.effects = effects[:0]
	}()
	start := 0
	for i, c := range calls {
		own := c.sys != nil && c.sys.kind != entryLocal
		if (own || needsDrain(c.req)) && i > start {
			// Propose what came before.
			effects = e.evalAll(calls[start:i], effects)
			e.propose(calls[start:i], effects, false)
			effects, start = effects[:0], i
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
		e.syncBase()
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
	e.syncBase()
	e.ov.prune(e.applied.Load())
	e.ov.now = g.clock.PhysicalNow()
	e.frontier = g.fsm.mu.repl.evalFrontier()
	ctx := &e.ctx
	defer ctx.ResetEffects()
	// Most replies are short (+OK, :n): carve their buffers out of one
	// allocation per batch. A call's reply is read once it completes,
	// by then nothing else writes to its part.
	replies := make([]byte, len(calls)*replySlot)
	for i, c := range calls {
		if c.sys == nil {
			c.w.UseBuffer(replies[i*replySlot : i*replySlot : (i+1)*replySlot])
		}
	}
	for _, c := range calls {
		if c.sys != nil {
			continue // a heartbeat: its stamp is taken at proposal
		}
		c.db = c.req.DB
		c.w.Proto = c.proto
		// One Ctx for every call (eval.Run starts each command with a
		// fresh stamp); its effects are copied out after each command.
		ctx.R, ctx.DB, ctx.W, ctx.Clock, ctx.Rand, ctx.MaxBulk = e.ov.reader(), c.req.DB, &c.w, g.clock, e.rand, g.cfg.MaxBulk
		ctx.ResetEffects()
		if c.expire != nil {
			if g.fsm.linkedLocked() {
				continue // linked: stable entries expire keys (fsm.linkedLocked)
			}
			// A Ctx of its own: GetForWrite stamps without eval.Run.
			ctx := &eval.Ctx{R: e.ov.reader(), DB: c.expire.db, W: &c.w, Clock: g.clock, Rand: e.rand, MaxBulk: g.cfg.MaxBulk}
			// GetForWrite turns a still-expired key into a delete.
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

// replySlot is the room evalAll gives each call's reply.
const replySlot = 16

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
			e.release()
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
		e.marks = append(e.marks, fenceMark{fence: e.fence.seq, batch: e.seq})
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
		if n := countClients(b.calls); n > 0 {
			e.cohort.Lock()
			if e.cohort.n == 0 {
				// The first release since admit last looked: count
				// arrivals, and time the wait, from here.
				e.cohort.arrived = e.arrivals.Load()
				e.cohort.at = time.Now()
			}
			e.cohort.n += n
			e.cohort.Unlock()
		}
		e.finish(b, failed)
		e.applied.Store(b.seq)
		if b.slot {
			e.release()
		}
	}
}

func countClients(calls []*call) int64 {
	var n int64
	for _, c := range calls {
		if c.client() {
			n++
		}
	}
	return n
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
// active expiry does; followers only hide expired keys. A linked region
// proposes none: its stable entries expire keys at causal stability
// (storage.Store.ExpireStable), so that a TTL change another region made
// before the deadline is not deleted with the key.
func (e *evaluator) expireLoop() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case <-t.C:
		}
		if e.g.fsm.linked() {
			continue // linked: stable entries expire keys (fsm.linkedLocked)
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
