package interregion_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/interregion/interregiontest"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

const testToken = "region-set-secret"

// site is one region of a gRPC test: its in-memory region, its link and the
// link's metrics.
type site struct {
	id   uint32
	name string
	g    *interregiontest.Region
	reg  *prometheus.Registry
	link *interregion.Link
	done chan error // Serve's result
}

func newSites(names ...string) []*site {
	var out []*site
	for i, n := range names {
		id := uint32(i + 1)
		out = append(out, &site{id: id, name: n, g: interregiontest.NewRegion(id, hlc.NewClock(hlc.SystemClock{}, id, 1))})
	}
	return out
}

// start runs s's link on lis, with every other site as a peer at addr(site).
// mod, if set, changes the config first.
func (s *site) start(t *testing.T, lis net.Listener, all []*site, addr func(*site) string,
	dial func(*site) interregion.Config, mod func(*interregion.Config)) {
	t.Helper()
	cfg := dial(s)
	cfg.Region, cfg.Name = s.id, s.name
	cfg.Log, cfg.Applier, cfg.Exporter = s.g, s.g, s.g
	cfg.Token = testToken
	cfg.TickInterval = 5 * time.Millisecond
	cfg.RetryTicks = 20
	cfg.HeartbeatTicks = 20
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, p := range all {
		if p != s {
			cfg.Peers = append(cfg.Peers, interregion.Peer{ID: p.id, Name: p.name, Addrs: []string{addr(p)}, ServerName: p.name})
		}
	}
	if mod != nil {
		mod(&cfg)
	}
	s.reg = prometheus.NewRegistry()
	cfg.Registry = s.reg
	l, err := interregion.NewLink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.link = l
	s.done = make(chan error, 1)
	go func() { s.done <- l.Serve(lis) }()
	t.Cleanup(func() { s.stop(t) })
}

// stop closes the site's link and checks that Serve returned ErrClosed.
func (s *site) stop(t *testing.T) {
	t.Helper()
	if s.link == nil {
		return
	}
	_ = s.link.Close()
	_ = s.link.Close() // idempotent
	if err := <-s.done; !errors.Is(err, interregion.ErrClosed) {
		t.Errorf("region %s: Serve = %v, want ErrClosed", s.name, err)
	}
	s.link = nil
}

// set writes key=val in the site's region and tells the link.
func (s *site) set(key, val string) {
	idx := s.g.WriteNow(func(ts hlc.Timestamp) []storage.Effect {
		return []storage.Effect{{Op: storage.OpSet, Key: key, Value: []byte(val), TS: ts}}
	})
	if s.link != nil {
		s.link.Notify(idx)
	}
}

func (s *site) dump() string {
	var d string
	s.g.Read(func(st *storage.Store) { d = storagetest.Dump(st.At(0)) })
	return d
}

// testWriter sends logs to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// converged reports whether every site holds the same state and every key
// of keys.
func converged(sites []*site, keys ...string) bool {
	d := sites[0].dump()
	for _, k := range keys {
		if !strings.Contains(d, fmt.Sprintf("%q", k)) {
			return false
		}
	}
	for _, s := range sites[1:] {
		if s.dump() != d {
			return false
		}
	}
	return true
}

func dumps(sites []*site) func() string {
	return func() string {
		var sb strings.Builder
		for _, s := range sites {
			fmt.Fprintf(&sb, "--- %s %+v\n%s", s.name, s.linkStatus(), s.dump())
		}
		return sb.String()
	}
}

func (s *site) linkStatus() []interregion.PeerStatus {
	if s.link == nil {
		return nil
	}
	return s.link.Status()
}

// bufnetSetup starts every site over one Bufnet.
func bufnetSetup(t *testing.T, sites []*site, mod func(*site, *interregion.Config)) *interregiontest.Bufnet {
	t.Helper()
	bn := interregiontest.NewBufnet()
	for _, s := range sites {
		startBuf(t, bn, s, sites, mod)
	}
	return bn
}

func startBuf(t *testing.T, bn *interregiontest.Bufnet, s *site, sites []*site, mod func(*site, *interregion.Config)) {
	t.Helper()
	s.start(t, bn.Listen(s.name), sites,
		func(p *site) string { return interregiontest.Addr(p.name) },
		func(*site) interregion.Config { return interregion.Config{Dialer: bn.Dial} },
		func(c *interregion.Config) {
			if mod != nil {
				mod(s, c)
			}
		})
}

