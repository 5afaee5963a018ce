package jepsen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/cluster"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
	"github.com/meridian-kv/meridian/tests/jepsen/netns"
	"github.com/meridian-kv/meridian/tests/jepsen/wan"
	"github.com/meridian-kv/meridian/tests/jepsen/workload"
)

// Mode says how nodes are run.
type Mode string

// The modes.
const (
	// Region runs a Raft region: server --raft ..., region bootstrap.
	Region Mode = "region"
	// Standalone runs independent single-node servers (no Raft). It
	// tests the harness itself: a fault that loses data must be found.
	Standalone Mode = "standalone"
)

// Config describes one run: one workload under one nemesis mix.
type Config struct {
	// Binary is the meridian executable (see cluster.Build).
	Binary string
	// Mode; empty means Region.
	Mode Mode
	// Workload is "register", "counter", "set" or "list".
	Workload string
	// Nemesis lists the fault kinds to draw from; empty means none.
	Nemesis []nemesis.Kind
	// Nodes is the region's size; zero means 3.
	Nodes int
	// Spares is how many fresh nodes (n4, n5, ... after the region's)
	// membership churn may add, one per churn step; zero means 2 when
	// Nemesis has MembershipChurn.
	Spares int
	// Duration is how long clients run; zero means 15 s.
	Duration time.Duration
	// Hold and Quiet are each fault's window and the healed gap after it;
	// zero means derived from Duration.
	Hold, Quiet time.Duration
	// Concurrency is the number of clients; zero means 2 per node.
	Concurrency int
	// Seed seeds the nemesis and the clients; zero means time-based. The
	// seed used is in the report.
	Seed uint64
	// Policy tunes error classification.
	Policy workload.Policy
	// OpTimeout bounds each client op; zero means 3 s (see
	// workload.Config).
	OpTimeout time.Duration
	// ConvergeTimeout bounds the convergence check; zero means 30 s.
	ConvergeTimeout time.Duration
	// ResultsDir is where the run's folder is created. Required.
	ResultsDir string
	// DataDir holds the nodes' data; empty means a folder in os.TempDir
	// removed at the end.
	DataDir string
	// Prefix and Subnet name the network (see netns.Config); empty means
	// "mjep" and "10.77.0".
	Prefix, Subnet string
	// Logger receives progress; nil means discard.
	Logger *slog.Logger
	// Unlinked makes [RunRegions] skip linking the regions: a harness
	// self-test, in which the checkers must find every region missing
	// the other's writes.
	Unlinked bool
	// RunPattern is the `go test -run` pattern that reproduces the run,
	// for the summary; empty means TestJepsen/<workload>/<nemesis>.
	RunPattern string
	// Cycle takes the Nemesis kinds in turn, from a first one drawn from
	// the seed (nemesis.PlanConfig.Cycle), instead of drawing each step's
	// kind: a run with as many fault windows as kinds has each once.
	Cycle bool
	// WAN is the delay and loss between the two regions of [RunRegions]
	// (each way, link traffic only); zero means none: direct links.
	WAN wan.Conditions
	// WANMethod forces how the WAN is made (wan.Netem or
	// wan.ProxyMethod); empty means netem where the kernel has it, else
	// the proxy with iptables loss (see wan.Links).
	WANMethod wan.Method
	// MaxClockOffset is every [RunRegions] node's --max-clock-offset,
	// which clock-skew steps stay within and then go beyond; zero means
	// nemesis.DefaultMaxClockOffset.
	MaxClockOffset time.Duration
}

// Report is the outcome of a run.
type Report struct {
	// Dir is the run's result folder.
	Dir  string
	Name string
	Seed uint64
	// Valid is the overall verdict: every checker Valid and no crash.
	Valid    checker.Validity
	Results  []checker.Result
	Counts   history.Counts
	Faults   int
	Crashes  []cluster.Crash
	Converge checker.Convergence
	// WAN is what held between the regions of a [RunRegions] run with
	// Config.WAN set; nil otherwise.
	WAN *WANReport
	// ClockAhead counts the nodes' log lines "remote stamp ahead of local
	// clock beyond max-clock-offset" of a [RunRegions] run.
	ClockAhead int
	// Summary is summary.txt's text.
	Summary string
}

