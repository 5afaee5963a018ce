// Package nemesis injects faults on a schedule drawn from a printed seed:
// partitions (majority/minority halves, an isolated leader, one-way),
// kill -9 and restart, pause and resume, clock skew, rolling restarts,
// and (the [RegionKinds]) membership churn and disk stalls.
// Faults run one at a time: a fault window, then a quiet window in which
// every fault is healed, as Jepsen's standard schedules do.
//
// Usage:
//
//	plan := nemesis.NewPlan(seed, nemesis.PlanConfig{Kinds: nemesis.AllKinds, Nodes: nodes, Duration: time.Minute})
//	t.Log(plan)                                   // the seed and every step: reproduce with the seed
//	n := nemesis.New(env, rec.Origin())           // env: the network and processes (see Env)
//	n.Run(ctx, plan)                              // blocks until the plan ends or ctx ends
//	n.HealAll(ctx)                                // heal everything still broken
//	timeline := n.Timeline()                      // what was done, when, and what failed
//
// A plan is pure data: the same seed, kinds and nodes give the same plan.
// Targets named "leader" are resolved when the step runs, and so are
// nodes replaced by membership churn: a step aimed at a node that has
// left the region acts on the node that took its place ([Nemesis.Route]).
package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The fault kinds.
const (
	// PartitionHalves splits the nodes into a random majority and minority.
	PartitionHalves Kind = "partition-halves"
	// IsolateLeader cuts the current leader from every other node.
	IsolateLeader Kind = "isolate-leader"
	// PartitionOneWay drops packets from one random group to the rest.
	PartitionOneWay Kind = "partition-one-way"
	// Kill sends SIGKILL to a node (the leader half the time) and starts
	// it again when the window ends.
	Kill Kind = "kill"
	// Pause sends SIGSTOP to a node (the leader half the time) and
	// SIGCONT when the window ends.
	Pause Kind = "pause"
	// ClockSkew moves one node's clock by up to ±MaxSkew, and back when the
	// window ends.
	ClockSkew Kind = "clock-skew"
	// RollingRestart stops and restarts every node in turn (SIGTERM),
	// waiting for each to serve again.
	RollingRestart Kind = "rolling-restart"
	// MembershipChurn removes a follower for good (`meridian region
	// leave`) and adds a fresh node with a never-used id (`region join`)
	// in its place. It needs spare nodes (PlanConfig.Spares) and an
	// Env.Processes that implements [Membership].
	MembershipChurn Kind = "membership"
	// DiskStall blocks every Raft log write of one node (the leader at
	// the first stall of a plan, then a follower and the leader in
	// turn) until the window ends, through the faultinject hook
	// MERIDIAN_FAULT_DISK_STALL_FILE. A stalled leader must step down
	// (regional.Config.StallTimeout, 5 s) and the region keep serving;
	// if it is still the leader when the window ends, the timeline
	// records an anomaly. Its window is at least DiskStallHold. Needs an
	// Env.Processes that implements [Disks].
	DiskStall Kind = "disk-stall"
)

// DiskStallHold is the shortest window of a DiskStall step: the
// product's StallTimeout (5 s) plus an election, with room to serve
// under the new leader.
const DiskStallHold = 10 * time.Second

// AllKinds lists the kinds every workload runs under in the matrix, in
// a fixed order; "all" means these.
var AllKinds = []Kind{PartitionHalves, IsolateLeader, PartitionOneWay, Kill, Pause, ClockSkew, RollingRestart}

// RegionKinds are the faults of membership and disks. They are slower
// (a join waits for catch-up; a stall outlasts StallTimeout) and need
// more of the environment (spare nodes, a faultinject binary with the
// disk hook wired), so they are named explicitly, not part of "all".
var RegionKinds = []Kind{MembershipChurn, DiskStall}

// ParseKinds parses a comma-separated list of kinds; "all" means
// AllKinds and "none" or "" means no faults. RegionKinds must be named.
func ParseKinds(s string) ([]Kind, error) {
	switch s {
	case "all":
		return slices.Clone(AllKinds), nil
	case "", "none":
		return nil, nil
	}
	var out []Kind
	for f := range strings.SplitSeq(s, ",") {
		k := Kind(strings.TrimSpace(f))
		if !slices.Contains(AllKinds, k) && !slices.Contains(RegionKinds, k) {
			return nil, fmt.Errorf("nemesis: unknown fault kind %q (want %v, %v, all or none)", k, AllKinds, RegionKinds)
		}
		out = append(out, k)
	}
	return out, nil
}

// Leader is the target name resolved to the current leader when a step runs.
const Leader = "leader"

