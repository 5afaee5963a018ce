package regional_test

// In-memory group tests: raft.InmemTransport, in-memory stores and
// forwarding over regional.MemNet (regionaltest.MemCluster), each inside a
// testing/synctest bubble, so elections, lease timeouts and waits take
// virtual time and the bubble fails the test if a goroutine outlives the
// cluster's Close.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/regional/regionaltest"
)

// others returns every node index but i.
func others(c *regionaltest.MemCluster, i int) []int {
	var out []int
	for j := range c.Nodes {
		if j != i {
			out = append(out, j)
		}
	}
	return out
}

func TestInmemElectionAfterLeaderPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{})
		old := c.Index(c.WaitLeader(t))
		if got := c.Do(old, "set", "before", "1"); got != "+OK\r\n" {
			t.Fatalf("SET on the leader = %q", got)
		}

		// Cut the leader off, then write to it: it still believes it
		// leads until its lease runs out, so it evaluates and proposes
		// these writes, which can never commit.
		c.Partition(old)
		const n = 40
		replies := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { replies[i] = c.Do(old, "set", fmt.Sprintf("old%d", i), "x") })
		}

		rest := others(c, old)
		nl := c.Index(c.WaitLeaderAmong(t, rest))
		if nl == old {
			t.Fatal("the partitioned node is still the only leader")
		}
		follower := rest[0]
		if follower == nl {
			follower = rest[1]
		}
		if got := c.Do(follower, "set", "after", "2"); got != "+OK\r\n" {
			t.Fatalf("SET via a follower of the new leader = %q", got)
		}
		wg.Wait()

		uncertain, tryAgain := 0, 0
		for i, r := range replies {
			switch {
			case strings.HasPrefix(r, "-UNCERTAIN "):
				uncertain++
			case strings.HasPrefix(r, "-TRYAGAIN "):
				tryAgain++
			default:
				t.Errorf("write %d on the partitioned old leader answered %q, want UNCERTAIN or TRYAGAIN", i, r)
			}
		}
		if uncertain == 0 {
			t.Errorf("no write was pending when leadership was lost (%d TRYAGAIN): the pending-write path was not exercised", tryAgain)
		}
		if c.Group(old).IsReadyLeader() {
			t.Fatal("the partitioned old leader still serves as leader")
		}

		// Healed, the old leader follows the new term: it has the
		// majority's write, and none of its own (they never reached a
		// majority, so Raft truncates them; TRYAGAIN ones never ran).
		c.Heal(old)
		waitFor(t, "the old leader to catch up after the heal", func() bool {
			return c.DoStale(old, "get", "after") == bulk("2")
		})
		c.WaitLeader(t)
		for j := range c.Nodes {
			if got := c.Do(j, "get", "before"); got != bulk("1") {
				t.Errorf("GET before on %s = %q", c.Nodes[j].ID, got)
			}
			for i := range n {
				if got := c.DoStale(j, "exists", fmt.Sprintf("old%d", i)); got != ":0\r\n" {
					t.Errorf("write old%d of the partitioned leader (answered %q) is on %s", i, replies[i], c.Nodes[j].ID)
				}
			}
		}
	})
}

