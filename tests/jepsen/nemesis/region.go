package nemesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Membership is the part of the environment that changes a region's
// members. *cluster.Cluster implements it. The nemesis finds it on
// Env.Processes by type assertion.
type Membership interface {
	// Leave removes node from the region for good (asking member via),
	// and makes sure its process has ended.
	Leave(ctx context.Context, via, node string) error
	// Join starts node, a fresh node with no state, and adds it to the
	// region (asking member via).
	Join(ctx context.Context, via, node string) error
}

// Disks is the part of the environment that stalls a node's disk.
// *cluster.Cluster implements it. The nemesis finds it on Env.Processes
// by type assertion.
type Disks interface {
	// SetDiskStall blocks (on) or releases (off) node's Raft log writes.
	SetDiskStall(node string, on bool) error
}

// churn removes the first candidate that is a member and not the
// leader, and adds fresh in its place. It is permanent: its window is
// only the time the region has to settle.
func (n *Nemesis) churn(ctx context.Context, s Step, candidates []string, fresh string) {
	m, ok := n.env.Processes.(Membership)
	if !ok {
		n.record(s.Kind, "start", nil, "skipped", errors.New("nemesis: the environment cannot change membership"))
		return
	}
	leader := ""
	if n.env.Leader != nil {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		leader, _ = n.env.Leader(lctx) // unknown: any member may be the leader; leave copes
		cancel()
	}
	members := n.Members()
	victim := ""
	for _, c := range candidates {
		if c != leader && slices.Contains(members, c) {
			victim = c
			break
		}
	}
	via := ""
	for _, c := range members {
		if c != victim {
			via = c
			if c == leader {
				break // prefer the leader: no forwarding
			}
		}
	}
	if victim == "" || via == "" {
		n.record(s.Kind, "start", nil, "skipped", fmt.Errorf("nemesis: no follower to remove among %v (leader %q)", members, leader))
		return
	}
	what := fmt.Sprintf("replace %s with fresh %s (via %s)", victim, fresh, via)
	n.record(s.Kind, "start", []string{victim, fresh}, what, nil)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	err := m.Leave(cctx, via, victim)
	// Whatever leave answered, the victim's process is gone: clients and
	// faults move to the fresh node.
	n.mu.Lock()
	n.mu.replaced[victim] = fresh
	n.mu.members = slices.DeleteFunc(n.mu.members, func(x string) bool { return x == victim })
	n.mu.members = append(n.mu.members, fresh)
	n.mu.Unlock()
	if err == nil {
		err = m.Join(cctx, via, fresh)
	}
	if err == nil && n.env.Ready != nil {
		err = n.env.Ready(cctx, fresh)
	}
	n.record(s.Kind, "end", []string{victim, fresh}, what, err)
	sleepUntil(ctx, time.Now().Add(s.Hold))
}

// stall blocks node's log writes for the step's window. If node was
// the leader, another node must lead before the window ends.
func (n *Nemesis) stall(ctx context.Context, s Step, node string) {
	d, ok := n.env.Processes.(Disks)
	if !ok {
		n.record(s.Kind, "start", nil, "skipped", errors.New("nemesis: the environment cannot stall disks"))
		return
	}
	wasLeader := false
	if n.env.Leader != nil {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		l, err := n.env.Leader(lctx)
		cancel()
		wasLeader = err == nil && l == node
	}
	what := fmt.Sprintf("stall the disk of %s", node)
	if wasLeader {
		what += " (leader)"
	}
	err := d.SetDiskStall(node, true)
	n.mark(n.mu.stalled, node, err == nil)
	start := time.Now()
	n.record(s.Kind, "start", []string{node}, what, err)
	if err != nil {
		return
	}
	end := start.Add(s.Hold)
	ev := Event{Kind: s.Kind, Phase: "end", Nodes: []string{node}, What: "heal: " + what}
	if wasLeader {
		// Poll until another node leads; the time taken goes into the
		// timeline (a measurement, not an assertion: the anomaly is a
		// leader still in place when the window ends).
		newLeader := ""
		for time.Now().Before(end) && ctx.Err() == nil {
			lctx, cancel := context.WithTimeout(ctx, time.Until(end))
			l, err := n.env.Leader(lctx)
			cancel()
			if err == nil && l != node {
				newLeader = l
				break
			}
			sleepUntil(ctx, time.Now().Add(100*time.Millisecond))
		}
		if newLeader != "" {
			ev.What += fmt.Sprintf("; %s led after %.1fs", newLeader, time.Since(start).Seconds())
		} else if ctx.Err() == nil {
			ev.Anomaly = fmt.Sprintf("leader %s with a stalled disk was still leading (or no other node led) %.1fs after the stall began", node, s.Hold.Seconds())
		}
	}
	sleepUntil(ctx, end)
	n.mark(n.mu.stalled, node, false)
	n.recordEvent(ev, d.SetDiskStall(node, false))
}

// Anomalies returns the anomalies the nemesis saw (see [Event.Anomaly]).
func (n *Nemesis) Anomalies() []string {
	var out []string
	for _, e := range n.Timeline() {
		if e.Anomaly != "" {
			out = append(out, e.String())
		}
	}
	return out
}
