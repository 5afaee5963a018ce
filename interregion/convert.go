package interregion

import (
	pb "github.com/meridian-kv/meridian/interregion/interregionpb"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Conversions between the core's messages and the wire's.

func tsToPB(t hlc.Timestamp) *pb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &pb.Timestamp{Wall: t.Wall, Logical: t.Logical, Region: t.Region, Node: t.Node}
}

func tsFromPB(t *pb.Timestamp) hlc.Timestamp {
	if t == nil {
		return hlc.Timestamp{}
	}
	return hlc.Timestamp{Wall: t.GetWall(), Logical: t.GetLogical(), Region: t.GetRegion(), Node: t.GetNode()}
}

func progressToPB(p Progress) *pb.Progress {
	return &pb.Progress{Region: p.Region, Index: p.Index, Closed: tsToPB(p.Closed)}
}

func progressFromPB(p *pb.Progress) Progress {
	return Progress{Region: p.GetRegion(), Index: p.GetIndex(), Closed: tsFromPB(p.GetClosed())}
}

func rowToPB(row []Progress) []*pb.Progress {
	out := make([]*pb.Progress, 0, len(row))
	for _, p := range row {
		out = append(out, progressToPB(p))
	}
	return out
}

func rowFromPB(row []*pb.Progress) []Progress {
	out := make([]Progress, 0, len(row))
	for _, p := range row {
		out = append(out, progressFromPB(p))
	}
	return out
}

// shipToPB converts a MsgShip or MsgNeedState.
func shipToPB(m Message) *pb.ShipRequest {
	req := &pb.ShipRequest{
		Origin: m.From, First: m.First, Last: m.Last, Closed: tsToPB(m.Closed),
		Row: rowToPB(m.Row), NeedState: m.Type == MsgNeedState, Frontier: tsToPB(m.Frontier),
	}
	if m.Type == MsgNeedState {
		req.Acked = m.Index
	}
	for _, e := range m.Entries {
		req.Entries = append(req.Entries, &pb.Entry{Index: e.Index, Effects: e.Effects})
	}
	return req
}

// shipFromPB converts what a peer shipped to the local region (to).
func shipFromPB(req *pb.ShipRequest, to uint32) Message {
	if req.GetNeedState() {
		return Message{Type: MsgNeedState, From: req.GetOrigin(), To: to, Index: req.GetAcked()}
	}
	m := Message{
		Type: MsgShip, From: req.GetOrigin(), To: to, First: req.GetFirst(), Last: req.GetLast(),
		Closed: tsFromPB(req.GetClosed()), Row: rowFromPB(req.GetRow()), Frontier: tsFromPB(req.GetFrontier()),
	}
	for _, e := range req.GetEntries() {
		m.Entries = append(m.Entries, ShipEntry{Index: e.GetIndex(), Effects: e.GetEffects()})
	}
	return m
}

func ackToPB(m Message) *pb.ShipAck {
	return &pb.ShipAck{Region: m.From, Applied: m.Index, Reject: m.Reject, Hint: m.Hint, Row: rowToPB(m.Row)}
}

// ackFromPB converts an acknowledgement from peer to the local region (to).
func ackFromPB(a *pb.ShipAck, peer, to uint32) Message {
	return Message{Type: MsgAck, From: peer, To: to, Index: a.GetApplied(), Reject: a.GetReject(),
		Hint: a.GetHint(), Row: rowFromPB(a.GetRow())}
}