// WANReport says which WAN conditions held between two regions, how
// they were made, and what they did.
type WANReport struct {
	Conditions wan.Conditions `json:"conditions"`
	Method     wan.Method     `json:"method"`
	// How is wan.Links.Describe's line.
	How   string    `json:"how"`
	Stats wan.Stats `json:"stats"`
}

func (c *Config) fill() error {
	if c.Mode == "" {
		c.Mode = Region
	}
	if err := c.fillCommon(); err != nil {
		return err
	}
	if _, err := newWorkload(c); err != nil {
		return err
	}
	return nil
}

// fillCommon sets the defaults shared by [Run] and [RunRegions].
func (c *Config) fillCommon() error {
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Duration == 0 {
		c.Duration = 15 * time.Second
	}
	if c.Hold == 0 {
		c.Hold = min(max(c.Duration/6, 3*time.Second), 10*time.Second)
	}
	if c.Quiet == 0 {
		c.Quiet = c.Hold * 3 / 5
	}
	if c.ConvergeTimeout == 0 {
		c.ConvergeTimeout = 30 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Spares == 0 && slices.Contains(c.Nemesis, nemesis.MembershipChurn) {
		c.Spares = 2
	}
	if c.Prefix == "" {
		c.Prefix = "mjep"
	}
	if c.Subnet == "" {
		c.Subnet = "10.77.0"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Binary == "" || c.ResultsDir == "" {
		return errors.New("jepsen: Config.Binary and Config.ResultsDir are required")
	}
	if c.RunPattern == "" {
		c.RunPattern = "TestJepsen/" + c.Workload + "/" + nemesisName(c.Nemesis)
	}
	return nil
}

func newWorkload(c *Config) (workload.Workload, error) {
	switch c.Workload {
	case "register":
		return workload.NewRegister(workload.RegisterOptions{}), nil
	case "counter":
		return workload.NewCounter(workload.CounterOptions{Realtime: true}), nil
	case "set":
		return workload.NewSet(workload.SetOptions{Realtime: true}), nil
	case "list":
		return workload.NewList(workload.ListOptions{Realtime: true}), nil
	}
	return nil, fmt.Errorf("jepsen: unknown workload %q (register, counter, set, list)", c.Workload)
}

// nemesisName names a nemesis mix for folder names.
func nemesisName(kinds []nemesis.Kind) string {
	if len(kinds) == 0 {
		return "none"
	}
	if len(kinds) == len(nemesis.AllKinds) {
		return "all"
	}
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, "+")
}

// Run performs one run: network, nodes, clients and nemesis for
// cfg.Duration, heal, final reads, convergence, checks, report. An error
// means the harness could not run (the region never formed, say); a
// run that found anomalies returns a Report whose Valid is Invalid.
// Everything it creates is removed before it returns, except the result
// folder.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	w, _ := newWorkload(&cfg)
	log := cfg.Logger
	rep, dataDir, done, err := startRun(ctx, &cfg, "")
	if err != nil {
		return nil, err
	}
	defer done()
	dir := rep.Dir

	// Nodes, on the namespaces startRun locked.
	names := make([]string, cfg.Nodes)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i+1)
	}
	spares := make([]string, cfg.Spares)
	for i := range spares {
		spares[i] = fmt.Sprintf("n%d", cfg.Nodes+i+1)
	}
	netLog, _ := os.Create(filepath.Join(dir, "netns-commands.log"))
	if netLog != nil {
		defer netLog.Close()
	}
	nw, err := netns.Create(ctx, netns.Config{Prefix: cfg.Prefix, Subnet: cfg.Subnet,
		Nodes: netns.DefaultNodes(cfg.Subnet, append(slices.Clone(names), spares...)...), Logger: fileLogger(netLog)})
	if err != nil {
		return nil, err
	}
	defer nw.Close()
	ccfg := cluster.Config{Binary: cfg.Binary, Network: nw, Nodes: names, Spares: spares,
		LogDir: filepath.Join(dir, "logs"), DataDir: dataDir}
	if cfg.Mode == Standalone {
		ccfg.Args = standaloneArgs
	}
	cl := cluster.New(ccfg)
	defer cl.Close()
	if err := cl.StartAll(ctx); err != nil {
		return nil, err
	}
	for _, n := range names {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cl.WaitRESP(rctx, n)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	var leader func(context.Context) (string, error)
	ready := cl.WaitRESP
	if cfg.Mode == Region {
		ready = cl.WaitMember
		if err := cl.Bootstrap(ctx); err != nil {
			return nil, err
		}
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		l, err := cl.WaitLeader(lctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("jepsen: region did not elect a leader: %w", err)
		}
		log.Info("region formed", "leader", l)
		leader = cl.WaitLeader
	}

	// Clients and nemesis.
	plan := nemesis.NewPlan(cfg.Seed, nemesis.PlanConfig{Kinds: cfg.Nemesis, Nodes: names, Spares: spares,
		Duration: cfg.Duration, Hold: cfg.Hold, Quiet: cfg.Quiet, Warmup: min(2*time.Second, cfg.Duration/5), Cycle: cfg.Cycle})
	log.Info("plan", "plan", plan.String())
	rec := history.NewRecorder(time.Now())
	nem := nemesis.New(nemesis.Env{Network: nw, Processes: cl, Nodes: names, Leader: leader,
		Ready: ready}, rec.Origin())
	wcfg := workload.Config{Nodes: names, Addr: cl.RESPAddr, Route: nem.Route, Concurrency: cfg.Concurrency,
		Seed: int64(cfg.Seed), Policy: cfg.Policy, OpTimeout: cfg.OpTimeout}
	var wg sync.WaitGroup
	wg.Go(func() { nem.Run(ctx, plan) })
	workload.Run(ctx, wcfg, rec, w, cfg.Duration)
	wg.Wait()

	// Heal, settle, final reads, convergence.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	healErr := nem.HealAll(hctx)
	rules := nw.Rules(hctx)
	if cfg.Mode == Region {
		if _, err := cl.WaitLeader(hctx); err != nil {
			log.Warn("no leader after heal", "err", err)
		}
	}
	// After churn the region is not the one it started as: final reads
	// and convergence ask its members now.
	members := nem.Members()
	wcfg.Nodes = members
	workload.FinalReads(hctx, wcfg, rec, w)
	rep.Converge = converge(hctx, cl, members, cfg.ConvergeTimeout)

	// Check and report.
	h := rec.History()
	rep.Counts = h.Counts()
	rep.Faults = nem.Faults()
	rep.Crashes = cl.Crashes()
	rep.Results = append(w.Check(h, dir), rep.Converge.Result)
	rep.conclude(nem.Anomalies(), healErr)
	err = writeReport(rep, cfg, h, plan, nem.Timeline(), rules)
	return rep, err
}

