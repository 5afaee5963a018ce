package regionaltest

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/server/eval"
)

// MemOptions shape an in-memory test region.
type MemOptions struct {
	// Tune adjusts each node's configuration.
	Tune func(*regional.Config)
	// Region is the region's id (default 1).
	Region uint32
}

// MemNode is one member of an in-memory test region.
type MemNode struct {
	ID string
	// Addr is the node's Raft address, on its InmemTransport and on the
	// cluster's MemNet.
	Addr  string
	Group *regional.Group
	Trans *raft.InmemTransport
	cfg   regional.Config
}

// MemCluster is a test region held in memory: raft.InmemTransport between
// the nodes, in-memory log, stable and snapshot stores, and forwarding
// (requests, promotion probes, pub/sub) over a regional.MemNet. It uses no
// socket, disk or other real I/O, so it runs inside a testing/synctest
// bubble, where its timeouts take virtual time:
//
//	synctest.Test(t, func(t *testing.T) {
//		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{})
//		ld := c.WaitLeader(t)
//		c.Partition(c.Index(ld))
//		...
//	})
//
// Nodes close when the test ends (inside the bubble, before it checks that
// every goroutine has exited).
type MemCluster struct {
	// Nodes are the members, in order of creation (index = node number - 1).
	Nodes []*MemNode
	// Net carries forwarding between the nodes.
	Net *regional.MemNet

	// mu guards Group swaps and the cut set.
	mu      sync.Mutex
	cut     map[int]bool
	opts    MemOptions
	t       testing.TB
	logDone *atomic.Bool
	// virtual is set inside a testing/synctest bubble, whose clock starts
	// at midnight UTC 2000-01-01 (a real clock never reads 2000).
	virtual bool
}

// NewMem starts n in-memory nodes, bootstraps them into one region and
// closes them when the test ends.
func NewMem(t testing.TB, n int, opts MemOptions) *MemCluster {
	t.Helper()
	if opts.Region == 0 {
		opts.Region = 1
	}
	c := &MemCluster{Net: regional.NewMemNet(), cut: map[int]bool{}, opts: opts, t: t, logDone: &atomic.Bool{},
		virtual: time.Now().Before(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))}
	// Registered first, so it runs after the nodes are closed.
	t.Cleanup(func() { c.logDone.Store(true) })
	t.Cleanup(c.closeAll)
	var servers []raft.Server
	for range n {
		nd := c.start(t)
		servers = append(servers, raft.Server{ID: raft.ServerID(nd.ID), Address: raft.ServerAddress(nd.Addr)})
	}
	if err := c.Nodes[0].Group.Bootstrap(servers); err != nil {
		t.Fatal(err)
	}
	return c
}

// Add starts one more node, connected to the others but not yet part of
// the region (Join it on the leader).
func (c *MemCluster) Add(t testing.TB) *MemNode {
	t.Helper()
	return c.start(t)
}

