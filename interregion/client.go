package interregion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"

	pb "github.com/meridian-kv/meridian/interregion/interregionpb"
	"github.com/meridian-kv/meridian/storage"
)

// Reconnection backoff after a failed or broken link.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// dialLoop keeps a link to peer p up until ctx ends: connect, Hello, ship,
// and on any error report the link down and try again after a backoff,
// cycling through the peer's addresses.
func (l *Link) dialLoop(ctx context.Context, p Peer) {
	backoff := minBackoff
	for i := 0; ctx.Err() == nil; i++ {
		addr := p.Addrs[i%len(p.Addrs)]
		start := time.Now()
		err := l.session(ctx, p, addr)
		if ctx.Err() != nil {
			return
		}
		l.cfg.Logger.Debug("interregion: link down", "peer", p.ID, "addr", addr, "err", err)
		if time.Since(start) > 10*maxBackoff {
			backoff = minBackoff // it was up for a while: a fresh failure
		}
		if (i+1)%len(p.Addrs) != 0 {
			// Try the peer's next node at once: only its leader serves
			// the link, the others close the connection straight away.
			// The backoff grows once per round of every address.
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// conn returns the client connection to peer p at addr, making it if need
// be (gRPC reconnects it by itself).
func (l *Link) conn(p Peer, addr string) (*grpc.ClientConn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return nil, ErrClosed
	}
	if c := l.mu.conns[p.ID]; c != nil && c.Target() == addr {
		return c, nil
	}
	creds, err := l.clientCreds(p)
	if err != nil {
		return nil, err
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(tokenCreds{token: l.cfg.Token, requireTLS: l.cfg.TLS != nil}),
		grpc.WithChainUnaryInterceptor(l.metrics.client.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(l.metrics.client.StreamClientInterceptor()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(l.cfg.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(l.cfg.MaxMessageBytes),
		),
		// A cut link must be noticed (keepalive pings) and a healed one
		// redialed within seconds, not after gRPC's default reconnect
		// backoff (up to 2 minutes) or TCP's retransmission backoff.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: linkKeepalive, Timeout: linkKeepalive, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
	}
	if l.cfg.Dialer != nil {
		opts = append(opts, grpc.WithContextDialer(l.cfg.Dialer))
	}
	c, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("interregion: dial region %d at %s: %w", p.ID, addr, err)
	}
	if old := l.mu.conns[p.ID]; old != nil {
		_ = old.Close()
	}
	l.mu.conns[p.ID] = c
	return c, nil
}

// session runs one link to p: Hello, then the Ship stream until it breaks.
func (l *Link) session(ctx context.Context, p Peer, addr string) error {
	c, err := l.conn(p, addr)
	if err != nil {
		return err
	}
	client := pb.NewLinkClient(c)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	hello, err := client.Hello(hctx, &pb.HelloRequest{RegionId: l.cfg.Region, RegionName: l.cfg.Name})
	hcancel()
	if err != nil {
		return err
	}
	if hello.GetRegionId() != p.ID {
		return fmt.Errorf("interregion: %s answers as region %d, want %d", addr, hello.GetRegionId(), p.ID)
	}
	stream, err := client.Ship(ctx)
	if err != nil {
		return err
	}

	out := make(chan *pb.ShipRequest, 256)
	l.mu.Lock()
	l.mu.outs[p.ID] = out
	l.mu.Unlock()
	l.metrics.connections.WithLabelValues(peerLabel(p.ID)).Set(1)
	defer func() {
		l.mu.Lock()
		if l.mu.outs[p.ID] == out {
			delete(l.mu.outs, p.ID)
		}
		l.mu.Unlock()
		l.metrics.connections.WithLabelValues(peerLabel(p.ID)).Set(0)
		l.post(Message{Type: MsgDisconnect, From: p.ID})
	}()
	l.post(Message{Type: MsgConnect, From: p.ID, Index: hello.GetApplied().GetIndex(), Row: rowFromPB(hello.GetRow())})
	l.cfg.Logger.Info("interregion: link up", "peer", p.ID, "addr", addr, "resume", hello.GetApplied().GetIndex()+1)

	recvErr := make(chan error, 1)
	go func() { // ends when the stream does: session cancels it on return
		for {
			a, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			l.post(ackFromPB(a, p.ID, l.cfg.Region))
		}
	}()
	defer func() { cancel(); <-recvErr }()
	// The first message names the origin for the server: a keepalive.
	if err := stream.Send(&pb.ShipRequest{Origin: l.cfg.Region, First: 1}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			recvErr <- err // for the deferred wait
			return err
		case req := <-out:
			if err := stream.Send(req); err != nil {
				return err
			}
		}
	}
}

// fetchState pulls a state transfer from region from and merges it, then
// reports the outcome to the loop.
func (l *Link) fetchState(ctx context.Context, from uint32) {
	err := l.fetch(ctx, from)
	result := "ok"
	if err != nil {
		result = "error"
		l.cfg.Logger.Warn("interregion: state transfer failed", "peer", from, "err", err)
	} else {
		l.cfg.Logger.Info("interregion: state transfer merged", "peer", from)
	}
	l.metrics.states.WithLabelValues(peerLabel(from), "received", result).Inc()
	var row []Progress
	for _, p := range l.cfg.Peers {
		row = append(row, l.cfg.Applier.Applied(p.ID))
	}
	l.post(Message{Type: MsgStateDone, From: from, Reject: err != nil, Row: row})
}

func (l *Link) fetch(ctx context.Context, from uint32) error {
	p, ok := l.peers[from]
	if !ok {
		return fmt.Errorf("interregion: state transfer from unknown region %d", from)
	}
	c, err := l.conn(p, p.Addrs[0])
	l.mu.Lock()
	if cur := l.mu.conns[from]; cur != nil {
		c, err = cur, nil // the connection the dial loop uses, whatever its address
	}
	l.mu.Unlock()
	if err != nil {
		return err
	}
	stream, err := pb.NewLinkClient(c).StateTransfer(ctx, &pb.StateRequest{RegionId: l.cfg.Region})
	if err != nil {
		return err
	}
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("interregion: state transfer ended without its last chunk")
		}
		if err != nil {
			return err
		}
		if chunk.GetDone() {
			return l.applyState(ctx, Batch{Origin: from, State: true, Raise: rowFromPB(chunk.GetRow())})
		}
		effects, err := storage.DecodeEffects(chunk.GetEffects())
		if err != nil {
			return err
		}
		if err := l.applyState(ctx, Batch{Origin: from, State: true, Effects: effects}); err != nil {
			return err
		}
	}
}

func (l *Link) applyState(ctx context.Context, b Batch) error {
	actx, cancel := context.WithTimeout(ctx, l.cfg.ApplyTimeout)
	defer cancel()
	return l.cfg.Applier.ApplyRemote(actx, b)
}

// linkKeepalive is how often an idle link pings its peer, and how long it
// waits for the answer before it drops the connection.
const linkKeepalive = 2 * time.Second
