package interregiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// ErrInjected is the error a Region's injected faults return.
var ErrInjected = errors.New("interregiontest: injected fault")

// Region is an in-memory stand-in for one region's Raft group: a log of
// committed entries over a storage.Store, implementing [interregion.Log],
// [interregion.Heartbeater], [interregion.Applier],
// [interregion.Stabilizer] and [interregion.Exporter] the way regional
// must. It is safe for concurrent use.
type Region struct {
	// ID is the region's id.
	ID uint32

	mu struct {
		sync.Mutex
		store *storage.Store
		// log holds entries first.. of the log; index i is log[i-first].
		log   []interregion.Entry
		first uint64
		// applied is the FSM's record of what it merged of each region.
		applied map[uint32]interregion.Progress
		// lastLocal is the largest stamp of a local entry.
		lastLocal hlc.Timestamp
		// faults, if set, makes ApplyRemote fail at rate failRate, half
		// the time before applying and half after (fate unknown).
		faults   *rand.Rand
		failRate float64
		// clock stamps heartbeats.
		clock *hlc.Clock
		// autoStable applies every frontier to the store at once.
		autoStable bool
		stable     hlc.Timestamp
	}
}

var (
	_ interregion.Log         = (*Region)(nil)
	_ interregion.Heartbeater = (*Region)(nil)
	_ interregion.Applier     = (*Region)(nil)
	_ interregion.Stabilizer  = (*Region)(nil)
	_ interregion.Exporter    = (*Region)(nil)
)

// NewRegion returns an empty region whose heartbeats are stamped by clock
// (see ProposeHeartbeat).
func NewRegion(id uint32, clock *hlc.Clock) *Region {
	g := &Region{ID: id}
	g.mu.store = storage.NewStore()
	g.mu.first = 1
	g.mu.applied = map[uint32]interregion.Progress{}
	g.mu.clock = clock
	return g
}

// InjectFaults makes ApplyRemote fail at the given rate, drawing from a
// generator seeded with seed.
func (g *Region) InjectFaults(seed uint64, rate float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.faults = rand.New(rand.NewPCG(seed, 77))
	g.mu.failRate = rate
}

// AutoStable makes SetStable compact the store at once (a region whose
// stable entries commit at once).
func (g *Region) AutoStable(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.autoStable = on
}

// Write commits a local entry holding effects, which must all be stamped
// by this region, and applies it. It returns the entry's index.
func (g *Region) Write(effects []storage.Effect) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ts hlc.Timestamp
	for _, e := range effects {
		ts = hlc.Max(ts, e.TS)
	}
	return g.appendLocked(interregion.Entry{Origin: g.ID, Stamp: ts, Effects: storage.AppendEffects(nil, effects)}, effects)
}

func (g *Region) appendLocked(e interregion.Entry, effects []storage.Effect) uint64 {
	e.Index = g.mu.first + uint64(len(g.mu.log))
	g.mu.log = append(g.mu.log, e)
	if e.Origin == g.ID {
		g.mu.lastLocal = hlc.Max(g.mu.lastLocal, e.Stamp)
	}
	g.mu.store.Apply(e.Index, effects)
	return e.Index
}

// WriteNow commits a local entry whose effects build makes with a fresh
// stamp of the region's clock (which first moves past every stamp the store
// holds, as an evaluator's does), and returns its index.
func (g *Region) WriteNow(build func(ts hlc.Timestamp) []storage.Effect) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.clock.Update(g.mu.store.LastStamp())
	ts := g.mu.clock.Now()
	effects := build(ts)
	return g.appendLocked(interregion.Entry{Origin: g.ID, Stamp: ts, Effects: storage.AppendEffects(nil, effects)}, effects)
}

// ProposeHeartbeat commits a local entry with no effects and a fresh stamp
// from the region's clock. A region made without a clock (its writes are
// stamped elsewhere, and a later write may carry a smaller stamp than the
// clock's) stamps heartbeats with its largest local stamp, which keeps
// local stamps growing along the log.
func (g *Region) ProposeHeartbeat(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	ts := g.mu.lastLocal
	if g.mu.clock != nil {
		g.mu.clock.Update(g.mu.store.LastStamp())
		ts = g.mu.clock.Now()
	}
	if ts.IsZero() {
		return errors.New("interregiontest: nothing to stamp a heartbeat with")
	}
	g.appendLocked(interregion.Entry{Origin: g.ID, Stamp: ts}, nil)
	return nil
}

// LastIndex returns the last index of the log.
func (g *Region) LastIndex() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mu.first + uint64(len(g.mu.log)) - 1
}