func (c *MemCluster) start(t testing.TB) *MemNode {
	t.Helper()
	num := len(c.Nodes) + 1
	nd := &MemNode{ID: fmt.Sprintf("n%d", num), Addr: fmt.Sprintf("mem-n%d", num)}
	_, nd.Trans = raft.NewInmemTransport(raft.ServerAddress(nd.Addr))
	nd.cfg = regional.Config{
		NodeID:             nd.ID,
		Region:             c.opts.Region,
		Node:               uint32(num),
		Transport:          nd.Trans,
		Network:            c.Net.Endpoint(nd.Addr),
		Logger:             slog.New(slog.NewTextHandler(tlog{c.t, c.logDone}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 300 * time.Millisecond,
		RequestTimeout:     5 * time.Second,
	}
	if c.opts.Tune != nil {
		c.opts.Tune(&nd.cfg)
	}
	g, err := regional.Open(nd.cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	nd.Group = g
	c.Nodes = append(c.Nodes, nd)
	i := len(c.Nodes) - 1
	for j := range c.Nodes[:i] {
		c.linkLocked(i, j)
	}
	return nd
}

// linkLocked connects nodes i and j both ways (Raft and forwarding)
// unless either is partitioned or stopped.
func (c *MemCluster) linkLocked(i, j int) {
	a, b := c.Nodes[i], c.Nodes[j]
	if c.cut[i] || c.cut[j] || a.Group == nil || b.Group == nil {
		return
	}
	a.Trans.Connect(raft.ServerAddress(b.Addr), b.Trans)
	b.Trans.Connect(raft.ServerAddress(a.Addr), a.Trans)
	c.Net.Connect(a.Addr, b.Addr)
}

// unlinkLocked cuts nodes i and j apart both ways.
func (c *MemCluster) unlinkLocked(i, j int) {
	a, b := c.Nodes[i], c.Nodes[j]
	a.Trans.Disconnect(raft.ServerAddress(b.Addr))
	b.Trans.Disconnect(raft.ServerAddress(a.Addr))
	c.Net.Disconnect(a.Addr, b.Addr)
}

// Partition cuts node i off from every other node: Raft RPCs and
// forwarding fail both ways, and open forwarding connections close.
func (c *MemCluster) Partition(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut[i] = true
	for j := range c.Nodes {
		if j != i {
			c.unlinkLocked(i, j)
		}
	}
}

// Heal reconnects node i to every other node not itself partitioned.
func (c *MemCluster) Heal(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cut, i)
	for j := range c.Nodes {
		if j != i {
			c.linkLocked(i, j)
		}
	}
}

// Stop closes node i (handing leadership over if it leads) and cuts the
// others' routes to it. In-memory state does not survive: the node cannot
// be restarted.
func (c *MemCluster) Stop(i int) { c.stop(i, true) }

// Kill closes node i as a crash would: without handing leadership over.
func (c *MemCluster) Kill(i int) { c.stop(i, false) }

func (c *MemCluster) stop(i int, transfer bool) {
	c.mu.Lock()
	g := c.Nodes[i].Group
	c.Nodes[i].Group = nil
	c.mu.Unlock()
	if g != nil {
		if transfer {
			g.Close()
		} else {
			g.Kill()
		}
	}
	c.mu.Lock()
	for j := range c.Nodes {
		if j != i {
			c.unlinkLocked(i, j)
		}
	}
	c.mu.Unlock()
}

// closeAll closes every node at once: a Close that hangs then leaves only
// durably blocked goroutines, which a synctest bubble reports as a
// deadlock, instead of hiding behind the other nodes' election timers.
//
// hashicorp/raft's Shutdown does not wait for a leadership transfer in
// flight (the goroutines leaderLoop starts for it): they end when the
// TimeoutNow RPC times out, up to ten InmemTransport timeouts later. In a
// bubble, time stops when the test's goroutine returns, so they would
// count as leaked: let that time pass first (it costs no real time there).
func (c *MemCluster) closeAll() {
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Go(func() { c.Stop(i) })
	}
	wg.Wait()
	if c.virtual {
		time.Sleep(30 * time.Second)
	}
}

// Group returns node i's group, nil once stopped.
func (c *MemCluster) Group(i int) *regional.Group {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Nodes[i].Group
}

// Index returns the index of nd in Nodes.
func (c *MemCluster) Index(nd *MemNode) int {
	for i, n := range c.Nodes {
		if n == nd {
			return i
		}
	}
	panic("regionaltest: node not in cluster")
}

// WaitLeader waits until one running node is a ready leader and returns
// it. With several (a partitioned old leader that has not yet noticed),
// it returns the first.
func (c *MemCluster) WaitLeader(t testing.TB) *MemNode {
	t.Helper()
	return c.WaitLeaderAmong(t, nil)
}

// WaitLeaderAmong waits until one of the nodes with the given indexes (all
// nodes if nil) is a ready leader and returns it.
func (c *MemCluster) WaitLeaderAmong(t testing.TB, among []int) *MemNode {
	t.Helper()
	if among == nil {
		for i := range c.Nodes {
			among = append(among, i)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, i := range among {
			if g := c.Group(i); g != nil && g.IsReadyLeader() {
				return c.Nodes[i]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no ready leader among nodes %v within 15s", among)
	return nil
}

// Do runs one command on node i and returns its RESP2 reply, as a client
// of that node would get it.
func (c *MemCluster) Do(i int, args ...string) string {
	return c.do(i, false, args)
}

// DoStale runs a read-only command on node i against its local applied
// state (READONLY), and returns its RESP2 reply.
func (c *MemCluster) DoStale(i int, args ...string) string {
	return c.do(i, true, args)
}

func (c *MemCluster) do(i int, stale bool, args []string) string {
	var w protocol.Writer
	w.Proto = 2
	g := c.Group(i)
	if g == nil {
		w.Error(regional.ErrNoLeader)
		return string(w.Bytes())
	}
	req := &eval.Request{Cmds: [][][]byte{bytesArgs(args)}, ReadOnly: stale, Stale: stale}
	g.Exec(req, &w)
	return string(w.Bytes())
}

// Pipeline runs cmds on node i as one connection's pipeline (ExecBatch:
// all writes or all reads, as readOnly says) and returns the replies
// concatenated in order.
func (c *MemCluster) Pipeline(i int, readOnly bool, cmds ...[]string) string {
	var w protocol.Writer
	w.Proto = 2
	reqs := make([]*eval.Request, len(cmds))
	for j, args := range cmds {
		reqs[j] = &eval.Request{Cmds: [][][]byte{bytesArgs(args)}, ReadOnly: readOnly}
	}
	g := c.Group(i)
	if g == nil {
		for range reqs {
			w.Error(regional.ErrNoLeader)
		}
		return string(w.Bytes())
	}
	g.ExecBatch(reqs, &w)
	return string(w.Bytes())
}

func bytesArgs(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}
