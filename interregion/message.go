package interregion

import (
	"fmt"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// MsgType says what a [Message] is.
type MsgType uint8

// Messages between replicas (they cross the network) and from the driver
// to its replica (they do not).
const (
	// MsgTick: time passes. Now is the wall clock in Unix ms (for the
	// clock-offset check); each MsgTick is one tick of the retry and
	// heartbeat timers.
	MsgTick MsgType = iota + 1
	// MsgCommitted: the local log has committed entries up to Index (a
	// hint; the replica also polls the log on every tick).
	MsgCommitted
	// MsgConnect: the link to From is up. Index is what From has durably
	// applied of the local log (HelloReply), Row its applied vector.
	MsgConnect
	// MsgDisconnect: the link to From is down.
	MsgDisconnect
	// MsgShip: From ships its log from First to Last (Entries holds the
	// entries it wrote itself), with its Closed stamp at Last and its Row.
	// First > Last covers nothing: a keepalive.
	MsgShip
	// MsgNeedState: From's log no longer holds what To needs next; To
	// must fetch a state transfer from From, unless it has applied more
	// of From's log than Index (what From counts as acknowledged).
	MsgNeedState
	// MsgAck: From has durably applied To's log up to Index. With Reject,
	// To should resend from Hint+1.
	MsgAck
	// MsgApplied: the driver finished an Applier call for origin From
	// (success or not); Row holds Applier.Applied of every region the
	// call may have moved.
	MsgApplied
	// MsgStateDone: the driver finished (Reject: failed) merging a state
	// transfer from From; Row holds Applier.Applied of every region.
	MsgStateDone
)

var msgNames = [...]string{
	MsgTick: "tick", MsgCommitted: "committed", MsgConnect: "connect", MsgDisconnect: "disconnect",
	MsgShip: "ship", MsgNeedState: "need-state", MsgAck: "ack", MsgApplied: "applied", MsgStateDone: "state-done",
}

func (t MsgType) String() string {
	if int(t) < len(msgNames) && msgNames[t] != "" {
		return msgNames[t]
	}
	return fmt.Sprintf("msg(%d)", uint8(t))
}

// Message is the one message type of the replication core, in the manner of
// raftpb.Message: which fields matter depends on Type (see [MsgType]).
type Message struct {
	Type     MsgType
	From, To uint32
	// Now is the wall clock in Unix ms (MsgTick).
	Now int64
	// Index: MsgCommitted, MsgConnect, MsgAck, MsgNeedState.
	Index uint64
	// First, Last, Entries, Closed, Frontier: MsgShip. Frontier is the
	// largest Entry.Frontier of the origin's entries in [First, Last].
	First, Last uint64
	Entries     []ShipEntry
	Closed      hlc.Timestamp
	Frontier    hlc.Timestamp
	// Reject and Hint: MsgAck, MsgStateDone.
	Reject bool
	Hint   uint64
	// Row is the sender's applied vector (MsgShip, MsgAck, MsgConnect), or
	// fresh Applier progress (MsgApplied, MsgStateDone).
	Row []Progress
}

func (m Message) String() string {
	s := fmt.Sprintf("%s %d->%d", m.Type, m.From, m.To)
	switch m.Type {
	case MsgShip:
		s += fmt.Sprintf(" [%d,%d] n=%d closed=%v", m.First, m.Last, len(m.Entries), m.Closed)
	case MsgAck:
		s += fmt.Sprintf(" applied=%d", m.Index)
		if m.Reject {
			s += fmt.Sprintf(" reject hint=%d", m.Hint)
		}
	case MsgConnect, MsgCommitted:
		s += fmt.Sprintf(" index=%d", m.Index)
	}
	return s
}

// ShipEntry is one shipped entry: its index in the origin's log and the
// storage.AppendEffects encoding of its effects.
type ShipEntry struct {
	Index   uint64
	Effects []byte
}

// Ready is what a [Replica.Step] asks its driver to do. The driver does all
// of it before the next Step of anything that depends on it (etcd-io/raft's
// Ready, without Advance: Step hands each Ready over once).
type Ready struct {
	// Messages go to other regions (Message.To). They may be dropped,
	// duplicated or delayed: the replica resends what is not acknowledged.
	Messages []Message
	// Apply are batches for [Applier.ApplyRemote], at most one per origin
	// outstanding: the driver reports each outcome with MsgApplied.
	Apply []Batch
	// FetchState names regions to fetch a state transfer from; the driver
	// reports each outcome with MsgStateDone.
	FetchState []uint32
	// Stable, if not zero, is a new tombstone GC frontier for
	// [Stabilizer.SetStable]: every region has applied every effect
	// stamped at or before it.
	Stable hlc.Timestamp
	// Heartbeat asks for a local heartbeat entry (see [Heartbeater]).
	Heartbeat bool
	// Events are things worth counting and logging.
	Events []Event
}

// IsEmpty reports whether rd asks for nothing.
func (rd *Ready) IsEmpty() bool {
	return len(rd.Messages) == 0 && len(rd.Apply) == 0 && len(rd.FetchState) == 0 &&
		rd.Stable.IsZero() && !rd.Heartbeat && len(rd.Events) == 0
}

// EventKind says what an [Event] reports.
type EventKind uint8

// The events a Replica reports.
const (
	// EventCompacted: the local log no longer holds what Peer needs; Peer
	// is told to fetch a state transfer.
	EventCompacted EventKind = iota + 1
	// EventClockAhead: an effect from Peer is stamped more than
	// Config.MaxClockOffset ahead of local time (Ahead ms). It is merged
	// anyway.
	EventClockAhead
	// EventCorrupt: an entry from Peer does not decode; the batch is
	// refused (and will be resent, and refused again: the peer is broken).
	EventCorrupt
	// EventLogError: the local log failed to read (Err).
	EventLogError
	// EventRegressed: Peer says it has applied less of the local log than
	// it acknowledged before (a restored or rebuilt region).
	EventRegressed
	// EventShipped: Count local entries were shipped to Peer.
	EventShipped
	// EventApplied: Count more indexes of Peer's log were durably
	// applied.
	EventApplied
)

// Event is one thing a Replica reports for metrics and logs.
type Event struct {
	Kind  EventKind
	Peer  uint32
	Count int
	Ahead int64
	Err   error
}
