package netns_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/netns"
)

// The test binary doubles as a helper run inside a namespace:
// MJ_NETNS_HELPER=listen:ADDR serves an echo on ADDR until killed;
// MJ_NETNS_HELPER=dial:ADDR exits 0 if it can connect and echo within 1 s.
func TestMain(m *testing.M) {
	if h := os.Getenv("MJ_NETNS_HELPER"); h != "" {
		os.Exit(helper(h))
	}
	os.Exit(m.Run())
}

func helper(h string) int {
	mode, addr, _ := strings.Cut(h, ":")
	switch mode {
	case "listen":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return 1
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	case "dial":
		if err := echo(addr, time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	return 2
}

// echo connects to addr and checks one round trip within timeout.
func echo(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	return nil
}

const (
	prefix = "mjnt" // distinct from other packages' runs, which may run at once
	subnet = "10.77.9"
)

func TestNetwork(t *testing.T) {
	netns.Require(t)
	ctx := t.Context()
	if err := netns.Cleanup(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	nw, err := netns.Create(ctx, netns.Config{Prefix: prefix, Subnet: subnet,
		Nodes: netns.DefaultNodes(subnet, "n1", "n2", "n3")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nw.Close(); err != nil {
			t.Error(err)
		}
		out, _ := exec.Command("ip", "netns", "list").Output()
		if strings.Contains(string(out), prefix+"-") {
			t.Errorf("namespaces left after Close:\n%s", out)
		}
	})
	// An echo server in n2 and one in n1.
	for _, nd := range []string{"n1", "n2"} {
		srv := nw.Command(nd, os.Args[0])
		srv.Env = append(os.Environ(), "MJ_NETNS_HELPER=listen:"+nw.Addr(nd)+":7000")
		srv.Stderr = os.Stderr
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	}
	canDial := func(from, to string) bool {
		addr := nw.Addr(to) + ":7000"
		if from == "ctl" {
			return echo(addr, time.Second) == nil
		}
		c := nw.Command(from, os.Args[0])
		c.Env = append(os.Environ(), "MJ_NETNS_HELPER=dial:"+addr)
		return c.Run() == nil
	}
	expect := func(step string, want map[[2]string]bool) {
		t.Helper()
		for pair, ok := range want {
			var got bool
			for range 20 { // the echo servers may still be starting
				if got = canDial(pair[0], pair[1]); got == ok || !ok {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got != ok {
				t.Errorf("%s: dial %s -> %s: reachable=%v, want %v\n%s", step, pair[0], pair[1], got, ok, nw.Rules(ctx))
			}
		}
	}
	expect("healthy", map[[2]string]bool{{"ctl", "n2"}: true, {"n1", "n2"}: true, {"n3", "n2"}: true, {"n2", "n1"}: true})

	if err := nw.Isolate(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	expect("n1 isolated", map[[2]string]bool{{"ctl", "n1"}: true, {"ctl", "n2"}: true, {"n1", "n2"}: false, {"n3", "n2"}: true, {"n2", "n1"}: false})

	if err := nw.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	expect("healed", map[[2]string]bool{{"n1", "n2"}: true, {"n2", "n1"}: true})

	if err := nw.PartitionOneWay(ctx, []string{"n3"}, []string{"n2"}); err != nil {
		t.Fatal(err)
	}
	expect("n3 -/-> n2", map[[2]string]bool{{"n3", "n2"}: false, {"n1", "n2"}: true, {"n2", "n1"}: true})
	if err := nw.Heal(ctx); err != nil {
		t.Fatal(err)
	}

	// Total loss from n1 to n2 (netem, or the iptables fallback).
	if err := nw.Netem(ctx, "n1", []string{"n2"}, netns.Netem{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	expect("n1 -> n2 loss 100%", map[[2]string]bool{{"n1", "n2"}: false, {"n3", "n2"}: true, {"ctl", "n1"}: true})
	if err := nw.ClearNetem(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	expect("loss cleared", map[[2]string]bool{{"n1", "n2"}: true})

	// Delay needs netem proper.
	err = nw.Netem(ctx, "n1", []string{"n2"}, netns.Netem{Delay: 300 * time.Millisecond})
	switch {
	case errors.Is(err, netns.ErrNetemUnsupported):
		t.Logf("delay not tested: %v", err)
	case err != nil:
		t.Fatal(err)
	default:
		start := time.Now()
		expect("n1 -> n2 delayed", map[[2]string]bool{{"n1", "n2"}: true})
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("dial with 300ms delay took %s", d)
		}
		nw.ClearNetem(ctx, "n1")
	}
}

func TestCleanupRemovesLeftovers(t *testing.T) {
	netns.Require(t)
	ctx := t.Context()
	const p = "mjnu"
	netns.Cleanup(ctx, p)
	nw, err := netns.Create(ctx, netns.Config{Prefix: p, Subnet: "10.77.10", Nodes: netns.DefaultNodes("10.77.10", "a")})
	if err != nil {
		t.Fatal(err)
	}
	_ = nw // abandoned, as by a crashed run
	// A second network on the same subnet is refused while the first exists.
	if _, err := netns.Create(context.Background(), netns.Config{Prefix: "mjnv", Subnet: "10.77.10"}); err == nil {
		t.Error("Create accepted a subnet already in use")
	}
	if err := netns.Cleanup(ctx, p); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	links, _ := exec.Command("ip", "link", "show").Output()
	if strings.Contains(string(out), p+"-") || strings.Contains(string(links), p+"-ctl") {
		t.Errorf("leftovers after Cleanup:\n%s\n%s", out, links)
	}
}
