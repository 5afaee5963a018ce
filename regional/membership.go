package regional

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Membership errors.
var (
	// ErrNotLeader is returned by membership changes on a node that does
	// not lead; the caller retries on the leader (Status names it).
	ErrNotLeader = errors.New("regional: not the leader")
	// ErrIDReused is returned by Join for a node id that was removed
	// before: ids are never reused.
	ErrIDReused = errors.New("regional: node id was removed from this region before and cannot be reused")
)

// promoteLag is how far behind the leader's commit index a non-voter may
// be and still be promoted (Consul autopilot's MaxTrailingLogs).
const promoteLag = 250

// Member is one node of the region's configuration.
type Member struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
}

// Members returns the region's configuration as this node knows it.
func (g *Group) Members() ([]Member, error) {
	f := g.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	_, leaderID := g.raft.LeaderWithID()
	var out []Member
	for _, s := range f.Configuration().Servers {
		out = append(out, Member{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter, Leader: s.ID == leaderID})
	}
	return out, nil
}

// Join adds a node to the region as a non-voter; the leader promotes it
// to voter once it has caught up. Joining again with the same id and
// address is a no-op; an id that was removed before is refused.
func (g *Group) Join(id, addr string) error {
	if g.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if g.fsm.isRemoved(id) {
		return ErrIDReused
	}
	cf := g.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id {
			if string(s.Address) == addr {
				return nil
			}
			return fmt.Errorf("regional: node %s is already a member at %s", id, s.Address)
		}
		if string(s.Address) == addr {
			return fmt.Errorf("regional: address %s already belongs to node %s", addr, s.ID)
		}
	}
	if err := g.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, g.cfg.RequestTimeout).Error(); err != nil {
		return fmt.Errorf("regional: add %s: %w", id, err)
	}
	g.log.Info("node joined as non-voter", "node", id, "addr", addr)
	return nil
}

// Leave removes a node from the region for good: its id can never join
// again. Removing the leader itself works (it steps down).
func (g *Group) Leave(id string) error {
	if g.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	rec := append([]byte{entryVersion, entryRemoved}, id...)
	if err := g.raft.Apply(rec, g.cfg.RequestTimeout).Error(); err != nil {
		return fmt.Errorf("regional: record removal of %s: %w", id, err)
	}
	if err := g.raft.RemoveServer(raft.ServerID(id), 0, g.cfg.RequestTimeout).Error(); err != nil {
		return fmt.Errorf("regional: remove %s: %w", id, err)
	}
	g.log.Info("node removed", "node", id)
	return nil
}

// promoteLoop, on the leader, promotes caught-up non-voters to voters.
func (g *Group) promoteLoop(quit <-chan struct{}) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		cf := g.raft.GetConfiguration()
		if cf.Error() != nil {
			continue
		}
		for _, s := range cf.Configuration().Servers {
			if s.Suffrage != raft.Nonvoter {
				continue
			}
			applied, err := g.fwd.probe(s.Address)
			if err != nil {
				continue
			}
			if applied+promoteLag >= g.raft.CommitIndex() {
				if err := g.raft.AddVoter(s.ID, s.Address, 0, g.cfg.RequestTimeout).Error(); err != nil {
					g.log.Warn("promotion failed", "node", s.ID, "err", err)
					continue
				}
				g.log.Info("non-voter promoted", "node", s.ID, "applied", applied)
			}
		}
	}
}

// Status is what `meridian status` and INFO replication show of a node.
type Status struct {
	NodeID       string   `json:"node_id"`
	Role         string   `json:"role"` // leader, follower, candidate, shutdown
	Leader       string   `json:"leader"`
	LeaderAddr   string   `json:"leader_addr"`
	Term         uint64   `json:"term"`
	CommitIndex  uint64   `json:"commit_index"`
	AppliedIndex uint64   `json:"applied_index"`
	LastIndex    uint64   `json:"last_index"`
	Members      []Member `json:"members"`
	Ready        bool     `json:"ready"`
	Batches      int64    `json:"batches"`
	BatchedReqs  int64    `json:"batched_requests"`
	DiskStalls   int64    `json:"disk_stalls"`
	FsyncAvgMs   float64  `json:"fsync_avg_ms"`
	LastContact  string   `json:"last_contact"`
}

// Status returns this node's view of the region.
func (g *Group) Status() Status {
	addr, id := g.raft.LeaderWithID()
	st := Status{
		NodeID:       g.cfg.NodeID,
		Role:         roleName(g.raft.State()),
		Leader:       string(id),
		LeaderAddr:   string(addr),
		Term:         g.raft.CurrentTerm(),
		CommitIndex:  g.raft.CommitIndex(),
		AppliedIndex: max(g.fsm.Applied(), g.raft.AppliedIndex()),
		LastIndex:    g.raft.LastIndex(),
		Ready:        g.IsReadyLeader(),
		Batches:      g.stats.batches.Load(),
		BatchedReqs:  g.stats.batchedReqs.Load(),
		DiskStalls:   g.stats.stalls.Load(),
	}
	if n := g.stats.fsyncs.Load(); n > 0 {
		st.FsyncAvgMs = float64(g.stats.fsyncNanos.Load()) / float64(n) / 1e6
	}
	if lc := g.raft.LastContact(); !lc.IsZero() {
		st.LastContact = time.Since(lc).Round(time.Millisecond).String()
	}
	st.Members, _ = g.Members()
	return st
}

func roleName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	}
	return "shutdown"
}
