// Package server is Meridian's RESP front: it accepts client connections,
// parses requests (protocol.Reader), checks them against the command table,
// handles connection state (AUTH, HELLO, SELECT, CLIENT, MULTI/EXEC, WATCH,
// pub/sub) and the server's own commands (CONFIG, INFO, COMMAND, TIME),
// and hands every data command to an Executor.
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
//
// Optional interfaces: an Executor that also implements [StoreReader]
// gives INFO its keyspace numbers when [Config.Stats] is nil.
//
// Lock order: Server.mu, then hub.mu, then Conn.out.mu and Conn.shared;
// Server.cfgMu is a leaf.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
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

// StoreReader is implemented by executors that can lend their store for
// reading (eval.Local, regional.Group). INFO uses it for its keyspace
// section when Config.Stats is nil.
type StoreReader interface {
	// Read calls fn with the store, which fn must not keep or change.
	Read(fn func(s *storage.Store))
}

// Observer receives per-command measurements (ops wires it to Prometheus).
type Observer interface {
	// Command is called after each command with its full name ("get",
	// "client|list"), how long it took and whether it replied with an error.
	Command(name string, d time.Duration, failed bool)
}

// Stats are the data numbers INFO reports (sections keyspace and memory).
type Stats struct {
	// DBs holds each database's key counts, indexed by database number.
	DBs []DBStats
	// UsedMemory estimates the bytes in use; zero makes the server report
	// the Go heap in use instead.
	UsedMemory uint64
}

// DBStats are one database's key counts.
type DBStats struct {
	// Keys counts keys, including expired keys not yet deleted (DBSIZE).
	Keys int
	// Expires counts keys with a deadline.
	Expires int
}

// InfoSection is an extra INFO section.
type InfoSection struct {
	// Name is the section name, as "regional"; INFO prints it capitalised.
	Name string
	// Lines are "key:value" lines, without line ends.
	Lines []string
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
	// Stats, if not nil, gives INFO its keyspace and memory numbers. When
	// nil, an Executor implementing StoreReader is asked instead, and
	// otherwise INFO reports no keys. It is called from connection
	// goroutines, concurrently.
	Stats func() Stats
	// Info, if not nil, returns extra INFO sections. They are part of INFO
	// without arguments, "default", "all" and "everything", and are shown
	// alone when asked for by name. It is called concurrently.
	Info func() []InfoSection
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
	exec     Executor
	log      *slog.Logger
	observer Observer // fixed at New
	start    time.Time
	runID    string
	nextID   atomic.Uint64
	hub      *hub

	// cfg holds the settings CONFIG SET may change; read it with config().
	cfgMu sync.RWMutex
	cfg   Config
	// Hot-path copies of cfg fields, updated under cfgMu with it.
	maxBulk atomic.Int64
	passSet atomic.Bool

	stats struct {
		connections atomic.Int64 // accepted, ever
		rejected    atomic.Int64 // refused by maxclients
		commands    atomic.Int64
		netIn       atomic.Int64
		netOut      atomic.Int64
		errors      atomic.Int64 // error replies
	}
	// tables holds the per-command and per-error counters; CONFIG
	// RESETSTAT swaps in empty ones.
	tables atomic.Pointer[statTables]

	mu struct {
		sync.Mutex
		listeners map[net.Listener]struct{}
		conns     map[*Conn]struct{}
		closed    bool
	}
	wg sync.WaitGroup
}

// statTables are INFO's commandstats and errorstats: command full name to
// *cmdStat, error code to *atomic.Int64. Entries are added, never removed,
// and counted with atomics, so commands never wait on a lock.
type statTables struct {
	cmds sync.Map
	errs sync.Map
}

// cmdStat is one INFO commandstats line.
type cmdStat struct {
	calls, usec, rejected, failed atomic.Int64
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
	var id [20]byte
	rand.Read(id[:])
	s := &Server{
		exec: exec, log: log, observer: cfg.Observer, cfg: cfg, start: time.Now(),
		runID: hex.EncodeToString(id[:]), hub: newHub(),
	}
	s.tables.Store(&statTables{})
	s.maxBulk.Store(cfg.MaxBulk)
	s.passSet.Store(cfg.RequirePass != "")
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
	fd := -1
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlive(true)
		if rc, err := tc.SyscallConn(); err == nil {
			rc.Control(func(f uintptr) { fd = int(f) })
		}
	}
	cfg := s.config()
	c := &Conn{
		srv:     s,
		id:      s.nextID.Add(1),
		nc:      nc,
		fd:      fd,
		raddr:   addrString(nc.RemoteAddr()),
		laddr:   addrString(nc.LocalAddr()),
		created: time.Now(),
		authed:  cfg.RequirePass == "",
		rand:    mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64())),
	}
	c.rd = protocol.NewReader(connReader{c})
	c.w.Proto = 2
	c.proto.Store(2)
	c.shared.multi = -1
	c.shared.resp = 2
	c.out.cond.L = &c.out.mu
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
	// Start under mu, so that a Shutdown that saw the connection also
	// waits for it.
	s.wg.Go(func() {
		defer s.drop(c)
		c.serve()
	})
	s.mu.Unlock()
	s.stats.connections.Add(1)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func (s *Server) drop(c *Conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}

