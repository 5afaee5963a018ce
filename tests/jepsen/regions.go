package jepsen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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

// Regions is the mode of [RunRegions]: two linked regions.
const Regions Mode = "regions"

// LinkPort is the link (gRPC) port of every node of a [RunRegions] run.
const LinkPort = 8379

// regionNames and regionIDs name the two regions of [RunRegions]; node
// i (from 1) of region r is r[0] followed by i: e1..e3, w1..w3.
var (
	regionNames = [2]string{"east", "west"}
	regionIDs   = [2]int{1, 2}
)

// regionWorkload is a workload whose keys the convergence check reads.
type regionWorkload interface {
	workload.Workload
	Keys() []string
}

// newRegionWorkload returns the two-region variant of a workload and the
// read its convergence check compares. clockSkew is the largest clock
// offset the nemesis sets: checkers that hold node clocks to the
// harness's allow for it.
func newRegionWorkload(name string, clockSkew time.Duration) (regionWorkload, func(context.Context, *redis.Client, string) (string, error), error) {
	switch name {
	case "counter":
		// Across regions only final reads are checked: a read in one
		// region need not see the other's acknowledged increments yet.
		return workload.NewCounter(workload.CounterOptions{Keys: 3}), readCounter, nil
	case "set":
		return workload.NewSet(workload.SetOptions{Keys: 2, RemoveOwn: true}), readSet, nil
	case "session":
		// Convergence compares the long sessions (GET); the checker
		// reads the history: no session reappears after its expiry.
		// A skewed clock moves expiries by up to the skew.
		var margin time.Duration
		if clockSkew > 0 {
			margin = sessionMargin + clockSkew
		}
		return workload.NewSession(workload.SessionOptions{Region: regionOf, Margin: margin}), readCounter, nil
	case "list":
		// RPUSH and LPUSH in both regions; only final reads are checked,
		// and every node's final list must be the same, in the same order.
		return workload.NewList(workload.ListOptions{Keys: 3, OpsPerKey: 1000, LeftPushes: true, SameFinal: true}), readList, nil
	case "register-lww":
		// SET/GET of a few keys: last writer wins, not linearizable.
		return workload.NewRegisterLWW(workload.RegisterLWWOptions{Region: regionOf}), readCounter, nil
	case "hash-lww":
		// HSET/HDEL/HGETALL: every field a last-writer-wins register.
		return workload.NewHash(workload.HashOptions{Region: regionOf}), readHash, nil
	case "list-pops":
		// RPUSH, LPOP, RPOP and LRANGE: no element popped twice in one
		// region, none popped back, no acknowledged push lost.
		return workload.NewListPops(workload.ListPopsOptions{Region: regionOf}), readList, nil
	}
	return nil, nil, fmt.Errorf("jepsen: workload %q has no two-region variant (%s)", name, strings.Join(RegionWorkloads, ", "))
}

// RegionWorkloads are the workloads [RunRegions] runs.
var RegionWorkloads = []string{"counter", "set", "session", "list", "register-lww", "hash-lww", "list-pops"}

// readHash reads a hash as "field=value" pairs in field order.
func readHash(ctx context.Context, rdb *redis.Client, key string) (string, error) {
	m, err := rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return "", err
	}
	pairs := make([]string, 0, len(m))
	for f, v := range m {
		pairs = append(pairs, f+"="+v)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ","), nil
}

// sessionMargin is the session checker's default clock margin
// (checker.SessionOptions.Margin).
const sessionMargin = 200 * time.Millisecond

// regionOf returns the region of a node of [RunRegions] (e1 is east).
func regionOf(node string) string {
	for _, r := range regionNames {
		if node != "" && node[0] == r[0] {
			return r
		}
	}
	return ""
}

func readCounter(ctx context.Context, rdb *redis.Client, key string) (string, error) {
	s, err := rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "nil", nil
	}
	return s, err
}

func readList(ctx context.Context, rdb *redis.Client, key string) (string, error) {
	l, err := rdb.LRange(ctx, key, 0, -1).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return strings.Join(l, ","), err
}

func readSet(ctx context.Context, rdb *redis.Client, key string) (string, error) {
	m, err := rdb.SMembers(ctx, key).Result()
	if err != nil {
		return "", err
	}
	slices.Sort(m)
	return strings.Join(m, ","), nil
}

