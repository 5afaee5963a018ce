package netns_test

import (
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/netns"
)

// TestSocketsInNamespaces: Listen and DialContext make sockets inside a
// node's namespace from this (root) process; DropRandom drops and
// counts what a node receives, Heal leaves it alone, and TCP
// retransmits what was dropped.
func TestSocketsInNamespaces(t *testing.T) {
	netns.Require(t)
	ctx := t.Context()
	const p, sub = "mjns", "10.77.11"
	if err := netns.Cleanup(ctx, p); err != nil {
		t.Fatal(err)
	}
	nw, err := netns.Create(ctx, netns.Config{Prefix: p, Subnet: sub, Nodes: netns.DefaultNodes(sub, "a", "b")})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()

	// An echo server in b that reports each peer's address.
	ln, err := nw.Listen("b", nw.Addr("b")+":7100")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	dial := func(from string, timeout time.Duration) error {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := nw.DialContext(dctx, from, nw.Addr("b")+":7100")
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		_, err = io.ReadFull(c, make([]byte, 4))
		return err
	}
	if err := dial("a", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := <-peers; got != nw.Addr("a") {
		t.Errorf("b saw a connection from %s, want a's address %s: the dial did not start in a's namespace", got, nw.Addr("a"))
	}

	// A listener on b's loopback is b's alone.
	lo, err := nw.Listen("b", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lo.Close()
	go func() {
		for {
			c, err := lo.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	loAddr := "127.0.0.1:" + strconv.Itoa(lo.Addr().(*net.TCPAddr).Port)
	if c, err := nw.DialContext(ctx, "b", loAddr); err != nil {
		t.Errorf("b cannot reach its own loopback listener: %v", err)
	} else {
		c.Close()
	}
	if c, err := nw.DialContext(ctx, "a", loAddr); err == nil {
		c.Close()
		t.Error("a reached a listener on b's loopback")
	}

	// Total loss on the way into b: no connection; counted; TCP resent
	// the SYN (initial RTO 1 s) before the dial gave up.
	retrans0, err := nw.TCPRetransmits("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.DropRandom(ctx, "b", []string{"a"}, 1); err != nil {
		t.Fatal(err)
	}
	if err := dial("a", 2500*time.Millisecond); err == nil {
		t.Error("dial through 100% loss succeeded")
	}
	c, err := nw.DropCounters(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if c.Packets == 0 || c.Dropped != c.Packets {
		t.Errorf("counters %+v after a dial through 100%% loss: want every packet seen and dropped\n%s", c, nw.Rules(ctx))
	}
	if r, err := nw.TCPRetransmits("a"); err != nil || r <= retrans0 {
		t.Errorf("a's TCP retransmitted %d segments (before: %d, %v): the SYN was dropped, it must be sent again", r, retrans0, err)
	}
	// Heal (partitions) leaves loss in place; ClearDropRandom ends it.
	if err := nw.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dial("a", 1500*time.Millisecond); err == nil {
		t.Error("Heal removed the loss rules")
	}
	if err := nw.ClearDropRandom(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := dial("a", 5*time.Second); err != nil {
		t.Errorf("after ClearDropRandom: %v", err)
	}
	// A partition cuts connections made inside a namespace too.
	if err := nw.Partition(ctx, []string{"a"}, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if err := dial("a", time.Second); err == nil {
		t.Error("dial across a partition succeeded")
	}
}
