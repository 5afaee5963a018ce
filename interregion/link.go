package interregion

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "github.com/meridian-kv/meridian/interregion/interregionpb"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Link is the gRPC driver of a [Replica]: it serves the Link service to the
// peer regions, keeps a client stream to each of them, and runs the
// replica's Ready against the local region's [Log], [Applier] and
// [Exporter]. One goroutine, the loop, owns the replica (STYLE R9, R12);
// every other goroutine talks to it through one channel.
type Link struct {
	cfg     Config
	metrics *metrics
	srv     *grpc.Server
	peers   map[uint32]Peer

	// in carries messages to the loop: from peers' streams, and outcomes
	// of Applier calls and state transfers.
	in     chan Message
	done   chan struct{}
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup

	// heartbeating is set while a heartbeat proposal runs (loop only).
	heartbeating bool
	// stableCh hands GC frontiers to the stabilizer goroutine; it holds the
	// latest one not yet taken.
	stableCh chan hlc.Timestamp

	mu struct {
		sync.Mutex
		// outs are the outbound queues of the client streams to peers, acks
		// those of the server streams from peers: at most one each per
		// peer, the latest opened.
		outs map[uint32]chan *pb.ShipRequest
		acks map[uint32]chan *pb.ShipAck
		// conns are the client connections to peers, by peer id.
		conns map[uint32]*grpc.ClientConn
		// status and row are the replica's, as of the loop's last Step.
		status []PeerStatus
		row    []Progress
		stable hlc.Timestamp
		closed bool
	}
}

// NewLink starts the driver: its loop, and a client for every peer that
// dials it, says Hello and ships. Call Serve to answer peers, and Close to
// stop. The replica starts from what the Applier reports as applied.
func NewLink(cfg Config) (*Link, error) {
	cfg.setDefaults()
	if err := cfg.validateLink(); err != nil {
		return nil, err
	}
	var applied []Progress
	for _, p := range cfg.Peers {
		applied = append(applied, cfg.Applier.Applied(p.ID))
	}
	rep, err := NewReplica(cfg, applied)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	l := &Link{
		cfg: cfg, metrics: m, peers: map[uint32]Peer{},
		in: make(chan Message, 1024), done: make(chan struct{}), stableCh: make(chan hlc.Timestamp, 1),
	}
	l.mu.outs = map[uint32]chan *pb.ShipRequest{}
	l.mu.acks = map[uint32]chan *pb.ShipAck{}
	l.mu.conns = map[uint32]*grpc.ClientConn{}
	l.mu.row = rep.Row()
	l.mu.status = rep.Status()
	for _, p := range cfg.Peers {
		l.peers[p.ID] = p
	}
	creds, err := l.serverCreds()
	if err != nil {
		return nil, err
	}
	logger := interceptorLogger(cfg.Logger.With("component", "interregion-grpc"))
	onPanic := recovery.WithRecoveryHandler(func(p any) error {
		l.metrics.panics.Inc()
		cfg.Logger.Error("interregion: panic in handler", "panic", p)
		return status.Error(codes.Internal, "interregion: internal error")
	})
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
	l.srv = grpc.NewServer(
		grpc.Creds(creds),
		grpc.WaitForHandlers(true), // Stop waits for handlers: Close owns them too
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: linkKeepalive / 2, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: linkKeepalive, Timeout: linkKeepalive}),
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxSendMsgSize(cfg.MaxMessageBytes),
		grpc.ChainUnaryInterceptor(
			m.server.UnaryServerInterceptor(),
			logging.UnaryServerInterceptor(logger, logOpts...),
			auth.UnaryServerInterceptor(l.authFunc),
			recovery.UnaryServerInterceptor(onPanic),
		),
		grpc.ChainStreamInterceptor(
			m.server.StreamServerInterceptor(),
			logging.StreamServerInterceptor(logger, logOpts...),
			auth.StreamServerInterceptor(l.authFunc),
			recovery.StreamServerInterceptor(onPanic),
		),
	)
	pb.RegisterLinkServer(l.srv, &service{l: l})
	m.server.InitializeMetrics(l.srv)

	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.wg.Go(func() { l.run(ctx, rep) })
	l.wg.Go(func() { l.stabilize(ctx) })
	for _, p := range cfg.Peers {
		l.wg.Go(func() { l.dialLoop(ctx, p) })
	}
	return l, nil
}

