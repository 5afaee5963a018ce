package ops

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// ShutdownTimeout bounds a graceful shutdown (Node.Serve): connections
// still busy after it are closed.
const ShutdownTimeout = 10 * time.Second

// ErrRemoved is returned by [Node.Serve] when the node stopped because it
// was removed from its region (`meridian region leave`). Its id can never
// join again.
var ErrRemoved = errors.New("ops: node was removed from its region")

// Active expiry, after Valkey's slow cycle: every interval, sample up to
// expireSample keys with a deadline per database and delete the expired
// ones; repeat while at least a quarter of a sample had expired, for at
// most expireBudget of each interval. A single node only: in a region the
// leader's evaluator expires keys through the log.
const (
	defaultExpireInterval = 100 * time.Millisecond
	expireSample          = 20
	expireBudget          = 25 * time.Millisecond
)

// removalCheck is how often a region node checks whether it was removed.
const removalCheck = 250 * time.Millisecond

// executor is what a node needs of its executor: server.Executor and the
// store for gauges. eval.Local and regional.Group both provide it.
type executor interface {
	server.Executor
	Read(fn func(s *storage.Store))
}

var (
	_ executor = (*eval.Local)(nil)
	_ executor = (*regional.Group)(nil)
)

// Node is a running server: the keyspace and its executor, the RESP
// server and the HTTP endpoint. A single node (no --raft) runs eval.Local
// and an active-expiry loop; a region node runs a regional.Group, whose
// Raft port also serves the admin API to other nodes.
type Node struct {
	cfg     Config
	log     *slog.Logger
	exec    executor
	local   *eval.Local     // single node only
	group   *regional.Group // region mode only
	raftLn  *raftPort       // region mode only
	admin   *http.Client    // region mode only: other nodes' admin API
	srv     *server.Server
	metrics *Metrics
	respLn  net.Listener
	httpLn  net.Listener // nil when HTTP is disabled
	httpSrv *http.Server // nil when HTTP is disabled
	// raftAPI serves the admin API on the Raft port (region mode).
	raftAPI *http.Server

	// draining is set once Shutdown starts; /health then answers 503.
	draining atomic.Bool
	// stop is closed by Shutdown to end the node's loops.
	stop chan struct{}
	// errc receives the first error that ends the node by itself (a
	// listener failed, the node was removed).
	errc     chan error
	wg       sync.WaitGroup
	shutdown sync.Once
	shutErr  error
}

