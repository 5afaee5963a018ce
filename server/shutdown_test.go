package server_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
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

	once sync.Once
	mu   sync.Mutex
	ran  []string // names of the commands run
}

// open releases the gate; it may be called more than once.
func (g *gateExec) open() { g.once.Do(func() { close(g.release) }) }

// startGate runs a server on a fresh gateExec whose gate opens before the
// server closes, so that a failing test does not hang in Close.
func startGate(t *testing.T) (*gateExec, *server.Server, string, <-chan error) {
	t.Helper()
	g := newGateExec()
	srv, addr, errc := startServer(t, g)
	t.Cleanup(g.open)
	return g, srv, addr, errc
}

func newGateExec() *gateExec {
	return &gateExec{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (g *gateExec) Exec(req *eval.Request, w *protocol.Writer) int {
	for _, args := range req.Cmds {
		g.mu.Lock()
		g.ran = append(g.ran, string(args[0]))
		g.mu.Unlock()
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
	g, srv, addr, errc := startGate(t)
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
	g.open()
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
	g, srv, addr, _ := startGate(t)
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
	g.open()
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

// CLIENT KILL of a client in the middle of a command lets the command
// finish, then closes the connection without its reply, and runs nothing
// the client sent after it.
func TestClientKillBusy(t *testing.T) {
	g, _, addr, _ := startGate(t)
	victim, victimRd := dialAddr(t, addr)
	id := strings.Trim(roundTrip(t, victim, victimRd, "client", "id"), ":\r\n")
	admin, adminRd := dialAddr(t, addr)
	victim.Write([]byte(encodeCommand("get", "gate") + encodeCommand("set", "after", "1")))
	<-g.entered
	if r := roundTrip(t, admin, adminRd, "client", "kill", "id", id); r != ":1\r\n" {
		t.Fatalf("CLIENT KILL = %q", r)
	}
	victim.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := victimRd.ReadByte(); err == nil || !isTimeout(err) {
		t.Fatalf("victim closed under its command: %v", err)
	}
	g.open()
	waitClosed(t, "victim", victimRd, victim)
	if r := roundTrip(t, admin, adminRd, "ping"); r != "+PONG\r\n" {
		t.Fatalf("PING = %q", r)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if strings.Join(g.ran, ",") != "get" {
		t.Fatalf("commands run = %v, want only the one in flight", g.ran)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
