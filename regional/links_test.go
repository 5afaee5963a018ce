package regional_test

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/regional/regionaltest"
	"github.com/meridian-kv/meridian/storage"
)

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLinkShipsWrites: two linked one-node regions see each other's
// writes, and counters incremented in both add up.
func TestLinkShipsWrites(t *testing.T) {
	east := regionaltest.New(t, 1, regionaltest.Options{Region: 1, Name: "east", Link: true})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)

	if got := east.Do(0, "SET", "k", "from-east"); got != "+OK\r\n" {
		t.Fatalf("SET = %q", got)
	}
	eventually(t, "east's write in west", func() bool { return west.Do(0, "GET", "k") == "$9\r\nfrom-east\r\n" })
	for range 5 {
		east.Do(0, "INCR", "c")
		west.Do(0, "INCR", "c")
	}
	eventually(t, "counters add up", func() bool {
		return east.Do(0, "GET", "c") == "$2\r\n10\r\n" && west.Do(0, "GET", "c") == "$2\r\n10\r\n"
	})
}

// writer is one client of a multi-region test: it writes unique keys,
// increments a shared counter and adds set members through a node of its
// region, and records what was acknowledged.
type writer struct {
	region *regionaltest.Cluster
	name   string
	// acked are the unique keys acknowledged; incrs the INCRs acknowledged
	// and maybes those whose outcome is unknown.
	acked        []string
	incrs, maybe int
}

func (w *writer) run(stop <-chan struct{}, id int) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		node := i % len(w.region.Nodes)
		key := fmt.Sprintf("%s-%d-%d", w.name, id, i)
		if w.region.Do(node, "SET", key, key) == "+OK\r\n" {
			w.acked = append(w.acked, key)
		}
		switch r := w.region.Do(node, "INCR", "counter"); {
		case strings.HasPrefix(r, ":"):
			w.incrs++
		case strings.HasPrefix(r, "-UNCERTAIN"):
			w.maybe++
		}
		w.region.Do(node, "SADD", "members", key)
	}
}