// Start builds a node from cfg, binds its listeners and starts serving.
// Listening on port 0 picks a free port: see [Node.Addr], [Node.HTTPAddr]
// and [Node.RaftAddr]. With cfg.Raft set the node opens its Raft group
// from cfg.DataDir (restoring its state) and, with cfg.BootstrapSingle
// and no state, forms a one-node region. The caller must end the node
// with Serve or Shutdown.
func Start(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Wall == nil {
		// Production builds: the system clock. Builds with -tags
		// faultinject (the fault tests) may offset it.
		cfg.Wall = faultWall(hlc.SystemClock{}, log)
	}
	if cfg.ExpireInterval == 0 {
		cfg.ExpireInterval = defaultExpireInterval
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("ops: data-dir: %w", err)
		}
	}

	n := &Node{cfg: cfg, log: log, metrics: NewMetrics(), stop: make(chan struct{}), errc: make(chan error, 2)}
	// closeAll undoes what Start built when a later step fails.
	closeAll := func() {
		for _, ln := range []net.Listener{n.respLn, n.httpLn} {
			if ln != nil {
				ln.Close()
			}
		}
		if n.group != nil {
			n.group.Close()
			n.raftLn.Close()
		}
	}
	// The client ports are bound first, so that a port in use fails the
	// start before a Raft group is opened (and, with bootstrap-single,
	// formed).
	var err error
	if n.respLn, err = net.Listen("tcp", cfg.Addr()); err != nil {
		return nil, fmt.Errorf("ops: listen: %w", err)
	}
	if cfg.HTTP != "" {
		if n.httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
			closeAll()
			return nil, fmt.Errorf("ops: listen http: %w", err)
		}
	}
	if cfg.RegionMode() {
		if err := n.openGroup(); err != nil {
			closeAll()
			return nil, err
		}
		n.exec = n.group
	} else {
		n.local = eval.NewLocal(storage.NewStore(), hlc.NewClock(cfg.Wall, cfg.RegionID, cfg.NodeNumber()))
		n.local.MaxBulk = cfg.ProtoMaxBulkLen
		n.exec = n.local
	}

	scfg := server.DefaultConfig()
	scfg.Addr = cfg.Addr()
	scfg.RequirePass = cfg.RequirePass
	scfg.MaxClients = cfg.MaxClients
	scfg.MaxBulk = cfg.ProtoMaxBulkLen
	scfg.Logger = log.With("component", "server")
	scfg.Observer = n.metrics
	scfg.Info = n.info
	if err := scfg.Validate(); err != nil {
		closeAll()
		return nil, err
	}
	n.srv = server.New(scfg, n.exec)

	n.metrics.GaugeFunc("connected_clients", "Client connections open now.", func() float64 {
		return float64(n.srv.NumClients())
	})
	n.metrics.GaugeFunc("keys", "Keys in every database, including expired keys not yet deleted.", func() float64 {
		var keys int
		n.exec.Read(func(s *storage.Store) { keys = s.Keys() })
		return float64(keys)
	})
	n.metrics.GaugeFunc("tombstones", "Removed elements and deleted keys held as tombstones until every linked region has applied what they remove.", func() float64 {
		var st storage.TombstoneStats
		n.exec.Read(func(s *storage.Store) { st = s.Tombstones() })
		return float64(st.Count)
	})
	n.metrics.GaugeFunc("tombstone_bytes", "Approximate memory held by tombstones.", func() float64 {
		var st storage.TombstoneStats
		n.exec.Read(func(s *storage.Store) { st = s.Tombstones() })
		return float64(st.Bytes)
	})
	if n.group != nil {
		// Messages published on other nodes reach this node's subscribers.
		n.group.SetPublishHandler(n.srv.DeliverLocal)
		n.metrics.Registry().MustRegister(newRaftCollector(n.group), newLinkCollector(n.group))
	}

	if n.httpLn != nil {
		n.httpSrv = &http.Server{
			Handler:           n.httpHandler(),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}

	n.wg.Go(func() {
		if err := n.srv.Serve(n.respLn); !errors.Is(err, server.ErrServerClosed) {
			n.fail(fmt.Errorf("ops: serve resp: %w", err))
		}
	})
	if n.httpSrv != nil {
		n.wg.Go(func() {
			if err := n.httpSrv.Serve(n.httpLn); !errors.Is(err, http.ErrServerClosed) {
				n.fail(fmt.Errorf("ops: serve http: %w", err))
			}
		})
	}
	if n.group != nil {
		n.raftAPI = &http.Server{
			Handler:           n.apiHandler(),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		n.wg.Go(func() { n.raftAPI.Serve(n.raftLn.Admin()) })
		n.wg.Go(n.watchRemoval)
	} else {
		n.wg.Go(n.expireLoop)
	}

	attrs := []any{"addr", n.Addr().String(), "version", server.Version, "region", cfg.Region,
		"region_id", cfg.RegionID, "node", cfg.NodeID, "node_num", cfg.NodeNumber()}
	if a := n.HTTPAddr(); a != nil {
		attrs = append(attrs, "http", a.String())
	}
	if n.group != nil {
		attrs = append(attrs, "raft", n.group.RaftAddr(), "has_state", n.group.HasState())
		if a := n.group.LinkAddr(); a != "" {
			attrs = append(attrs, "link", a, "link_tls", cfg.LinkTLSCert != "")
		}
	}
	log.Info("meridian started", attrs...)
	if cfg.RequirePass == "" && !isLoopback(cfg.Bind) {
		log.Warn("listening beyond loopback without requirepass: anyone who can reach the port can read and write", "bind", cfg.Bind)
	}
	if n.group != nil && !n.group.HasState() && !cfg.BootstrapSingle {
		log.Info("no Raft state yet: waiting to be bootstrapped (meridian region bootstrap) or joined (meridian region join)")
	}
	return n, nil
}

// openGroup listens on the Raft port and opens the node's Raft group.
func (n *Node) openGroup() error {
	cfg := n.cfg
	ln, err := net.Listen("tcp", cfg.Raft)
	if err != nil {
		return fmt.Errorf("ops: listen raft: %w", err)
	}
	n.raftLn = newRaftPort(ln)
	n.admin = newAdminClient()
	rcfg := regional.Config{
		NodeID:    cfg.NodeID,
		Region:    cfg.RegionID,
		Node:      cfg.NodeNumber(),
		DataDir:   cfg.DataDir,
		Listener:  n.raftLn,
		Advertise: cfg.AdvertiseRaft,
		Wall:      cfg.Wall,
		Logger:    n.log.With("component", "regional"),
		MaxBulk:   cfg.ProtoMaxBulkLen,
		// Fault-test builds only: disk stalls on demand (docs/TESTING.md).
		WrapLogStore: faultWrapLogStore(),
	}
	if d := cfg.RaftTimeout; d > 0 {
		rcfg.HeartbeatTimeout, rcfg.ElectionTimeout, rcfg.LeaderLeaseTimeout = d, d, d
	}
	if cfg.Link != "" {
		lc, err := n.linkConfig()
		if err != nil {
			n.raftLn.Close()
			return err
		}
		rcfg.Link = lc
	}
	g, err := regional.Open(rcfg)
	if err != nil {
		n.raftLn.Close()
		if rcfg.Link != nil {
			rcfg.Link.Listener.Close()
		}
		return err
	}
	n.group = g
	if cfg.BootstrapSingle && !g.HasState() {
		if err := g.BootstrapSelf(); err != nil {
			g.Close()
			n.raftLn.Close()
			return err
		}
		n.log.Info("formed a one-node region (bootstrap-single)", "node", cfg.NodeID, "raft", g.RaftAddr())
	}
	if ms, err := g.Members(); err == nil {
		for _, m := range ms {
			if m.ID == cfg.NodeID && m.Address != g.RaftAddr() {
				n.log.Warn("this node's raft address is not the one in the region's configuration: other members dial the old one (keep --raft/--advertise-raft stable)",
					"configured", m.Address, "now", g.RaftAddr())
			}
		}
	}
	return nil
}

// linkConfig checks the link's TLS files and listens on the link port.
func (n *Node) linkConfig() (*regional.LinkConfig, error) {
	cfg := n.cfg
	lc := &regional.LinkConfig{
		Name:           cfg.Region,
		Token:          cfg.LinkToken,
		MaxClockOffset: cfg.MaxClockOffset,
		RetainEntries:  cfg.LinkRetainEntries,
		Registry:       n.metrics.Registry(),
		TickInterval:   cfg.LinkTick,
	}
	if cfg.LinkTLSCert != "" {
		// The link loads them each time this node starts leading: a bad
		// file is reported now rather than at the first election.
		if _, err := tls.LoadX509KeyPair(cfg.LinkTLSCert, cfg.LinkTLSKey); err != nil {
			return nil, fmt.Errorf("ops: link-tls-cert/link-tls-key: %w", err)
		}
		pem, err := os.ReadFile(cfg.LinkTLSCA)
		if err != nil {
			return nil, fmt.Errorf("ops: link-tls-ca: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ops: link-tls-ca: no PEM certificate in %s", cfg.LinkTLSCA)
		}
		lc.TLS = &interregion.TLSFiles{CertFile: cfg.LinkTLSCert, KeyFile: cfg.LinkTLSKey, CAFile: cfg.LinkTLSCA}
	}
	ln, err := net.Listen("tcp", cfg.Link)
	if err != nil {
		return nil, fmt.Errorf("ops: listen link: %w", err)
	}
	lc.Listener = ln
	return lc, nil
}

func (n *Node) fail(err error) {
	select {
	case n.errc <- err:
	default:
	}
}

// Addr returns the RESP listener's address.
func (n *Node) Addr() net.Addr { return n.respLn.Addr() }

// HTTPAddr returns the HTTP endpoint's address, or nil when it is
// disabled.
func (n *Node) HTTPAddr() net.Addr {
	if n.httpLn == nil {
		return nil
	}
	return n.httpLn.Addr()
}

// RaftAddr returns the address other nodes dial for this node's Raft
// port (advertise-raft, else the bound address), or "" for a single node.
func (n *Node) RaftAddr() string {
	if n.group == nil {
		return ""
	}
	return n.group.RaftAddr()
}

// LinkAddr returns the link port's address, or "" without one (or for a
// single node).
func (n *Node) LinkAddr() string {
	if n.group == nil {
		return ""
	}
	return n.group.LinkAddr()
}

// Group returns the node's Raft group, or nil for a single node.
func (n *Node) Group() *regional.Group { return n.group }

// Metrics returns the node's metrics registry.
func (n *Node) Metrics() *Metrics { return n.metrics }

// Serve blocks until ctx ends, Shutdown is called, or the node ends by
// itself (a listener failed, or the node was removed from its region:
// [ErrRemoved]), then shuts the node down gracefully within
// [ShutdownTimeout]. It returns
// the reason the node ended by itself, or else the error of Shutdown
// (context.DeadlineExceeded when connections had to be closed while busy).
func (n *Node) Serve(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
		n.log.Info("shutting down")
	case <-n.stop:
		// Shutdown was called: wait for it to finish.
	case serveErr = <-n.errc:
		if errors.Is(serveErr, ErrRemoved) {
			n.log.Warn("removed from the region: shutting down", "node", n.cfg.NodeID)
		} else {
			n.log.Error("listener failed, shutting down", "err", serveErr)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := n.Shutdown(sctx)
	if serveErr != nil {
		return serveErr
	}
	return err
}

// Shutdown stops accepting connections, lets each connection finish the
// command it is running, stops the node's loops and the HTTP endpoint,
// closes the Raft group (a leader hands leadership over first) and waits
// for every goroutine of the node. When ctx ends first, the remaining
// connections are closed and ctx's error returned. Shutdown is
// idempotent: later calls wait for nothing and return the first call's
// result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdown.Do(func() {
		n.draining.Store(true)
		err := n.srv.Shutdown(ctx)
		close(n.stop)
		for _, hs := range []*http.Server{n.httpSrv, n.raftAPI} {
			if hs == nil {
				continue
			}
			if herr := hs.Shutdown(ctx); herr != nil {
				hs.Close()
				err = errors.Join(err, herr)
			}
		}
		if n.group != nil {
			if gerr := n.group.Close(); gerr != nil {
				err = errors.Join(err, fmt.Errorf("ops: close raft group: %w", gerr))
			}
			n.raftLn.Close()
		}
		n.wg.Wait()
		n.shutErr = err
		n.log.Info("meridian stopped")
	})
	return n.shutErr
}