// twoRegions is the processes of both regions, behind the one
// interface the nemesis drives: each call goes to the node's region.
type twoRegions struct {
	regions [2]*cluster.Cluster
	nodes   [2][]string
}

func (r *twoRegions) of(node string) *cluster.Cluster {
	if slices.Contains(r.nodes[1], node) {
		return r.regions[1]
	}
	return r.regions[0]
}

func (r *twoRegions) Kill(node string) error { return r.of(node).Kill(node) }
func (r *twoRegions) Start(ctx context.Context, node string) error {
	return r.of(node).Start(ctx, node)
}
func (r *twoRegions) Stop(ctx context.Context, node string) error { return r.of(node).Stop(ctx, node) }
func (r *twoRegions) Pause(node string) error                     { return r.of(node).Pause(node) }
func (r *twoRegions) Resume(node string) error                    { return r.of(node).Resume(node) }
func (r *twoRegions) SetClockOffset(node string, d time.Duration) error {
	return r.of(node).SetClockOffset(node, d)
}
func (r *twoRegions) RESPAddr(node string) string { return r.of(node).RESPAddr(node) }
func (r *twoRegions) WaitMember(ctx context.Context, node string) error {
	return r.of(node).WaitMember(ctx, node)
}

// LeaderOf returns the leader of the region of nodes[0].
func (r *twoRegions) LeaderOf(ctx context.Context, nodes []string) (string, error) {
	if len(nodes) == 0 {
		return "", errors.New("jepsen: no nodes")
	}
	return r.of(nodes[0]).WaitLeader(ctx)
}

