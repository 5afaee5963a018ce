package regional

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// LinkConfig configures a node's side of the links between regions
// (package interregion). Every node of a region has one; only the leader
// serves and ships.
type LinkConfig struct {
	// Name is the local region's name.
	Name string
	// Listener is the link (gRPC) port. It is open on every node, and
	// connections reach the link only on the leader: the others close
	// them at once, so that a peer tries its next address.
	Listener net.Listener
	// Token is the region set's shared secret; required.
	Token string
	// TLS, if set, turns on mutual TLS.
	TLS *interregion.TLSFiles
	// MaxClockOffset: remote stamps further ahead of local time are
	// counted and logged (and merged anyway); zero means 500 ms.
	MaxClockOffset time.Duration
	// RetainEntries bounds how many log entries (back from the last) a
	// node keeps for peer regions that have not applied them, beyond what
	// raft keeps anyway (TrailingLogs); a peer further behind gets a state
	// transfer. Zero means 1,000,000.
	RetainEntries uint64
	// Registry receives the link's metrics; nil means none.
	Registry prometheus.Registerer
	// TickInterval is the link's tick; zero means 100 ms. HeartbeatTicks
	// is how many idle ticks make the leader write a heartbeat entry (so
	// that an idle region does not hold back tombstone GC); zero means 10.
	TickInterval   time.Duration
	HeartbeatTicks int
	// Dialer, if set, makes the connections to peers (tests).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
}

func (c *LinkConfig) setDefaults() {
	if c.RetainEntries == 0 {
		c.RetainEntries = 1_000_000
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = 10
	}
}

// Link errors.
var (
	// ErrNoLinks is returned by link changes on a node configured without
	// a link port.
	ErrNoLinks = errors.New("regional: this node has no link port configured")
	// ErrUnknownLink is returned by RemoveLink for a region that is not
	// linked.
	ErrUnknownLink = errors.New("regional: no link to that region")
)

// links is a node's share of replication between regions: the link gate
// on every node, and the interregion.Link while this node leads.
type links struct {
	g    *Group
	cfg  LinkConfig
	gate *linkGate
	kick chan struct{}
	// lag observes, for each batch merged here, how old its oldest write
	// is: from the origin's stamp (taken when the command ran there) to
	// the merge here.
	lag prometheus.Histogram
	// conflicts counts merged writes that met a conflicting write, by kind.
	conflicts *prometheus.CounterVec

	mu struct {
		sync.Mutex
		link  *interregion.Link
		specs []LinkSpec // the peers link was made for
		reg   *trackingRegistry
	}
}

func newLinks(g *Group, cfg LinkConfig) *links {
	cfg.setDefaults()
	l := &links{g: g, cfg: cfg, kick: make(chan struct{}, 1)}
	l.lag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "meridian", Subsystem: "interregion", Name: "replication_lag_seconds",
		Help:    "Age of the oldest write of each batch merged from a peer region, from its stamp in the origin to its merge here.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 1.25, 50),
	})
	l.conflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "meridian", Subsystem: "interregion", Name: "conflicts_total",
		Help: "Writes merged from a peer region that met a conflicting write here, resolved by the stamps: kind=type (the key holds another type; the newer write wins), kind=value (the string holds a newer value; the merged one loses).",
	}, []string{"kind"})
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{l.lag, l.conflicts} {
			if err := cfg.Registry.Register(c); err != nil {
				g.log.Warn("cannot register a replication metric", "err", err)
			}
		}
	}
	l.gate = newLinkGate(cfg.Listener)
	return l
}

// poke asks the loop to bring the running link in line with leadership
// and the recorded peers. It never blocks.
func (l *links) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// loop starts and stops the link as leadership and peers change; it
// returns when done closes.
func (l *links) loop(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			l.stop()
			return
		case <-l.kick:
		case <-t.C:
		}
		l.sync()
	}
}

