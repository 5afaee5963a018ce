package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// The faults of linked regions ([LinkKinds]). Their steps name the
// regions by their nodes: A is one region, B the other.
const (
	// LinkCut drops every packet between the nodes of region A and the
	// nodes of region B, both ways, for the window: the inter-region
	// link is down while each region keeps its own quorum.
	LinkCut Kind = "link-cut"
	// KillRegionLeader sends SIGKILL to the leader of region A (the
	// leader runs the region's links) and starts it again when the
	// window ends. Needs Env.LeaderOf.
	KillRegionLeader Kind = "kill-region-leader"
)

// LinkKinds are the faults of a two-region run, in a fixed order. In a
// two-region plan, [ClockSkew] moves the clock of one node of region A
// (its leader, which stamps the region's writes and ships them, or
// another node): first by an offset within the links' max-clock-offset,
// then, in every other such step, halfway through the window, beyond it
// (remote stamps ahead by more than max-clock-offset are counted and
// logged by the receiving region, and merged anyway); back to zero when
// the window ends.
var LinkKinds = []Kind{LinkCut, KillRegionLeader, RegionKill, ClockSkew}

// DefaultMaxClockOffset is the links' max-clock-offset when the nodes
// are not given --max-clock-offset (ops' default).
const DefaultMaxClockOffset = 500 * time.Millisecond

// WAN names the timeline's lines about the WAN between two regions (the
// delay and loss in force for the whole run, and what they did). It is
// not a fault kind: no plan draws it.
const WAN Kind = "wan"

// ParseLinkKinds parses a comma-separated list of [LinkKinds]; "all"
// means LinkKinds and "none" or "" means no faults.
func ParseLinkKinds(s string) ([]Kind, error) {
	switch s {
	case "all":
		return slices.Clone(LinkKinds), nil
	case "", "none":
		return nil, nil
	}
	var out []Kind
	for f := range strings.SplitSeq(s, ",") {
		k := Kind(strings.TrimSpace(f))
		if !slices.Contains(LinkKinds, k) {
			return nil, fmt.Errorf("nemesis: unknown link fault kind %q (want %v, all or none)", k, LinkKinds)
		}
		out = append(out, k)
	}
	return out, nil
}

// LinkPlanConfig shapes a plan of [LinkKinds] over two regions.
type LinkPlanConfig struct {
	Kinds []Kind
	// Regions are the two regions' nodes.
	Regions [2][]string
	// Duration, Hold, Quiet and Warmup are as in [PlanConfig] (same
	// defaults).
	Duration, Hold, Quiet, Warmup time.Duration
	// MaxClockOffset is the links' max-clock-offset, which ClockSkew
	// steps stay within or go beyond; zero means DefaultMaxClockOffset.
	MaxClockOffset time.Duration
	// Cycle takes the kinds in turn, as in [PlanConfig].
	Cycle bool
}

// NewLinkPlan draws a schedule of link faults from seed. A LinkCut step
// has A and B the two regions; a KillRegionLeader step has A the region
// (drawn at random) whose leader dies, a RegionKill step the region
// (drawn at random) whose nodes all die. A ClockSkew step has A the
// region (drawn at random) and B its target: [Leader] (the region's
// leader when the step runs) half the time, else one of its nodes;
// Skew is within MaxClockOffset (a quarter to four fifths of it, either
// way) and, in the first ClockSkew step of the plan and every other one
// after it, Beyond is two to four times MaxClockOffset the same way.
func NewLinkPlan(seed uint64, cfg LinkPlanConfig) Plan {
	defaultTimes(&cfg.Hold, &cfg.Quiet, &cfg.Warmup)
	if cfg.MaxClockOffset == 0 {
		cfg.MaxClockOffset = DefaultMaxClockOffset
	}
	p := Plan{Seed: seed}
	if len(cfg.Kinds) == 0 {
		return p
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c696e6b)) // "link"
	next := 0                                      // Cycle: the next kind's index
	if cfg.Cycle {
		next = rng.IntN(len(cfg.Kinds))
	}
	skews := 0
	for at := cfg.Warmup; at+cfg.Hold <= cfg.Duration; at += cfg.Hold + cfg.Quiet {
		s := Step{At: at, Hold: cfg.Hold}
		if cfg.Cycle {
			s.Kind = cfg.Kinds[next%len(cfg.Kinds)]
			next++
		} else {
			s.Kind = cfg.Kinds[rng.IntN(len(cfg.Kinds))]
		}
		r := rng.IntN(2)
		switch s.Kind {
		case LinkCut:
			s.A, s.B = slices.Clone(cfg.Regions[0]), slices.Clone(cfg.Regions[1])
		case KillRegionLeader, RegionKill:
			s.A = slices.Clone(cfg.Regions[r])
		case ClockSkew:
			s.A = slices.Clone(cfg.Regions[r])
			s.B = []string{Leader}
			if rng.IntN(2) == 0 {
				s.B = []string{s.A[rng.IntN(len(s.A))]}
			}
			sign := time.Duration(1 - 2*rng.IntN(2))
			m := int64(cfg.MaxClockOffset)
			s.Skew = sign * time.Duration(m/4+rng.Int64N(m*4/5-m/4)).Truncate(time.Millisecond)
			if skews%2 == 0 {
				s.Beyond = sign * time.Duration(2*m+rng.Int64N(2*m)).Truncate(time.Millisecond)
			}
			skews++
		}
		p.Steps = append(p.Steps, s)
	}
	return p
}