// standaloneArgs runs today's single-node server (no Raft).
func standaloneArgs(c *cluster.Cluster, node string) []string {
	host := strings.TrimPrefix(c.HTTPURL(node), "http://")
	return []string{"server", "--bind", strings.Split(host, ":")[0], "--port", strings.Split(c.RESPAddr(node), ":")[1],
		"--http", host, "--data-dir", c.DataDir(node)}
}

// converge runs the convergence checker over DEBUG DIGEST. If no node
// knows the command, the verdict is Unknown: convergence was not checked.
func converge(ctx context.Context, cl *cluster.Cluster, nodes []string, timeout time.Duration) checker.Convergence {
	clients := make(map[string]*redis.Client)
	for _, n := range nodes {
		clients[n] = redis.NewClient(&redis.Options{Addr: cl.RESPAddr(n), Protocol: 2, DisableIdentity: true,
			MaxRetries: -1, PoolSize: 1, ContextTimeoutEnabled: true})
		defer clients[n].Close()
	}
	digest := func(ctx context.Context, n string) (string, error) { return workload.Digest(ctx, clients[n]) }
	unsupported := 0
	for _, n := range nodes {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := digest(pctx, n)
		cancel()
		if err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown") {
			unsupported++
		}
	}
	if unsupported == len(nodes) {
		return checker.Convergence{Result: checker.Result{Checker: "convergence", Valid: checker.Unknown,
			Notes: []string{digestUnsupported}}}
	}
	return checker.WaitConverged(ctx, nodes, digest, timeout, 200*time.Millisecond)
}