func TestInmemForwardingThroughFollowers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{})
		ld := c.Index(c.WaitLeader(t))
		f := others(c, ld)

		// A write through one follower is seen at once by a
		// (linearizable, forwarded) read through the other.
		for i := range 20 {
			v := fmt.Sprint(i)
			if got := c.Do(f[0], "set", "k", v); got != "+OK\r\n" {
				t.Fatalf("SET via follower = %q", got)
			}
			if got := c.Do(f[1], "get", "k"); got != bulk(v) {
				t.Fatalf("GET via the other follower after SET k %s = %q", v, got)
			}
		}

		// One pipeline through a follower: replies in order.
		const n = 300
		var cmds [][]string
		var want strings.Builder
		for i := range n {
			cmds = append(cmds, []string{"incr", "ctr"})
			fmt.Fprintf(&want, ":%d\r\n", i+1)
		}
		if got := c.Pipeline(f[0], false, cmds...); got != want.String() {
			t.Fatalf("pipeline of %d INCR via follower: replies out of order or wrong:\n%.200q", n, got)
		}

		// Concurrent pipelines from several connections on both
		// followers: each gets its own replies, in order.
		const clients, rounds, per = 8, 5, 40
		var wg sync.WaitGroup
		for cl := range clients {
			node := f[cl%2]
			wg.Go(func() {
				key := fmt.Sprintf("list%d", cl)
				for r := range rounds {
					var cmds [][]string
					var want strings.Builder
					for i := range per {
						cmds = append(cmds, []string{"rpush", key, fmt.Sprint(r*per + i)})
						fmt.Fprintf(&want, ":%d\r\n", r*per+i+1)
					}
					if got := c.Pipeline(node, false, cmds...); got != want.String() {
						t.Errorf("client %d round %d: replies %.120q, want %.120q", cl, r, got, want.String())
						return
					}
				}
			})
		}
		wg.Wait()
		for cl := range clients {
			var want strings.Builder
			fmt.Fprintf(&want, "*%d\r\n", rounds*per)
			for i := range rounds * per {
				want.WriteString(bulk(fmt.Sprint(i)))
			}
			if got := c.Do(f[(cl+1)%2], "lrange", fmt.Sprintf("list%d", cl), "0", "-1"); got != want.String() {
				t.Fatalf("LRANGE list%d via follower: %.200q", cl, got)
			}
		}

		// A read pipeline through a follower, in order.
		var reads [][]string
		var wantReads strings.Builder
		for cl := range clients {
			reads = append(reads, []string{"llen", fmt.Sprintf("list%d", cl)}, []string{"get", "ctr"})
			fmt.Fprintf(&wantReads, ":%d\r\n%s", rounds*per, bulk(fmt.Sprint(n)))
		}
		if got := c.Pipeline(f[1], true, reads...); got != wantReads.String() {
			t.Fatalf("read pipeline via follower = %.200q, want %.200q", got, wantReads.String())
		}
	})
}

