package regional

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// fsm applies committed entries to the store. It is the bridge between
// hashicorp/raft and storage, and stays thin: decode, Apply, advance the
// clock, wake waiters. No clock reads, no network (STYLE R9).
//
// Apply, ApplyBatch, Snapshot and Restore are called from raft's FSM
// goroutine only; readers take mu.RLock.
type fsm struct {
	clock *hlc.Clock
	log   *slog.Logger
	// region is the local region's id.
	region uint32

	mu struct {
		sync.RWMutex
		store *storage.Store
		// removed holds the ids of nodes removed from the region: they
		// are never let back in (ids are never reused).
		removed map[string]bool
		// last is the fence of the last applied evaluator entry.
		last fence
		// index is the last index applied.
		index uint64
		// repl is the region's replication state.
		repl replState
	}

	// skipped counts evaluator entries refused by the fence.
	skipped atomic.Int64
	// linksChanged is set when an entry changed the peer regions.
	linksChanged atomic.Bool

	// applied is the index of the last applied entry, under appliedMu;
	// appliedCond is signalled whenever it moves.
	appliedMu   sync.Mutex
	appliedCond *sync.Cond
	applied     uint64

	// onApplied, if set, is called after each batch with the last index.
	onApplied func(index uint64)
	// countConflicts, if set, is shown each merged batch before it
	// applies, with the state it merges into (a metric; it must not
	// change anything).
	countConflicts func(r storage.Reader, effects []storage.Effect)
}

// replState is what the FSM records of replication between regions. It is
// part of every snapshot, so that every node, and every future leader,
// knows it.
type replState struct {
	// links are the peer regions, by ascending id.
	links []LinkSpec
	// applied is what the region has merged of each peer's log.
	applied map[uint32]interregion.Progress
	// localIndex and localClosed: the last local entry applied and the
	// largest stamp of local entries (the region's own Progress).
	localIndex  uint64
	localClosed hlc.Timestamp
	// stable is the GC frontier agreed by the region set (entryStable);
	// state transfers leave out effects at or below it.
	stable hlc.Timestamp
	// retain is the lowest local index a peer still needs, 0 if none.
	retain uint64
	// fenced lists the indexes of local entries the fence refused, which
	// must not be shipped (the most recent maxFenced).
	fenced []uint64
	// peerFrontiers holds, for each peer, the largest evaluation frontier
	// of its entries the region holds (stable entries record them).
	peerFrontiers map[uint32]hlc.Timestamp
}

// evalFrontier returns the region's evaluation frontier: every effect of
// every linked region stamped at or before it is applied (the smallest
// closed stamp applied of any peer; zero if one has none, or without
// links). What the evaluator reads covers at least this.
func (r *replState) evalFrontier() hlc.Timestamp {
	var out hlc.Timestamp
	for i, l := range r.links {
		c := r.applied[l.ID].Closed
		if i == 0 || c.Less(out) {
			out = c
		}
	}
	return out
}

// listFrontier returns how far list tombstones may be compacted: every
// effect the region has yet to apply was evaluated by a region that had
// applied everything up to it. The region's own later entries read at
// least its evaluation frontier; a peer's, at least the frontier of its
// entries applied here (storage.Store.SetFrontiers).
func (r *replState) listFrontier() hlc.Timestamp {
	out := hlc.Min(r.stable, r.evalFrontier())
	for _, l := range r.links {
		out = hlc.Min(out, r.peerFrontiers[l.ID])
	}
	return out
}

const maxFenced = 4096

// compactEvery: a stable entry whose index is a multiple of it sweeps the
// whole store for tombstones behind the frontiers (a walk of every key,
// about 3 s per million keys: rare on purpose).
const compactEvery = 128

var (
	_ raft.FSM         = (*fsm)(nil)
	_ raft.BatchingFSM = (*fsm)(nil)
)

func newFSM(clock *hlc.Clock, log *slog.Logger) *fsm {
	f := &fsm{clock: clock, log: log, region: clock.Region()}
	f.mu.store = storage.NewStore()
	f.mu.removed = map[string]bool{}
	f.mu.repl.applied = map[uint32]interregion.Progress{}
	f.mu.repl.peerFrontiers = map[uint32]hlc.Timestamp{}
	f.appliedCond = sync.NewCond(&f.appliedMu)
	return f
}