// interceptorLogger adapts slog to go-grpc-middleware's logging.
func interceptorLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// Serve answers peers on lis until Close; it then returns [ErrClosed].
func (l *Link) Serve(lis net.Listener) error {
	err := l.srv.Serve(lis)
	if l.isClosed() || errors.Is(err, grpc.ErrServerStopped) {
		return ErrClosed
	}
	return err
}

// Close stops serving, closes the streams, and waits for every goroutine of
// the link. It is idempotent.
func (l *Link) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.mu.closed = true
		l.mu.Unlock()
		close(l.done)
		l.cancel()
		l.srv.Stop()
		l.wg.Wait()
		l.mu.Lock()
		for _, c := range l.mu.conns {
			_ = c.Close()
		}
		l.mu.Unlock()
	})
	return nil
}

func (l *Link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.closed
}

// Notify tells the link that the local log has committed entries up to
// index, so that it ships them without waiting for the next tick. It never
// blocks.
func (l *Link) Notify(index uint64) {
	select {
	case l.in <- Message{Type: MsgCommitted, Index: index}:
	default: // the loop is busy; the next tick reads the log anyway
	}
}

// Status returns what the link knows of each peer, as of the last step.
func (l *Link) Status() []PeerStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]PeerStatus(nil), l.mu.status...)
}

// Stable returns the last tombstone GC frontier.
func (l *Link) Stable() hlc.Timestamp {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.stable
}

// post hands a message to the loop, unless the link is closing.
func (l *Link) post(m Message) {
	select {
	case l.in <- m:
	case <-l.done:
	}
}

// run is the loop: the one goroutine that steps the replica.
func (l *Link) run(ctx context.Context, rep *Replica) {
	t := time.NewTicker(l.cfg.TickInterval)
	defer t.Stop()
	// The first tick comes at once, before any message: the replica knows
	// the time (to judge remote clocks) before the first batch arrives.
	first := true
	for {
		var m Message
		if first {
			first = false
			m = Message{Type: MsgTick, Now: time.Now().UnixMilli()}
		} else {
			select {
			case <-l.done:
				return
			case m = <-l.in:
			case now := <-t.C:
				m = Message{Type: MsgTick, Now: now.UnixMilli()}
			}
		}
		if m.Type == msgHeartbeatDone {
			l.heartbeating = false
			continue
		}
		m.To = l.cfg.Region
		rd := rep.Step(m)
		l.handle(ctx, rd)
		l.mu.Lock()
		l.mu.status = rep.Status()
		l.mu.row = rep.Row()
		l.mu.Unlock()
		if m.Type == MsgTick {
			for _, st := range rep.Status() {
				l.metrics.lag.WithLabelValues(peerLabel(st.ID)).Set(float64(st.Sent - min(st.Acked, st.Sent)))
			}
		}
	}
}

