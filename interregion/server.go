package interregion

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/meridian-kv/meridian/interregion/interregionpb"
	"github.com/meridian-kv/meridian/storage"
)

// service implements the Link gRPC service for a Link. The auth
// interceptor has checked the region-set token before any method runs.
type service struct {
	pb.UnimplementedLinkServer
	l *Link
}

// peer returns the configured peer with the given id, or an error that
// refuses the call.
func (s *service) peer(id uint32) error {
	if _, ok := s.l.peers[id]; !ok {
		s.l.metrics.refused.WithLabelValues("region").Inc()
		return status.Errorf(codes.PermissionDenied, "interregion: region %d is not a peer of region %d", id, s.l.cfg.Region)
	}
	return nil
}

// Hello tells a peer where to resume: what this region has durably applied
// of its log.
func (s *service) Hello(ctx context.Context, req *pb.HelloRequest) (*pb.HelloReply, error) {
	if err := s.peer(req.GetRegionId()); err != nil {
		return nil, err
	}
	s.l.mu.Lock()
	row := append([]Progress(nil), s.l.mu.row...)
	s.l.mu.Unlock()
	// Resume after what is durably applied, or past it over entries with
	// no effects that the replica counts as applied (Replica.release).
	applied := s.l.cfg.Applier.Applied(req.GetRegionId())
	for _, p := range row {
		if p.Region == applied.Region && p.Index > applied.Index {
			applied = p
		}
	}
	return &pb.HelloReply{
		RegionId:   s.l.cfg.Region,
		RegionName: s.l.cfg.Name,
		Applied:    progressToPB(applied),
		Row:        rowToPB(row),
	}, nil
}

// Ship takes in a peer's batches and sends back the replica's
// acknowledgements for that peer on the same stream.
func (s *service) Ship(stream grpc.BidiStreamingServer[pb.ShipRequest, pb.ShipAck]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	origin := first.GetOrigin()
	if err := s.peer(origin); err != nil {
		return err
	}
	l := s.l
	acks := make(chan *pb.ShipAck, 256)
	l.mu.Lock()
	l.mu.acks[origin] = acks
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.mu.acks[origin] == acks {
			delete(l.mu.acks, origin)
		}
		l.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	sendErr := make(chan error, 1)
	go func() { // ends with the stream's context, before Ship returns
		for {
			select {
			case <-ctx.Done():
				sendErr <- nil
				return
			case a := <-acks:
				if err := stream.Send(a); err != nil {
					sendErr <- err
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-sendErr }()

	req := first
	for {
		if req.GetOrigin() != origin {
			return status.Errorf(codes.InvalidArgument, "interregion: stream of region %d carries region %d", origin, req.GetOrigin())
		}
		l.post(shipFromPB(req, l.cfg.Region))
		if req, err = stream.Recv(); err != nil {
			return err
		}
	}
}

// StateTransfer streams this region's whole state to a peer that is behind
// the log.
func (s *service) StateTransfer(req *pb.StateRequest, stream grpc.ServerStreamingServer[pb.StateChunk]) error {
	peer := req.GetRegionId()
	if err := s.peer(peer); err != nil {
		return err
	}
	l := s.l
	st, err := l.cfg.Exporter.Export(stream.Context(), func(batch []storage.Effect) error {
		return stream.Send(&pb.StateChunk{Effects: storage.AppendEffects(nil, batch)})
	})
	if err == nil {
		err = stream.Send(&pb.StateChunk{Done: true, Index: st.Index, Row: rowToPB(st.Applied)})
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	l.metrics.states.WithLabelValues(peerLabel(peer), "sent", result).Inc()
	if err != nil {
		return fmt.Errorf("interregion: state transfer to region %d: %w", peer, err)
	}
	l.cfg.Logger.Info("interregion: state transfer sent", "peer", peer, "index", st.Index)
	return nil
}
