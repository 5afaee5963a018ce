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
	"context"
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
	// Region is the region's id (default 1) and Name its name (default
	// "r<id>").
	Region uint32
	Name   string
	// Link gives every node a link port on loopback (token LinkToken),
	// so that the region can be linked to others (Cluster.LinkTo).
	Link bool
	// WAN, if set, carries the region's links (to cut them).
	WAN *WAN
}

// LinkToken is the region-set token of test regions.
const LinkToken = "regionaltest-token"

// Node is one member of a test region.
type Node struct {
	ID   string
	Addr string
	// LinkAddr is the node's link port, with Options.Link.
	LinkAddr string
	Dir      string
	Group    *regional.Group
	cfg      regional.Config
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
	if opts.Region == 0 {
		opts.Region = 1
	}
	if opts.Name == "" {
		opts.Name = fmt.Sprintf("r%d", opts.Region)
	}
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
		c.listenLink(t, nd, &nd.cfg)
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
		Region:             c.opts.Region,
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

// Kill shuts node i down as a crash would: without handing leadership
// over.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	g := c.Nodes[i].Group
	c.Nodes[i].Group = nil
	c.mu.Unlock()
	if g != nil {
		g.Kill()
	}
}

// LeaderIndex returns the index of the ready leader, waiting for one.
func (c *Cluster) LeaderIndex(t testing.TB) int {
	t.Helper()
	ld := c.WaitLeader(t)
	for i, nd := range c.Nodes {
		if nd == ld {
			return i
		}
	}
	panic("unreachable")
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
	c.listenLink(t, nd, &cfg)
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
	c.listenLink(t, nd, &cfg)
	g, err := regional.Open(cfg)
	if err != nil {
		ln.Close()
		if cfg.Link != nil {
			cfg.Link.Listener.Close()
		}
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
	c.listenLink(t, nd, &nd.cfg)
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

// listenLink opens node nd's link port (on its old address after a
// restart) and sets it in cfg, with Options.Link.
func (c *Cluster) listenLink(t testing.TB, nd *Node, cfg *regional.Config) {
	t.Helper()
	if !c.opts.Link {
		return
	}
	addr := nd.LinkAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	nd.LinkAddr = ln.Addr().String()
	lc := regional.LinkConfig{
		Name: c.opts.Name, Listener: ln, Token: LinkToken,
		TickInterval: 20 * time.Millisecond, HeartbeatTicks: 5,
	}
	if cfg.Link != nil {
		lc.RetainEntries = cfg.Link.RetainEntries
		lc.Registry = cfg.Link.Registry
	}
	if w := c.opts.WAN; w != nil {
		w.register(nd.LinkAddr, c.opts.Name)
		lc.Dialer = w.dialer(c.opts.Name)
	}
	cfg.Link = &lc
}

// Name returns the region's name; ID its id.
func (c *Cluster) Name() string { return c.opts.Name }
func (c *Cluster) ID() uint32   { return c.opts.Region }

// LinkAddrs returns the link ports of every node.
func (c *Cluster) LinkAddrs() []string {
	var out []string
	for _, nd := range c.Nodes {
		out = append(out, nd.LinkAddr)
	}
	return out
}

// LinkTo records peer as a linked region of c (run it on both sides for a
// two-way link), retrying until c has a leader.
func (c *Cluster) LinkTo(t testing.TB, peer *Cluster) {
	t.Helper()
	spec := regional.LinkSpec{Name: peer.Name(), ID: peer.ID(), Addrs: peer.LinkAddrs()}
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.WaitLeader(t).Group.AddLink(context.Background(), spec)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("link %s -> %s: %v", c.Name(), peer.Name(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Unlink forgets peer on c, retrying until c has a leader.
func (c *Cluster) Unlink(t testing.TB, peer *Cluster) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.WaitLeader(t).Group.RemoveLink(context.Background(), peer.Name())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("unlink %s -> %s: %v", c.Name(), peer.Name(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Mesh links every pair of regions both ways.
func Mesh(t testing.TB, regions ...*Cluster) {
	t.Helper()
	for _, a := range regions {
		for _, b := range regions {
			if a != b {
				a.LinkTo(t, b)
			}
		}
	}
}

// Do runs one command on node i and returns its RESP reply, as a client
// of that node would get it.
func (c *Cluster) Do(i int, args ...string) string {
	req := &eval.Request{}
	cmd := make([][]byte, len(args))
	for j, a := range args {
		cmd[j] = []byte(a)
	}
	req.Cmds = [][][]byte{cmd}
	var w protocol.Writer
	w.Proto = 2
	(&nodeExec{c: c, i: i}).Exec(req, &w)
	return string(w.Bytes())
}