// NumClients returns the number of connected clients.
func (s *Server) NumClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.mu.conns {
		if !c.killed.Load() {
			n++
		}
	}
	return n
}

// clients returns the live connections ordered by id, as CLIENT LIST
// shows them.
func (s *Server) clients() []*Conn {
	s.mu.Lock()
	out := make([]*Conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		if !c.killed.Load() {
			out = append(out, c)
		}
	}
	s.mu.Unlock()
	sortConns(out)
	return out
}

// Close closes every listener and connection at once and waits for the
// connection goroutines to end (a command being executed finishes first).
// It is idempotent.
func (s *Server) Close() error {
	s.closeAll()
	s.wg.Wait()
	return nil
}

func (s *Server) closeAll() {
	s.closeListeners()
	s.mu.Lock()
	for c := range s.mu.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
}

// Shutdown stops accepting connections, then closes each connection once
// it is idle (no command in progress and none waiting in its buffer), and
// waits for them until ctx ends. If ctx ends first, it closes every
// connection and returns ctx.Err() without waiting further, as
// net/http.Server.Shutdown does.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	s.mu.Lock()
	for c := range s.mu.conns {
		c.closeWhenIdle()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.closeAll()
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

// recordCommand updates INFO's commandstats and errorstats and the
// Observer after one command. reply is what the command wrote.
func (s *Server) recordCommand(name string, d time.Duration, rejected bool, reply []byte) {
	failed := len(reply) > 0 && reply[0] == '-'
	if !rejected {
		s.stats.commands.Add(1)
	}
	if failed {
		s.stats.errors.Add(1)
	}
	if name == "" && !failed {
		return
	}
	tables := s.tables.Load()
	if name != "" {
		v, ok := tables.cmds.Load(name)
		if !ok {
			v, _ = tables.cmds.LoadOrStore(name, &cmdStat{})
		}
		st := v.(*cmdStat)
		switch {
		case rejected:
			st.rejected.Add(1)
		default:
			st.calls.Add(1)
			st.usec.Add(d.Microseconds())
			if failed {
				st.failed.Add(1)
			}
		}
	}
	if failed {
		code := errorCode(reply)
		v, ok := tables.errs.Load(code)
		if !ok {
			v, _ = tables.errs.LoadOrStore(code, new(atomic.Int64))
		}
		v.(*atomic.Int64).Add(1)
	}
	if s.observer != nil && name != "" {
		s.observer.Command(name, d, failed)
	}
}

// errorCode returns the first word of an encoded error reply ("ERR",
// "WRONGTYPE").
func errorCode(reply []byte) string {
	end := 1
	for end < len(reply) && end < 64 && reply[end] != ' ' && reply[end] != '\r' {
		end++
	}
	return string(reply[1:end])
}

// resetStats clears the counters CONFIG RESETSTAT resets.
func (s *Server) resetStats() {
	s.stats.connections.Store(0)
	s.stats.rejected.Store(0)
	s.stats.commands.Store(0)
	s.stats.netIn.Store(0)
	s.stats.netOut.Store(0)
	s.stats.errors.Store(0)
	s.tables.Store(&statTables{})
}

// dataStats asks Config.Stats or the executor for the keyspace numbers.
func (s *Server) dataStats() Stats {
	if fn := s.config().Stats; fn != nil {
		return fn()
	}
	var st Stats
	if sr, ok := s.exec.(StoreReader); ok {
		sr.Read(func(store *storage.Store) {
			r := store.At(0)
			st.DBs = make([]DBStats, storage.NumDBs)
			for db := range storage.NumDBs {
				st.DBs[db] = DBStats{Keys: r.Len(db), Expires: store.Expires(db)}
			}
		})
	}
	return st
}

// cpuTimes returns the process's user and system CPU seconds.
func cpuTimes() (user, sys float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime), tv(ru.Stime)
}