// watchRemoval ends the node once it learns that it was removed from its
// region, or that its Raft group shut down by itself (a leader that
// removed itself).
func (n *Node) watchRemoval() {
	t := time.NewTicker(removalCheck)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if n.group.Removed() || n.group.Status().Role == "shutdown" {
			n.fail(ErrRemoved)
			return
		}
	}
}

// expireLoop runs the active-expiry cycle of a single node until
// Shutdown.
func (n *Node) expireLoop() {
	t := time.NewTicker(n.cfg.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		start := time.Now()
		for {
			k := n.local.ExpireCycle(expireSample)
			n.metrics.AddExpired(k)
			if k < expireSample/4 || time.Since(start) > expireBudget {
				break
			}
			select {
			case <-n.stop:
				return
			default:
			}
		}
	}
}

// info returns the node's extra INFO sections: "regional" always, and in
// region mode "replication" (see regionInfo).
func (n *Node) info() []server.InfoSection {
	mode := "standalone"
	if n.group != nil {
		mode = "region"
	}
	lines := []string{
		"mode:" + mode,
		"region:" + n.cfg.Region,
		"region_id:" + strconv.FormatUint(uint64(n.cfg.RegionID), 10),
		"node_id:" + n.cfg.NodeID,
		"node_num:" + strconv.FormatUint(uint64(n.cfg.NodeNumber()), 10),
	}
	if n.group == nil {
		return []server.InfoSection{{Name: "regional", Lines: lines}}
	}
	lines = append(lines, "raft_addr:"+n.group.RaftAddr(), "link_addr:"+n.group.LinkAddr())
	return []server.InfoSection{{Name: "regional", Lines: lines}, n.replicationInfo(n.group.Status())}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