// Apply applies one entry.
func (f *fsm) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in order under one lock.
func (f *fsm) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	var last uint64
	f.mu.Lock()
	for i, l := range logs {
		last = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		e, err := decodeEntry(l.Data)
		if err != nil {
			// A committed entry we cannot read means the log is corrupt:
			// serving on would serve wrong data (STYLE R11: broken invariant).
			f.mu.Unlock()
			panic(fmt.Sprintf("regional: committed entry %d is unreadable (%v); refusing to continue — restore this node from a healthy peer", l.Index, err))
		}
		out[i] = f.applyLocked(l.Index, &e)
	}
	f.mu.index = max(f.mu.index, last)
	f.mu.Unlock()
	f.setApplied(last)
	if f.onApplied != nil {
		f.onApplied(last)
	}
	return out
}

// applyLocked applies one decoded entry and returns its apply result.
func (f *fsm) applyLocked(index uint64, e *entry) interface{} {
	if e.kind == entryRemoved {
		f.mu.removed[e.removed] = true
		return nil
	}
	fc := e.fence
	if !(fc.epoch == f.mu.last.epoch && fc.seq == f.mu.last.seq+1) && !(fc.epoch != f.mu.last.epoch && fc.seq == 1) {
		// A predecessor of this entry was never appended: it was
		// evaluated on effects that did not happen (see fence).
		f.skipped.Add(1)
		if e.kind == entryLocal {
			r := &f.mu.repl
			r.fenced = append(r.fenced, index)
			if len(r.fenced) > maxFenced {
				r.fenced = append(r.fenced[:0:0], r.fenced[len(r.fenced)-maxFenced:]...)
			}
		}
		return errFenced
	}
	f.mu.last = fc
	r := &f.mu.repl
	switch e.kind {
	case entryLocal:
		if len(r.links) == 0 {
			// One region: every applied effect is stable at once.
			f.mu.store.SetStable(e.stamp)
		}
		f.mu.store.Apply(index, e.effects)
		r.localIndex = index
		r.localClosed = hlc.Max(r.localClosed, e.stamp)
		f.clock.Update(e.stamp)
	case entryRemote:
		b := &e.remote
		var maxTS hlc.Timestamp
		if b.State {
			// A state transfer: merge what the agreed frontier does not
			// cover (the region has applied that already and may have
			// compacted its tombstones), and raise the records.
			kept := e.effects[:0:0]
			for i := range e.effects {
				if r.stable.Less(e.effects[i].TS) {
					kept = append(kept, e.effects[i])
				}
				maxTS = hlc.Max(maxTS, e.effects[i].TS)
			}
			f.mu.store.Apply(index, kept)
			for _, p := range b.Raise {
				if p.Region == f.region {
					continue
				}
				a := r.applied[p.Region]
				a.Region = p.Region
				a.Index = max(a.Index, p.Index)
				a.Closed = hlc.Max(a.Closed, p.Closed)
				r.applied[p.Region] = a
			}
		} else {
			a := r.applied[b.Origin]
			if a.Index != b.First-1 {
				return nil // a duplicate, or after a gap: nothing is applied twice
			}
			if f.countConflicts != nil {
				f.countConflicts(f.mu.store.At(0), e.effects)
			}
			f.mu.store.Apply(index, e.effects)
			for i := range e.effects {
				maxTS = hlc.Max(maxTS, e.effects[i].TS)
			}
			r.applied[b.Origin] = interregion.Progress{Region: b.Origin, Index: b.Last, Closed: hlc.Max(a.Closed, b.Closed)}
		}
		// The HLC receive rule: local stamps from now on exceed the
		// remote ones.
		f.clock.Update(maxTS)
	case entryStable:
		r.stable = hlc.Max(r.stable, e.stamp)
		r.retain = e.retain
		for _, m := range e.marks {
			if !slices.ContainsFunc(r.links, func(l LinkSpec) bool { return l.ID == m.region }) {
				continue
			}
			// The link counts a peer's runs with no effects as applied
			// without a log entry: the mark moves the closed stamp over
			// them (no effect lies between, so the record stays true).
			a := r.applied[m.region]
			a.Region, a.Closed = m.region, hlc.Max(a.Closed, m.settled)
			r.applied[m.region] = a
			r.peerFrontiers[m.region] = hlc.Max(r.peerFrontiers[m.region], m.frontier)
		}
		f.mu.store.SetFrontiers(r.stable, r.listFrontier())
		if len(r.links) > 0 {
			// Linked: a key expires when the frontier passes its
			// deadline, at the deadline's stamp, by the merged TTL; the
			// same in every node of every region, so the evaluator
			// writes no expiry deletes (see linkedLocked).
			f.mu.store.ExpireStable(index)
		}
		if index%compactEvery == 0 {
			// Compaction happens as keys are written; keys never written
			// again are swept here, at the same entry on every node.
			f.mu.store.Compact()
		}
	case entryLinks:
		r.links = e.links
		f.linksChanged.Store(true)
		keep := map[uint32]bool{}
		for _, l := range r.links {
			keep[l.ID] = true
		}
		for id := range r.applied {
			if !keep[id] {
				// Unlinked: a later link to the region starts from a
				// state transfer's raise or from its log's start.
				delete(r.applied, id)
			}
		}
	}
	return nil
}