// converge waits until every node of every region renders the same
// content, and returns it.
func converge(t *testing.T, regions ...*regionaltest.Cluster) string {
	t.Helper()
	var want string
	var diff string
	deadline := time.Now().Add(60 * time.Second)
	for {
		same := true
		want, diff = "", ""
		for _, r := range regions {
			for i, nd := range r.Nodes {
				if nd.Group == nil {
					continue
				}
				got := regionaltest.Content(nd.Group)
				if want == "" {
					want = got
				} else if got != want {
					same = false
					diff = fmt.Sprintf("%s node %d has %d bytes of content, the first node %d", r.Name(), i, len(got), len(want))
				}
			}
		}
		if same {
			return want
		}
		if time.Now().After(deadline) {
			t.Fatalf("regions did not converge within 60s: %s", diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkWrites checks that every acknowledged unique key is in content and
// that the counter sums the acknowledged increments (plus at most the
// uncertain ones) in every region.
func checkWrites(t *testing.T, content string, ws []*writer, regions ...*regionaltest.Cluster) {
	t.Helper()
	incrs, maybe := 0, 0
	for _, w := range ws {
		for _, k := range w.acked {
			if !strings.Contains(content, fmt.Sprintf("0 %q ttl=0 string %q\n", k, k)) {
				t.Errorf("acknowledged write %s is missing after convergence", k)
			}
		}
		incrs += w.incrs
		maybe += w.maybe
	}
	for _, r := range regions {
		got, err := strconv.Atoi(strings.Split(r.Do(0, "GET", "counter"), "\r\n")[1])
		if err != nil {
			t.Fatalf("%s: GET counter: %v", r.Name(), err)
		}
		if got < incrs || got > incrs+maybe {
			t.Errorf("%s: counter = %d, want %d acknowledged increments (+ up to %d uncertain)", r.Name(), got, incrs, maybe)
		}
	}
	if incrs == 0 {
		t.Fatal("no increment was acknowledged")
	}
}

// TestThreeRegionsConverge: 3 regions x 3 nodes take writes at once; a
// link is cut while writes go on, then healed; every node of every region
// converges to the same content, with every acknowledged write and the
// exact sum of the increments.
func TestThreeRegionsConverge(t *testing.T) {
	wan := regionaltest.NewWAN()
	var regions []*regionaltest.Cluster
	for i, name := range []string{"east", "west", "north"} {
		regions = append(regions, regionaltest.New(t, 3, regionaltest.Options{Region: uint32(i + 1), Name: name, Link: true, WAN: wan}))
	}
	for _, r := range regions {
		r.WaitLeader(t)
	}
	regionaltest.Mesh(t, regions...)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ws []*writer
	for _, r := range regions {
		for id := range 2 {
			w := &writer{region: r, name: r.Name()}
			ws = append(ws, w)
			wg.Go(func() { w.run(stop, id) })
		}
	}
	time.Sleep(500 * time.Millisecond)
	wan.Cut("east", "west")
	// While cut, east's writes reach north but not west: north does not
	// re-ship what it merged from others.
	if got := regions[0].Do(0, "SET", "during-cut", "x"); got != "+OK\r\n" {
		t.Fatalf("SET during cut = %q", got)
	}
	eventually(t, "east's write in north", func() bool { return regions[2].Do(0, "GET", "during-cut") == "$1\r\nx\r\n" })
	time.Sleep(time.Second)
	if got := regions[1].Do(0, "GET", "during-cut"); got != "$-1\r\n" {
		t.Fatalf("west read %q across a cut link", got)
	}
	wan.Heal("east", "west")
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	content := converge(t, regions...)
	checkWrites(t, content, ws, regions...)
}

// TestLinkSurvivesLeaderKills: the leaders of the sending and of the
// receiving region are killed (no leadership hand-over) while both regions
// take writes; shipping resumes from what each side recorded, and both
// regions converge with every acknowledged write.
func TestLinkSurvivesLeaderKills(t *testing.T) {
	east := regionaltest.New(t, 3, regionaltest.Options{Region: 1, Name: "east", Link: true, OnDisk: true})
	west := regionaltest.New(t, 3, regionaltest.Options{Region: 2, Name: "west", Link: true, OnDisk: true})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ws []*writer
	for _, r := range []*regionaltest.Cluster{east, west} {
		w := &writer{region: r, name: r.Name()}
		ws = append(ws, w)
		wg.Go(func() { w.run(stop, 0) })
	}
	for _, r := range []*regionaltest.Cluster{east, west} {
		time.Sleep(500 * time.Millisecond)
		i := r.LeaderIndex(t)
		r.Kill(i)
		time.Sleep(500 * time.Millisecond)
		r.Restart(t, i)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	content := converge(t, east, west)
	checkWrites(t, content, ws, east, west)
}

// TestLinkRetainsLogForPeers: while a peer is cut off, compaction keeps
// the entries it has not applied (within RetainEntries), so it catches up
// by shipping, without a state transfer.
func TestLinkRetainsLogForPeers(t *testing.T) {
	wan := regionaltest.NewWAN()
	reg := prometheus.NewRegistry()
	east := regionaltest.New(t, 1, regionaltest.Options{Region: 1, Name: "east", Link: true, WAN: wan, Tune: func(c *regional.Config) {
		c.SnapshotThreshold, c.TrailingLogs = 64, 16
		c.Link = &regional.LinkConfig{Registry: reg}
	}})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true, WAN: wan})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)
	east.Do(0, "SET", "before", "1")
	eventually(t, "first write shipped", func() bool { return west.Do(0, "GET", "before") == "$1\r\n1\r\n" })
	wan.Cut("east", "west")
	for i := range 300 {
		east.Do(0, "SET", fmt.Sprintf("k%d", i), "v")
	}
	if err := east.Nodes[0].Group.Snapshot(); err != nil {
		t.Fatal(err)
	}
	wan.Heal("east", "west")
	content := converge(t, east, west)
	if !strings.Contains(content, `"k299"`) {
		t.Fatal("west lacks east's writes made during the cut")
	}
	if n := testutil.ToFloat64(metricVec(t, reg, "meridian_interregion_state_transfers_total", map[string]string{"role": "sent"})); n != 0 {
		t.Fatalf("%v state transfers were sent; the retained log should have sufficed", n)
	}
}

// TestLinkCatchesUpByStateTransfer: a region cut off while its peer's log
// is compacted past what it has applied catches up by state transfer, then
// by shipping again, and converges.
func TestLinkCatchesUpByStateTransfer(t *testing.T) {
	wan := regionaltest.NewWAN()
	reg := prometheus.NewRegistry()
	small := func(c *regional.Config) {
		c.SnapshotThreshold, c.TrailingLogs = 64, 16
		c.Link = &regional.LinkConfig{RetainEntries: 32, Registry: reg}
	}
	east := regionaltest.New(t, 1, regionaltest.Options{Region: 1, Name: "east", Link: true, WAN: wan, Tune: small})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true, WAN: wan})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)
	east.Do(0, "SET", "before", "1")
	eventually(t, "first write shipped", func() bool { return west.Do(0, "GET", "before") == "$1\r\n1\r\n" })

	wan.Cut("east", "west")
	for i := range 300 {
		east.Do(0, "SET", fmt.Sprintf("k%d", i), "v")
	}
	east.Do(0, "DEL", "before")
	if err := east.Nodes[0].Group.Snapshot(); err != nil {
		t.Fatal(err)
	}
	wan.Heal("east", "west")

	content := converge(t, east, west)
	if !strings.Contains(content, `"k299"`) || strings.Contains(content, `"before"`) {
		t.Fatalf("converged content lacks east's writes made during the cut:\n%.300s", content)
	}
	sent := testutil.ToFloat64(metricVec(t, reg, "meridian_interregion_state_transfers_total", map[string]string{"role": "sent", "result": "ok"}))
	if sent < 1 {
		t.Fatalf("no state transfer was sent (state_transfers_total{role=sent,result=ok} = %v)", sent)
	}
}