// sync makes the running link match: one for the recorded peers while
// this node is a ready leader and there are peers, none otherwise.
func (l *links) sync() {
	var want []LinkSpec
	if l.g.IsReadyLeader() {
		want = l.g.Links()
	}
	l.mu.Lock()
	same := l.mu.link != nil && slices.EqualFunc(want, l.mu.specs, specEqual)
	l.mu.Unlock()
	if same || (len(want) == 0 && l.current() == nil) {
		return
	}
	l.stop()
	if len(want) == 0 {
		return
	}
	if err := l.start(want); err != nil {
		l.g.log.Error("cannot start the link to peer regions", "err", err)
	}
}

func specEqual(a, b LinkSpec) bool {
	return a.Name == b.Name && a.ID == b.ID && slices.Equal(a.Addrs, b.Addrs)
}

func (l *links) current() *interregion.Link {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.link
}

func (l *links) start(specs []LinkSpec) error {
	cfg := interregion.DefaultConfig()
	cfg.Region = l.g.cfg.Region
	cfg.Name = l.cfg.Name
	for _, s := range specs {
		cfg.Peers = append(cfg.Peers, interregion.Peer{ID: s.ID, Name: s.Name, Addrs: s.Addrs})
	}
	adapter := &regionLink{g: l.g, l: l}
	cfg.Log, cfg.Applier, cfg.Exporter = adapter, adapter, adapter
	cfg.Token, cfg.TLS = l.cfg.Token, l.cfg.TLS
	if l.cfg.MaxClockOffset > 0 {
		cfg.MaxClockOffset = l.cfg.MaxClockOffset
	}
	if l.cfg.TickInterval > 0 {
		cfg.TickInterval = l.cfg.TickInterval
	}
	cfg.HeartbeatTicks = l.cfg.HeartbeatTicks
	cfg.Dialer = l.cfg.Dialer
	cfg.Logger = l.g.log.With("component", "interregion")
	var reg *trackingRegistry
	if l.cfg.Registry != nil {
		reg = &trackingRegistry{inner: l.cfg.Registry}
		cfg.Registry = reg
	}
	link, err := interregion.NewLink(cfg)
	if err != nil {
		reg.release()
		return err
	}
	lis := l.gate.open()
	go func() {
		if err := link.Serve(lis); err != nil && !errors.Is(err, interregion.ErrClosed) {
			l.g.log.Warn("link server stopped", "err", err)
		}
	}()
	l.mu.Lock()
	l.mu.link, l.mu.specs, l.mu.reg = link, specs, reg
	l.mu.Unlock()
	l.g.log.Info("link to peer regions started", "peers", len(specs))
	return nil
}

func (l *links) stop() {
	l.mu.Lock()
	link, reg := l.mu.link, l.mu.reg
	l.mu.link, l.mu.specs, l.mu.reg = nil, nil, nil
	l.mu.Unlock()
	if link == nil {
		return
	}
	l.gate.shut()
	link.Close()
	reg.release()
	l.g.log.Info("link to peer regions stopped")
}

// notify tells a running link that entries up to index are applied.
func (l *links) notify(index uint64) {
	if link := l.current(); link != nil {
		link.Notify(index)
	}
}

// retainingStore keeps the log entries peer regions still need: it clamps
// raft's compaction (a DeleteRange of the log's head, which never reaches
// the last index; a conflict truncation does and passes untouched) so that
// it stops below the lowest local index a peer has not applied, as the
// latest stable entry records it, within RetainEntries of the last index.
// A peer further behind gets a state transfer.
type retainingStore struct {
	raft.LogStore
	g *Group
}

func (s *retainingStore) DeleteRange(lo, hi uint64) error {
	last, err := s.LogStore.LastIndex()
	if err != nil {
		return err
	}
	if hi < last {
		if keep := s.g.links.keepFrom(last); keep > 0 && hi >= keep {
			hi = keep - 1
		}
	}
	if hi < lo {
		return nil
	}
	return s.LogStore.DeleteRange(lo, hi)
}

