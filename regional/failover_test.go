package regional_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/regional/regionaltest"
)

func bulk(v string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(v), v) }

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// staleGet reads key from a node's own applied state.
func staleGet(g *regional.Group, key string) string {
	return doStale(g, "get", key)
}

func TestGroupFailoverKeepsAcknowledgedWrites(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{OnDisk: true})
	leader := c.WaitLeader(t)
	acked := map[string]bool{}
	for i := range 200 {
		k := fmt.Sprintf("k%d", i)
		if do(c.Nodes[i%3].Group, false, "set", k, k) == "+OK\r\n" {
			acked[k] = true
		}
	}
	if len(acked) != 200 {
		t.Fatalf("only %d of 200 writes acknowledged without faults", len(acked))
	}
	old := -1
	for i, nd := range c.Nodes {
		if nd == leader {
			old = i
		}
	}
	c.Stop(old)
	newLeader := c.WaitLeader(t)
	for k := range acked {
		if got := do(newLeader.Group, true, "get", k); got != bulk(k) {
			t.Fatalf("after failover GET %s = %q", k, got)
		}
	}
	// The old leader comes back and catches up, including writes made
	// while it was down.
	if got := do(newLeader.Group, false, "set", "late", "x"); got != "+OK\r\n" {
		t.Fatalf("SET after failover = %q", got)
	}
	c.Restart(t, old)
	waitFor(t, "restarted node to catch up", func() bool { return staleGet(c.Nodes[old].Group, "late") == bulk("x") })
	for k := range acked {
		if got := staleGet(c.Nodes[old].Group, k); got != bulk(k) {
			t.Fatalf("restarted node GET %s = %q", k, got)
		}
	}
}

func TestGroupRestartWholeRegion(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{OnDisk: true})
	c.WaitLeader(t)
	for i := range 50 {
		if got := do(c.Nodes[0].Group, false, "set", fmt.Sprint(i), "v"); got != "+OK\r\n" {
			t.Fatal(got)
		}
	}
	c.Nodes[0].Group.Snapshot()
	for i := 50; i < 100; i++ {
		do(c.Nodes[1].Group, false, "set", fmt.Sprint(i), "v")
	}
	for i := range c.Nodes {
		c.Stop(i)
	}
	for i := range c.Nodes {
		c.Restart(t, i)
	}
	leader := c.WaitLeader(t)
	for i := range 100 {
		if got := do(leader.Group, true, "get", fmt.Sprint(i)); got != bulk("v") {
			t.Fatalf("after full restart GET %d = %q", i, got)
		}
	}
}

func TestGroupFollowerCatchesUpBySnapshot(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{OnDisk: true, Tune: func(cfg *regional.Config) {
		cfg.SnapshotThreshold = 32
		cfg.TrailingLogs = 16
	}})
	leader := c.WaitLeader(t)
	lagger := 0
	if c.Nodes[0] == leader {
		lagger = 1
	}
	c.Stop(lagger)
	for i := range 300 {
		if got := do(leader.Group, false, "set", fmt.Sprint(i), fmt.Sprint(i)); got != "+OK\r\n" {
			t.Fatal(got)
		}
	}
	if err := leader.Group.Snapshot(); err != nil {
		t.Fatal(err)
	}
	c.Restart(t, lagger)
	waitFor(t, "lagging follower to install the snapshot", func() bool {
		return staleGet(c.Nodes[lagger].Group, "299") == bulk("299")
	})
	for i := range 300 {
		if got := staleGet(c.Nodes[lagger].Group, fmt.Sprint(i)); got != bulk(fmt.Sprint(i)) {
			t.Fatalf("GET %d on caught-up follower = %q", i, got)
		}
	}
}

func TestGroupRefusesCorruptSnapshot(t *testing.T) {
	c := regionaltest.New(t, 1, regionaltest.Options{OnDisk: true})
	c.WaitLeader(t)
	do(c.Nodes[0].Group, false, "set", "k", "v")
	if err := c.Nodes[0].Group.Snapshot(); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	files, _ := filepath.Glob(filepath.Join(c.Nodes[0].Dir, "snapshots", "*", "state.bin"))
	if len(files) == 0 {
		t.Fatal("no snapshot written")
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		b[len(b)/2] ^= 0xff
		os.WriteFile(f, b, 0o644)
	}
	_, err := c.Open(t, 0)
	if err == nil || !strings.Contains(err.Error(), "snapshot") {
		t.Fatalf("Open with a corrupt snapshot: err = %v, want a refusal naming the snapshot", err)
	}
}

