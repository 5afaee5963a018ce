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

// LinkKinds are the faults of a two-region run, in a fixed order.
var LinkKinds = []Kind{LinkCut, KillRegionLeader, RegionKill}

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
}

// NewLinkPlan draws a schedule of link faults from seed. A LinkCut step
// has A and B the two regions; a KillRegionLeader step has A the region
// (drawn at random) whose leader dies, a RegionKill step the region
// (drawn at random) whose nodes all die.
func NewLinkPlan(seed uint64, cfg LinkPlanConfig) Plan {
	if cfg.Hold == 0 {
		cfg.Hold = 5 * time.Second
	}
	if cfg.Quiet == 0 {
		cfg.Quiet = 3 * time.Second
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 2 * time.Second
	}
	p := Plan{Seed: seed}
	if len(cfg.Kinds) == 0 {
		return p
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c696e6b)) // "link"
	for at := cfg.Warmup; at+cfg.Hold <= cfg.Duration; at += cfg.Hold + cfg.Quiet {
		s := Step{At: at, Hold: cfg.Hold, Kind: cfg.Kinds[rng.IntN(len(cfg.Kinds))]}
		r := rng.IntN(2)
		switch s.Kind {
		case LinkCut:
			s.A, s.B = slices.Clone(cfg.Regions[0]), slices.Clone(cfg.Regions[1])
		case KillRegionLeader, RegionKill:
			s.A = slices.Clone(cfg.Regions[r])
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
		if n.env.LeaderOf == nil {
			n.record(s.Kind, "start", nil, "skipped", errors.New("nemesis: Env.LeaderOf is nil"))
			return
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		l, lerr := n.env.LeaderOf(lctx, s.A)
		cancel()
		if lerr != nil {
			n.record(s.Kind, "start", nil, "skipped", fmt.Errorf("nemesis: find the leader of %v: %w", s.A, lerr))
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