// keepFrom returns the lowest log index to keep for peers, 0 for none.
func (l *links) keepFrom(last uint64) uint64 {
	g := l.g
	var need uint64
	var linked bool
	g.fsm.read(func(*storage.Store) {
		need, linked = g.fsm.mu.repl.retain, len(g.fsm.mu.repl.links) > 0
	})
	if !linked {
		return 0
	}
	if need == 0 {
		need = 1 // no peer has reported yet: keep what the bound allows
	}
	if last > l.cfg.RetainEntries && need < last-l.cfg.RetainEntries+1 {
		need = last - l.cfg.RetainEntries + 1
	}
	return need
}

// close stops the link and the gate.
func (l *links) close() {
	l.stop()
	l.gate.close()
}

// trackingRegistry registers a link's collectors in the node's registry
// and unregisters them when the link stops, so that the next link (after a
// leadership change) can register its own.
type trackingRegistry struct {
	inner prometheus.Registerer
	mu    sync.Mutex
	cs    []prometheus.Collector
}

func (r *trackingRegistry) Register(c prometheus.Collector) error {
	if err := r.inner.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
	return nil
}

func (r *trackingRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *trackingRegistry) Unregister(c prometheus.Collector) bool { return r.inner.Unregister(c) }

func (r *trackingRegistry) release() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cs {
		r.inner.Unregister(c)
	}
	r.cs = nil
}

// linkGate owns the link port: it accepts every connection and hands it to
// the open link listener, or closes it when there is none.
type linkGate struct {
	lis net.Listener
	mu  sync.Mutex
	cur *gateListener
	wg  sync.WaitGroup
}

func newLinkGate(lis net.Listener) *linkGate {
	g := &linkGate{lis: lis}
	g.wg.Go(g.accept)
	return g
}

func (g *linkGate) accept() {
	for {
		c, err := g.lis.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		g.mu.Lock()
		cur := g.cur
		g.mu.Unlock()
		if cur == nil {
			c.Close()
			continue
		}
		select {
		case cur.ch <- c:
		case <-cur.done:
			c.Close()
		}
	}
}

// open returns a new listener that receives the port's connections.
func (g *linkGate) open() net.Listener {
	gl := &gateListener{ch: make(chan net.Conn), done: make(chan struct{}), addr: g.lis.Addr()}
	g.mu.Lock()
	g.cur = gl
	g.mu.Unlock()
	return gl
}

// shut stops handing connections to the open listener.
func (g *linkGate) shut() {
	g.mu.Lock()
	cur := g.cur
	g.cur = nil
	g.mu.Unlock()
	if cur != nil {
		cur.Close()
	}
}

func (g *linkGate) close() {
	g.shut()
	g.lis.Close()
	g.wg.Wait()
}

type gateListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func (l *gateListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *gateListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *gateListener) Addr() net.Addr { return l.addr }

// regionLink is the region as package interregion sees it: its committed
// log, its merging, its state.
type regionLink struct {
	g *Group
	l *links
}

var (
	_ interregion.Log         = (*regionLink)(nil)
	_ interregion.Heartbeater = (*regionLink)(nil)
	_ interregion.Applier     = (*regionLink)(nil)
	_ interregion.Stabilizer  = (*regionLink)(nil)
	_ interregion.Exporter    = (*regionLink)(nil)
)

