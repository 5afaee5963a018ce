package regional

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// ErrExistingState is returned by Bootstrap when the node already has Raft
// state: a region is formed once, from nodes that have never been part of
// one.
var ErrExistingState = errors.New("regional: node already has raft state")

// Group is one node of a region: a hashicorp/raft member whose FSM is the
// store, plus the leader-side evaluator, the read fence and request
// forwarding. It implements server.Executor.
type Group struct {
	cfg   Config
	log   *slog.Logger
	clock *hlc.Clock
	fsm   *fsm
	raft  *raft.Raft
	trans raft.Transport
	mux   *mux
	logs  raft.LogStore
	bolt  interface{ Close() error }
	// guard is the on-disk log store's stall guard (nil in memory).
	guard *stallGuard
	fwd   *forwarder
	// links is the node's share of replication between regions, nil
	// without Config.Link.
	links *links

	// ev is the evaluator while this node is a ready leader, else nil.
	ev atomic.Pointer[evaluator]
	// readyCh is closed when ev is set; replaced on every leadership change.
	mu struct {
		sync.Mutex
		readyCh chan struct{}
	}
	reads *readFence

	// onPublish delivers a pub/sub message to this node's clients and
	// returns how many received it (set by the composition root).
	onPublish atomic.Pointer[func(ch, msg []byte) int]

	stats groupStats
	done  chan struct{}
	wg    sync.WaitGroup
	// watching is done when watchLeadership has returned (and with it
	// the evaluator); shutdown waits for it before stopping Raft.
	watching sync.WaitGroup
	close    sync.Once
}

type groupStats struct {
	batches     atomic.Int64 // log entries proposed by the evaluator
	batchedReqs atomic.Int64 // requests in those entries
	stalls      atomic.Int64
	fsyncNanos  atomic.Int64
	fsyncs      atomic.Int64
}

// Open starts this node's Raft group member, restoring its state from
// DataDir. A node with no state waits to be bootstrapped or joined.
func Open(cfg Config) (*Group, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Group{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}
	g.mu.readyCh = make(chan struct{})
	g.clock = hlc.NewClock(cfg.Wall, cfg.Region, cfg.Node)
	g.fsm = newFSM(g.clock, g.log)
	g.reads = newReadFence(g)

	var (
		stable raft.StableStore
		snaps  raft.SnapshotStore
		err    error
	)
	if cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		g.logs, stable = mem, mem
		if cfg.WrapLogStore != nil {
			g.logs = cfg.WrapLogStore(mem)
		}
		snaps = raft.NewInmemSnapshotStore()
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("regional: data dir: %w", err)
		}
		bolt, err := openBolt(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if cfg.NoSync {
			bolt.Close()
			return nil, errors.New("regional: NoSync is not supported with raft-boltdb/v2 here")
		}
		g.bolt = bolt
		if err := verifyLog(bolt); err != nil {
			bolt.Close()
			return nil, fmt.Errorf("%w (refusing to start: restore this node's data dir from a snapshot or remove it and re-join)", err)
		}
		// Closed through the guard (hashicorp/raft#717, closeguard.go).
		guarded := newClosingStable(bolt, bolt)
		g.bolt, stable = guarded, guarded
		snaps, err = raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, newHclog(g.log.With("component", "snapshots")))
		if err != nil {
			bolt.Close()
			return nil, fmt.Errorf("regional: snapshot store: %w", err)
		}
		var inner raft.LogStore = bolt
		if cfg.WrapLogStore != nil {
			inner = cfg.WrapLogStore(inner)
		}
		guard := &stallGuard{LogStore: inner, timeout: cfg.StallTimeout,
			onStall: func() {
				g.stats.stalls.Add(1)
				g.log.Error("log store write stalled; stepping down", "timeout", cfg.StallTimeout)
			},
			latency: func(d time.Duration) {
				g.stats.fsyncNanos.Add(int64(d))
				g.stats.fsyncs.Add(1)
			}}
		cache, err := raft.NewLogCache(1024, guard)
		if err != nil {
			bolt.Close()
			return nil, err
		}
		g.logs = cache
		g.guard = guard
	}

	g.trans = cfg.Transport
	if g.trans == nil {
		g.mux = newMux(cfg.Listener)
		adv := cfg.Advertise
		if adv == "" {
			adv = cfg.Listener.Addr().String()
		}
		layer := &layer{m: g.mux, ch: g.mux.raftCh, proto: muxRaft}
		g.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream:          &advertised{layer, adv},
			MaxPool:         3,
			Timeout:         10 * time.Second,
			Logger:          newHclog(g.log.With("component", "transport")),
			MaxRPCsInFlight: 2,
		})
	}
	g.fwd = newForwarder(g, cfg.Network)
	var fwdLn net.Listener
	if g.mux == nil && cfg.Network != nil {
		if fwdLn, err = cfg.Network.Listen(); err != nil {
			g.closeStores()
			return nil, fmt.Errorf("regional: forwarding listener: %w", err)
		}
	}
	if cfg.Link != nil {
		g.logs = &retainingStore{LogStore: g.logs, g: g}
		g.links = newLinks(g, *cfg.Link)
		g.fsm.countConflicts = g.links.countConflicts
		g.fsm.onApplied = func(index uint64) {
			if g.fsm.linksChanged.Swap(false) {
				g.links.poke()
			}
			g.links.notify(index)
		}
	}

	var trans raft.Transport = g.trans
	if _, ok := g.trans.(raft.WithPreVote); ok && g.guard != nil {
		trans = &campaignGate{Transport: g.trans, stalled: g.guard.isStalled}
	}
	g.raft, err = raft.NewRaft(cfg.raftConfig(), g.fsm, g.logs, stable, snaps, trans)
	if err != nil {
		if g.links != nil {
			g.links.gate.close()
		}
		if fwdLn != nil {
			fwdLn.Close()
		}
		g.closeStores()
		return nil, fmt.Errorf("regional: start raft (a corrupt snapshot or log refuses to load): %w", err)
	}
	if g.links != nil {
		g.wg.Go(func() { g.links.loop(g.done) })
	}
	g.watching.Go(g.watchLeadership)
	if g.mux != nil {
		g.wg.Go(func() { g.fwd.serve(&layer{m: g.mux, ch: g.mux.fwdCh, proto: muxForward}) })
	} else if fwdLn != nil {
		g.wg.Go(func() { g.fwd.serve(fwdLn) })
	}
	return g, nil
}