// metricVec returns the sum of a metric's samples whose labels include
// want, as a gauge to read.
func metricVec(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) prometheus.Gauge {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sum"})
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			g.Add(m.GetCounter().GetValue() + m.GetGauge().GetValue())
		}
	}
	return g
}

// TestNewRegionJoinsRunningSet: a third region linked to two running ones
// whose logs are compacted starts from state transfers and converges,
// while the others keep taking writes.
func TestNewRegionJoinsRunningSet(t *testing.T) {
	small := func(c *regional.Config) { c.SnapshotThreshold, c.TrailingLogs = 32, 8 }
	east := regionaltest.New(t, 1, regionaltest.Options{Region: 1, Name: "east", Link: true, Tune: small})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true, Tune: small})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)
	for i := range 100 {
		east.Do(0, "HSET", "h", fmt.Sprintf("e%d", i), "1")
		west.Do(0, "RPUSH", "l", fmt.Sprintf("w%d", i))
	}
	east.Do(0, "DEL", "gone")
	converge(t, east, west)
	for _, r := range []*regionaltest.Cluster{east, west} {
		if err := r.Nodes[0].Group.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}

	reg := prometheus.NewRegistry()
	north := regionaltest.New(t, 1, regionaltest.Options{Region: 3, Name: "north", Link: true, Tune: func(c *regional.Config) {
		c.Link = &regional.LinkConfig{Registry: reg}
	}})
	north.WaitLeader(t)
	regionaltest.Mesh(t, east, west, north)
	east.Do(0, "SET", "after", "1")
	content := converge(t, east, west, north)
	if !strings.Contains(content, `"e99"="1"`) || !strings.Contains(content, `"w99"`) || !strings.Contains(content, `"after"`) {
		t.Fatalf("north's converged content lacks the older regions' data:\n%.400s", content)
	}
	if n := testutil.ToFloat64(metricVec(t, reg, "meridian_interregion_state_transfers_total", map[string]string{"role": "received", "result": "ok"})); n < 1 {
		t.Fatalf("north received %v state transfers, want at least one (a region whose log is compacted may still keep what a linked peer needs)", n)
	}
}