func (f *fsm) setApplied(i uint64) {
	f.appliedMu.Lock()
	if i > f.applied {
		f.applied = i
	}
	f.appliedMu.Unlock()
	f.appliedCond.Broadcast()
}

// Applied returns the index of the last applied entry.
func (f *fsm) Applied() uint64 {
	f.appliedMu.Lock()
	defer f.appliedMu.Unlock()
	return f.applied
}

// waitApplied blocks until index i is applied or done is closed; it reports
// whether i was reached.
func (f *fsm) waitApplied(i uint64, done <-chan struct{}) bool {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-done:
			f.appliedCond.Broadcast()
		case <-stop:
		}
	}()
	f.appliedMu.Lock()
	defer f.appliedMu.Unlock()
	for f.applied < i {
		select {
		case <-done:
			return false
		default:
		}
		f.appliedCond.Wait()
	}
	return true
}

// linkedLocked reports whether the region has peer regions; f.mu must be
// held, for reading at least. A linked region's keys expire by its stable
// entries (storage.Store.ExpireStable, in applyLocked), so its evaluator
// must not delete expired keys: such a delete would be stamped when it
// runs, and remove a TTL change another region made before the deadline
// and has not shipped yet (docs/CONFLICTS.md, "Expiry"). An unlinked
// region has every TTL change in its own log, and deletes expired keys
// through it.
func (f *fsm) linkedLocked() bool { return len(f.mu.repl.links) > 0 }

// linked is linkedLocked under the read lock.
func (f *fsm) linked() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.linkedLocked()
}

// read runs fn with the store under the read lock.
func (f *fsm) read(fn func(s *storage.Store)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.mu.store)
}

// Snapshot freezes the store (storage.Store.Freeze: a copy of each
// database's map of keys, nothing encoded) and encodes the small header,
// under the read lock; Persist then encodes the frozen store while Apply
// goes on. hashicorp/raft calls Snapshot on the FSM goroutine, between
// Applies, and Persist concurrently with Apply.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	// Freeze reads the keyspace and changes only the store's freeze
	// counters (atomics no reader looks at): it may share the read lock
	// with readers. It must not overlap a change to the store, which
	// takes the write lock.
	f.mu.RLock()
	defer f.mu.RUnlock()
	h := &headerEncoder{}
	h.uvarint(f.mu.last.epoch)
	h.uvarint(f.mu.last.seq)
	ids := make([]string, 0, len(f.mu.removed))
	for id := range f.mu.removed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h.uvarint(uint64(len(ids)))
	for _, id := range ids {
		h.str(id)
	}
	f.mu.repl.encode(h)
	hdr := make([]byte, 0, len(snapMagic)+binary.MaxVarintLen64+len(h.b)+4)
	hdr = append(hdr, snapMagic...)
	hdr = binary.AppendUvarint(hdr, uint64(len(h.b)))
	hdr = append(hdr, h.b...)
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(h.b, castagnoli))
	return &fsmSnapshot{header: hdr, store: f.mu.store.Freeze()}, nil
}