// TestLinkShips: three regions write over the real service and converge.
func TestLinkShips(t *testing.T) {
	sites := newSites("east", "west", "north")
	bufnetSetup(t, sites, nil)
	var keys []string
	for i := range 30 {
		s := sites[i%3]
		k := fmt.Sprintf("k%d", i)
		s.set(k, s.name)
		keys = append(keys, k)
	}
	waitFor(t, 5*time.Second, func() bool { return converged(sites, keys...) }, dumps(sites))
	for _, s := range sites {
		if n := sum(t, s.reg, "meridian_interregion_shipped_entries_total"); n < 20 {
			t.Errorf("%s shipped %v entries, want at least 20", s.name, n)
		}
		if n := sum(t, s.reg, "grpc_server_started_total"); n == 0 {
			t.Errorf("%s: no gRPC server metrics in the link's registry", s.name)
		}
	}
	// The GC frontier moves once every region has heard from every other.
	waitFor(t, 5*time.Second, func() bool {
		for _, s := range sites {
			if s.link.Stable().IsZero() || s.g.Stable().IsZero() {
				return false
			}
		}
		return true
	}, func() string { return "GC frontier never moved" })
}

// sum returns the sum of every series of a counter or gauge family.
func sum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// metric returns the value of one series of a family, labels given as
// name=value pairs.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestLinkResumes: a region whose link goes away and comes back resumes
// from what it had applied, and gets what was written meanwhile.
func TestLinkResumes(t *testing.T) {
	sites := newSites("east", "west")
	east, west := sites[0], sites[1]
	bn := bufnetSetup(t, sites, nil)
	for i := range 10 {
		east.set(fmt.Sprintf("a%d", i), "1")
	}
	waitFor(t, 5*time.Second, func() bool { return converged(sites, "a9") }, dumps(sites))
	applied := west.g.Applied(east.id)

	west.stop(t)
	for i := range 10 {
		east.set(fmt.Sprintf("b%d", i), "2")
	}
	west.set("w", "3")
	startBuf(t, bn, west, sites, nil)
	waitFor(t, 5*time.Second, func() bool { return converged(sites, "b9", "w") }, dumps(sites))
	if got := west.g.Applied(east.id); got.Index <= applied.Index {
		t.Fatalf("west applied east up to %d after resuming, %d before", got.Index, applied.Index)
	}
	// Resuming shipped only what west lacked: east never had to send a
	// state transfer, and its log is whole.
	if n := metric(t, east.reg, "meridian_interregion_state_transfers_total"); n != 0 {
		t.Fatalf("east sent %v state transfers", n)
	}
}

// TestLinkStateTransfer: a region whose cursor the peer's log compacted
// away catches up by state transfer, then by the log again.
func TestLinkStateTransfer(t *testing.T) {
	sites := newSites("east", "west")
	east, west := sites[0], sites[1]
	// Lists and counters too: the state carries tombstones and
	// increments.
	for i := range 200 {
		k := fmt.Sprintf("k%d", i%40)
		east.g.WriteNow(func(ts hlc.Timestamp) []storage.Effect {
			switch i % 4 {
			case 0:
				return []storage.Effect{{Op: storage.OpSet, Key: k, Value: []byte("v"), TS: ts}}
			case 1:
				return []storage.Effect{{Op: storage.OpDel, Key: k, TS: ts}}
			case 2:
				return []storage.Effect{{Op: storage.OpHIncr, Key: "h" + k, Field: "f", Int: 2, TS: ts}}
			}
			return []storage.Effect{{Op: storage.OpLInsert, Key: "list", ID: storage.ItemID{TS: ts}, Value: []byte(k), TS: ts}}
		})
	}
	west.set("w", "west")
	east.g.Compact(east.g.LastIndex() - 5) // west needs what is gone
	bufnetSetup(t, sites, nil)

	waitFor(t, 5*time.Second, func() bool { return converged(sites, "w", "list") }, dumps(sites))
	if n := metric(t, west.reg, "meridian_interregion_state_transfers_total", "role", "received", "result", "ok"); n < 1 {
		t.Fatalf("west received %v state transfers, want 1", n)
	}
	if n := metric(t, east.reg, "meridian_interregion_state_transfers_total", "role", "sent", "result", "ok"); n < 1 {
		t.Fatalf("east sent %v state transfers, want 1", n)
	}
	if east.g.Digest() != west.g.Digest() {
		t.Fatalf("digests differ after state transfer\n%s", dumps(sites)())
	}
	// Then the log again.
	east.set("after", "1")
	waitFor(t, 5*time.Second, func() bool { return converged(sites, "after") }, dumps(sites))
}