// Compact drops the log's entries up to index upto, as a Raft snapshot
// does.
func (g *Region) Compact(upto uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	last := g.mu.first + uint64(len(g.mu.log)) - 1
	upto = min(upto, last)
	if upto < g.mu.first {
		return
	}
	g.mu.log = append([]interregion.Entry(nil), g.mu.log[upto+1-g.mu.first:]...)
	g.mu.first = upto + 1
}

// ReadCommitted implements [interregion.Log].
func (g *Region) ReadCommitted(from uint64, max int) ([]interregion.Entry, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if from < g.mu.first {
		return nil, fmt.Errorf("interregiontest: region %d read from %d, first index %d: %w", g.ID, from, g.mu.first, interregion.ErrCompacted)
	}
	i := from - g.mu.first
	if i >= uint64(len(g.mu.log)) {
		return nil, nil
	}
	end := min(uint64(len(g.mu.log)), i+uint64(max))
	return append([]interregion.Entry(nil), g.mu.log[i:end]...), nil
}

// ApplyRemote implements [interregion.Applier]: the batch becomes an entry
// of the log (of no local origin) and is merged as regional's FSM merges
// it.
func (g *Region) ApplyRemote(ctx context.Context, b interregion.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	fault := 0
	if g.mu.faults != nil && g.mu.faults.Float64() < g.mu.failRate {
		fault = 1 + g.mu.faults.IntN(2)
	}
	if fault == 1 {
		return fmt.Errorf("region %d: batch from %d not applied: %w", g.ID, b.Origin, ErrInjected)
	}
	index := g.mu.first + uint64(len(g.mu.log))
	g.mu.log = append(g.mu.log, interregion.Entry{Index: index})
	g.applyLocked(index, b)
	if fault == 2 {
		return fmt.Errorf("region %d: batch from %d applied, reply lost: %w", g.ID, b.Origin, ErrInjected)
	}
	return nil
}

// applyLocked is the FSM's apply of a merged batch.
func (g *Region) applyLocked(index uint64, b interregion.Batch) {
	if b.State {
		g.mu.store.ApplyState(index, b.Effects)
		for _, pr := range b.Raise {
			if pr.Region == g.ID {
				continue
			}
			a := g.mu.applied[pr.Region]
			a.Region = pr.Region
			a.Index = max(a.Index, pr.Index)
			a.Closed = hlc.Max(a.Closed, pr.Closed)
			g.mu.applied[pr.Region] = a
		}
		return
	}
	a := g.mu.applied[b.Origin]
	if a.Index != b.First-1 {
		return // a duplicate, or after a gap: nothing is applied twice
	}
	g.mu.store.Apply(index, b.Effects)
	g.mu.applied[b.Origin] = interregion.Progress{Region: b.Origin, Index: b.Last, Closed: hlc.Max(a.Closed, b.Closed)}
}

// Applied implements [interregion.Applier].
func (g *Region) Applied(origin uint32) interregion.Progress {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.mu.applied[origin]
	a.Region = origin
	return a
}

// SetStable implements [interregion.Stabilizer]: it records the frontier
// and, with AutoStable, moves the store's.
func (g *Region) SetStable(ctx context.Context, ts hlc.Timestamp) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mu.stable = hlc.Max(g.mu.stable, ts)
	if g.mu.autoStable {
		g.mu.store.SetStable(ts)
	}
	return nil
}

// Stable returns the largest frontier SetStable was given.
func (g *Region) Stable() hlc.Timestamp {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mu.stable
}

// Export implements [interregion.Exporter]. Like regional, it exports a
// copy of the store taken under the lock, not the live store, so that
// merging goes on (and two regions exporting to each other do not wait on
// each other's locks).
func (g *Region) Export(ctx context.Context, fn func([]storage.Effect) error) (interregion.State, error) {
	g.mu.Lock()
	st := interregion.State{Index: g.mu.first + uint64(len(g.mu.log)) - 1}
	st.Applied = append(st.Applied, interregion.Progress{Region: g.ID, Index: st.Index, Closed: g.mu.lastLocal})
	for _, a := range g.mu.applied {
		st.Applied = append(st.Applied, a)
	}
	var buf bytes.Buffer
	err := g.mu.store.WriteSnapshot(&buf)
	g.mu.Unlock()
	if err != nil {
		return interregion.State{}, err
	}
	if err := interregion.ExportSnapshot(ctx, buf.Bytes(), fn); err != nil {
		return interregion.State{}, err
	}
	return st, nil
}

// Read runs fn with the region's store under its lock.
func (g *Region) Read(fn func(s *storage.Store)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(g.mu.store)
}

// Digest returns the store's digest.
func (g *Region) Digest() [32]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mu.store.Digest()
}