// encode appends the replication state to a snapshot header.
func (r *replState) encode(h *headerEncoder) {
	h.links(r.links)
	ids := make([]uint32, 0, len(r.applied))
	for id := range r.applied {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h.uvarint(uint64(len(ids)))
	for _, id := range ids {
		p := r.applied[id]
		h.uvarint(uint64(id))
		h.uvarint(p.Index)
		h.stamp(p.Closed)
	}
	h.uvarint(r.localIndex)
	h.stamp(r.localClosed)
	h.stamp(r.stable)
	h.uvarint(r.retain)
	h.uvarint(uint64(len(r.fenced)))
	for _, i := range r.fenced {
		h.uvarint(i)
	}
	ids = ids[:0]
	for id := range r.peerFrontiers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h.uvarint(uint64(len(ids)))
	for _, id := range ids {
		h.uvarint(uint64(id))
		h.stamp(r.peerFrontiers[id])
	}
}

func (r *replState) decode(d *headerDecoder) {
	r.links = d.links()
	n := d.count(5)
	for range n {
		p := interregion.Progress{Region: d.u32(), Index: d.uvarint(), Closed: d.stamp()}
		r.applied[p.Region] = p
	}
	r.localIndex = d.uvarint()
	r.localClosed = d.stamp()
	r.stable = d.stamp()
	r.retain = d.uvarint()
	n = d.count(1)
	for range n {
		r.fenced = append(r.fenced, d.uvarint())
	}
	n = d.count(5)
	for range n {
		id := d.u32()
		r.peerFrontiers[id] = d.stamp()
	}
}

// Restore replaces the store with a snapshot. A corrupt snapshot returns
// an error, and raft refuses to start on it.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("regional: restore snapshot: %w", err)
	}
	var (
		last    fence
		removed = map[string]bool{}
		repl    = replState{applied: map[uint32]interregion.Progress{}, peerFrontiers: map[uint32]hlc.Timestamp{}}
	)
	bad := func() error {
		return fmt.Errorf("regional: restore snapshot: bad header: %w", storage.ErrCorrupt)
	}
	switch {
	case bytes.HasPrefix(b, []byte(snapMagic)):
		b = b[len(snapMagic):]
		hl, k := binary.Uvarint(b)
		if k <= 0 || hl > uint64(len(b)-k) || uint64(len(b)-k)-hl < 4 {
			return bad()
		}
		hdr := b[k : k+int(hl)]
		b = b[k+int(hl):]
		if crc32.Checksum(hdr, castagnoli) != binary.LittleEndian.Uint32(b) {
			return fmt.Errorf("regional: restore snapshot: header checksum mismatch: %w", storage.ErrCorrupt)
		}
		b = b[4:]
		d := &headerDecoder{b: hdr}
		last = fence{d.uvarint(), d.uvarint()}
		n := d.count(1)
		for range n {
			removed[d.str()] = true
		}
		repl.decode(d)
		if d.err != nil || len(d.b) != 0 {
			return bad()
		}
	case bytes.HasPrefix(b, []byte(snapMagicV1)):
		// Version 0.1: fence and removed ids only.
		b = b[len(snapMagicV1):]
		var k int
		if last.epoch, k = binary.Uvarint(b); k <= 0 {
			return bad()
		}
		b = b[k:]
		if last.seq, k = binary.Uvarint(b); k <= 0 {
			return bad()
		}
		b = b[k:]
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return bad()
		}
		b = b[k:]
		for range n {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return bad()
			}
			removed[string(b[k:k+int(l)])] = true
			b = b[k+int(l):]
		}
	default:
		return fmt.Errorf("regional: restore snapshot: not a region snapshot: %w", storage.ErrCorrupt)
	}
	st, err := storage.DecodeSnapshot(b)
	if err != nil {
		return fmt.Errorf("regional: restore snapshot: %w", err)
	}
	f.mu.Lock()
	f.mu.store = st
	f.mu.removed = removed
	f.mu.last = last
	f.mu.repl = repl
	f.mu.index = st.Index()
	f.mu.Unlock()
	f.linksChanged.Store(true)
	f.clock.Update(st.LastStamp())
	f.setApplied(st.Index())
	return nil
}

// snapMagic opens a region snapshot: a checksummed header (the fence,
// the removed node ids, the replication state), then the store's own
// snapshot (storage.WriteSnapshot, checksummed). snapMagicV1 opened those
// of version 0.1 (no replication state, no header checksum).
const (
	snapMagic   = "MRGN\x02"
	snapMagicV1 = "MRGN\x01"
)

// errFenced is the apply result of an effects entry the fence refused.
var errFenced = errors.New("regional: entry fenced off")

// isRemoved reports whether a node id was removed from the region.
func (f *fsm) isRemoved(id string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.mu.removed[id]
}

// fsmSnapshot is a region snapshot taken by fsm.Snapshot: the encoded
// header, and a frozen view of the store that Persist encodes after it.
type fsmSnapshot struct {
	header []byte
	store  *storage.Frozen
}

// Persist writes the snapshot to sink. It runs concurrently with Apply
// and takes no FSM lock: the view is frozen. The view goes as soon as it
// is written, so that Apply stops copying objects for it (Release, which
// raft calls afterwards, is then a no-op).
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	defer s.Release()
	if _, err := sink.Write(s.header); err != nil {
		sink.Cancel()
		return err
	}
	if err := s.store.WriteSnapshot(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("regional: snapshot: %w", err)
	}
	return sink.Close()
}

// Release lets go of the frozen view. raft calls it once it is done with
// the snapshot, whether Persist ran or not; it is idempotent.
func (s *fsmSnapshot) Release() { s.store.Release() }