// ReadCommitted implements interregion.Log over the Raft log store, up to
// the applied index (so that the fence's verdict on each entry is known).
func (r *regionLink) ReadCommitted(from uint64, maxN int) ([]interregion.Entry, error) {
	g := r.g
	if from == 0 {
		from = 1
	}
	applied := g.fsm.Applied()
	if from > applied {
		return nil, nil
	}
	first, err := g.logs.FirstIndex()
	if err != nil {
		return nil, err
	}
	if first == 0 || from < first {
		return nil, fmt.Errorf("regional: log read from %d, first index %d: %w", from, first, interregion.ErrCompacted)
	}
	var fenced []uint64
	g.fsm.read(func(*storage.Store) { fenced = slices.Clone(g.fsm.mu.repl.fenced) })
	to := min(applied, from+uint64(maxN)-1)
	out := make([]interregion.Entry, 0, to-from+1)
	for i := from; i <= to; i++ {
		// A fresh Log each time: the store decodes into the Log's byte
		// slices, and the entries returned keep theirs.
		var l raft.Log
		if err := g.logs.GetLog(i, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				return nil, fmt.Errorf("regional: log entry %d: %w", i, interregion.ErrCompacted)
			}
			return nil, err
		}
		en := interregion.Entry{Index: i}
		if l.Type == raft.LogCommand && len(l.Data) >= 2 && (l.Data[1] == entryLocal || l.Data[1] == entryEffects) {
			if _, skip := slices.BinarySearch(fenced, i); !skip {
				e, err := decodeEntry(l.Data)
				if err != nil {
					return nil, fmt.Errorf("regional: log entry %d: %w", i, err)
				}
				en.Origin, en.Stamp, en.Effects, en.Frontier = g.cfg.Region, e.stamp, e.raw, e.frontier
			}
		}
		out = append(out, en)
	}
	return out, nil
}