// RunRegions performs one run against two linked regions, east (id 1,
// nodes e1..eN) and west (id 2, w1..wN), each node in its own network
// namespace: both regions formed, linked both ways (`meridian region
// link`), clients of cfg.Workload ("counter", "set", "session" or "list") on every node of
// both regions, a nemesis drawing from cfg.Nemesis ([nemesis.LinkKinds]),
// then heal, convergence (every node returns the same final values of
// the workload's keys: DEBUG DIGEST differs across regions by
// tombstones and frontiers), final reads on every node, checks, report.
// cfg.Nodes is the size of each region (zero: 3); cfg.Mode is ignored.
// The counter checker bounds each final value by the acknowledged and
// indeterminate increments of both regions; the set checker finds lost
// and resurrected elements (clients remove only elements added through
// their own node, see [workload.SetOptions.RemoveOwn]); the list
// checker requires every acknowledged push exactly once in every final
// read and the same final list, in the same order, on every node.
//
// With cfg.WAN set, every link connection crosses a WAN (see
// [wan.Links]): tc netem on the nodes' interfaces where the kernel has
// it, else a delay proxy in each node's namespace plus iptables random
// drop of the packets arriving from the other region; partitions (link
// cuts) cut that path too. The report (summary, verdict.json's "wan",
// the timeline's "wan" lines) says which conditions held, how, and the
// packets dropped and retransmitted. Clock-skew steps move one node's
// clock within and then beyond cfg.MaxClockOffset, which every node is
// given as --max-clock-offset.
//
// Everything it creates (namespaces, processes, proxies, rules, data)
// is removed before it returns, on failure too, except the result
// folder.
func RunRegions(ctx context.Context, cfg Config) (*Report, error) {
	cfg.Mode = Regions
	if cfg.Prefix == "" {
		cfg.Prefix = "mjrg"
	}
	if cfg.Subnet == "" {
		cfg.Subnet = "10.77.4"
	}
	if cfg.RunPattern == "" {
		cfg.RunPattern = "TestJepsenRegions/" + cfg.Workload
	}
	if err := cfg.fillCommon(); err != nil {
		return nil, err
	}
	if cfg.MaxClockOffset == 0 {
		cfg.MaxClockOffset = nemesis.DefaultMaxClockOffset
	}
	var tr twoRegions
	var all []string
	for r := range 2 {
		for i := range cfg.Nodes {
			tr.nodes[r] = append(tr.nodes[r], fmt.Sprintf("%c%d", regionNames[r][0], i+1))
		}
		all = append(all, tr.nodes[r]...)
	}
	plan := nemesis.NewLinkPlan(cfg.Seed, nemesis.LinkPlanConfig{Kinds: cfg.Nemesis, Regions: tr.nodes,
		Duration: cfg.Duration, Hold: cfg.Hold, Quiet: cfg.Quiet, Warmup: min(2*time.Second, cfg.Duration/5),
		MaxClockOffset: cfg.MaxClockOffset, Cycle: cfg.Cycle})
	w, read, err := newRegionWorkload(cfg.Workload, plan.MaxSkew())
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	// Network: one namespace per node of both regions, never shared
	// with another run at the same time.
	rep, dataDir, done, err := startRun(ctx, &cfg, "regions-")
	if err != nil {
		return nil, err
	}
	defer done()
	dir := rep.Dir
	netLog, _ := os.Create(filepath.Join(dir, "netns-commands.log"))
	if netLog != nil {
		defer netLog.Close()
	}
	nw, err := netns.Create(ctx, netns.Config{Prefix: cfg.Prefix, Subnet: cfg.Subnet,
		Nodes: netns.DefaultNodes(cfg.Subnet, all...), Logger: fileLogger(netLog)})
	if err != nil {
		return nil, err
	}
	defer nw.Close()

	// The WAN between the regions: each region dials the other's link
	// ports at the addresses links gives (a proxy's, with the proxy).
	var links *wan.Links
	if !cfg.Unlinked {
		links, err = wan.SetupLinks(ctx, wan.LinksConfig{Network: nw, Regions: tr.nodes, Port: LinkPort,
			Conditions: cfg.WAN, Method: cfg.WANMethod})
		if err != nil {
			return nil, err
		}
		defer links.Close(context.WithoutCancel(ctx))
		if !cfg.WAN.IsZero() {
			log.Info("wan", "how", links.Describe())
		}
	}

	// Nodes and regions.
	token := "jepsen-" + strconv.FormatUint(cfg.Seed, 36)
	listenAddr := func(node string) string { return nw.Addr(node) + ":" + strconv.Itoa(LinkPort) }
	for r := range 2 {
		cl := cluster.New(cluster.Config{Binary: cfg.Binary, Network: nw, Nodes: tr.nodes[r],
			LogDir: filepath.Join(dir, "logs"), DataDir: dataDir, Region: regionNames[r], RegionID: regionIDs[r],
			Env: []string{"MERIDIAN_LINK_TOKEN=" + token},
			Args: func(c *cluster.Cluster, node string) []string {
				return append(c.RegionArgs(node), "--link", listenAddr(node), "--max-clock-offset", cfg.MaxClockOffset.String())
			}})
		defer cl.Close()
		tr.regions[r] = cl
		if err := cl.StartAll(ctx); err != nil {
			return nil, err
		}
	}
	for _, n := range all {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := tr.of(n).WaitRESP(rctx, n)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	for r, cl := range tr.regions {
		if err := cl.Bootstrap(ctx); err != nil {
			return nil, err
		}
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		l, err := cl.WaitLeader(lctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("jepsen: region %s did not elect a leader: %w", regionNames[r], err)
		}
		log.Info("region formed", "region", regionNames[r], "leader", l)
	}
	if !cfg.Unlinked {
		start := time.Now()
		if err := linkRegions(ctx, cfg.Binary, &tr, links.Addr); err != nil {
			return nil, err
		}
		log.Info("regions linked", "took", time.Since(start).Round(time.Millisecond))
	}

	// Clients and nemesis.
	log.Info("plan", "plan", plan.String())
	rec := history.NewRecorder(time.Now())
	nem := nemesis.New(nemesis.Env{Network: nw, Processes: &tr, Nodes: all, LeaderOf: tr.LeaderOf,
		Ready: tr.WaitMember}, rec.Origin())
	if links != nil && !cfg.WAN.IsZero() {
		nem.Note(nemesis.WAN, "in-force", all, links.Describe(), nil)
	}
	wcfg := workload.Config{Nodes: all, Addr: tr.RESPAddr, Concurrency: cfg.Concurrency,
		Seed: int64(cfg.Seed), Policy: cfg.Policy, OpTimeout: cfg.OpTimeout}
	var wg sync.WaitGroup
	wg.Go(func() { nem.Run(ctx, plan) })
	workload.Run(ctx, wcfg, rec, w, cfg.Duration)
	wg.Wait()

	// Heal, wait for both regions to lead, converge, final reads.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	healErr := nem.HealAll(hctx)
	rules := nw.Rules(hctx)
	for r, cl := range tr.regions {
		if _, err := cl.WaitLeader(hctx); err != nil {
			log.Warn("no leader after heal", "region", regionNames[r], "err", err)
		}
	}
	rep.Converge = convergeKeys(hctx, &tr, all, w.Keys(), read, cfg.ConvergeTimeout)
	log.Info("convergence", "converged", rep.Converge.Converged, "seconds", rep.Converge.Elapsed.Seconds())
	workload.FinalReads(hctx, wcfg, rec, w)

	// Check and report.
	h := rec.History()
	rep.Counts = h.Counts()
	rep.Faults = nem.Faults()
	for _, cl := range tr.regions {
		rep.Crashes = append(rep.Crashes, cl.Crashes()...)
	}
	if links != nil && !cfg.WAN.IsZero() {
		st, err := links.Stats(hctx)
		rep.WAN = &WANReport{Conditions: cfg.WAN, Method: links.Method(), How: links.Describe(), Stats: st}
		nem.Note(nemesis.WAN, "stats", all, st.String(), err)
	}
	rep.ClockAhead = countLogLines(filepath.Join(dir, "logs"), all, clockAheadLog)
	rep.Results = append(w.Check(h, dir), rep.Converge.Result)
	rep.conclude(nem.Anomalies(), healErr)
	cfg.Nodes = len(all)
	err = writeReport(rep, cfg, h, plan, nem.Timeline(), rules)
	return rep, err
}

// linkRegions links east to west and west to east (`meridian region
// link NAME ADDRS --id ID --http URL`), and waits for both links to
// connect.
func linkRegions(ctx context.Context, bin string, tr *twoRegions, linkAddr func(string) string) error {
	link := func(from, to int, wait bool) error {
		addrs := make([]string, len(tr.nodes[to]))
		for i, n := range tr.nodes[to] {
			addrs[i] = linkAddr(n)
		}
		args := []string{"region", "link", regionNames[to], strings.Join(addrs, ","),
			"--id", strconv.Itoa(regionIDs[to]), "--http", tr.regions[from].HTTPURL(tr.nodes[from][0])}
		if wait {
			args = append(args, "--wait", "30s")
		}
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("jepsen: link %s to %s: %v: %s", regionNames[from], regionNames[to], err, bytes.TrimSpace(out))
		}
		return nil
	}
	// A region accepts only peers it has linked: the second link
	// connects both, and linking again with the same addresses waits.
	return errors.Join(link(0, 1, false), link(1, 0, true), link(0, 1, true))
}