// Step is one fault of a plan.
type Step struct {
	// At is when the fault starts, from the start of the run.
	At time.Duration `json:"at"`
	// Hold is how long it lasts before it is healed.
	Hold time.Duration `json:"hold"`
	Kind Kind          `json:"kind"`
	// A and B are the node groups: the target (A) and, for partitions,
	// the other side (B). A may be [Leader].
	A []string `json:"a,omitempty"`
	B []string `json:"b,omitempty"`
	// Skew is the clock offset of a ClockSkew step.
	Skew time.Duration `json:"skew,omitempty"`
	// Beyond, if not zero, is the offset a two-region ClockSkew step
	// moves the clock to halfway through its window: past the links'
	// max-clock-offset, where Skew stays within it (see [NewLinkPlan]).
	Beyond time.Duration `json:"beyond,omitempty"`
}

// isLink reports whether s is a step of a two-region plan
// ([NewLinkPlan]): a [LinkKinds] kind, and for ClockSkew (a kind of
// both plans) a step naming a region in A and its target in B.
func (s Step) isLink() bool {
	if s.Kind == ClockSkew {
		return len(s.B) > 0
	}
	return slices.Contains(LinkKinds, s.Kind)
}

func (s Step) String() string {
	out := fmt.Sprintf("%7.1fs +%4.1fs %-17s", s.At.Seconds(), s.Hold.Seconds(), s.Kind)
	switch s.Kind {
	case PartitionHalves:
		out += fmt.Sprintf(" %v | %v", s.A, s.B)
	case PartitionOneWay:
		out += fmt.Sprintf(" %v -/-> %v", s.A, s.B)
	case ClockSkew:
		if s.isLink() {
			out += fmt.Sprintf(" %s of %v %+v", s.B[0], s.A, s.Skew)
			if s.Beyond != 0 {
				out += fmt.Sprintf(", then %+v", s.Beyond)
			}
		} else {
			out += fmt.Sprintf(" %v %+v", s.A, s.Skew)
		}
	case MembershipChurn:
		out += fmt.Sprintf(" a follower of %v -> %v", s.A, s.B)
	default:
		if len(s.A) > 0 {
			out += fmt.Sprintf(" %v", s.A)
		}
	}
	return out
}

// PlanConfig shapes a plan.
type PlanConfig struct {
	// Kinds to draw from; empty means no faults.
	Kinds []Kind
	// Nodes of the region.
	Nodes []string
	// Duration is the length of the run; no fault starts after
	// Duration - Hold.
	Duration time.Duration
	// Hold is each fault's length; zero means 5 s.
	Hold time.Duration
	// Quiet is the healed gap after each fault; zero means 3 s.
	Quiet time.Duration
	// Warmup is the fault-free start; zero means 2 s.
	Warmup time.Duration
	// MaxSkew bounds clock skew; zero means 5 s.
	MaxSkew time.Duration
	// Spares are nodes not in the region at the start, each used at most
	// once by a MembershipChurn step (ids are never reused). When none
	// is left, churn is not drawn.
	Spares []string
	// Cycle takes the kinds in turn, from a first one drawn from the
	// seed, instead of drawing each step's kind: a short run with as many
	// steps as kinds has every kind once.
	Cycle bool
}

// Plan is a seeded fault schedule.
type Plan struct {
	Seed  uint64 `json:"seed"`
	Steps []Step `json:"steps"`
}

// defaultTimes fills a plan's zero fault length, healed gap and
// fault-free start: 5 s, 3 s and 2 s.
func defaultTimes(hold, quiet, warmup *time.Duration) {
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{{hold, 5 * time.Second}, {quiet, 3 * time.Second}, {warmup, 2 * time.Second}} {
		if *d.p == 0 {
			*d.p = d.def
		}
	}
}

