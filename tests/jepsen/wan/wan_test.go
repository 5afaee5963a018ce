package wan_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/netns"
	"github.com/meridian-kv/meridian/tests/jepsen/wan"
)

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func listen(t *testing.T, target string, to, from wan.Shape) *wan.Proxy {
	t.Helper()
	p, err := wan.Listen("127.0.0.1:0", target, to, from)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestRoundTripDelayed: a round trip through the proxy takes at least
// the two one-way delays (a lower bound only: it cannot flake on a slow
// machine).
func TestRoundTripDelayed(t *testing.T) {
	to := wan.Shape{Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond}
	from := wan.Shape{Delay: 20 * time.Millisecond}
	p := listen(t, echoServer(t), to, from)
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 5)
	for i := range 5 {
		start := time.Now()
		if _, err := c.Write([]byte("ping!")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		rtt := time.Since(start)
		if min := to.Delay + from.Delay; rtt < min {
			t.Errorf("round trip %d took %s, less than the configured %s", i, rtt, min)
		}
		if string(buf) != "ping!" {
			t.Fatalf("echo %q", buf)
		}
	}
}

// TestBytesIntactInOrder: megabytes of random data in many writes, with
// jitter larger than the delay, come back byte for byte in order, and a
// half-close reaches the far side after the data.
func TestBytesIntactInOrder(t *testing.T) {
	jitter := wan.Shape{Delay: time.Millisecond, Jitter: 5 * time.Millisecond}
	p := listen(t, echoServer(t), jitter, jitter)
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	go func() {
		for b := data; len(b) > 0; {
			n := min(len(b), 1+rng.IntN(9000))
			if _, err := c.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c) // ends when the echo's half-close comes back
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i < min(len(got), len(data)) && got[i] == data[i] {
			i++
		}
		t.Fatalf("got %d bytes, sent %d; first difference at byte %d", len(got), len(data), i)
	}
}

// TestCutAndHeal: Cut breaks open connections and refuses new ones;
// Heal restores service.
func TestCutAndHeal(t *testing.T) {
	p := listen(t, echoServer(t), wan.Shape{}, wan.Shape{})
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip := func(c net.Conn) error {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		b := make([]byte, 1)
		_, err := io.ReadFull(c, b)
		return err
	}
	if err := roundTrip(c); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	if err := roundTrip(c); err == nil {
		t.Error("a connection open before Cut still carries data")
	}
	if c2, err := net.Dial("tcp", p.Addr().String()); err == nil {
		if err := roundTrip(c2); err == nil {
			t.Error("a connection made during Cut carries data")
		}
		c2.Close()
	}
	p.Heal()
	c3, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := roundTrip(c3); err != nil {
		t.Errorf("after Heal: %v", err)
	}
}

// TestChoose: the method follows the netem probe. On this project's CI
// kernel (no sch_netem) it is the proxy; where netem works it is netem.
func TestChoose(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the netem probe needs root")
	}
	m, err := wan.Choose(context.Background())
	ok, perr := netns.NetemSupported(context.Background())
	switch {
	case ok && m != wan.Netem:
		t.Errorf("netem works but Choose = %s", m)
	case !ok && m != wan.ProxyMethod:
		t.Errorf("netem does not work (%v) but Choose = %s", perr, m)
	}
	if !ok && err == nil {
		t.Error("proxy chosen without a reason")
	}
	t.Logf("method %s (%v); netem unsupported: %v", m, err, errors.Is(err, netns.ErrNetemUnsupported))
}
