package regional

import "github.com/hashicorp/raft"

// campaignGate keeps a node whose log store is stalled from campaigning:
// while a log write is stuck it sends no (pre-)vote request. Without it, a
// stalled leader steps down (its writes fail), wins the next election
// with a log as long as anyone's, fails its first write, and so on: the
// region accepts no write for as long as the disk is stuck (found by the
// disk-stall nemesis, docs/TESTING.md).
type campaignGate struct {
	raft.Transport
	stalled func() bool
}

var _ raft.WithPreVote = (*campaignGate)(nil)

func (t *campaignGate) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	if t.stalled() {
		return ErrDiskStalled
	}
	return t.Transport.RequestVote(id, target, args, resp)
}

func (t *campaignGate) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if t.stalled() {
		return ErrDiskStalled
	}
	pv, ok := t.Transport.(raft.WithPreVote)
	if !ok {
		return ErrDiskStalled // not reached: the gate wraps only transports with pre-vote
	}
	return pv.RequestPreVote(id, target, args, resp)
}

// Close closes the wrapped transport if it can be closed (raft.WithClose).
func (t *campaignGate) Close() error {
	if c, ok := t.Transport.(raft.WithClose); ok {
		return c.Close()
	}
	return nil
}

// isStalled reports whether a log write is stuck in the store below.
func (s *stallGuard) isStalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}
