// Package cluster runs meridian nodes as real processes, one per network
// namespace (or on loopback addresses), and controls them the way a
// Jepsen nemesis does: stop (SIGTERM), kill -9, pause (SIGSTOP), resume
// (SIGCONT), restart, rolling restart, and clock skew through the
// test-only offset file of a `-tags faultinject` build.
//
// Usage:
//
//	bin, err := cluster.Build(ctx, repoRoot, dir)       // go build -tags faultinject
//	c := cluster.New(cluster.Config{Binary: bin, Network: nw, Nodes: []string{"n1", "n2", "n3"},
//		LogDir: runDir + "/logs", DataDir: t.TempDir(), Region: "east", RegionID: 1})
//	defer c.Close()
//	err = c.StartAll(ctx)
//	err = c.Bootstrap(ctx)                              // meridian region bootstrap --nodes ...
//	leader, err := c.WaitLeader(ctx)                    // via meridian status --json
//	c.Kill("n2"); c.Start(ctx, "n2")
//	c.Pause("n1"); c.Resume("n1")
//	c.SetClockOffset("n3", 2*time.Second)
//	crashes := c.Crashes()                              // nodes that exited on their own
//
// Each node's stdout and stderr go to LogDir/<node>.log, appended across
// restarts with a "=== harness: ..." line at every start and signal.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Network runs a command on a node's network and gives its address.
// *netns.Network implements it; [Loopback] does without namespaces.
type Network interface {
	// Command returns a command that runs name with args as node.
	Command(node, name string, args ...string) *exec.Cmd
	// Addr returns the IP address node listens on.
	Addr(node string) string
}

// Ports are the TCP ports every node listens on (each on its own address).
type Ports struct {
	RESP, Raft, HTTP int
}

// DefaultPorts are the ports of the region examples.
var DefaultPorts = Ports{RESP: 6379, Raft: 7000, HTTP: 9121}

// Config describes a cluster.
type Config struct {
	// Binary is the meridian executable.
	Binary string
	// Network places the nodes.
	Network Network
	// Nodes are the node names; node i (from 0) has node number i+1.
	Nodes []string
	// Spares are nodes not started by StartAll nor bootstrapped: fresh
	// nodes that [Cluster.Join] adds later (membership churn). Spare i
	// has node number len(Nodes)+i+1. The network must know them.
	Spares []string
	// LogDir receives <node>.log. Required.
	LogDir string
	// DataDir holds each node's data directory (<DataDir>/<node>) and
	// clock offset file (<DataDir>/<node>.clock-offset). Required.
	DataDir string
	// Region and RegionID name the region; zero values mean "east" and 1.
	Region   string
	RegionID int
	// Ports; the zero value means DefaultPorts.
	Ports Ports
	// Args, if set, replaces the server arguments (after the binary) for
	// node; the default is [Cluster.RegionArgs].
	Args func(c *Cluster, node string) []string
	// Env is added to each node's environment.
	Env []string
	// StopTimeout bounds how long Stop waits after SIGTERM before
	// SIGKILL; zero means 10 s.
	StopTimeout time.Duration
}

// State is a node process's state as the harness last set it.
type State string

// The states of a node.
const (
	Stopped State = "stopped"
	Running State = "running"
	Paused  State = "paused"
)

// Crash is a node process that exited without the harness asking.
type Crash struct {
	Node string
	At   time.Time
	Err  string
}

// Cluster is a set of node processes. Its methods are safe for
// concurrent use, but two concurrent operations on one node race (the
// nemesis drives one fault at a time).
type Cluster struct {
	cfg Config

	mu struct {
		sync.Mutex
		procs   map[string]*proc
		crashes []Crash
	}
}

// proc is one run of a node's process.
type proc struct {
	cmd      *exec.Cmd
	log      *os.File
	state    State // guarded by Cluster.mu
	expected bool  // guarded by Cluster.mu: the harness ended it
	exited   chan struct{}
	waitErr  error // set before exited closes
}