// Pipelines through followers while leadership moves: every reply is the
// connection's own (each client counts its own key), in order, or an
// error that says what happened.
func TestInmemPipelinesKeepOrderWhileLeadershipMoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{})
		c.WaitLeader(t)
		const clients, per = 6, 20
		type result struct{ ok, uncertain, last, rounds int }
		results := make([]result, clients)
		stop := make(chan struct{})
		progress := make(chan struct{}, 1<<16)
		var wg sync.WaitGroup
		for cl := range clients {
			wg.Go(func() {
				key := fmt.Sprintf("c%d", cl)
				res := &results[cl]
				cmds := make([][]string, per)
				for i := range cmds {
					cmds[i] = []string{"incr", key}
				}
				for {
					select {
					case <-stop:
						return
					default:
					}
					got := c.Pipeline(cl%3, false, cmds...)
					replies := strings.SplitAfter(got, "\r\n")
					replies = replies[:len(replies)-1]
					if len(replies) != per {
						t.Errorf("client %d round %d: %d replies to %d commands: %.200q", cl, res.rounds, len(replies), per, got)
						return
					}
					for _, rep := range replies {
						switch {
						case strings.HasPrefix(rep, "-UNCERTAIN "):
							res.uncertain++
						case strings.HasPrefix(rep, "-TRYAGAIN "):
						default:
							v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rep, ":"), "\r\n"))
							if !strings.HasPrefix(rep, ":") || err != nil {
								t.Errorf("client %d: reply %q", cl, rep)
								return
							}
							if v <= res.last {
								t.Errorf("client %d: INCR answered %d after %d: replies out of order or crossed", cl, v, res.last)
								return
							}
							res.ok++
							res.last = v
						}
					}
					res.rounds++
					progress <- struct{}{}
					// Pace the client: in the bubble, virtual time (Raft's
					// timers, the transfer's timeouts) only advances when
					// every goroutine waits, which unpaced load can put off
					// for seconds of real time.
					time.Sleep(time.Millisecond)
				}
			})
		}

		// Move leadership three times, each after the clients have made
		// some progress under the current leader.
		terms := map[uint64]bool{}
		for moves := 0; moves < 3; {
			for range 10 {
				<-progress
			}
			ld := c.WaitLeader(t)
			terms[ld.Group.Status().Term] = true
			if err := ld.Group.TransferLeadership(); err != nil {
				t.Logf("transfer: %v", err)
				continue
			}
			moves++
		}
		for range 10 {
			<-progress
		}
		close(stop)
		wg.Wait()
		terms[c.WaitLeader(t).Group.Status().Term] = true
		if len(terms) < 4 {
			t.Fatalf("the clients ran under %d terms, want 4 (three moves)", len(terms))
		}
		// Leadership is settled: one more pipeline per client succeeds
		// whole and continues its count.
		for cl := range results {
			res := &results[cl]
			var cmds [][]string
			for range per {
				cmds = append(cmds, []string{"incr", fmt.Sprintf("c%d", cl)})
			}
			got := c.Pipeline(cl%3, false, cmds...)
			replies := strings.SplitAfter(got, "\r\n")
			if len(replies) != per+1 {
				t.Fatalf("client %d, settled pipeline: %d replies to %d commands: %.200q", cl, len(replies)-1, per, got)
			}
			for i, rep := range replies[:per] {
				v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rep, ":"), "\r\n"))
				if err != nil || (i > 0 && v != res.last+1) || v <= res.last {
					t.Fatalf("client %d, settled pipeline: reply %d is %q after %d", cl, i, rep, res.last)
				}
				res.ok++
				res.last = v
			}
		}
		for cl, res := range results {
			got := c.Do(0, "get", fmt.Sprintf("c%d", cl))
			final, err := strconv.Atoi(strings.TrimSuffix(got[strings.Index(got, "\r\n")+2:], "\r\n"))
			if !strings.HasPrefix(got, "$") || err != nil {
				t.Fatalf("GET c%d = %q", cl, got)
			}
			// Every acknowledged INCR applied; uncertain ones may have.
			if final < res.ok || final > res.ok+res.uncertain || final < res.last {
				t.Errorf("client %d: counter %d, %d acknowledged (last %d), %d uncertain", cl, final, res.ok, res.last, res.uncertain)
			}
			t.Logf("client %d: %d rounds, %d acknowledged, %d uncertain", cl, res.rounds, res.ok, res.uncertain)
		}
	})
}

func TestInmemBatchingPacksConcurrentWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{})
		ld := c.WaitLeader(t)
		before := ld.Group.Status()
		const writers, each = 64, 25
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for range each {
					if got := c.Do(w%3, "incr", "counter"); !strings.HasPrefix(got, ":") {
						t.Errorf("INCR = %q", got)
						return
					}
				}
			})
		}
		wg.Wait()
		after := ld.Group.Status()
		if !after.Ready || after.Term != before.Term {
			t.Fatalf("leadership changed during the test (term %d -> %d)", before.Term, after.Term)
		}
		const total = writers * each
		if got := c.Do(0, "get", "counter"); got != bulk(fmt.Sprint(total)) {
			t.Fatalf("counter = %q, want %d", got, total)
		}
		batches := after.Batches - before.Batches
		reqs := after.BatchedReqs - before.BatchedReqs
		entries := after.LastIndex - before.LastIndex
		t.Logf("%d writes: %d requests in %d batches, %d log entries", total, reqs, batches, entries)
		if reqs != total {
			t.Errorf("the leader batched %d requests, want %d", reqs, total)
		}
		if batches == 0 || 2*batches > reqs {
			t.Errorf("%d requests in %d batches: concurrent writes were not packed (want at least 2 per entry on average)", reqs, batches)
		}
		if entries < uint64(batches) || entries >= total/2 {
			t.Errorf("%d log entries for %d writes in %d batches", entries, total, batches)
		}
	})
}

// watchedStore records the lowest index ever stored in a node's log.
type watchedStore struct {
	raft.LogStore
	mu     sync.Mutex
	lowest uint64
}

func (s *watchedStore) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

