package regional

import "time"

// Small read-only accessors for the composition root (ops): the admin API,
// metrics and the removal watch.

// Removed reports whether this node has applied the record of its own
// removal (Leave): a removed node must stop serving, and its id can never
// join again.
func (g *Group) Removed() bool { return g.fsm.isRemoved(g.cfg.NodeID) }

// RaftAddr returns the address other nodes dial to reach this node's Raft
// port (Config.Advertise, else the listener's address).
func (g *Group) RaftAddr() string { return string(g.trans.LocalAddr()) }

// DiskStats are lifetime counts of this node's log store writes.
type DiskStats struct {
	// Writes counts StoreLogs calls that returned (each one fsyncs).
	Writes int64
	// WriteTime is the time those calls took, summed.
	WriteTime time.Duration
	// Stalls counts writes that took longer than Config.StallTimeout.
	Stalls int64
}

// DiskStats returns this node's log store write counts. They are zero for
// an in-memory node.
func (g *Group) DiskStats() DiskStats {
	return DiskStats{
		Writes:    g.stats.fsyncs.Load(),
		WriteTime: time.Duration(g.stats.fsyncNanos.Load()),
		Stalls:    g.stats.stalls.Load(),
	}
}
