package ops

import (
	"context"
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

	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// ShutdownTimeout bounds a graceful shutdown (Node.Serve): connections
// still busy after it are closed.
const ShutdownTimeout = 10 * time.Second

// Active expiry, after Valkey's slow cycle: every interval, sample up to
// expireSample keys with a deadline per database and delete the expired
// ones; repeat while at least a quarter of a sample had expired, for at
// most expireBudget of each interval.
const (
	defaultExpireInterval = 100 * time.Millisecond
	expireSample          = 20
	expireBudget          = 25 * time.Millisecond
)

// Node is a running single-node server: the keyspace, its executor, the
// RESP server, the active-expiry loop and the HTTP endpoint.
type Node struct {
	cfg     Config
	log     *slog.Logger
	exec    *eval.Local
	srv     *server.Server
	metrics *Metrics
	respLn  net.Listener
	httpLn  net.Listener // nil when HTTP is disabled
	httpSrv *http.Server // nil when HTTP is disabled

	// draining is set once Shutdown starts; /health then answers 503.
	draining atomic.Bool
	// stop is closed by Shutdown to end the expiry loop.
	stop chan struct{}
	// errc receives the first error of a listener that failed by itself.
	errc     chan error
	wg       sync.WaitGroup
	shutdown sync.Once
	shutErr  error
}

// Start builds a node from cfg, binds its listeners and starts serving.
// Listening on port 0 picks a free port: see [Node.Addr] and
// [Node.HTTPAddr]. The caller must end the node with Serve or Shutdown.
func Start(cfg Config, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
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
	store := storage.NewStore()
	n.exec = eval.NewLocal(store, hlc.NewClock(cfg.Wall, cfg.Region, cfg.NodeID))
	n.exec.MaxBulk = cfg.ProtoMaxBulkLen

	scfg := server.DefaultConfig()
	scfg.Addr = cfg.Addr()
	scfg.RequirePass = cfg.RequirePass
	scfg.MaxClients = cfg.MaxClients
	scfg.MaxBulk = cfg.ProtoMaxBulkLen
	scfg.Logger = log.With("component", "server")
	scfg.Observer = n.metrics
	regionInfo := []server.InfoSection{{Name: "regional", Lines: []string{
		"mode:standalone",
		"region:" + strconv.FormatUint(uint64(cfg.Region), 10),
		"node_id:" + strconv.FormatUint(uint64(cfg.NodeID), 10),
	}}}
	scfg.Info = func() []server.InfoSection { return regionInfo }
	if err := scfg.Validate(); err != nil {
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

	var err error
	if n.respLn, err = net.Listen("tcp", cfg.Addr()); err != nil {
		return nil, fmt.Errorf("ops: listen: %w", err)
	}
	if cfg.HTTP != "" {
		if n.httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
			n.respLn.Close()
			return nil, fmt.Errorf("ops: listen http: %w", err)
		}
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
	n.wg.Go(n.expireLoop)

	attrs := []any{"addr", n.Addr().String(), "version", server.Version, "region", cfg.Region, "node", cfg.NodeID}
	if a := n.HTTPAddr(); a != nil {
		attrs = append(attrs, "http", a.String())
	}
	log.Info("meridian started", attrs...)
	if cfg.RequirePass == "" && !isLoopback(cfg.Bind) {
		log.Warn("listening beyond loopback without requirepass: anyone who can reach the port can read and write", "bind", cfg.Bind)
	}
	return n, nil
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

// Metrics returns the node's metrics registry.
func (n *Node) Metrics() *Metrics { return n.metrics }

// Serve blocks until ctx ends or a listener fails, then shuts the node
// down gracefully within [ShutdownTimeout]. It returns the listener's
// error, or else the error of Shutdown (context.DeadlineExceeded when
// connections had to be closed while busy).
func (n *Node) Serve(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
		n.log.Info("shutting down")
	case serveErr = <-n.errc:
		n.log.Error("listener failed, shutting down", "err", serveErr)
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
// command it is running, stops active expiry and the HTTP endpoint, and
// waits for every goroutine of the node. When ctx ends first, the
// remaining connections are closed and ctx's error returned. Shutdown is
// idempotent: later calls wait for nothing and return the first call's
// result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shutdown.Do(func() {
		n.draining.Store(true)
		err := n.srv.Shutdown(ctx)
		close(n.stop)
		if n.httpSrv != nil {
			if herr := n.httpSrv.Shutdown(ctx); herr != nil {
				n.httpSrv.Close()
				err = errors.Join(err, herr)
			}
		}
		n.wg.Wait()
		n.shutErr = err
		n.log.Info("meridian stopped")
	})
	return n.shutErr
}

// expireLoop runs the active-expiry cycle until Shutdown.
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
			k := n.exec.ExpireCycle(expireSample)
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

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