func TestGroupRefusesCorruptLog(t *testing.T) {
	c := regionaltest.New(t, 1, regionaltest.Options{OnDisk: true})
	c.WaitLeader(t)
	do(c.Nodes[0].Group, false, "set", "k", "v")
	c.Stop(0)
	st, err := raftboltdb.NewBoltStore(filepath.Join(c.Nodes[0].Dir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	last, _ := st.LastIndex()
	st.StoreLog(&raft.Log{Index: last + 1, Term: 1, Type: raft.LogCommand, Data: []byte{1, 1, 'g', 'a', 'r', 'b', 'a', 'g', 'e'}})
	st.Close()
	_, err = c.Open(t, 0)
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Open with a corrupt log entry: err = %v, want a refusal", err)
	}
}

// stallStore blocks StoreLogs while stalled is set.
type stallStore struct {
	raft.LogStore
	stalled *atomic.Bool
}

func (s stallStore) StoreLogs(logs []*raft.Log) error {
	for s.stalled.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	return s.LogStore.StoreLogs(logs)
}
func (s stallStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func TestGroupLeaderWithStalledDiskStepsDown(t *testing.T) {
	stalls := make([]*atomic.Bool, 3)
	var mu sync.Mutex
	n := 0
	c := regionaltest.New(t, 3, regionaltest.Options{OnDisk: true, Tune: func(cfg *regional.Config) {
		mu.Lock()
		defer mu.Unlock()
		b := &atomic.Bool{}
		stalls[n%3] = b
		n++
		cfg.StallTimeout = 500 * time.Millisecond
		cfg.RequestTimeout = 3 * time.Second
		cfg.WrapLogStore = func(ls raft.LogStore) raft.LogStore { return stallStore{ls, b} }
	}})
	leader := c.WaitLeader(t)
	li := 0
	for i, nd := range c.Nodes {
		if nd == leader {
			li = i
		}
	}
	stalls[li].Store(true)
	defer stalls[li].Store(false)
	start := time.Now()
	got := do(leader.Group, false, "set", "k", "v")
	if !strings.HasPrefix(got, "-UNCERTAIN") && !strings.HasPrefix(got, "-TRYAGAIN") {
		t.Fatalf("write on a stalled leader = %q, want an uncertain/no-leader error", got)
	}
	waitFor(t, "another node to lead", func() bool {
		for i, nd := range c.Nodes {
			if i != li && nd.Group.IsReadyLeader() {
				return true
			}
		}
		return false
	})
	t.Logf("new leader after %v", time.Since(start))
	other := c.Nodes[(li+1)%3]
	if got := do(other.Group, false, "set", "k2", "v2"); got != "+OK\r\n" {
		t.Fatalf("write after step-down = %q", got)
	}
	// While its disk stays stuck the node does not campaign: it never
	// leads again, and the region keeps taking writes (several election
	// timeouts pass).
	for i := range 30 {
		if c.Nodes[li].Group.Status().Role == "leader" {
			t.Fatalf("the node with the stalled disk leads again after %d rounds", i)
		}
		if got := do(other.Group, false, "set", "k3", "v"); got != "+OK\r\n" {
			t.Fatalf("write %d while a follower's disk is stalled = %q", i, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGroupMembership(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{})
	leader := c.WaitLeader(t)
	do(leader.Group, false, "set", "k", "v")
	nd := c.Add(t)
	if err := leader.Group.Join(nd.ID, nd.Addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "new node promoted to voter", func() bool {
		ms, _ := leader.Group.Members()
		for _, m := range ms {
			if m.ID == nd.ID && m.Voter {
				return true
			}
		}
		return false
	})
	waitFor(t, "new node to have the data", func() bool { return staleGet(nd.Group, "k") == bulk("v") })
	if err := leader.Group.Leave(nd.ID); err != nil {
		t.Fatal(err)
	}
	ms, _ := leader.Group.Members()
	if len(ms) != 3 {
		t.Fatalf("members after leave = %v", ms)
	}
	if err := leader.Group.Join(nd.ID, nd.Addr); !errors.Is(err, regional.ErrIDReused) {
		t.Fatalf("rejoin with a removed id: err = %v, want ErrIDReused", err)
	}
}

// TestStalledNodeDoesNotCampaign: a node whose log writes are stuck sends
// no vote requests, even when its election timeout is the shortest in the
// region: otherwise it steps down, wins again with a log as long as
// anyone's, fails its first write, and the region takes no writes while
// its disk is stuck (found by the disk-stall nemesis).
func TestStalledNodeDoesNotCampaign(t *testing.T) {
	stalled := &atomic.Bool{}
	var mu sync.Mutex
	n := 0
	c := regionaltest.New(t, 3, regionaltest.Options{OnDisk: true, Tune: func(cfg *regional.Config) {
		mu.Lock()
		defer mu.Unlock()
		cfg.StallTimeout = 300 * time.Millisecond
		cfg.RequestTimeout = 2 * time.Second
		if n == 0 {
			cfg.WrapLogStore = func(ls raft.LogStore) raft.LogStore { return stallStore{ls, stalled} }
		} else {
			cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 2*time.Second, 2*time.Second, time.Second
		}
		n++
	}})
	waitFor(t, "the fast node to lead", func() bool { return c.Nodes[0].Group.IsReadyLeader() })
	stalled.Store(true)
	defer stalled.Store(false)
	do(c.Nodes[0].Group, false, "set", "k", "v") // fails: the leader steps down
	waitFor(t, "another node to lead", func() bool {
		return c.Nodes[1].Group.IsReadyLeader() || c.Nodes[2].Group.IsReadyLeader()
	})
	if got := do(c.Nodes[1].Group, false, "set", "k2", "v2"); got != "+OK\r\n" {
		t.Fatalf("write with the stalled node as follower = %q", got)
	}
}
