// Package server is Meridian's RESP front: it accepts client connections,
// parses requests (protocol.Reader), checks them against the command table,
// handles connection state (AUTH, HELLO, SELECT, CLIENT, MULTI/EXEC, WATCH,
// pub/sub) and hands every data command to an Executor.
//
// Usage:
//
//	srv := server.New(server.DefaultConfig(), executor)
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx) // stop accepting, let connections finish
//
// The shape follows net/http.Server: Serve returns ErrServerClosed after
// Shutdown or Close.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("server: closed")

// Executor runs data commands. eval.Local is the single-node executor;
// regional.Group runs them through a Raft group.
type Executor interface {
	// Exec evaluates req, writes its replies to w and returns the selected
	// database afterwards.
	Exec(req *eval.Request, w *protocol.Writer) int
	// Watch registers a WATCH on key and returns its version.
	Watch(db int, key string) uint64
	// Unwatch undoes one Watch.
	Unwatch(db int, key string)
}

// Observer receives per-command measurements (ops wires it to Prometheus).
type Observer interface {
	// Command is called after each command with its full name ("get",
	// "client|list"), how long it took and whether it replied with an error.
	Command(name string, d time.Duration, failed bool)
}

// Config configures a Server.
type Config struct {
	// Addr is the TCP address ListenAndServe listens on.
	Addr string
	// RequirePass, if not empty, makes clients AUTH before anything else.
	RequirePass string
	// MaxClients bounds concurrent connections; zero means 10000.
	MaxClients int
	// MaxBulk is proto-max-bulk-len; zero means 512 MB.
	MaxBulk int64
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Observer, if not nil, receives per-command measurements.
	Observer Observer
	// Info, if not nil, adds sections to INFO (name to lines "k:v").
	Info func(section string) []string
}

// DefaultConfig returns the configuration of `meridian server` without
// flags.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:6379", MaxClients: 10000, MaxBulk: protocol.DefaultMaxBulk}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.MaxClients < 0 {
		return fmt.Errorf("server: maxclients must not be negative")
	}
	if c.MaxBulk < 0 {
		return fmt.Errorf("server: proto-max-bulk-len must not be negative")
	}
	return nil
}

// Server serves RESP clients.
type Server struct {
	exec   Executor
	log    *slog.Logger
	start  time.Time
	nextID atomic.Uint64
	hub    *hub

	// cfg fields that CONFIG SET may change are read under cfgMu.
	cfgMu sync.RWMutex
	cfg   Config

	stats struct {
		connections atomic.Int64 // accepted, ever
		rejected    atomic.Int64 // refused by maxclients
		commands    atomic.Int64
	}

	mu struct {
		sync.Mutex
		listeners map[net.Listener]struct{}
		conns     map[*Conn]struct{}
		closed    bool
	}
	wg sync.WaitGroup
}

// New returns a Server that runs data commands on exec.
func New(cfg Config, exec Executor) *Server {
	if cfg.MaxClients == 0 {
		cfg.MaxClients = 10000
	}
	if cfg.MaxBulk == 0 {
		cfg.MaxBulk = protocol.DefaultMaxBulk
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{exec: exec, log: log, cfg: cfg, start: time.Now(), hub: newHub()}
	s.mu.listeners = map[net.Listener]struct{}{}
	s.mu.conns = map[*Conn]struct{}{}
	return s
}

func (s *Server) config() Config {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.cfg
}

// ListenAndServe listens on cfg.Addr and serves until Shutdown or Close.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.config().Addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Shutdown or Close, and then returns
// ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.mu.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.mu.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.accept(nc)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

func (s *Server) accept(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlive(true)
	}
	cfg := s.config()
	c := &Conn{
		srv:     s,
		id:      s.nextID.Add(1),
		nc:      nc,
		rd:      protocol.NewReader(nc),
		created: time.Now(),
		authed:  cfg.RequirePass == "",
		rand:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	c.w.Proto = 2
	c.rd.MaxBulk = cfg.MaxBulk
	c.rd.Unauthenticated = !c.authed
	c.lastActive.Store(time.Now().UnixNano())
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if len(s.mu.conns) >= cfg.MaxClients {
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write([]byte("-" + protocol.ErrMaxClients + "\r\n"))
		nc.Close()
		return
	}
	s.mu.conns[c] = struct{}{}
	s.mu.Unlock()
	s.stats.connections.Add(1)
	s.wg.Go(func() {
		defer s.drop(c)
		c.serve()
	})
}

func (s *Server) drop(c *Conn) {
	c.cleanup()
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}

// NumClients returns the number of connected clients.
func (s *Server) NumClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.conns)
}

// Close closes every listener and connection at once and waits for the
// connection goroutines to end. It is idempotent.
func (s *Server) Close() error {
	s.closeListeners()
	s.mu.Lock()
	for c := range s.mu.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Shutdown stops accepting connections, then closes each connection once
// it is idle (no command in progress), and waits for them until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for c := range s.mu.conns {
			c.closeWhenIdle()
		}
		s.mu.Unlock()
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	for ln := range s.mu.listeners {
		ln.Close()
	}
}

// Addrs returns the addresses the server listens on.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for ln := range s.mu.listeners {
		out = append(out, ln.Addr())
	}
	return out
}