// NewPlan draws a schedule from seed. Each step's kind is drawn
// uniformly from cfg.Kinds.
func NewPlan(seed uint64, cfg PlanConfig) Plan {
	defaultTimes(&cfg.Hold, &cfg.Quiet, &cfg.Warmup)
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = 5 * time.Second
	}
	p := Plan{Seed: seed}
	if len(cfg.Kinds) == 0 || len(cfg.Nodes) == 0 {
		return p
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e656d65736973)) // "nemesis"
	nodes := slices.Clone(cfg.Nodes)
	spares := slices.Clone(cfg.Spares)
	stalls := 0
	next := 0 // Cycle: the next kind's index in cfg.Kinds
	if cfg.Cycle {
		next = rng.IntN(len(cfg.Kinds))
	}
	for at := cfg.Warmup; ; {
		kinds := cfg.Kinds
		if len(spares) == 0 {
			kinds = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool { return k == MembershipChurn })
		}
		if len(kinds) == 0 {
			break
		}
		s := Step{At: at, Hold: cfg.Hold}
		if cfg.Cycle {
			for s.Kind == "" || !slices.Contains(kinds, s.Kind) {
				s.Kind = cfg.Kinds[next%len(cfg.Kinds)]
				next++
			}
		} else {
			s.Kind = kinds[rng.IntN(len(kinds))]
		}
		if s.Kind == DiskStall {
			s.Hold = max(s.Hold, DiskStallHold)
		}
		if at+s.Hold > cfg.Duration {
			break
		}
		at += s.Hold + cfg.Quiet
		rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		switch s.Kind {
		case PartitionHalves:
			minority := len(nodes) / 2
			if minority == 0 {
				minority = 1 // one node: cut it from nobody (a no-op kept for uniformity)
			}
			s.A, s.B = sorted(nodes[:minority]), sorted(nodes[minority:])
		case IsolateLeader:
			s.A = []string{Leader}
		case PartitionOneWay:
			k := 1 + rng.IntN(max(1, len(nodes)-1))
			s.A, s.B = sorted(nodes[:k]), sorted(nodes[k:])
		case Kill, Pause:
			s.A = []string{nodes[0]}
			if rng.IntN(2) == 0 {
				s.A = []string{Leader}
			}
		case ClockSkew:
			s.A = []string{nodes[0]}
			s.Skew = time.Duration(rng.Int64N(int64(2*cfg.MaxSkew))) - cfg.MaxSkew
			s.Skew = s.Skew.Truncate(time.Millisecond)
		case RollingRestart:
			s.A = slices.Clone(cfg.Nodes)
		case MembershipChurn:
			// A: the candidates to remove, in order (the first that is
			// not the leader when the step runs); B: the fresh node.
			s.A = slices.Clone(nodes)
			s.B = []string{spares[0]}
			spares = spares[1:]
		case DiskStall:
			// The first stall of a plan hits the leader (the case that
			// must fail over), later ones alternate with a follower.
			s.A = []string{Leader}
			if stalls%2 == 1 {
				s.A = []string{nodes[0]}
			}
			stalls++
		}
		p.Steps = append(p.Steps, s)
	}
	return p
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// String prints the seed and the steps, one a line.
func (p Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nemesis seed %d, %d faults\n", p.Seed, len(p.Steps))
	for _, s := range p.Steps {
		b.WriteString("  " + s.String() + "\n")
	}
	return b.String()
}

// MaxSkew returns the largest clock offset, either way, that p's
// ClockSkew steps set (zero if none).
func (p Plan) MaxSkew() time.Duration {
	var m time.Duration
	for _, s := range p.Steps {
		if s.Kind == ClockSkew {
			m = max(m, s.Skew.Abs(), s.Beyond.Abs())
		}
	}
	return m
}

// Kinds returns how many steps of each kind p has.
func (p Plan) Kinds() map[Kind]int {
	m := make(map[Kind]int)
	for _, s := range p.Steps {
		m[s.Kind]++
	}
	return m
}

// Network is the part of the environment that partitions.
// *netns.Network implements it.
type Network interface {
	Partition(ctx context.Context, a, b []string) error
	PartitionOneWay(ctx context.Context, from, to []string) error
	Heal(ctx context.Context) error
}

// Processes is the part of the environment that runs nodes.
// *cluster.Cluster implements it.
type Processes interface {
	Kill(node string) error
	Start(ctx context.Context, node string) error
	Stop(ctx context.Context, node string) error
	Pause(node string) error
	Resume(node string) error
	SetClockOffset(node string, d time.Duration) error
}

// Env is what a nemesis acts on.
type Env struct {
	Network   Network
	Processes Processes
	// Nodes are the node names.
	Nodes []string
	// Leader returns the current leader; nil means faults aimed at the
	// leader pick the first node.
	Leader func(ctx context.Context) (string, error)
	// Ready waits until node serves again after a restart; nil means
	// don't wait.
	Ready func(ctx context.Context, node string) error
	// LeaderOf returns the leader among nodes (one region of several);
	// nil means [KillRegionLeader] steps are skipped.
	LeaderOf func(ctx context.Context, nodes []string) (string, error)
}