// TestLinkPortGarbage: bytes that are not gRPC on the link port of the
// leader and of a follower are dropped; the region keeps shipping.
func TestLinkPortGarbage(t *testing.T) {
	east := regionaltest.New(t, 3, regionaltest.Options{Region: 1, Name: "east", Link: true})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)
	for _, addr := range append(east.LinkAddrs(), west.LinkAddrs()...) {
		for _, junk := range []string{"GET / HTTP/1.1\r\n\r\n", "\x00\x00\x00\x00\x04\xff\xff\xff\xff", strings.Repeat("\xfe", 70000)} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(time.Second))
			c.Write([]byte(junk))
			io.Copy(io.Discard, c) // until the node closes it (or the deadline)
			c.Close()
		}
	}
	east.Do(1, "SET", "still", "works")
	eventually(t, "shipping after garbage", func() bool { return west.Do(0, "GET", "still") == "$5\r\nworks\r\n" })
}

// aheadClock is a wall clock running ahead of the system's.
type aheadClock time.Duration

func (a aheadClock) Now() time.Time { return time.Now().Add(time.Duration(a)) }

// TestLinkClockAhead: writes from a region whose clock runs further ahead
// than max-clock-offset are merged anyway, counted and logged; the
// receiving region's clock moves past them (the HLC receive rule), so its
// own later write wins.
func TestLinkClockAhead(t *testing.T) {
	reg := prometheus.NewRegistry()
	east := regionaltest.New(t, 1, regionaltest.Options{Region: 1, Name: "east", Link: true, Tune: func(c *regional.Config) {
		c.Link = &regional.LinkConfig{Registry: reg}
	}})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true, Tune: func(c *regional.Config) {
		c.Wall = aheadClock(3 * time.Second)
	}})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)
	west.Do(0, "SET", "k", "from-the-future")
	eventually(t, "the write from ahead merged", func() bool { return east.Do(0, "GET", "k") == "$15\r\nfrom-the-future\r\n" })
	if n := testutil.ToFloat64(metricVec(t, reg, "meridian_interregion_clock_offset_violations_total", nil)); n < 1 {
		t.Fatalf("clock_offset_violations_total = %v, want >= 1", n)
	}
	// East writes after it merged: its stamp is past west's, whatever
	// its wall clock says.
	east.Do(0, "SET", "k", "later")
	eventually(t, "east's later write wins in both", func() bool {
		return east.Do(0, "GET", "k") == "$5\r\nlater\r\n" && west.Do(0, "GET", "k") == "$5\r\nlater\r\n"
	})
}

// TestLinkedRegionsRestart: both regions restart from disk while one has
// entries the other has not applied (read from boltdb then, not from the
// log cache) and shipping goes on; an idle link's lag stays near the
// heartbeat interval.
func TestLinkedRegionsRestart(t *testing.T) {
	wan := regionaltest.NewWAN()
	east := regionaltest.New(t, 1, regionaltest.Options{Region: 1, Name: "east", Link: true, OnDisk: true, WAN: wan})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true, OnDisk: true, WAN: wan})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)
	wan.Cut("east", "west")
	for i := range 50 {
		east.Do(0, "SET", fmt.Sprintf("a%d", i), fmt.Sprintf("value-%d", i))
	}
	for _, r := range []*regionaltest.Cluster{east, west} {
		r.Stop(0)
	}
	for _, r := range []*regionaltest.Cluster{east, west} {
		r.Restart(t, 0)
		r.WaitLeader(t)
	}
	wan.Heal("east", "west")
	for i := range 50 {
		west.Do(0, "SET", fmt.Sprintf("c%d", i), "v")
	}
	content := converge(t, east, west)
	if !strings.Contains(content, `"a49" ttl=0 string "value-49"`) || !strings.Contains(content, `"a0" ttl=0 string "value-0"`) || !strings.Contains(content, `"c49"`) {
		t.Fatal("writes made before the restart did not ship after it")
	}
	eventually(t, "idle link's lag near the heartbeat interval", func() bool {
		st := east.Nodes[0].Group.LinkStatus()
		return len(st) == 1 && st[0].Connected && st[0].LagSeconds >= 0 && st[0].LagSeconds < 1
	})
	time.Sleep(1500 * time.Millisecond) // idle
	if st := east.Nodes[0].Group.LinkStatus(); st[0].LagSeconds > 1 {
		t.Fatalf("idle link lag = %.3fs, want < 1s (heartbeats every 100ms)", st[0].LagSeconds)
	}
}

