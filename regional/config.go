package regional

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// Config configures one node of a region's Raft group.
type Config struct {
	// NodeID is the node's Raft server id, unique in the region and never
	// reused (e.g. "n1").
	NodeID string
	// Region and Node are the numeric ids stamped into every HLC timestamp
	// this node makes.
	Region, Node uint32
	// DataDir holds raft.db (log and stable store) and snapshots. Empty
	// means in memory (tests only: nothing survives a restart).
	DataDir string
	// Listener is the Raft port (Raft RPCs and forwarded requests). It is
	// required unless Transport is set.
	Listener net.Listener
	// Advertise is the address other nodes dial; empty means the
	// listener's address.
	Advertise string
	// Transport overrides the TCP transport (tests use raft.InmemTransport;
	// forwarding then goes through Network).
	Transport raft.Transport
	// Network carries forwarded requests, promotion probes and pub/sub
	// between nodes when Transport is set (MemNet in tests). Nil means
	// TCP to the peers' Raft addresses. The TCP path does not use it: it
	// multiplexes forwarding on the Raft port.
	Network Network
	// Wall is the physical clock; nil means the system clock.
	Wall hlc.WallClock
	// Logger receives logs; nil discards them.
	Logger *slog.Logger

	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout are
	// hashicorp/raft's; zero means 1 s, 1 s and 500 ms.
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout time.Duration
	// SnapshotThreshold is how many entries trigger a snapshot; zero
	// means 8192. TrailingLogs kept after a snapshot; zero means 1.25x
	// SnapshotThreshold.
	SnapshotThreshold, TrailingLogs uint64
	// SnapshotInterval is how often the threshold is checked; zero means
	// 30 s.
	SnapshotInterval time.Duration
	// MaxBatch bounds the requests packed into one log entry; zero means
	// 512.
	MaxBatch int
	// StallTimeout bounds one log store write; a leader whose disk takes
	// longer steps down. Zero means 5 s.
	StallTimeout time.Duration
	// RequestTimeout bounds how long a request waits for a leader, for
	// commit and for apply; zero means 10 s.
	RequestTimeout time.Duration
	// MaxBulk is proto-max-bulk-len for commands that build strings.
	MaxBulk int64
	// WrapLogStore, if set, wraps the log store: on disk below the stall
	// guard (tests inject slow or failing disks with it), in memory as is
	// (tests watch what reaches the log).
	WrapLogStore func(raft.LogStore) raft.LogStore
	// Link, if set, lets the region link to other regions (package
	// interregion): the leader ships the log to peers and merges theirs.
	Link *LinkConfig
	// NoSync turns off fsync of the log (benchmarks of the CPU path only;
	// acknowledged writes may be lost on power failure).
	NoSync bool
}

// Network connects the nodes of a region for forwarding (mux protocol 'F'
// on the TCP path) when Config.Transport replaces the TCP transport.
type Network interface {
	// Dial connects to the node whose Raft address is addr.
	Dial(addr string, timeout time.Duration) (net.Conn, error)
	// Listen starts accepting the connections other nodes Dial to this
	// node. The node closes the listener when it shuts down.
	Listen() (net.Listener, error)
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, time.Second)
	def(&c.ElectionTimeout, time.Second)
	def(&c.LeaderLeaseTimeout, 500*time.Millisecond)
	def(&c.SnapshotInterval, 30*time.Second)
	def(&c.StallTimeout, 5*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = c.SnapshotThreshold + c.SnapshotThreshold/4
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 512
	}
	if c.Wall == nil {
		c.Wall = hlc.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.NodeID == "" {
		return errors.New("regional: NodeID is required")
	}
	if c.Listener == nil && c.Transport == nil {
		return errors.New("regional: Listener or Transport is required")
	}
	if c.Network != nil && c.Transport == nil {
		return errors.New("regional: Network needs Transport (the TCP transport forwards on the Raft port)")
	}
	if c.Region == 0 || c.Node == 0 {
		return fmt.Errorf("regional: region and node ids must be > 0 (got %d, %d)", c.Region, c.Node)
	}
	if l := c.Link; l != nil && (l.Listener == nil || l.Token == "") {
		return errors.New("regional: a link port needs its listener and the region set's token")
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout && c.HeartbeatTimeout != 0 {
		return errors.New("regional: LeaderLeaseTimeout must not exceed HeartbeatTimeout")
	}
	return nil
}

func (c *Config) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.NodeID)
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.SnapshotInterval = c.SnapshotInterval
	rc.TrailingLogs = c.TrailingLogs
	rc.MaxAppendEntries = 256
	rc.BatchApplyCh = true
	rc.ShutdownOnRemove = true
	rc.Logger = newHclog(c.Logger.With("component", "raft"))
	return rc
}
