package interregion

import (
	"context"
	"errors"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// ErrCompacted is returned by [Log.ReadCommitted] when the entries asked
// for are below the first index the log still holds: the peer that needs
// them gets a state transfer instead.
var ErrCompacted = errors.New("interregion: log compacted")

// ErrClosed is returned by [Link.Serve] after [Link.Close].
var ErrClosed = errors.New("interregion: link closed")

// Progress is what one region has applied of one region's log: every entry
// up to Index, and with them every effect that region stamped at or before
// Closed.
type Progress struct {
	// Region is the region whose log it is.
	Region uint32
	// Index is the last index of that log applied (entries are applied in
	// log order, so every entry before it is applied too).
	Index uint64
	// Closed is a stamp such that every effect Region stamps in an entry
	// after Index is stamped after Closed: the largest stamp Region wrote
	// in entries up to Index. Zero says nothing.
	Closed hlc.Timestamp
}

// Entry is one committed entry of the local region's log, as [Log] returns
// it.
type Entry struct {
	// Index is the entry's index in the local log.
	Index uint64
	// Origin is the region whose write the entry holds: the local region's
	// id for the effects of local commands, and 0 for anything else
	// (batches merged from other regions, configuration changes). Only
	// entries whose Origin is the local region are shipped.
	Origin uint32
	// Stamp is the largest stamp of the entry's effects; for an entry with
	// no effects (a heartbeat, see [Heartbeater]), the stamp it was
	// proposed with. Stamps of local entries grow along the log.
	Stamp hlc.Timestamp
	// Effects is the storage.AppendEffects encoding of the entry's
	// effects, or nil.
	Effects []byte
	// Frontier, for an entry of local origin, is a stamp such that the
	// region had applied every effect of every region stamped at or
	// before it when it evaluated the entry's commands (zero says
	// nothing). It grows along the log. Peers compact list tombstones
	// with it (storage.Store.SetFrontiers): no effect still to come from
	// this region names an item removed at or before it.
	Frontier hlc.Timestamp
}

// Log is the local region's committed log, as the shipper reads it.
// regional implements it over its Raft log store.
//
// ReadCommitted returns committed entries from index from on, in index
// order, at most max of them (and at least one if any committed entry is
// at or after from); indexes may skip (entries the log does not return
// count as entries of no origin). It returns no entries and no error when
// from is past the last committed index, and an error wrapping
// [ErrCompacted] when from is below the first index the log holds. It is
// called from the Link's loop goroutine only; the caller owns the returned
// slice but must not modify the Effects bytes.
type Log interface {
	ReadCommitted(from uint64, max int) ([]Entry, error)
}

// Heartbeater is an optional interface of a [Log]: a log that implements it
// is asked, when no local entry has been read for [Config.HeartbeatTicks],
// to propose an entry of the local origin with no effects and a fresh
// stamp, so that an idle region's [Progress.Closed] moves and the tombstone
// GC frontier with it.
type Heartbeater interface {
	ProposeHeartbeat(ctx context.Context) error
}

// Batch is what the Link asks the local region to merge: a run of another
// region's entries, or a part of a state transfer.
type Batch struct {
	// Origin is the region the effects come from.
	Origin uint32
	// First and Last are the range of Origin's log the batch covers: the
	// region applies the batch only if it has applied Origin's log up to
	// First-1, and then records that it has applied it up to Last. Zero
	// for a state-transfer batch.
	First, Last uint64
	// Closed is Origin's closed stamp at Last (see [Progress]).
	Closed hlc.Timestamp
	// Effects are the effects of Origin's entries First..Last, in log
	// order.
	Effects []storage.Effect
	// State marks a part of a state transfer from Origin: its Effects
	// merge with storage.Store.ApplyState (which leaves out what the
	// region's stable frontier covers) whatever the region has applied,
	// and nothing is recorded, except Raise.
	State bool
	// Raise, on the last part of a state transfer, is what the state holds
	// of every region's log: for each, the region raises what it records
	// as applied to at least that.
	Raise []Progress
}

// Applier is the local region's side of merging: regional implements it by
// proposing each batch through the region's Raft log, so that every node
// merges it and records its progress in its FSM.
//
// ApplyRemote proposes b as one log entry and returns once that entry is
// committed and applied on this node. At apply time the FSM, for a batch
// that is not State, merges b.Effects with storage.Store.Apply and records
// applied[b.Origin] = {b.Last, max(old Closed, b.Closed)} if and only if
// applied[b.Origin].Index == b.First-1 then; any other batch (a duplicate
// from an earlier leader, a batch after a gap) is a no-op, so that nothing
// is ever applied twice. For a State batch the FSM merges b.Effects with
// storage.Store.ApplyState and, if b.Raise is set, raises applied[p.Region]
// to at least p (index and closed stamp) for each p in b.Raise. An error
// means the batch may or may not be applied: the Link reads Applied and
// resumes from there. ApplyRemote is called from one goroutine per origin,
// never twice at once for one origin.
//
// Applied returns applied[origin] as the FSM records it, the zero Progress
// (with Region set) if nothing is; it must be safe for concurrent use.
type Applier interface {
	ApplyRemote(ctx context.Context, b Batch) error
	Applied(origin uint32) Progress
}

// Stabilizer is an optional interface of an [Applier]: an applier that
// implements it is told every new tombstone GC frontier. regional proposes
// it through its log, and its FSM calls storage.Store.SetStable when it
// applies it, so that every node compacts alike.
type Stabilizer interface {
	SetStable(ctx context.Context, ts hlc.Timestamp) error
}

// State is the point of the local log a state transfer stands for.
type State struct {
	// Index is the local log index whose state was exported.
	Index uint64
	// Applied is what the state holds of every region's log, the local
	// region included (its Progress is {Index, the largest local stamp}).
	Applied []Progress
}

// Exporter exports the local region's whole state for a state transfer.
//
// Export calls fn with batches of storage.Store.ExportEffects from one
// consistent state (a snapshot of the FSM, not the live store) and returns
// the point of the log that state stands for. fn's batch is valid only
// during the call. It returns ctx.Err() if ctx ends, and fn's error as is.
// It may be called from several goroutines at once.
type Exporter interface {
	Export(ctx context.Context, fn func(batch []storage.Effect) error) (State, error)
}

// ExportSnapshot calls fn with the batches of storage.Store.ExportEffects
// of the store that snapshot (storage.Store.WriteSnapshot bytes) holds,
// stopping with ctx.Err() once ctx ends: the body of an Exporter over a
// copy of the store taken under the region's lock.
func ExportSnapshot(ctx context.Context, snapshot []byte, fn func([]storage.Effect) error) error {
	snap, err := storage.DecodeSnapshot(snapshot)
	if err != nil {
		return err
	}
	return snap.ExportEffects(func(b []storage.Effect) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(b)
	})
}