// New returns a cluster of cfg.Nodes, none running.
func New(cfg Config) *Cluster {
	if cfg.Region == "" {
		cfg.Region = "east"
	}
	if cfg.RegionID == 0 {
		cfg.RegionID = 1
	}
	if cfg.Ports == (Ports{}) {
		cfg.Ports = DefaultPorts
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	c := &Cluster{cfg: cfg}
	c.mu.procs = make(map[string]*proc)
	return c
}

// Nodes returns the node names.
func (c *Cluster) Nodes() []string { return append([]string(nil), c.cfg.Nodes...) }

// all returns the nodes and the spares.
func (c *Cluster) all() []string {
	return append(append([]string(nil), c.cfg.Nodes...), c.cfg.Spares...)
}

// Num returns node's number (1-based), or 0 if it is neither a node
// nor a spare.
func (c *Cluster) Num(node string) int {
	for i, n := range c.all() {
		if n == node {
			return i + 1
		}
	}
	return 0
}

// RESPAddr returns node's client address, host:port.
func (c *Cluster) RESPAddr(node string) string {
	return hostPort(c.cfg.Network.Addr(node), c.cfg.Ports.RESP)
}

// HTTPURL returns node's admin endpoint, http://host:port.
func (c *Cluster) HTTPURL(node string) string {
	return "http://" + hostPort(c.cfg.Network.Addr(node), c.cfg.Ports.HTTP)
}

func hostPort(h string, p int) string { return h + ":" + strconv.Itoa(p) }

// DataDir returns node's data directory.
func (c *Cluster) DataDir(node string) string { return filepath.Join(c.cfg.DataDir, node) }

// ClockFile returns node's clock offset file.
func (c *Cluster) ClockFile(node string) string {
	return filepath.Join(c.cfg.DataDir, node+".clock-offset")
}

// LogFile returns node's log file.
func (c *Cluster) LogFile(node string) string { return filepath.Join(c.cfg.LogDir, node+".log") }

// RegionArgs are the default server arguments:
//
//	server --region east --region-id 1 --node-id n1 --node-num 1 --data-dir DIR
//	       --bind ADDR --port 6379 --raft ADDR:7000 --http ADDR:9121
func (c *Cluster) RegionArgs(node string) []string {
	addr := c.cfg.Network.Addr(node)
	return []string{"server",
		"--region", c.cfg.Region, "--region-id", strconv.Itoa(c.cfg.RegionID),
		"--node-id", node, "--node-num", strconv.Itoa(c.Num(node)),
		"--data-dir", c.DataDir(node),
		"--bind", addr, "--port", strconv.Itoa(c.cfg.Ports.RESP),
		"--raft", hostPort(addr, c.cfg.Ports.Raft),
		"--http", hostPort(addr, c.cfg.Ports.HTTP),
	}
}

// State returns node's state.
func (c *Cluster) State(node string) State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.mu.procs[node]; p != nil {
		return p.state
	}
	return Stopped
}

// Crashes returns the node exits the harness did not cause, in order.
func (c *Cluster) Crashes() []Crash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Crash(nil), c.mu.crashes...)
}

