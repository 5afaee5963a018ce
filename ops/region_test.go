package ops

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// regionNode is a region-mode node run as `meridian server` runs it:
// Serve in the background until the test ends or the node stops by
// itself (removed from its region).
type regionNode struct {
	*Node
	id   string
	dir  string
	done chan error // receives Serve's result
}

// startRegionNode starts a region node on free loopback ports with its
// data in dir (a new temporary directory when empty).
func startRegionNode(t *testing.T, id, dir string, change func(c *Config)) *regionNode {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := DefaultConfig()
	cfg.Port, cfg.HTTP, cfg.Raft = 0, "127.0.0.1:0", "127.0.0.1:0"
	cfg.NodeID, cfg.Region, cfg.DataDir = id, "test", dir
	cfg.RaftTimeout = 300 * time.Millisecond
	if change != nil {
		change(&cfg)
	}
	n, err := Start(cfg, slog.New(slog.NewTextHandler(tLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", id))
	if err != nil {
		t.Fatalf("Start %s: %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &regionNode{Node: n, id: id, dir: dir, done: make(chan error, 1)}
	go func() { rn.done <- n.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rn.done:
		case <-time.After(2 * ShutdownTimeout):
			t.Errorf("node %s did not stop", id)
		}
	})
	return rn
}

func (rn *regionNode) url() string { return "http://" + rn.HTTPAddr().String() }

// cliRun runs the meridian CLI with args and returns its exit code and
// output.
func cliRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	code = run(t.Context(), args, env(nil), &out, &errb, nil)
	return code, out.String(), errb.String()
}

// mustCLI runs the CLI and fails the test unless it exits 0.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cliRun(t, args...)
	if code != 0 {
		t.Fatalf("meridian %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// waitFor polls cond every 20 ms until it holds or 15 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leaderOf waits for a ready leader among nodes and returns its index.
func leaderOf(t *testing.T, nodes []*regionNode) int {
	t.Helper()
	idx := -1
	waitFor(t, "a ready leader", func() bool {
		for i, n := range nodes {
			if n.Group().IsReadyLeader() {
				idx = i
				return true
			}
		}
		return false
	})
	return idx
}

func redisClient(t *testing.T, n *regionNode) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 2, PoolSize: 1, MaxRetries: -1, DisableIdentity: true})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestRegionThroughCLI forms a 3-node region with the CLI, serves clients
// on every node, joins a fourth node and removes it again.
func TestRegionThroughCLI(t *testing.T) {
	ctx := t.Context()
	nodes := []*regionNode{
		startRegionNode(t, "n1", "", nil),
		startRegionNode(t, "n2", "", nil),
		startRegionNode(t, "n3", "", nil),
	}
	urls := []string{nodes[0].url(), nodes[1].url(), nodes[2].url()}

	// Before bootstrap: no state, no leader.
	var rep statusReport
	if err := json.Unmarshal([]byte(mustCLI(t, "status", "--http", urls[1], "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Node.Mode != "region" || rep.Node.HasState || rep.Node.NodeID != "n2" || rep.Node.RaftAddr != nodes[1].RaftAddr() {
		t.Errorf("status before bootstrap = %+v", rep.Node)
	}

	out := mustCLI(t, "region", "bootstrap", "--nodes", strings.Join(urls, ","))
	if !strings.Contains(out, "region test formed: n1, n2, n3; leader n") {
		t.Errorf("bootstrap printed %q", out)
	}
	li := leaderOf(t, nodes)
	f1, f2 := nodes[(li+1)%3], nodes[(li+2)%3]
	waitFor(t, "every node to know the leader", func() bool {
		for _, n := range nodes {
			if n.Status().Leader != nodes[li].id {
				return false
			}
		}
		return true
	})

	t.Run("write through a follower, read from another", func(t *testing.T) {
		if err := redisClient(t, f1).Set(ctx, "greeting", "hello", 0).Err(); err != nil {
			t.Fatalf("SET on follower %s: %v", f1.id, err)
		}
		if v, err := redisClient(t, f2).Get(ctx, "greeting").Result(); err != nil || v != "hello" {
			t.Fatalf("GET on follower %s = %q, %v", f2.id, v, err)
		}
		if v, err := redisClient(t, nodes[li]).Incr(ctx, "counter").Result(); err != nil || v != 1 {
			t.Fatalf("INCR on the leader = %d, %v", v, err)
		}
	})

	t.Run("bootstrap refused on nodes with state", func(t *testing.T) {
		waitFor(t, "followers to have state", func() bool { return f1.Group().HasState() && f2.Group().HasState() })
		code, _, errs := cliRun(t, "region", "bootstrap", "--nodes", strings.Join(urls, ","))
		if code != 1 || !strings.Contains(errs, "refusing to bootstrap: n1, n2, n3 already have Raft state") || strings.Count(errs, "\n") != 1 {
			t.Errorf("bootstrap again: exit %d, stderr %q", code, errs)
		}
		// --if-new makes it a no-op.
		if out := mustCLI(t, "region", "bootstrap", "--if-new", "--nodes", strings.Join(urls, ",")); !strings.Contains(out, "nothing to do") {
			t.Errorf("bootstrap --if-new printed %q", out)
		}
		// The node itself refuses too.
		code, body := post(t, urls[0]+"/v1/region/bootstrap", `{"servers":[{"id":"n1","address":"`+nodes[0].RaftAddr()+`"}]}`)
		if code != http.StatusConflict || !strings.Contains(body, "already has Raft state") {
			t.Errorf("POST bootstrap = %d %s", code, body)
		}
	})

	t.Run("status", func(t *testing.T) {
		out := mustCLI(t, "status", "--http", f1.url())
		for _, want := range []string{
			"node     " + f1.id + " (follower)",
			"region   test (id 1)",
			"leader   " + nodes[li].id + " at " + nodes[li].RaftAddr(),
			"ID  ADDRESS",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
		for _, n := range nodes {
			role := "follower"
			if n == nodes[li] {
				role = "leader"
			}
			if row := memberRow(out, n.id); !strings.HasPrefix(row, n.id+" "+n.RaftAddr()+" yes "+role+" ") || !strings.HasSuffix(row, " ok") {
				t.Errorf("status row of %s = %q:\n%s", n.id, row, out)
			}
		}
		if c := strings.Count(out, "  ok\n"); c != 3 {
			t.Errorf("status shows %d healthy members, want 3:\n%s", c, out)
		}
		// /health reports the role.
		code, body := get(t, f1.Node, "/health")
		var h Health
		json.Unmarshal([]byte(body), &h)
		if code != http.StatusOK || h.Role != "follower" || h.Leader != nodes[li].id {
			t.Errorf("/health = %d %s", code, body)
		}
	})

	t.Run("INFO replication", func(t *testing.T) {
		for _, tt := range []struct {
			n    *regionNode
			want []string
		}{
			{nodes[li], []string{"role:master", "raft_role:leader", "raft_leader:" + nodes[li].id, "raft_members:n1,n2,n3", "raft_voters:3"}},
			{f1, []string{"role:slave", "master_link_status:up", "raft_role:follower", "raft_leader:" + nodes[li].id}},
		} {
			info, err := redisClient(t, tt.n).Info(ctx, "replication").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(info, w+"\r\n") {
					t.Errorf("%s: INFO replication lacks %s:\n%s", tt.n.id, w, info)
				}
			}
			for _, w := range []string{"raft_term:", "raft_commit_index:", "raft_applied_index:"} {
				if !strings.Contains(info, w) {
					t.Errorf("%s: INFO replication lacks %s", tt.n.id, w)
				}
			}
			// The section must replace the server's built-in one (role:master
			// everywhere); until server supports that, both are printed.
			if c := strings.Count(info, "# Replication"); c != 1 {
				t.Errorf("%s: INFO shows %d replication sections: server does not let Config.Info replace a built-in section yet", tt.n.id, c)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		m := scrape(t, nodes[li].Node)
		for series, ok := range map[string]func(v float64) bool{
			`meridian_raft_state{state="leader"}`:     func(v float64) bool { return v == 1 },
			`meridian_raft_state{state="follower"}`:   func(v float64) bool { return v == 0 },
			`meridian_raft_members{suffrage="voter"}`: func(v float64) bool { return v == 3 },
			"meridian_raft_term":                      func(v float64) bool { return v >= 1 },
			"meridian_raft_commit_index":              func(v float64) bool { return v >= 3 },
			"meridian_raft_apply_lag":                 func(v float64) bool { return v >= 0 },
			"meridian_raft_batches_total":             func(v float64) bool { return v >= 1 },
			"meridian_raft_batched_requests_total":    func(v float64) bool { return v >= 2 },
			"meridian_raft_requests_per_batch":        func(v float64) bool { return v >= 1 },
			"meridian_raft_fsyncs_total":              func(v float64) bool { return v >= 1 },
			"meridian_raft_fsync_avg_seconds":         func(v float64) bool { return v > 0 },
			"meridian_raft_disk_stalls_total":         func(v float64) bool { return v == 0 },
			"meridian_keys":                           func(v float64) bool { return v == 2 },
		} {
			if v, present := m[series]; !present || !ok(v) {
				t.Errorf("%s = %v (present %v)", series, v, present)
			}
		}
	})

	// A fourth node joins through a follower and is promoted; it then
	// serves reads of what was written before it joined.
	n4 := startRegionNode(t, "n4", "", nil)
	t.Run("join", func(t *testing.T) {
		out := mustCLI(t, "region", "join", "--http", f1.url(), "--node", n4.url(), "--wait", "15s")
		if !strings.Contains(out, "node n4 at "+n4.RaftAddr()+" joined as a non-voter") || !strings.Contains(out, "node n4 promoted to voter") {
			t.Errorf("join printed %q", out)
		}
		if v, err := redisClient(t, n4).Get(ctx, "greeting").Result(); err != nil || v != "hello" {
			t.Errorf("GET on n4 = %q, %v", v, err)
		}
		// n4 itself learns of its promotion with the next entries it gets.
		var out4 string
		ok := func() bool {
			out4 = mustCLI(t, "region", "members", "--http", n4.url())
			return strings.HasPrefix(memberRow(out4, "n4"), "n4 "+n4.RaftAddr()+" yes follower") && strings.Count(out4, "  ok\n") == 4
		}
		for deadline := time.Now().Add(10 * time.Second); !ok() && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if !ok() {
			t.Errorf("members after join, asked of n4:\n%s", out4)
		}
		// Joining again is a no-op.
		if out := mustCLI(t, "region", "join", "--http", urls[0], "--node", n4.url(), "--wait", "0"); !strings.Contains(out, "already a member") {
			t.Errorf("second join printed %q", out)
		}
	})

	t.Run("leave", func(t *testing.T) {
		out := mustCLI(t, "region", "leave", "--http", f2.url(), "--node-id", "n4")
		if !strings.Contains(out, "node n4 removed") {
			t.Errorf("leave printed %q", out)
		}
		select {
		case err := <-n4.done:
			if !errors.Is(err, ErrRemoved) {
				t.Errorf("n4 Serve = %v, want ErrRemoved", err)
			}
			n4.done <- err // for the cleanup
		case <-time.After(10 * time.Second):
			t.Fatal("n4 still serving 10s after its removal")
		}
		st := nodes[li].Status()
		if len(st.Members) != 3 {
			t.Errorf("members after leave: %+v", st.Members)
		}
		code, _, errs := cliRun(t, "region", "leave", "--http", f2.url(), "--node-id", "n4")
		if code != 1 || !strings.Contains(errs, "node n4 is not a member") {
			t.Errorf("second leave: exit %d, %q", code, errs)
		}
	})

	t.Run("removed id cannot join again", func(t *testing.T) {
		again := startRegionNode(t, "n4", "", nil)
		code, _, errs := cliRun(t, "region", "join", "--http", urls[0], "--node", again.url())
		if code != 1 || !strings.Contains(errs, "cannot be reused") {
			t.Errorf("join of a removed id: exit %d, stderr %q", code, errs)
		}
	})

	// The leader itself can leave: it steps down and stops, the other two
	// elect a new leader and keep serving.
	t.Run("leader leaves", func(t *testing.T) {
		old := nodes[li]
		out := mustCLI(t, "region", "leave", "--http", f1.url(), "--node-id", old.id)
		if !strings.Contains(out, "node "+old.id+" removed") {
			t.Errorf("leave printed %q", out)
		}
		select {
		case err := <-old.done:
			if !errors.Is(err, ErrRemoved) {
				t.Errorf("%s Serve = %v, want ErrRemoved", old.id, err)
			}
			old.done <- err
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still serving 10s after its removal", old.id)
		}
		leaderOf(t, []*regionNode{f1, f2})
		if err := redisClient(t, f2).Set(ctx, "after", "leader-left", 0).Err(); err != nil {
			t.Fatalf("SET after the leader left: %v", err)
		}
		if v, err := redisClient(t, f1).Get(ctx, "greeting").Result(); err != nil || v != "hello" {
			t.Errorf("GET after the leader left = %q, %v", v, err)
		}
		var ml MemberList
		if err := json.Unmarshal([]byte(mustCLI(t, "region", "members", "--json", "--http", f2.url())), &ml); err != nil {
			t.Fatal(err)
		}
		if len(ml.Members) != 2 || !ml.Members[0].Reachable || !ml.Members[1].Reachable {
			t.Errorf("members after the leader left: %+v", ml)
		}
	})
}

// memberRow returns the row of a member table that starts with id, its
// columns separated by one space.
func memberRow(table, id string) string {
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == id {
			return strings.Join(f, " ")
		}
	}
	return ""
}

// post sends a JSON body and returns the answer.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestRegionSingleNodeRestart runs a one-node region (bootstrap-single),
// restarts it on the same data dir and finds its data.
func TestRegionSingleNodeRestart(t *testing.T) {
	dir := t.TempDir()
	n := startRegionNode(t, "solo", dir, func(c *Config) { c.BootstrapSingle = true })
	leaderOf(t, []*regionNode{n})
	if err := redisClient(t, n).Set(t.Context(), "k", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Same data dir and Raft address (the configuration names it).
	addr := n.RaftAddr()
	again := startRegionNode(t, "solo", dir, func(c *Config) { c.BootstrapSingle, c.Raft = true, addr })
	if !again.Group().HasState() {
		t.Fatal("restarted node has no state")
	}
	leaderOf(t, []*regionNode{again})
	if v, err := redisClient(t, again).Get(t.Context(), "k").Result(); err != nil || v != "kept" {
		t.Errorf("GET after restart = %q, %v", v, err)
	}
	out := mustCLI(t, "status", "--http", again.url())
	if row := memberRow(out, "solo"); !strings.Contains(out, "node     solo (leader)") || !strings.HasPrefix(row, "solo "+again.RaftAddr()+" yes leader ") {
		t.Errorf("status:\n%s", out)
	}
}

// TestRegionAPIOnSingleNode: a node without Raft refuses region requests
// and reports itself standalone.
func TestRegionAPIOnSingleNode(t *testing.T) {
	n := startNode(t, nil)
	code, body := post(t, "http://"+n.HTTPAddr().String()+"/v1/region/join", `{"id":"n2","address":"127.0.0.1:1"}`)
	if code != http.StatusConflict || !strings.Contains(body, "runs without Raft") {
		t.Errorf("join on a single node = %d %s", code, body)
	}
	out := mustCLI(t, "status", "--http", n.HTTPAddr().String())
	if !strings.Contains(out, "node     n1 (standalone: no Raft)") {
		t.Errorf("status:\n%s", out)
	}
	code, _, errs := cliRun(t, "region", "bootstrap", "--nodes", n.HTTPAddr().String())
	if code != 1 || !strings.Contains(errs, "runs without Raft") {
		t.Errorf("bootstrap of a single node: exit %d, %q", code, errs)
	}
}
