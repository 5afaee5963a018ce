// Package regionaltest runs whole regions of regional.Group nodes on
// loopback for tests: real Raft over TCP, stores in memory or on disk.
//
// Usage:
//
//	c := regionaltest.New(t, 3, regionaltest.Options{})
//	leader := c.WaitLeader(t)
//	var w protocol.Writer
//	c.Nodes[1].Group.Exec(&eval.Request{Cmds: ...}, &w)
package regionaltest

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/eval"
)

// Options shape a test region.
type Options struct {
	// OnDisk keeps each node's state in a t.TempDir (boltdb and file
	// snapshots); otherwise in memory.
	OnDisk bool
	// Tune adjusts each node's configuration.
	Tune func(*regional.Config)
}

// Node is one member of a test region.
type Node struct {
	ID    string
	Addr  string
	Dir   string
	Group *regional.Group
	cfg   regional.Config
}

// Cluster is a test region.
type Cluster struct {
	mu      sync.Mutex // guards Node.Group swaps against nodeExec
	Nodes   []*Node
	opts    Options
	t       testing.TB
	logDone *atomic.Bool
}

// New starts n nodes, bootstraps them into one region and closes them when
// the test ends.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{opts: opts, t: t, logDone: &atomic.Bool{}}
	// Registered first, so it runs after the nodes are closed.
	t.Cleanup(func() { c.logDone.Store(true) })
	var servers []raft.Server
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		nd := &Node{ID: fmt.Sprintf("n%d", i+1), Addr: ln.Addr().String()}
		if opts.OnDisk {
			nd.Dir = t.TempDir()
		}
		nd.cfg = c.config(nd, i+1)
		nd.cfg.Listener = ln
		g, err := regional.Open(nd.cfg)
		if err != nil {
			t.Fatal(err)
		}
		nd.Group = g
		c.Nodes = append(c.Nodes, nd)
		servers = append(servers, raft.Server{ID: raft.ServerID(nd.ID), Address: raft.ServerAddress(nd.Addr)})
	}
	if err := c.Nodes[0].Group.Bootstrap(servers); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, nd := range c.Nodes {
			if nd.Group != nil {
				nd.Group.Close()
			}
		}
	})
	return c
}

func (c *Cluster) config(nd *Node, num int) regional.Config {
	cfg := regional.Config{
		NodeID:             nd.ID,
		Region:             1,
		Node:               uint32(num),
		DataDir:            nd.Dir,
		Logger:             slog.New(slog.NewTextHandler(tlog{c.t, c.logDone}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 300 * time.Millisecond,
		RequestTimeout:     5 * time.Second,
	}
	if c.opts.Tune != nil {
		c.opts.Tune(&cfg)
	}
	return cfg
}

// WaitLeader waits until one node is a ready leader and returns it.
func (c *Cluster) WaitLeader(t testing.TB) *Node {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, nd := range c.Nodes {
			if nd.Group != nil && nd.Group.IsReadyLeader() {
				return nd
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader within 15s")
	return nil
}

// Stop shuts node i down (its state stays for Restart when on disk).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	g := c.Nodes[i].Group
	c.Nodes[i].Group = nil
	c.mu.Unlock()
	if g != nil {
		g.Close()
	}
}

// Restart starts node i again on its old address and data dir.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	nd := c.Nodes[i]
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", nd.Addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := nd.cfg
	cfg.Listener = ln
	g, err := regional.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	nd.Group = g
	c.mu.Unlock()
}

// tlog sends logs to t.Log until the test ends; hashicorp/raft's
// transport goroutines may still log after Close returns, and t.Log
// panics then.
type tlog struct {
	t    testing.TB
	done *atomic.Bool
}

func (w tlog) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(string(p))
	}
	return len(p), nil
}

// Open starts node i again and returns the error instead of failing the
// test (for tests of refusals to start).
func (c *Cluster) Open(t testing.TB, i int) (*regional.Group, error) {
	t.Helper()
	nd := c.Nodes[i]
	ln, err := net.Listen("tcp", nd.Addr)
	if err != nil {
		return nil, err
	}
	cfg := nd.cfg
	cfg.Listener = ln
	g, err := regional.Open(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	nd.Group = g
	return g, nil
}

// Add starts one more node, not yet part of the region (Join it).
func (c *Cluster) Add(t testing.TB) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	num := len(c.Nodes) + 1
	nd := &Node{ID: fmt.Sprintf("n%d", num), Addr: ln.Addr().String()}
	if c.opts.OnDisk {
		nd.Dir = t.TempDir()
	}
	nd.cfg = c.config(nd, num)
	nd.cfg.Listener = ln
	g, err := regional.Open(nd.cfg)
	if err != nil {
		t.Fatal(err)
	}
	nd.Group = g
	c.Nodes = append(c.Nodes, nd)
	return nd
}

// ServeRESP starts a RESP server in front of every running node and
// returns their addresses (index = node). Servers stop with the test; a
// node stopped with Stop leaves its server answering TRYAGAIN/closed.
func (c *Cluster) ServeRESP(t testing.TB) []string {
	t.Helper()
	addrs := make([]string, len(c.Nodes))
	for i, nd := range c.Nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := server.New(server.DefaultConfig(), &nodeExec{c: c, i: i})
		if nd.Group != nil {
			nd.Group.SetPublishHandler(srv.DeliverLocal)
		}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// nodeExec routes to whatever Group node i currently runs (restarts
// replace it).
type nodeExec struct {
	c *Cluster
	i int
}

func (e *nodeExec) g() *regional.Group {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	return e.c.Nodes[e.i].Group
}

func (e *nodeExec) Exec(req *eval.Request, w *protocol.Writer) int {
	g := e.g()
	if g == nil {
		w.Error(regional.ErrNoLeader)
		return req.DB
	}
	return g.Exec(req, w)
}

// ExecBatch runs a pipeline on node i's group.
func (e *nodeExec) ExecBatch(reqs []*eval.Request, w *protocol.Writer) int {
	g := e.g()
	if g == nil {
		for range reqs {
			w.Error(regional.ErrNoLeader)
		}
		return reqs[0].DB
	}
	return g.ExecBatch(reqs, w)
}

// Publish sends a message to the other nodes of the region.
func (e *nodeExec) Publish(ch, msg []byte) int {
	if g := e.g(); g != nil {
		return g.Publish(ch, msg)
	}
	return 0
}

func (e *nodeExec) Watch(db int, key string) uint64 {
	if g := e.g(); g != nil {
		return g.Watch(db, key)
	}
	return 0
}

func (e *nodeExec) Unwatch(db int, key string) {
	if g := e.g(); g != nil {
		g.Unwatch(db, key)
	}
}