func tombstones(g *regional.Group) int64 {
	var n int64
	g.Read(func(s *storage.Store) { n = s.Tombstones().Count })
	return n
}

// TestTombstoneGCWaitsForEveryRegion: a delete's tombstone stays while a
// linked region may still send older writes it must remove (the link is
// cut), and goes once every region has applied everything up to it — list
// tombstones included (the list frontier).
func TestTombstoneGCWaitsForEveryRegion(t *testing.T) {
	wan := regionaltest.NewWAN()
	east := regionaltest.New(t, 1, regionaltest.Options{Region: 1, Name: "east", Link: true, WAN: wan})
	west := regionaltest.New(t, 1, regionaltest.Options{Region: 2, Name: "west", Link: true, WAN: wan})
	east.WaitLeader(t)
	west.WaitLeader(t)
	regionaltest.Mesh(t, east, west)
	east.Do(0, "HSET", "h", "a", "1", "b", "2")
	west.Do(0, "RPUSH", "l", "x", "y", "z")
	converge(t, east, west)

	wan.Cut("east", "west")
	east.Do(0, "HDEL", "h", "a")
	east.Do(0, "LPOP", "l")
	time.Sleep(time.Second)
	if n := tombstones(east.Nodes[0].Group); n == 0 {
		t.Fatal("east compacted its tombstones while west could still send older writes")
	}
	wan.Heal("east", "west")
	converge(t, east, west)
	west.Do(0, "RPOP", "l")
	eventually(t, "tombstones gone in every region", func() bool {
		return tombstones(east.Nodes[0].Group) == 0 && tombstones(west.Nodes[0].Group) == 0
	})
	if got := east.Do(0, "LRANGE", "l", "0", "-1"); got != "*1\r\n$1\r\ny\r\n" {
		t.Fatalf("LRANGE after GC = %q", got)
	}
}

// TestLinkCountsConflicts: concurrent writes of one key in two regions
// are counted as conflicts where the older one arrives.
func TestLinkCountsConflicts(t *testing.T) {
	wan := regionaltest.NewWAN()
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	var regions []*regionaltest.Cluster
	for i, name := range []string{"east", "west"} {
		reg := regs[i]
		regions = append(regions, regionaltest.New(t, 1, regionaltest.Options{Region: uint32(i + 1), Name: name, Link: true, WAN: wan,
			Tune: func(c *regional.Config) { c.Link = &regional.LinkConfig{Registry: reg} }}))
		regions[i].WaitLeader(t)
	}
	regionaltest.Mesh(t, regions...)
	wan.Cut("east", "west")
	regions[0].Do(0, "SET", "k", "older")
	regions[0].Do(0, "SET", "t", "a-string")
	time.Sleep(5 * time.Millisecond)
	regions[1].Do(0, "SET", "k", "newer")
	regions[1].Do(0, "SADD", "t", "a-set")
	wan.Heal("east", "west")
	// Equal content is not enough: west's writes win, so both regions
	// read the same before west has merged east's losing batch. A
	// marker written after it in east, read in west, shows it merged.
	regions[0].Do(0, "SET", "marker", "1")
	eventually(t, "west merges east's writes", func() bool { return regions[1].Do(0, "GET", "marker") == "$1\r\n1\r\n" })
	content := converge(t, regions...)
	if !strings.Contains(content, `"k" ttl=0 string "newer"`) || !strings.Contains(content, `"t" ttl=0 set ["a-set"]`) {
		t.Fatalf("converged content:\n%s", content)
	}
	value := testutil.ToFloat64(metricVec(t, regs[1], "meridian_interregion_conflicts_total", map[string]string{"kind": "value"}))
	typ := testutil.ToFloat64(metricVec(t, regs[0], "meridian_interregion_conflicts_total", map[string]string{"kind": "type"})) +
		testutil.ToFloat64(metricVec(t, regs[1], "meridian_interregion_conflicts_total", map[string]string{"kind": "type"}))
	if value != 1 || typ != 2 {
		t.Fatalf("conflicts: value (in west) = %v, want 1; type (both regions) = %v, want 2", value, typ)
	}
}
