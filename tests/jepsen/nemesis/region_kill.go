package nemesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// RegionKill sends SIGKILL to every node of region A at once, keeps
// them all down for the window, then starts them all again and waits
// until each serves in its region. The other region keeps taking
// writes meanwhile; its link to A is down until A has restarted.
const RegionKill Kind = "region-kill"

// killRegion runs one [RegionKill] step.
func (n *Nemesis) killRegion(ctx context.Context, s Step) {
	nodes := slices.Clone(s.A)
	what := fmt.Sprintf("kill -9 every node of %v", nodes)
	var errs []error
	for _, nd := range nodes {
		err := n.env.Processes.Kill(nd)
		n.mark(n.mu.killed, nd, err == nil)
		errs = append(errs, err)
	}
	n.record(s.Kind, "start", nodes, what, errors.Join(errs...))
	sleepUntil(ctx, time.Now().Add(s.Hold))
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	n.record(s.Kind, "end", nodes, "heal: restart "+fmt.Sprint(nodes), n.restartAll(hctx, nodes))
}

// restartAll starts every node first and only then waits for each to
// serve: one node of a region alone has no quorum, so restarting the
// nodes one by one, each waiting to rejoin, would never finish.
func (n *Nemesis) restartAll(ctx context.Context, nodes []string) error {
	var errs []error
	var started []string
	for _, nd := range nodes {
		n.mark(n.mu.killed, nd, false)
		if err := n.env.Processes.Start(ctx, nd); err != nil {
			errs = append(errs, err)
			continue
		}
		started = append(started, nd)
	}
	if n.env.Ready != nil {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		for _, nd := range started {
			errs = append(errs, n.env.Ready(rctx, nd))
		}
	}
	return errors.Join(errs...)
}