// advertised makes a StreamLayer report the advertised address.
type advertised struct {
	*layer
	addr string
}

func (a *advertised) Addr() net.Addr { return netAddr(a.addr) }

// Bootstrap forms a new region from servers (this node among them). It
// fails with ErrExistingState if this node has any Raft state.
func (g *Group) Bootstrap(servers []raft.Server) error {
	f := g.raft.BootstrapCluster(raft.Configuration{Servers: servers})
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrCantBootstrap) {
			return ErrExistingState
		}
		return fmt.Errorf("regional: bootstrap: %w", err)
	}
	return nil
}

// BootstrapSelf forms a one-node region of this node (development).
func (g *Group) BootstrapSelf() error {
	return g.Bootstrap([]raft.Server{{ID: raft.ServerID(g.cfg.NodeID), Address: g.trans.LocalAddr()}})
}

// HasState reports whether the node has Raft state (it was bootstrapped or
// joined before).
func (g *Group) HasState() bool {
	return g.raft.LastIndex() > 0
}

// watchLeadership starts the evaluator when this node becomes leader (after
// a barrier has applied its whole log, so its clock is past every committed
// stamp) and stops it when leadership is lost.
func (g *Group) watchLeadership() {
	ch := g.raft.LeaderCh()
	for {
		select {
		case <-g.done:
			g.stopEvaluator()
			return
		case leader := <-ch:
			if leader {
				g.becomeLeader()
			} else {
				g.stopEvaluator()
			}
		}
	}
}

func (g *Group) becomeLeader() {
	if err := g.raft.Barrier(g.cfg.RequestTimeout).Error(); err != nil {
		g.log.Warn("barrier after election failed", "err", err)
		return
	}
	// The barrier went through the FSM goroutine after every entry before
	// it, so the store now holds the whole log (noops included). raft's
	// main loop advances AppliedIndex only after it has handed the batch
	// to the FSM goroutine, which may answer the barrier first: wait for
	// AppliedIndex to cover the commit index (the barrier's index or more)
	// so that the read fence, which waits for the commit index, is not
	// left waiting for a noop or barrier the FSM never sees.
	target := g.raft.CommitIndex()
	for deadline := time.Now().Add(g.cfg.RequestTimeout); g.raft.AppliedIndex() < target && time.Now().Before(deadline); {
		select {
		case <-g.done:
			return
		case <-time.After(time.Millisecond):
		}
	}
	g.fsm.setApplied(g.raft.AppliedIndex())
	g.clock.Update(g.storeLastStamp())
	ev := newEvaluator(g)
	g.ev.Store(ev)
	ev.start()
	ev.wg.Go(func() { g.promoteLoop(ev.quit) })
	g.mu.Lock()
	close(g.mu.readyCh)
	g.mu.Unlock()
	if g.links != nil {
		g.links.poke()
	}
	g.log.Info("leader ready", "node", g.cfg.NodeID, "term", g.raft.CurrentTerm())
}