// Start starts node's process. It does not wait for the node to serve;
// see [Cluster.WaitRESP].
func (c *Cluster) Start(ctx context.Context, node string) error {
	if c.Num(node) == 0 {
		return fmt.Errorf("cluster: no node %q", node)
	}
	if st := c.State(node); st != Stopped {
		return fmt.Errorf("cluster: start %s: already %s", node, st)
	}
	for _, d := range []string{c.cfg.LogDir, c.DataDir(node)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	if _, err := os.Stat(c.ClockFile(node)); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(c.ClockFile(node), []byte("0\n"), 0o644); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	logf, err := os.OpenFile(c.LogFile(node), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	args := c.RegionArgs(node)
	if c.cfg.Args != nil {
		args = c.cfg.Args(c, node)
	}
	cmd := c.cfg.Network.Command(node, c.cfg.Binary, args...)
	cmd.Env = append(os.Environ(), "MERIDIAN_FAULT_CLOCK_OFFSET_FILE="+c.ClockFile(node),
		"MERIDIAN_FAULT_DISK_STALL_FILE="+c.DiskStallFile(node))
	cmd.Env = append(cmd.Env, c.cfg.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a ^C to the test does not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(logf, "=== harness: %s start: %s\n", stamp(), strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("cluster: start %s: %w", node, err)
	}
	p := &proc{cmd: cmd, log: logf, state: Running, exited: make(chan struct{})}
	c.mu.Lock()
	c.mu.procs[node] = p
	c.mu.Unlock()
	go c.wait(node, p)
	return nil
}

// wait reaps p and records a crash if the harness did not end it.
func (c *Cluster) wait(node string, p *proc) {
	err := p.cmd.Wait()
	c.mu.Lock()
	p.waitErr = err
	if c.mu.procs[node] == p {
		p.state = Stopped
	}
	if !p.expected {
		msg := "exit status 0"
		if err != nil {
			msg = err.Error()
		}
		c.mu.crashes = append(c.mu.crashes, Crash{Node: node, At: time.Now(), Err: msg})
	}
	c.mu.Unlock()
	fmt.Fprintf(p.log, "=== harness: %s exited: %v\n", stamp(), err)
	p.log.Close()
	close(p.exited)
}

func stamp() string { return time.Now().Format("15:04:05.000") }

// current returns node's running or paused process, marking that the
// harness is about to end it if end is set.
func (c *Cluster) current(node string, end bool) (*proc, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.mu.procs[node]
	if p == nil || p.state == Stopped {
		return nil, fmt.Errorf("cluster: %s is not running", node)
	}
	if end {
		p.expected = true
	}
	return p, nil
}

func (c *Cluster) signal(p *proc, sig syscall.Signal, what string) error {
	fmt.Fprintf(p.log, "=== harness: %s %s\n", stamp(), what)
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: %s: %w", what, err)
	}
	return nil
}

// Kill sends SIGKILL to node and waits for it to exit.
func (c *Cluster) Kill(node string) error {
	p, err := c.current(node, true)
	if err != nil {
		return err
	}
	if err := c.signal(p, syscall.SIGKILL, "kill -9"); err != nil {
		return err
	}
	<-p.exited
	return nil
}

// Stop sends SIGTERM to node (resuming it first if paused) and waits for
// it to exit, sending SIGKILL after the configured StopTimeout or when ctx
// ends.
func (c *Cluster) Stop(ctx context.Context, node string) error {
	p, err := c.current(node, true)
	if err != nil {
		return err
	}
	if err := c.signal(p, syscall.SIGTERM, "stop (SIGTERM)"); err != nil {
		return err
	}
	c.signal(p, syscall.SIGCONT, "continue (so SIGTERM is handled)")
	t := time.NewTimer(c.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	c.signal(p, syscall.SIGKILL, "kill -9 (stop timed out)")
	<-p.exited
	return fmt.Errorf("cluster: %s did not stop within %s of SIGTERM; killed", node, c.cfg.StopTimeout)
}

// Pause freezes node with SIGSTOP.
func (c *Cluster) Pause(node string) error {
	p, err := c.current(node, false)
	if err != nil {
		return err
	}
	if err := c.signal(p, syscall.SIGSTOP, "pause (SIGSTOP)"); err != nil {
		return err
	}
	c.mu.Lock()
	p.state = Paused
	c.mu.Unlock()
	// SIGSTOP is asynchronous: wait until every thread has stopped, so
	// the caller's next step sees a frozen node.
	return waitStopped(p.cmd.Process.Pid, 2*time.Second)
}

// waitStopped waits until every thread of pid is in state T (stopped),
// as /proc shows it.
func waitStopped(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if allStopped(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: pid %d not stopped %s after SIGSTOP", pid, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func allStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return true // gone: nothing runs
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			continue
		}
		// The state follows the command name in parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) {
			continue
		}
		if st := b[i+2]; st != 'T' && st != 't' && st != 'Z' && st != 'X' {
			return false
		}
	}
	return true
}

// Resume thaws node with SIGCONT.
func (c *Cluster) Resume(node string) error {
	p, err := c.current(node, false)
	if err != nil {
		return err
	}
	if err := c.signal(p, syscall.SIGCONT, "resume (SIGCONT)"); err != nil {
		return err
	}
	c.mu.Lock()
	if p.state == Paused {
		p.state = Running
	}
	c.mu.Unlock()
	return nil
}

// Restart stops node gracefully (if running) and starts it again.
func (c *Cluster) Restart(ctx context.Context, node string) error {
	if c.State(node) != Stopped {
		if err := c.Stop(ctx, node); err != nil {
			return err
		}
	}
	return c.Start(ctx, node)
}

// StartAll starts every stopped node.
func (c *Cluster) StartAll(ctx context.Context) error {
	var errs []error
	for _, n := range c.cfg.Nodes {
		if c.State(n) == Stopped {
			errs = append(errs, c.Start(ctx, n))
		}
	}
	return errors.Join(errs...)
}

// SetClockOffset makes node's clock read d ahead (negative: behind) of
// real time, by writing its offset file in milliseconds. Only a binary
// built with -tags faultinject reads it.
func (c *Cluster) SetClockOffset(node string, d time.Duration) error {
	if err := os.MkdirAll(c.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	tmp := c.ClockFile(node) + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(d.Milliseconds(), 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return os.Rename(tmp, c.ClockFile(node)) // atomic: the node never reads half a file
}

// Close kills every node still running (resuming paused ones first so
// none is left stopped) and waits for them.
func (c *Cluster) Close() error {
	var errs []error
	for _, n := range c.all() {
		if c.State(n) == Stopped {
			continue
		}
		p, err := c.current(n, true)
		if err != nil {
			continue
		}
		c.signal(p, syscall.SIGKILL, "kill -9 (cluster closed)")
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("cluster: %s did not exit after SIGKILL", n))
		}
	}
	return errors.Join(errs...)
}

// Loopback is a [Network] without namespaces: node i (from 0) listens on
// 127.0.0.(Base+i), and commands run directly. Partitions are not
// possible on it; it serves process-control tests that must run without
// root.
type Loopback struct {
	Nodes []string
	// Base is the last octet of the first node's address; zero means 11.
	Base int
}

// Command runs name directly.
func (l Loopback) Command(_ string, name string, args ...string) *exec.Cmd {
	return exec.Command(name, args...)
}

// Addr returns node's loopback address.
func (l Loopback) Addr(node string) string {
	base := l.Base
	if base == 0 {
		base = 11
	}
	for i, n := range l.Nodes {
		if n == node {
			return fmt.Sprintf("127.0.0.%d", base+i)
		}
	}
	return ""
}

// Tail returns the last n lines of node's log, for failure messages.
func (c *Cluster) Tail(node string, n int) string {
	f, err := os.Open(c.LogFile(node))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// PID returns node's process id, or 0 if it is not running.
func (c *Cluster) PID(node string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.mu.procs[node]; p != nil && p.state != Stopped {
		return p.cmd.Process.Pid
	}
	return 0
}