// handle does what a Ready asks: it never blocks the loop.
func (l *Link) handle(ctx context.Context, rd Ready) {
	for _, m := range rd.Messages {
		l.route(m)
	}
	for _, b := range rd.Apply {
		l.wg.Go(func() { l.apply(ctx, b) })
	}
	for _, from := range rd.FetchState {
		l.wg.Go(func() { l.fetchState(ctx, from) })
	}
	if !rd.Stable.IsZero() {
		l.mu.Lock()
		l.mu.stable = rd.Stable
		l.mu.Unlock()
		l.metrics.frontier.Set(float64(rd.Stable.Wall))
		select {
		case <-l.stableCh: // replace a frontier not taken yet
		default:
		}
		l.stableCh <- rd.Stable
	}
	if hb, ok := l.cfg.Log.(Heartbeater); ok && rd.Heartbeat && !l.heartbeating {
		l.heartbeating = true
		l.wg.Go(func() {
			hctx, cancel := context.WithTimeout(ctx, l.cfg.ApplyTimeout)
			defer cancel()
			if err := hb.ProposeHeartbeat(hctx); err != nil {
				l.cfg.Logger.Debug("interregion: heartbeat", "err", err)
			}
			l.post(Message{Type: msgHeartbeatDone})
		})
	}
	for _, e := range rd.Events {
		l.event(e)
	}
}

// msgHeartbeatDone is internal to the driver: the loop clears its flag (the
// replica ignores the message).
const msgHeartbeatDone MsgType = 255

// route puts a message on the stream that carries it, or drops it when the
// stream is down or full: the replica resends what is not acknowledged.
func (l *Link) route(m Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch m.Type {
	case MsgShip, MsgNeedState:
		if out := l.mu.outs[m.To]; out != nil {
			select {
			case out <- shipToPB(m):
			default:
			}
		}
	case MsgAck:
		if out := l.mu.acks[m.To]; out != nil {
			select {
			case out <- ackToPB(m):
			default:
			}
		}
	}
}

// apply runs one batch through the Applier and reports the outcome.
func (l *Link) apply(ctx context.Context, b Batch) {
	actx, cancel := context.WithTimeout(ctx, l.cfg.ApplyTimeout)
	defer cancel()
	if err := l.cfg.Applier.ApplyRemote(actx, b); err != nil {
		l.cfg.Logger.Warn("interregion: apply batch", "origin", b.Origin, "first", b.First, "last", b.Last, "err", err)
	}
	l.post(Message{Type: MsgApplied, From: b.Origin, Row: []Progress{l.cfg.Applier.Applied(b.Origin)}})
}

// stabilize hands GC frontiers to the Applier, if it is a Stabilizer, one
// at a time, skipping frontiers overtaken while one was being proposed.
func (l *Link) stabilize(ctx context.Context) {
	st, ok := l.cfg.Applier.(Stabilizer)
	for {
		select {
		case <-ctx.Done():
			return
		case ts := <-l.stableCh:
			if !ok {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, l.cfg.ApplyTimeout)
			if err := st.SetStable(sctx, ts); err != nil {
				l.cfg.Logger.Warn("interregion: set stable", "stable", ts, "err", err)
			}
			cancel()
		}
	}
}

// event counts and logs what the replica reports.
func (l *Link) event(e Event) {
	peer := peerLabel(e.Peer)
	switch e.Kind {
	case EventShipped:
		l.metrics.shipped.WithLabelValues(peer).Add(float64(e.Count))
	case EventApplied:
		l.metrics.applied.WithLabelValues(peer).Add(float64(e.Count))
	case EventClockAhead:
		l.metrics.clockAhead.WithLabelValues(peer).Inc()
		l.cfg.Logger.Warn("interregion: remote stamp ahead of local clock beyond max-clock-offset; merged anyway",
			"peer", e.Peer, "ahead_ms", e.Ahead)
	case EventCorrupt:
		l.metrics.corrupt.WithLabelValues(peer).Inc()
		l.cfg.Logger.Error("interregion: corrupt batch refused", "peer", e.Peer, "err", e.Err)
	case EventLogError:
		l.metrics.logErrors.Inc()
		l.cfg.Logger.Error("interregion: read local log", "err", e.Err)
	case EventCompacted:
		l.cfg.Logger.Info("interregion: peer is behind the log; it must fetch a state transfer", "peer", e.Peer)
	case EventRegressed:
		l.cfg.Logger.Warn("interregion: peer has applied less than it acknowledged (restored?)", "peer", e.Peer)
	}
}