func (g *Group) stopEvaluator() {
	ev := g.ev.Swap(nil)
	if ev == nil {
		return
	}
	g.mu.Lock()
	g.mu.readyCh = make(chan struct{})
	g.mu.Unlock()
	if g.links != nil {
		g.links.poke()
	}
	ev.stop()
}

func (g *Group) storeLastStamp() hlc.Timestamp {
	var ts hlc.Timestamp
	g.fsm.read(func(s *storage.Store) { ts = s.LastStamp() })
	return ts
}

// readyChan returns a channel closed once this node is a ready leader.
func (g *Group) readyChan() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mu.readyCh
}

// Close shuts the node down: leadership is transferred first when this
// node leads (so a planned stop costs no election timeout).
func (g *Group) Close() error { return g.shutdown(true) }

// Kill shuts the node down without handing leadership over: to the other
// nodes it looks like a crash (tests; the data dir stays as a crash
// leaves it, minus the process's unsynced writes, of which there are none).
func (g *Group) Kill() error { return g.shutdown(false) }

func (g *Group) shutdown(transfer bool) error {
	var err error
	g.close.Do(func() {
		if transfer && g.raft.State() == raft.Leader && g.numVoters() > 1 {
			if terr := g.raft.LeadershipTransfer().Error(); terr != nil {
				g.log.Warn("leadership transfer before shutdown failed", "err", terr)
			}
		}
		close(g.done)
		// Stop the leader's work (post-election barrier, evaluator,
		// promotions) while Raft still runs, so that every future it
		// waits for is answered: hashicorp/raft leaves a request still
		// queued for its main loop unanswered at shutdown
		// (hashicorp/raft#498), which would hang Close. Bounded, in case
		// something else holds it up: stopping Raft answers most futures.
		watched := make(chan struct{})
		go func() { g.watching.Wait(); close(watched) }()
		select {
		case <-watched:
		case <-time.After(g.cfg.RequestTimeout):
			g.log.Error("leader work did not stop within the request timeout; stopping raft anyway")
		}
		// hashicorp/raft's shutdown waits for its goroutines; do not let a
		// stuck one (seen rarely in tests) hang the process's shutdown.
		sd := make(chan error, 1)
		go func() { sd <- g.raft.Shutdown().Error() }()
		select {
		case err = <-sd:
		case <-time.After(10 * time.Second):
			err = errors.New("regional: raft shutdown did not finish within 10s")
			g.log.Error("raft shutdown is stuck; closing anyway")
		}
		g.fwd.close()
		if g.mux != nil {
			g.mux.Close()
		}
		if c, ok := g.trans.(interface{ Close() error }); ok {
			c.Close()
		}
		g.wg.Wait()
		<-watched
		if g.links != nil {
			g.links.close()
		}
		g.closeStores()
	})
	return err
}

func (g *Group) closeStores() {
	if g.bolt != nil {
		g.bolt.Close()
	}
}

func (g *Group) numVoters() int {
	f := g.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

// IsReadyLeader reports whether this node leads and serves (its
// post-election barrier is done).
func (g *Group) IsReadyLeader() bool { return g.ev.Load() != nil }

// Snapshot takes a snapshot now and compacts the log behind it.
func (g *Group) Snapshot() error { return g.raft.Snapshot().Error() }

// TransferLeadership hands leadership to another voter.
func (g *Group) TransferLeadership() error { return g.raft.LeadershipTransfer().Error() }

// SetPublishHandler sets how messages published on other nodes reach this
// node's subscribers.
func (g *Group) SetPublishHandler(fn func(ch, msg []byte) int) { g.onPublish.Store(&fn) }

// Publish sends a message published on this node to every other member
// of the region and returns how many of their clients received it. Pub/sub
// is fire-and-forget, as in Valkey: an unreachable node misses it.
func (g *Group) Publish(ch, msg []byte) int {
	ms, err := g.Members()
	if err != nil {
		return 0
	}
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, m := range ms {
		if m.ID == g.cfg.NodeID {
			continue
		}
		wg.Go(func() {
			if n, err := g.fwd.publish(raft.ServerAddress(m.Address), ch, msg); err == nil {
				total.Add(int64(n))
			}
		})
	}
	wg.Wait()
	return int(total.Load())
}