// TestLinkRefusesWrongToken: a region with the wrong token ships nothing;
// the refusal is counted.
func TestLinkRefusesWrongToken(t *testing.T) {
	sites := newSites("east", "west")
	east, west := sites[0], sites[1]
	bufnetSetup(t, sites, func(s *site, c *interregion.Config) {
		if s == west {
			c.Token = "wrong"
		}
	})
	west.set("w", "1")
	waitFor(t, 5*time.Second, func() bool {
		return metric(t, east.reg, "meridian_interregion_refused_total", "reason", "token") > 0
	}, func() string { return "east never refused west's token" })
	time.Sleep(50 * time.Millisecond)
	if strings.Contains(east.dump(), `"w"`) {
		t.Fatal("east merged a write shipped with a wrong token")
	}
	for _, st := range west.link.Status() {
		if st.Connected {
			t.Fatalf("west's link to %d is up with a wrong token", st.ID)
		}
	}
}

// TestLinkMutualTLS: regions with certificates from the set's CA link; a
// region with a certificate from another CA is refused and counted.
func TestLinkMutualTLS(t *testing.T) {
	ca, rogue := interregiontest.NewCA(t, "set"), interregiontest.NewCA(t, "rogue")
	sites := newSites("east", "west", "north")
	east, west, north := sites[0], sites[1], sites[2]
	bufnetSetup(t, sites, func(s *site, c *interregion.Config) {
		if s == north {
			c.TLS = rogue.Issue(t, s.name)
			c.TLS.CAFile = ca.File // it trusts the set, the set does not trust it
		} else {
			c.TLS = ca.Issue(t, s.name)
		}
	})
	east.set("e", "1")
	west.set("w", "1")
	north.set("n", "1")
	pair := []*site{east, west}
	waitFor(t, 5*time.Second, func() bool { return converged(pair, "e", "w") }, dumps(sites))
	waitFor(t, 5*time.Second, func() bool {
		return metric(t, east.reg, "meridian_interregion_refused_total", "reason", "tls") > 0
	}, func() string { return "east never counted north's refused handshake" })
	if strings.Contains(east.dump(), `"n"`) || strings.Contains(west.dump(), `"n"`) {
		t.Fatal("a region with a rogue certificate shipped a write")
	}
}

// TestLinkGarbage: garbage on a real TCP port is refused, and the server
// goes on serving.
func TestLinkGarbage(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			var ca *interregiontest.CA
			if useTLS {
				ca = interregiontest.NewCA(t, "set")
			}
			sites := newSites("east", "west")
			lis := map[*site]net.Listener{}
			for _, s := range sites {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				lis[s] = l
			}
			for _, s := range sites {
				s.start(t, lis[s], sites,
					func(p *site) string { return lis[p].Addr().String() },
					func(*site) interregion.Config { return interregion.Config{} },
					func(c *interregion.Config) {
						if ca != nil {
							c.TLS = ca.Issue(t, s.name)
							for i := range c.Peers {
								c.Peers[i].ServerName = "localhost"
							}
						}
					})
			}
			east, west := sites[0], sites[1]
			addr := lis[east].Addr().String()
			garbage := [][]byte{
				[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
				[]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\xff\xff\xff\xff\xff\xff\xff"),
				bytes.Repeat([]byte{0x16, 0x03, 0x01, 0xff, 0xff}, 100),
				[]byte("*1\r\n$4\r\nPING\r\n"),
			}
			for i := range 20 {
				garbage = append(garbage, bytes.Repeat([]byte{byte(i * 37), byte(i)}, 50*i+1))
			}
			for _, g := range garbage {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
				_, _ = c.Write(g)
				_, _ = c.Read(make([]byte, 64))
				_ = c.Close()
			}
			west.set("w", "1")
			east.set("e", "1")
			waitFor(t, 5*time.Second, func() bool { return converged(sites, "w", "e") }, dumps(sites))
			if useTLS && metric(t, east.reg, "meridian_interregion_refused_total", "reason", "tls") == 0 {
				t.Fatal("garbage handshakes were not counted")
			}
		})
	}
}

// TestLinkCloseStopsGoroutines: Close stops and waits for every goroutine
// of a link: its loop, its dialers, its streams and handlers.
func TestLinkCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	sites := newSites("east", "west")
	bufnetSetup(t, sites, nil)
	sites[0].set("k", "v")
	waitFor(t, 5*time.Second, func() bool { return converged(sites, "k") }, dumps(sites))
	for _, s := range sites {
		s.stop(t)
	}
	waitFor(t, 2*time.Second, func() bool { return runtime.NumGoroutine() <= before }, func() string {
		buf := make([]byte, 1<<20)
		return fmt.Sprintf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
	})
}