// propose runs a replication entry through the evaluator and waits until
// it is applied here (or has failed).
func (r *regionLink) propose(ctx context.Context, sc *sysCall) error {
	ev := r.g.ev.Load()
	if ev == nil {
		return ErrNotLeader
	}
	c := &call{sys: sc, req: &eval.Request{}, proto: 2, done: make(chan struct{})}
	if !ev.submit(c) {
		return ErrNotLeader
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	switch {
	case c.notRun:
		return ErrNotLeader
	case c.uncertain:
		return errors.New("regional: replication entry's outcome is unknown (leadership changed)")
	}
	return nil
}

// ProposeHeartbeat implements interregion.Heartbeater.
func (r *regionLink) ProposeHeartbeat(ctx context.Context) error {
	return r.propose(ctx, &sysCall{kind: entryLocal})
}

// ApplyRemote implements interregion.Applier.
func (r *regionLink) ApplyRemote(ctx context.Context, b interregion.Batch) error {
	if err := r.propose(ctx, &sysCall{kind: entryRemote, batch: &b}); err != nil {
		return err
	}
	if !b.State && len(b.Effects) > 0 {
		oldest := b.Effects[0].TS.Wall
		for i := range b.Effects {
			oldest = min(oldest, b.Effects[i].TS.Wall)
		}
		r.l.lag.Observe(max(0, float64(r.g.clock.PhysicalNow()-oldest)/1000))
	}
	return nil
}

// Applied implements interregion.Applier.
func (r *regionLink) Applied(origin uint32) interregion.Progress {
	var p interregion.Progress
	r.g.fsm.read(func(*storage.Store) { p = r.g.fsm.mu.repl.applied[origin] })
	p.Region = origin
	return p
}

// SetStable implements interregion.Stabilizer: the frontier goes through
// the log with the lowest local index a peer still needs, and what the
// link holds of each peer (for the list frontier, see replState).
func (r *regionLink) SetStable(ctx context.Context, ts hlc.Timestamp) error {
	var retain uint64
	var marks []peerMark
	if link := r.l.current(); link != nil {
		for _, p := range link.Status() {
			if need := p.Acked + 1; retain == 0 || need < retain {
				retain = need
			}
			marks = append(marks, peerMark{region: p.ID, settled: p.Settled, frontier: p.Frontier})
		}
	}
	return r.propose(ctx, &sysCall{kind: entryStable, stamp: ts, retain: retain, marks: marks})
}

// Export implements interregion.Exporter from a frozen view of the store
// (storage.Store.Freeze) taken under the FSM's read lock and encoded after
// it, while the FSM goes on applying.
func (r *regionLink) Export(ctx context.Context, fn func([]storage.Effect) error) (interregion.State, error) {
	g := r.g
	var (
		st     interregion.State
		frozen *storage.Frozen
	)
	g.fsm.read(func(s *storage.Store) {
		rs := &g.fsm.mu.repl
		st.Index = max(g.fsm.mu.index, s.Index())
		st.Applied = append(st.Applied, interregion.Progress{Region: g.cfg.Region, Index: st.Index, Closed: rs.localClosed})
		for _, p := range rs.applied {
			st.Applied = append(st.Applied, p)
		}
		frozen = s.Freeze()
	})
	var buf bytes.Buffer
	err := frozen.WriteSnapshot(&buf)
	frozen.Release()
	if err != nil {
		return interregion.State{}, err
	}
	if err := interregion.ExportSnapshot(ctx, buf.Bytes(), fn); err != nil {
		return interregion.State{}, err
	}
	return st, nil
}

// Links returns the peer regions the region records, by ascending id.
func (g *Group) Links() []LinkSpec {
	var out []LinkSpec
	g.fsm.read(func(*storage.Store) { out = slices.Clone(g.fsm.mu.repl.links) })
	return out
}

// AddLink records a peer region (or changes its name or addresses); every
// node learns it through the log, and the leader starts shipping to it.
// It must run on the leader (ErrNotLeader otherwise).
func (g *Group) AddLink(ctx context.Context, spec LinkSpec) error {
	if g.links == nil {
		return ErrNoLinks
	}
	switch {
	case spec.Name == "":
		return errors.New("regional: a link needs the peer region's name")
	case spec.ID == 0:
		return errors.New("regional: a link needs the peer region's id (> 0)")
	case spec.ID == g.cfg.Region:
		return fmt.Errorf("regional: region id %d is this region's own", spec.ID)
	case len(spec.Addrs) == 0:
		return errors.New("regional: a link needs at least one address of the peer region")
	}
	next := []LinkSpec{}
	for _, l := range g.Links() {
		if l.ID == spec.ID || l.Name == spec.Name {
			if l.ID != spec.ID || l.Name != spec.Name {
				return fmt.Errorf("regional: region %q (id %d) is linked already; unlink it first", l.Name, l.ID)
			}
			continue
		}
		next = append(next, l)
	}
	next = append(next, spec)
	slices.SortFunc(next, func(a, b LinkSpec) int { return int(a.ID) - int(b.ID) })
	return g.setLinks(ctx, next)
}

// RemoveLink forgets a peer region by name: shipping to it stops, and
// what was merged from it stays. It must run on the leader.
func (g *Group) RemoveLink(ctx context.Context, name string) error {
	if g.links == nil {
		return ErrNoLinks
	}
	cur := g.Links()
	next := slices.DeleteFunc(slices.Clone(cur), func(l LinkSpec) bool { return l.Name == name })
	if len(next) == len(cur) {
		return fmt.Errorf("%w %q", ErrUnknownLink, name)
	}
	return g.setLinks(ctx, next)
}

func (g *Group) setLinks(ctx context.Context, links []LinkSpec) error {
	if g.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	r := &regionLink{g: g, l: g.links}
	if err := r.propose(ctx, &sysCall{kind: entryLinks, links: links}); err != nil {
		return err
	}
	g.links.poke()
	return nil
}

// LinkStatus is what a node knows of the link to one peer region.
type LinkStatus struct {
	LinkSpec
	// Active is set on the node that runs the link (the leader).
	Active bool `json:"active"`
	// Connected: the link to the peer is up (Active only).
	Connected bool `json:"connected"`
	// Acked is what the peer has durably applied of this region's log;
	// Sent the last index shipped to it (Active only).
	Acked uint64 `json:"acked"`
	Sent  uint64 `json:"sent"`
	// LagEntries is how many indexes of this region's log the peer has
	// not acknowledged (Active only).
	LagEntries uint64 `json:"lag_entries"`
	// Applied is what this region has merged of the peer's log, and
	// AppliedStamp the peer's closed stamp there.
	Applied      uint64 `json:"applied"`
	AppliedStamp string `json:"applied_stamp"`
	// LagSeconds is how old the peer's newest write merged here is (the
	// peer writes heartbeats when idle, so on the leader it stays near the
	// heartbeat interval when the link is healthy; followers see only
	// merged writes); -1 if nothing was merged yet.
	LagSeconds float64 `json:"lag_seconds"`
	// NeedState: the peer must catch up by state transfer.
	NeedState bool `json:"need_state"`
}

// LinkStatus returns the status of the link to every peer region.
func (g *Group) LinkStatus() []LinkStatus {
	var (
		specs   []LinkSpec
		applied map[uint32]interregion.Progress
		local   uint64
	)
	g.fsm.read(func(*storage.Store) {
		rs := &g.fsm.mu.repl
		specs, local = slices.Clone(rs.links), rs.localIndex
		applied = make(map[uint32]interregion.Progress, len(rs.applied))
		for k, v := range rs.applied {
			applied[k] = v
		}
	})
	var peers map[uint32]interregion.PeerStatus
	if g.links != nil {
		if link := g.links.current(); link != nil {
			peers = map[uint32]interregion.PeerStatus{}
			for _, p := range link.Status() {
				peers[p.ID] = p
			}
		}
	}
	now := g.clock.PhysicalNow()
	out := make([]LinkStatus, 0, len(specs))
	for _, s := range specs {
		ls := LinkStatus{LinkSpec: s, LagSeconds: -1}
		if p, ok := peers[s.ID]; ok && p.Applied.Index > applied[s.ID].Index {
			// The link counts runs of the peer's log with no effects
			// (heartbeats) as applied without writing them to the log:
			// its view is the more recent.
			applied[s.ID] = p.Applied
		}
		if a, ok := applied[s.ID]; ok {
			ls.Applied = a.Index
			if !a.Closed.IsZero() {
				ls.AppliedStamp = a.Closed.String()
				ls.LagSeconds = max(0, float64(now-a.Closed.Wall)/1000)
			}
		}
		if p, ok := peers[s.ID]; ok {
			ls.Active, ls.Connected, ls.Acked, ls.Sent, ls.NeedState = true, p.Connected, p.Acked, p.Sent, p.NeedState
			if local > p.Acked {
				ls.LagEntries = local - p.Acked
			}
		}
		out = append(out, ls)
	}
	return out
}

// LinkAddr returns the link port's address, or "" without one.
func (g *Group) LinkAddr() string {
	if g.links == nil {
		return ""
	}
	return g.links.cfg.Listener.Addr().String()
}

// countConflicts counts the effects of a batch about to merge that conflict
// with what r holds: a key of another type (the newer write wins), or a
// string written later (the merged write loses). Element-level losses
// inside hashes, sets and lists are not counted.
func (l *links) countConflicts(r storage.Reader, effects []storage.Effect) {
	var typ, val int
	for i := range effects {
		f := &effects[i]
		k := storage.OpKind(f.Op)
		if k == storage.KindNone {
			continue
		}
		o, _ := r.GetExpired(f.DB, f.Key)
		if o == nil {
			continue
		}
		switch {
		case o.Kind() != k:
			typ++
		case f.Op == storage.OpSet && o.Kind() == storage.KindString && f.TS.Less(o.Str().Stamp()):
			val++
		}
	}
	if typ > 0 {
		l.conflicts.WithLabelValues("type").Add(float64(typ))
	}
	if val > 0 {
		l.conflicts.WithLabelValues("value").Add(float64(val))
	}
}