const digestUnsupported = "DEBUG DIGEST is not implemented by the nodes: convergence not checked"

// DigestUnsupported reports whether r is the convergence verdict of nodes
// that do not implement DEBUG DIGEST (Unknown, not a divergence).
func DigestUnsupported(r checker.Result) bool {
	return r.Checker == "convergence" && r.Valid == checker.Unknown && slices.Contains(r.Notes, digestUnsupported)
}

func fileLogger(f *os.File) *slog.Logger {
	if f == nil {
		return nil
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// conclude adds to the checkers' results the harness's own verdicts
// (nodes that crashed, nemesis anomalies, a failed heal) and merges them
// all into rep.Valid.
func (rep *Report) conclude(nemesisAnomalies []string, healErr error) {
	if len(rep.Crashes) > 0 {
		r := checker.Result{Checker: "crashes", Valid: checker.Invalid}
		for _, c := range rep.Crashes {
			r.Anomalies = append(r.Anomalies, fmt.Sprintf("%s exited on its own at %s: %s (see logs/%s.log)", c.Node, c.At.Format("15:04:05.000"), c.Err, c.Node))
		}
		rep.Results = append(rep.Results, r)
	}
	if len(nemesisAnomalies) > 0 {
		rep.Results = append(rep.Results, checker.Result{Checker: "nemesis", Valid: checker.Invalid, Anomalies: nemesisAnomalies})
	}
	if healErr != nil {
		rep.Results = append(rep.Results, checker.Result{Checker: "harness", Valid: checker.Unknown,
			Notes: []string{"healing failed: " + healErr.Error()}})
	}
	vs := make([]checker.Validity, len(rep.Results))
	for i, r := range rep.Results {
		vs[i] = r.Valid
	}
	rep.Valid = checker.Merge(vs...)
}

// startRun prepares a run of cfg: its results folder (named by time,
// kind ("" or "regions-"), workload, faults and seed) with an empty
// report, a data folder (cfg.DataDir, else a temporary one), and the
// lock of cfg.Prefix's network namespaces, whose leftovers from a
// crashed run it deletes. done releases the lock and removes a
// temporary data folder.
func startRun(ctx context.Context, cfg *Config, kind string) (rep *Report, dataDir string, done func(), err error) {
	name := fmt.Sprintf("%s-%s%s-%s-seed%d", time.Now().Format("20060102-150405"), kind, cfg.Workload, nemesisName(cfg.Nemesis), cfg.Seed)
	dir := filepath.Join(cfg.ResultsDir, name)
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, "", nil, fmt.Errorf("jepsen: %w", err)
	}
	var undo []func()
	done = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	dataDir = cfg.DataDir
	if dataDir == "" {
		d, err := os.MkdirTemp("", "meridian-jepsen-")
		if err != nil {
			return nil, "", nil, fmt.Errorf("jepsen: %w", err)
		}
		undo = append(undo, func() { os.RemoveAll(d) })
		dataDir = d
	}
	unlock, err := lockPrefix(ctx, cfg.Prefix, func() {
		cfg.Logger.Warn("waiting for another run using the same network namespaces", "prefix", cfg.Prefix)
	})
	if err != nil {
		done()
		return nil, "", nil, err
	}
	undo = append(undo, unlock)
	if err := netns.Cleanup(ctx, cfg.Prefix); err != nil {
		done()
		return nil, "", nil, err
	}
	return &Report{Dir: dir, Name: name, Seed: cfg.Seed}, dataDir, done, nil
}
