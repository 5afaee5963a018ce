package server_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/eval"
)

// gateExec is an Executor whose "get gate" blocks until released, so a
// test can hold a command in flight. Everything else replies +OK.
type gateExec struct {
	entered chan struct{}
	release chan struct{}
}

func newGateExec() *gateExec {
	return &gateExec{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (g *gateExec) Exec(req *eval.Request, w *protocol.Writer) int {
	for _, args := range req.Cmds {
		if len(args) == 2 && string(args[1]) == "gate" {
			g.entered <- struct{}{}
			<-g.release
			w.BulkString("opened")
			continue
		}
		w.OK()
	}
	return req.DB
}
func (g *gateExec) Watch(db int, key string) uint64 { return 0 }
func (g *gateExec) Unwatch(db int, key string)      {}

// startServer runs a Server on exec and returns it, its address and the
// channel Serve's result arrives on.
func startServer(t *testing.T, exec server.Executor) (*server.Server, string, <-chan error) {
	t.Helper()
	srv := server.New(server.DefaultConfig(), exec)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return srv, ln.Addr().String(), errc
}

func dialAddr(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc, bufio.NewReader(nc)
}

func roundTrip(t *testing.T, nc net.Conn, rd *bufio.Reader, args ...string) string {
	t.Helper()
	nc.Write([]byte(encodeCommand(args...)))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	r, err := readValue(rd)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return r
}

// waitClosed checks that the server closes nc.
func waitClosed(t *testing.T, what string, rd *bufio.Reader, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rd.ReadByte(); err == nil {
		t.Fatalf("%s: got data, want the connection closed", what)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("%s: still open", what)
	}
}

// noLeaks checks that the goroutine count returns to what it was.
func noLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	})
}

func TestShutdownLetsCommandsFinish(t *testing.T) {
	noLeaks(t)
	g := newGateExec()
	srv, addr, errc := startServer(t, g)
	busy, busyRd := dialAddr(t, addr)
	idle, idleRd := dialAddr(t, addr)
	sub, subRd := dialAddr(t, addr)
	if r := roundTrip(t, idle, idleRd, "ping"); r != "+PONG\r\n" {
		t.Fatalf("PING = %q", r)
	}
	roundTrip(t, sub, subRd, "subscribe", "ch")
	busy.Write([]byte(encodeCommand("get", "gate")))
	<-g.entered

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	select {
	case err := <-errc:
		if !errors.Is(err, server.ErrServerClosed) {
			t.Fatalf("Serve = %v, want ErrServerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	// Idle connections, subscribed ones too, are closed at once.
	waitClosed(t, "idle client", idleRd, idle)
	waitClosed(t, "subscriber", subRd, sub)
	// No new connections.
	if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		nc.Close()
		t.Fatal("dial after Shutdown succeeded")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a command in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	// The command in flight finishes and its reply is sent.
	close(g.release)
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r, err := readValue(busyRd); err != nil || r != bulk("opened") {
		t.Fatalf("reply in flight = %q, %v", r, err)
	}
	waitClosed(t, "busy client after its reply", busyRd, busy)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
}

func TestShutdownDeadline(t *testing.T) {
	noLeaks(t)
	g := newGateExec()
	srv, addr, _ := startServer(t, g)
	busy, busyRd := dialAddr(t, addr)
	busy.Write([]byte(encodeCommand("get", "gate")))
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	// The connection was closed under the command.
	waitClosed(t, "busy client", busyRd, busy)
	close(g.release)
}

func TestClose(t *testing.T) {
	noLeaks(t)
	srv, addr, errc := startServer(t, newGateExec())
	a, aRd := dialAddr(t, addr)
	b, bRd := dialAddr(t, addr)
	roundTrip(t, a, aRd, "ping")
	roundTrip(t, b, bRd, "subscribe", "x")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve = %v, want ErrServerClosed", err)
	}
	waitClosed(t, "client", aRd, a)
	waitClosed(t, "subscriber", bRd, b)
	// Idempotent, and a closed server serves nothing.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := srv.Serve(ln); !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve after Close = %v", err)
	}
}