func (s *watchedStore) StoreLogs(ls []*raft.Log) error {
	s.mu.Lock()
	for _, l := range ls {
		if s.lowest == 0 || l.Index < s.lowest {
			s.lowest = l.Index
		}
	}
	s.mu.Unlock()
	return s.LogStore.StoreLogs(ls)
}

func (s *watchedStore) lowestStored() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lowest
}

func TestInmemSnapshotCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		stores := map[string]*watchedStore{}
		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{Tune: func(cfg *regional.Config) {
			cfg.SnapshotThreshold = 1 << 20 // only explicit snapshots
			cfg.TrailingLogs = 4
			cfg.WrapLogStore = func(ls raft.LogStore) raft.LogStore {
				w := &watchedStore{LogStore: ls}
				mu.Lock()
				stores[cfg.NodeID] = w
				mu.Unlock()
				return w
			}
		}})
		ld := c.WaitLeader(t)
		const n = 100
		for i := range n {
			if got := c.Do(c.Index(ld), "set", fmt.Sprintf("k%d", i), fmt.Sprint(i)); got != "+OK\r\n" {
				t.Fatalf("SET = %q", got)
			}
		}
		if err := ld.Group.Snapshot(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		leaderStore := stores[ld.ID]
		mu.Unlock()
		first, err := leaderStore.FirstIndex()
		if err != nil {
			t.Fatal(err)
		}
		if first <= n/2 {
			t.Fatalf("after the snapshot the leader's log starts at %d: not compacted", first)
		}
		// Writes after the snapshot, which the new node gets as log.
		if got := c.Do(c.Index(ld), "set", "late", "yes"); got != "+OK\r\n" {
			t.Fatalf("SET = %q", got)
		}

		nd := c.Add(t)
		if err := ld.Group.Join(nd.ID, nd.Addr); err != nil {
			t.Fatal(err)
		}
		i := c.Index(nd)
		waitFor(t, "the new node to catch up", func() bool { return c.DoStale(i, "get", "late") == bulk("yes") })
		for k := range n {
			if got := c.DoStale(i, "get", fmt.Sprintf("k%d", k)); got != bulk(fmt.Sprint(k)) {
				t.Fatalf("GET k%d on the new node = %q", k, got)
			}
		}
		mu.Lock()
		lowest := stores[nd.ID].lowestStored()
		mu.Unlock()
		if lowest < first {
			t.Fatalf("the new node stored log entry %d, but the leader's log starts at %d", lowest, first)
		}
		t.Logf("leader log starts at %d after the snapshot; the new node's log starts at %d", first, lowest)
	})
}

func TestInmemMembershipJoinPromoteLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{})
		ld := c.WaitLeader(t)
		li := c.Index(ld)
		if got := c.Do(li, "set", "x", "1"); got != "+OK\r\n" {
			t.Fatalf("SET = %q", got)
		}
		nd := c.Add(t)
		ni := c.Index(nd)
		member := func(id string) (regional.Member, bool) {
			ms, err := c.Group(li).Members()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.ID == id {
					return m, true
				}
			}
			return regional.Member{}, false
		}

		if err := c.Group(others(c, li)[0]).Join(nd.ID, nd.Addr); !errors.Is(err, regional.ErrNotLeader) {
			t.Fatalf("Join on a follower = %v, want ErrNotLeader", err)
		}
		if err := ld.Group.Join(nd.ID, nd.Addr); err != nil {
			t.Fatal(err)
		}
		// No virtual time passes between Join and this check, so the
		// promotion loop has not run yet.
		if m, ok := member(nd.ID); !ok || m.Voter {
			t.Fatalf("after Join: member %+v (present %v), want a non-voter", m, ok)
		}
		waitFor(t, "the new node's promotion", func() bool {
			m, ok := member(nd.ID)
			return ok && m.Voter
		})
		// The new member serves: writes forwarded, reads linearizable.
		if got := c.Do(ni, "set", "y", "2"); got != "+OK\r\n" {
			t.Fatalf("SET via the new node = %q", got)
		}
		if got := c.Do(ni, "get", "x"); got != bulk("1") {
			t.Fatalf("GET x via the new node = %q", got)
		}

		if err := ld.Group.Leave(nd.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := member(nd.ID); ok {
			t.Fatal("the removed node is still a member")
		}
		waitFor(t, "the removed node to learn its removal", func() bool { return nd.Group.Removed() })
		for _, addr := range []string{nd.Addr, "mem-elsewhere"} {
			if err := ld.Group.Join(nd.ID, addr); !errors.Is(err, regional.ErrIDReused) {
				t.Fatalf("Join of the removed id %s at %s = %v, want ErrIDReused", nd.ID, addr, err)
			}
		}
		ms, err := ld.Group.Members()
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 {
			t.Fatalf("members after Leave = %+v", ms)
		}
		if got := c.Do(others(c, li)[0], "set", "z", "3"); got != "+OK\r\n" {
			t.Fatalf("SET after Leave = %q", got)
		}
	})
}

func TestInmemPublishReachesOtherNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := regionaltest.NewMem(t, 3, regionaltest.MemOptions{})
		c.WaitLeader(t)
		var mu sync.Mutex
		got := map[int]string{}
		for i, nd := range c.Nodes {
			nd.Group.SetPublishHandler(func(ch, msg []byte) int {
				mu.Lock()
				defer mu.Unlock()
				got[i] += string(ch) + "=" + string(msg) + ";"
				return 1
			})
		}
		if n := c.Group(0).Publish([]byte("news"), []byte("hi")); n != 2 {
			t.Fatalf("Publish reached %d receivers, want 2", n)
		}
		c.Partition(2)
		if n := c.Group(0).Publish([]byte("news"), []byte("again")); n != 1 {
			t.Fatalf("Publish with node 3 cut off reached %d receivers, want 1", n)
		}
		mu.Lock()
		defer mu.Unlock()
		if got[0] != "" || got[1] != "news=hi;news=again;" || got[2] != "news=hi;" {
			t.Fatalf("deliveries = %v", got)
		}
	})
}

func TestMemNetCutsAndCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := regional.NewMemNet()
		a, b := n.Endpoint("a"), n.Endpoint("b")
		if _, err := a.Dial("b", time.Second); err == nil {
			t.Fatal("dial with nobody listening succeeded")
		}
		ln, err := b.Listen()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Listen(); err == nil {
			t.Fatal("a second listener on one address")
		}
		type acceptResult struct {
			c   net.Conn
			err error
		}
		accepted := make(chan acceptResult, 1)
		go func() {
			c, err := ln.Accept()
			accepted <- acceptResult{c, err}
		}()
		cc, err := a.Dial("b", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sc := <-accepted
		if sc.err != nil {
			t.Fatal(sc.err)
		}
		go sc.c.Write([]byte("hello"))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(cc, buf); err != nil || string(buf) != "hello" {
			t.Fatalf("read %q, %v", buf, err)
		}
		if cc.RemoteAddr().String() != "b" || sc.c.RemoteAddr().String() != "a" {
			t.Fatalf("addresses %v, %v", cc.RemoteAddr(), sc.c.RemoteAddr())
		}

		n.Disconnect("a", "b")
		if _, err := cc.Read(buf); err == nil {
			t.Fatal("a connection across a cut stays open")
		}
		if _, err := a.Dial("b", time.Second); err == nil {
			t.Fatal("dial across a cut succeeded")
		}
		n.Connect("b", "a")
		go func() {
			c, err := ln.Accept()
			accepted <- acceptResult{c, err}
		}()
		cc, err = a.Dial("b", time.Second)
		if err != nil {
			t.Fatalf("dial after Connect: %v", err)
		}
		if sc = <-accepted; sc.err != nil {
			t.Fatal(sc.err)
		}
		ln.Close()
		if _, err := cc.Read(buf); err == nil {
			t.Fatal("a connection to a closed listener stays open")
		}
		if _, err := ln.Accept(); err == nil {
			t.Fatal("Accept on a closed listener succeeded")
		}
		if _, err := a.Dial("b", time.Second); err == nil {
			t.Fatal("dial to a closed listener succeeded")
		}
		if _, err := b.Listen(); err != nil {
			t.Fatalf("listen again after close: %v", err)
		}
	})
}