// Event is one line of the timeline.
type Event struct {
	// At is the time since the run's origin.
	At    time.Duration `json:"at"`
	Kind  Kind          `json:"kind"`
	Phase string        `json:"phase"` // "start", "end", "heal-all"
	Nodes []string      `json:"nodes,omitempty"`
	What  string        `json:"what"`
	Err   string        `json:"err,omitempty"`
	// Anomaly is a misbehaviour of the system under test that the
	// nemesis itself saw (a stalled leader that did not step down), as
	// opposed to Err, a fault the harness could not apply.
	Anomaly string `json:"anomaly,omitempty"`
}

func (e Event) String() string {
	s := fmt.Sprintf("%8.2fs %-17s %-5s %s", e.At.Seconds(), e.Kind, e.Phase, e.What)
	if e.Err != "" {
		s += "  ERROR: " + e.Err
	}
	if e.Anomaly != "" {
		s += "  ANOMALY: " + e.Anomaly
	}
	return s
}

// Nemesis runs plans against an Env and keeps the timeline.
type Nemesis struct {
	env    Env
	origin time.Time

	mu struct {
		sync.Mutex
		events  []Event
		killed  map[string]bool
		paused  map[string]bool
		skewed  map[string]bool
		stalled map[string]bool
		started int
		// replaced maps a node removed by churn to the node that took
		// its place; members is the region now, in order.
		replaced map[string]string
		members  []string
	}
}

// New returns a nemesis acting on env, timing events from origin (the
// history recorder's origin, so both line up).
func New(env Env, origin time.Time) *Nemesis {
	n := &Nemesis{env: env, origin: origin}
	n.mu.killed = make(map[string]bool)
	n.mu.paused = make(map[string]bool)
	n.mu.skewed = make(map[string]bool)
	n.mu.stalled = make(map[string]bool)
	n.mu.replaced = make(map[string]string)
	n.mu.members = slices.Clone(env.Nodes)
	return n
}

// Route returns the node now serving in node's place: node itself, or
// the node that replaced it (transitively) after membership churn.
// Clients use it to follow their node's replacement.
func (n *Nemesis) Route(node string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.routeLocked(node)
}

func (n *Nemesis) routeLocked(node string) string {
	for {
		r, ok := n.mu.replaced[node]
		if !ok {
			return node
		}
		node = r
	}
}

// Members returns the region's members now (Env.Nodes after churn).
func (n *Nemesis) Members() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.mu.members)
}

// Timeline returns the events so far.
func (n *Nemesis) Timeline() []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.mu.events)
}

// Faults returns the number of faults started.
func (n *Nemesis) Faults() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.started
}

func (n *Nemesis) record(k Kind, phase string, nodes []string, what string, err error) {
	n.recordEvent(Event{Kind: k, Phase: phase, Nodes: nodes, What: what}, err)
}

func (n *Nemesis) recordEvent(e Event, err error) {
	e.At = time.Since(n.origin)
	if err != nil {
		e.Err = err.Error()
	}
	n.mu.Lock()
	n.mu.events = append(n.mu.events, e)
	if e.Phase == "start" {
		n.mu.started++
	}
	n.mu.Unlock()
}