// applyLink runs one step of a [LinkKinds] kind: the fault, its
// window, its healing.
func (n *Nemesis) applyLink(ctx context.Context, s Step) {
	var heal func(context.Context) error
	var what string
	var nodes []string
	var err error
	switch s.Kind {
	case RegionKill:
		n.killRegion(ctx, s)
		return
	case ClockSkew:
		n.skewRegion(ctx, s)
		return
	case LinkCut:
		if n.env.Network == nil {
			n.record(s.Kind, "start", nil, "skipped", errors.New("nemesis: no network to cut"))
			return
		}
		nodes = append(slices.Clone(s.A), s.B...)
		what = fmt.Sprintf("cut the link %v | %v", s.A, s.B)
		err = n.env.Network.Partition(ctx, s.A, s.B)
		heal = n.env.Network.Heal
	case KillRegionLeader:
		l, ok := n.leaderOf(ctx, s)
		if !ok {
			return
		}
		nodes = []string{l}
		what = fmt.Sprintf("kill -9 %s, leader of %v", l, s.A)
		err = n.env.Processes.Kill(l)
		n.mark(n.mu.killed, l, err == nil)
		heal = func(ctx context.Context) error { return n.restart(ctx, l) }
	}
	n.record(s.Kind, "start", nodes, what, err)
	if err != nil {
		return
	}
	sleepUntil(ctx, time.Now().Add(s.Hold))
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	n.record(s.Kind, "end", nodes, "heal: "+what, heal(hctx))
}

// leaderOf returns the leader of region s.A, or records step s as
// skipped and reports false when there is none to find.
func (n *Nemesis) leaderOf(ctx context.Context, s Step) (string, bool) {
	if n.env.LeaderOf == nil {
		n.record(s.Kind, "start", nil, "skipped", errors.New("nemesis: Env.LeaderOf is nil"))
		return "", false
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l, err := n.env.LeaderOf(lctx, s.A)
	if err != nil {
		n.record(s.Kind, "start", nil, "skipped", fmt.Errorf("nemesis: find the leader of %v: %w", s.A, err))
		return "", false
	}
	return l, true
}

// skewRegion runs one two-region [ClockSkew] step: s.B[0] (or the
// leader of s.A) gets s.Skew, then s.Beyond halfway through the
// window if set, then zero.
func (n *Nemesis) skewRegion(ctx context.Context, s Step) {
	node := s.B[0]
	who := node
	if node == Leader {
		l, ok := n.leaderOf(ctx, s)
		if !ok {
			return
		}
		node, who = l, l+", leader of "+fmt.Sprint(s.A)
	}
	what := fmt.Sprintf("clock of %s %+v", who, s.Skew)
	err := n.env.Processes.SetClockOffset(node, s.Skew)
	n.mark(n.mu.skewed, node, err == nil)
	n.record(s.Kind, "start", []string{node}, what, err)
	if err != nil {
		return
	}
	end := time.Now().Add(s.Hold)
	if s.Beyond != 0 {
		sleepUntil(ctx, time.Now().Add(s.Hold/2))
		if ctx.Err() == nil {
			n.record(s.Kind, "change", []string{node}, fmt.Sprintf("clock of %s %+v", node, s.Beyond),
				n.env.Processes.SetClockOffset(node, s.Beyond))
		}
	}
	sleepUntil(ctx, end)
	n.mark(n.mu.skewed, node, false)
	n.record(s.Kind, "end", []string{node}, fmt.Sprintf("heal: clock of %s back to 0", node), n.env.Processes.SetClockOffset(node, 0))
}

// Note adds a line to the timeline that is not a fault (such as [WAN]'s);
// phase "start" would count it as a fault.
func (n *Nemesis) Note(k Kind, phase string, nodes []string, what string, err error) {
	n.record(k, phase, nodes, what, err)
}