// convergeKeys waits until every node returns the same value of every
// key (read outside the history) and returns the convergence verdict
// with the time it took.
func convergeKeys(ctx context.Context, tr *twoRegions, nodes, keys []string,
	read func(context.Context, *redis.Client, string) (string, error), timeout time.Duration) checker.Convergence {
	clients := make(map[string]*redis.Client)
	for _, n := range nodes {
		clients[n] = redis.NewClient(&redis.Options{Addr: tr.RESPAddr(n), Protocol: 2, DisableIdentity: true,
			MaxRetries: -1, PoolSize: 1, ContextTimeoutEnabled: true})
		defer clients[n].Close()
	}
	values := func(ctx context.Context, n string) (string, error) {
		var b strings.Builder
		for _, k := range keys {
			v, err := read(ctx, clients[n], k)
			if err != nil {
				return "", fmt.Errorf("%s: %w", k, err)
			}
			fmt.Fprintf(&b, "%s=%s;", k, v)
		}
		return b.String(), nil
	}
	c := checker.WaitConverged(ctx, nodes, values, timeout, 100*time.Millisecond)
	if c.Converged {
		c.Notes = append(c.Notes, "compared: the final values of "+strings.Join(keys, ", ")+" on every node of both regions (DEBUG DIGEST differs across regions)")
	}
	return c
}

// clockAheadLog is what a node logs when a remote stamp is ahead of its
// clock by more than max-clock-offset (interregion).
const clockAheadLog = "beyond max-clock-offset"

// countLogLines counts the lines containing substr in the logs of nodes.
func countLogLines(dir string, nodes []string, substr string) int {
	n := 0
	for _, nd := range nodes {
		b, err := os.ReadFile(filepath.Join(dir, nd+".log"))
		if err != nil {
			continue
		}
		n += bytes.Count(b, []byte(substr))
	}
	return n
}