// Run executes p's steps at their times (relative to the origin) until
// the plan ends or ctx ends; every fault is healed at the end of its
// window. Errors are recorded in the timeline, not returned: a fault
// that could not be applied is a harness problem the report shows.
func (n *Nemesis) Run(ctx context.Context, p Plan) {
	for _, s := range p.Steps {
		if !sleepUntil(ctx, n.origin.Add(s.At)) {
			return
		}
		n.apply(ctx, s)
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

func (n *Nemesis) resolve(ctx context.Context, nodes []string) ([]string, error) {
	out := slices.Clone(nodes)
	for i, nd := range out {
		if nd != Leader {
			out[i] = n.Route(nd)
			continue
		}
		if n.env.Leader == nil {
			out[i] = n.Members()[0]
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		l, err := n.env.Leader(lctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("nemesis: find leader: %w", err)
		}
		out[i] = l
	}
	return out, nil
}

func (n *Nemesis) others(nodes []string) []string {
	return slices.DeleteFunc(n.Members(), func(s string) bool { return slices.Contains(nodes, s) })
}

// apply runs one step: the fault, its window, its healing.
func (n *Nemesis) apply(ctx context.Context, s Step) {
	if s.isLink() {
		n.applyLink(ctx, s)
		return
	}
	a, err := n.resolve(ctx, s.A)
	if err != nil {
		n.record(s.Kind, "start", nil, "skipped", err)
		return
	}
	b, _ := n.resolve(ctx, s.B)
	switch s.Kind {
	case PartitionHalves, IsolateLeader, PartitionOneWay:
		if n.env.Network == nil {
			n.record(s.Kind, "start", a, "skipped", errors.New("nemesis: no network to partition"))
			return
		}
	}
	var heal func(context.Context) error
	var what string
	switch s.Kind {
	case PartitionHalves:
		what = fmt.Sprintf("partition %v | %v", a, b)
		err = n.env.Network.Partition(ctx, a, b)
		heal = n.env.Network.Heal
	case IsolateLeader:
		b = n.others(a)
		what = fmt.Sprintf("isolate leader %v from %v", a, b)
		err = n.env.Network.Partition(ctx, a, b)
		heal = n.env.Network.Heal
	case PartitionOneWay:
		what = fmt.Sprintf("one-way partition %v -/-> %v", a, b)
		err = n.env.Network.PartitionOneWay(ctx, a, b)
		heal = n.env.Network.Heal
	case Kill:
		what = fmt.Sprintf("kill -9 %v", a)
		err = n.env.Processes.Kill(a[0])
		n.mark(n.mu.killed, a[0], err == nil)
		heal = func(ctx context.Context) error { return n.restart(ctx, a[0]) }
	case Pause:
		what = fmt.Sprintf("pause %v", a)
		err = n.env.Processes.Pause(a[0])
		n.mark(n.mu.paused, a[0], err == nil)
		heal = func(context.Context) error {
			n.mark(n.mu.paused, a[0], false)
			return n.env.Processes.Resume(a[0])
		}
	case ClockSkew:
		what = fmt.Sprintf("clock of %v %+v", a, s.Skew)
		err = n.env.Processes.SetClockOffset(a[0], s.Skew)
		n.mark(n.mu.skewed, a[0], err == nil)
		heal = func(context.Context) error {
			n.mark(n.mu.skewed, a[0], false)
			return n.env.Processes.SetClockOffset(a[0], 0)
		}
	case RollingRestart:
		what = fmt.Sprintf("rolling restart %v", a)
		n.record(s.Kind, "start", a, what, nil)
		var errs []error
		for _, nd := range a {
			errs = append(errs, n.env.Processes.Stop(ctx, nd), n.restart(ctx, nd))
		}
		n.record(s.Kind, "end", a, what, errors.Join(errs...))
		return
	case MembershipChurn:
		n.churn(ctx, s, a, s.B[0])
		return
	case DiskStall:
		n.stall(ctx, s, a[0])
		return
	default:
		n.record(s.Kind, "start", a, "unknown kind", errors.New("nemesis: unknown kind"))
		return
	}
	n.record(s.Kind, "start", append(slices.Clone(a), b...), what, err)
	if err != nil {
		return
	}
	sleepUntil(ctx, time.Now().Add(s.Hold))
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	n.record(s.Kind, "end", append(slices.Clone(a), b...), "heal: "+what, heal(hctx))
}

func (n *Nemesis) mark(m map[string]bool, node string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if on {
		m[node] = true
	} else {
		delete(m, node)
	}
}

func (n *Nemesis) restart(ctx context.Context, node string) error {
	n.mark(n.mu.killed, node, false)
	if err := n.env.Processes.Start(ctx, node); err != nil {
		return err
	}
	if n.env.Ready != nil {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return n.env.Ready(rctx, node)
	}
	return nil
}

// HealAll undoes every fault that may still be in force: heals the
// network, resumes paused nodes, restarts killed ones and resets skewed
// clocks. Call it after Run, even when Run was cut short.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	paused, killed, skewed, stalled := keys(n.mu.paused), keys(n.mu.killed), keys(n.mu.skewed), keys(n.mu.stalled)
	n.mu.Unlock()
	var errs []error
	if n.env.Network != nil {
		errs = append(errs, n.env.Network.Heal(ctx))
	}
	for _, nd := range paused {
		n.mark(n.mu.paused, nd, false)
		errs = append(errs, n.env.Processes.Resume(nd))
	}
	for _, nd := range killed {
		errs = append(errs, n.restart(ctx, nd))
	}
	for _, nd := range skewed {
		n.mark(n.mu.skewed, nd, false)
		errs = append(errs, n.env.Processes.SetClockOffset(nd, 0))
	}
	if d, ok := n.env.Processes.(Disks); ok {
		for _, nd := range stalled {
			n.mark(n.mu.stalled, nd, false)
			errs = append(errs, d.SetDiskStall(nd, false))
		}
	}
	err := errors.Join(errs...)
	n.record("", "heal-all", nil, fmt.Sprintf("heal network; resume %v; restart %v; reset clocks %v; unstall disks %v", paused, killed, skewed, stalled), err)
	return err
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
