package wan_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/netns"
	"github.com/meridian-kv/meridian/tests/jepsen/wan"
)

// TestLinksConditionsInEffect sets up the WAN of a two-region run (the
// harness's code path: netem where the kernel has it, else proxies in
// the nodes' namespaces plus iptables loss) between region a (a1, a2)
// and region b (b1), each node with an echo server on the link port,
// and dials the way a node does: from its namespace to the address
// Links gives. It checks that every round trip across regions takes at
// least twice the minimum one-way delay (a lower bound only), that
// packets across regions are really dropped and TCP retransmits them
// (counters, not timing), that traffic inside a region meets no WAN
// rule, that a partition between the regions still cuts the link path,
// and that Close removes everything.
func TestLinksConditionsInEffect(t *testing.T) {
	netns.Require(t)
	ctx := t.Context()
	const p, sub, port = "mjwn", "10.77.12", 7300
	if err := netns.Cleanup(ctx, p); err != nil {
		t.Fatal(err)
	}
	nw, err := netns.Create(ctx, netns.Config{Prefix: p, Subnet: sub, Nodes: netns.DefaultNodes(sub, "a1", "a2", "b1")})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	for _, n := range []string{"a1", "a2", "b1"} {
		ln, err := nw.Listen(n, fmt.Sprintf("%s:%d", nw.Addr(n), port))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { io.Copy(c, c); c.Close() }()
			}
		}()
	}
	cond := wan.Conditions{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.05}
	l, err := wan.SetupLinks(ctx, wan.LinksConfig{Network: nw, Regions: [2][]string{{"a1", "a2"}, {"b1"}},
		Port: port, Conditions: cond, ProxyPort: 18500})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	t.Logf("%s", l.Describe())

	dial := func(from, to string) (net.Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return nw.DialContext(dctx, from, l.Addr(to))
	}
	echo := func(c net.Conn, msg []byte, timeout time.Duration) error {
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write(msg); err != nil {
			return err
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if string(got) != string(msg) {
			return fmt.Errorf("echo %q, sent %q", got, msg)
		}
		return nil
	}

	// Delay: every cross-region round trip takes at least two minimum
	// one-way delays.
	c, err := dial("a1", "b1")
	if err != nil {
		t.Fatal(err)
	}
	minRTT := 2 * (cond.Delay - cond.Jitter)
	for i := range 10 {
		start := time.Now()
		if err := echo(c, []byte("ping"), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < minRTT {
			t.Errorf("round trip %d a1 -> b1 took %s, less than 2 x (delay - jitter) = %s", i, rtt, minRTT)
		}
	}
	c.Close()

	// Inside a region: no WAN rule sees the packets.
	before, err := l.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err = nw.DialContext(ctx, "a1", fmt.Sprintf("%s:%d", nw.Addr("a2"), port)) // a region's own addresses
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if err := echo(c, []byte("local"), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if after, err := l.Stats(ctx); err != nil || after.Packets != before.Packets {
		t.Errorf("a1 <-> a2 traffic met the WAN rules: %d inter-region packets before, %d after (%v)", before.Packets, after.Packets, err)
	}

	// Loss: many small exchanges across regions, each must complete
	// (TCP recovers), some packets must be dropped, and TCP must have
	// retransmitted.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			c, err := dial("b1", []string{"a1", "a2"}[i%2])
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range 6 {
				if err := echo(c, fmt.Appendf(nil, "conn %d msg %d %0200d", i, j, 0), 30*time.Second); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("exchange across the lossy WAN: %v", err)
	}
	s, err := l.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats: %s", s)
	if s.Packets < 1000 || s.Dropped == 0 {
		t.Errorf("%d of %d inter-region packets dropped at %.0f%% loss: the loss is not in effect", s.Dropped, s.Packets, 100*cond.Loss)
	}
	if s.Retransmits <= before.Retransmits {
		t.Errorf("TCP retransmitted %d segments (before: %d) although %d packets were dropped", s.Retransmits, before.Retransmits, s.Dropped)
	}
	if l.Method() == wan.ProxyMethod && (s.Proxy.Conns < 101 || s.Proxy.BytesTo == 0 || s.Proxy.BytesFrom == 0) {
		t.Errorf("proxies carried %+v: the link path does not go through them", s.Proxy)
	}

	// A partition between the regions cuts the link path, open
	// connections and new ones alike; healing restores it.
	open, err := dial("a1", "b1")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := echo(open, []byte("before"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := nw.Partition(ctx, []string{"a1", "a2"}, []string{"b1"}); err != nil {
		t.Fatal(err)
	}
	if err := echo(open, []byte("during"), time.Second); err == nil {
		t.Error("an open cross-region connection carried data during the partition")
	}
	if c, err := dial("a2", "b1"); err == nil {
		if err := echo(c, []byte("new"), time.Second); err == nil {
			t.Error("a new cross-region connection carried data during the partition")
		}
		c.Close()
	}
	if err := nw.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	c, err = dial("a2", "b1")
	if err != nil {
		t.Fatal(err)
	}
	if err := echo(c, []byte("healed"), 10*time.Second); err != nil {
		t.Errorf("after heal: %v", err)
	}
	c.Close()

	// Close removes the proxies and the rules.
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if l.Method() == wan.ProxyMethod {
		if c, err := nw.DialContext(ctx, "a1", l.Addr("b1")); err == nil {
			c.Close()
			t.Error("a proxy still listens after Close")
		}
		if d, err := nw.DropCounters(ctx, "a1"); err != nil || d != (netns.DropCount{}) {
			t.Errorf("loss rules after Close: %+v %v\n%s", d, err, nw.Rules(ctx))
		}
	}

	// Loss alone needs no proxy: the links stay direct, and lose all.
	l2, err := wan.SetupLinks(ctx, wan.LinksConfig{Network: nw, Regions: [2][]string{{"a1", "a2"}, {"b1"}},
		Port: port, Conditions: wan.Conditions{Loss: 1}, Method: wan.ProxyMethod})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close(context.Background())
	if want := fmt.Sprintf("%s:%d", nw.Addr("b1"), port); l2.Addr("b1") != want {
		t.Errorf("loss only: b1's link address %s, want the direct %s", l2.Addr("b1"), want)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if c, err := nw.DialContext(dctx, "a1", l2.Addr("b1")); err == nil {
		c.Close()
		t.Error("a connection across 100% loss")
	}
}
