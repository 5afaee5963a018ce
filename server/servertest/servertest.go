// Package servertest starts real Meridian servers on loopback for tests,
// in the manner of net/http/httptest.
//
// Usage:
//
//	srv := servertest.Start(t)         // single node, eval.Local executor
//	rdb := srv.Client(t, 2)            // go-redis client speaking RESP2
//	srv.Advance(10 * time.Second)      // move the server's wall clock
package servertest

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// ShiftClock is real time plus an offset tests can move forward, so keys
// expire without sleeping.
type ShiftClock struct{ off atomic.Int64 }

// Now returns the shifted time.
func (s *ShiftClock) Now() time.Time { return time.Now().Add(time.Duration(s.off.Load())) }

// Advance moves the clock forward by d.
func (s *ShiftClock) Advance(d time.Duration) { s.off.Add(int64(d)) }

// Instance is a running single-node server.
type Instance struct {
	Addr   string
	Server *server.Server
	Exec   *eval.Local
	Store  *storage.Store
	Clock  *ShiftClock
}

// Option adjusts the server configuration before start.
type Option func(*server.Config)

// Start starts a server on 127.0.0.1 with a random port and stops it when
// the test ends.
func Start(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, o := range opts {
		o(&cfg)
	}
	sc := &ShiftClock{}
	st := storage.NewStore()
	ex := eval.NewLocal(st, hlc.NewClock(sc, 1, 1))
	ex.MaxBulk = cfg.MaxBulk
	srv := server.New(cfg, ex)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return &Instance{Addr: ln.Addr().String(), Server: srv, Exec: ex, Store: st, Clock: sc}
}

// Advance moves the server's wall clock forward by d and runs one active
// expiry cycle.
func (i *Instance) Advance(d time.Duration) {
	i.Clock.Advance(d)
}

// Client returns a go-redis client for the instance speaking RESP proto (2
// or 3), closed when the test ends. It uses one connection, so that
// connection state (SELECT, MULTI) behaves as in a single session.
func (i *Instance) Client(t testing.TB, proto int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr:            i.Addr,
		Protocol:        proto,
		PoolSize:        1,
		MaxRetries:      -1,
		DisableIdentity: true,
		ReadTimeout:     10 * time.Second,
	})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping %s: %v", i.Addr, err)
	}
	return rdb
}

// Dial opens a raw TCP connection to the instance, closed when the test
// ends.
func (i *Instance) Dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", i.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
