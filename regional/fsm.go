package regional

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

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

	mu struct {
		sync.RWMutex
		store *storage.Store
		// removed holds the ids of nodes removed from the region: they
		// are never let back in (ids are never reused).
		removed map[string]bool
		// last is the fence of the last applied effects entry.
		last fence
	}

	// skipped counts effects entries refused by the fence.
	skipped atomic.Int64

	// applied is the index of the last applied entry, under appliedMu;
	// appliedCond is signalled whenever it moves.
	appliedMu   sync.Mutex
	appliedCond *sync.Cond
	applied     uint64

	// onApplied, if set, is called after each batch with the last index.
	onApplied func(index uint64)
}

var (
	_ raft.FSM         = (*fsm)(nil)
	_ raft.BatchingFSM = (*fsm)(nil)
)

func newFSM(clock *hlc.Clock, log *slog.Logger) *fsm {
	f := &fsm{clock: clock, log: log}
	f.mu.store = storage.NewStore()
	f.mu.removed = map[string]bool{}
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
		if len(l.Data) >= 2 && l.Data[0] == entryVersion && l.Data[1] == entryRemoved {
			f.mu.removed[string(l.Data[2:])] = true
			continue
		}
		fc, effects, err := decodeEntry(l.Data)
		if err != nil {
			// A committed entry we cannot read means the log is corrupt:
			// serving on would serve wrong data (STYLE R11: broken invariant).
			f.mu.Unlock()
			panic(fmt.Sprintf("regional: committed entry %d is unreadable (%v); refusing to continue — restore this node from a healthy peer", l.Index, err))
		}
		if !(fc.epoch == f.mu.last.epoch && fc.seq == f.mu.last.seq+1) && !(fc.epoch != f.mu.last.epoch && fc.seq == 1) {
			// A predecessor of this entry was never appended: it was
			// evaluated on effects that did not happen (see fence).
			f.skipped.Add(1)
			out[i] = errFenced
			continue
		}
		f.mu.last = fc
		var maxTS hlc.Timestamp
		for j := range effects {
			maxTS = hlc.Max(maxTS, effects[j].TS)
		}
		// One region: every applied effect is stable at once.
		f.mu.store.SetStable(maxTS)
		f.mu.store.Apply(l.Index, effects)
		f.clock.Update(maxTS)
		out[i] = nil
	}
	f.mu.Unlock()
	f.setApplied(last)
	if f.onApplied != nil {
		f.onApplied(last)
	}
	return out
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

// read runs fn with the store under the read lock.
func (f *fsm) read(fn func(s *storage.Store)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.mu.store)
}

// Snapshot encodes the store under the read lock; Persist then writes the
// bytes while Apply goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	var buf bytes.Buffer
	f.mu.RLock()
	buf.WriteString(snapMagic)
	buf.Write(binary.AppendUvarint(nil, f.mu.last.epoch))
	buf.Write(binary.AppendUvarint(nil, f.mu.last.seq))
	ids := make([]string, 0, len(f.mu.removed))
	for id := range f.mu.removed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	buf.Write(binary.AppendUvarint(nil, uint64(len(ids))))
	for _, id := range ids {
		buf.Write(binary.AppendUvarint(nil, uint64(len(id))))
		buf.WriteString(id)
	}
	err := f.mu.store.WriteSnapshot(&buf)
	f.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("regional: snapshot: %w", err)
	}
	return &fsmSnapshot{data: buf.Bytes()}, nil
}

// Restore replaces the store with a snapshot. A corrupt snapshot returns
// an error, and raft refuses to start on it.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("regional: restore snapshot: %w", err)
	}
	if !bytes.HasPrefix(b, []byte(snapMagic)) {
		return fmt.Errorf("regional: restore snapshot: not a region snapshot: %w", storage.ErrCorrupt)
	}
	b = b[len(snapMagic):]
	var last fence
	var k int
	if last.epoch, k = binary.Uvarint(b); k <= 0 {
		return fmt.Errorf("regional: restore snapshot: bad header: %w", storage.ErrCorrupt)
	}
	b = b[k:]
	if last.seq, k = binary.Uvarint(b); k <= 0 {
		return fmt.Errorf("regional: restore snapshot: bad header: %w", storage.ErrCorrupt)
	}
	b = b[k:]
	removed := map[string]bool{}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return fmt.Errorf("regional: restore snapshot: bad header: %w", storage.ErrCorrupt)
	}
	b = b[k:]
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return fmt.Errorf("regional: restore snapshot: bad header: %w", storage.ErrCorrupt)
		}
		removed[string(b[k:k+int(l)])] = true
		b = b[k+int(l):]
	}
	st, err := storage.DecodeSnapshot(b)
	if err != nil {
		return fmt.Errorf("regional: restore snapshot: %w", err)
	}
	f.mu.Lock()
	f.mu.store = st
	f.mu.removed = removed
	f.mu.last = last
	f.mu.Unlock()
	f.clock.Update(st.LastStamp())
	f.setApplied(st.Index())
	return nil
}

// snapMagic opens a region snapshot: the removed node ids, then the
// store's own snapshot (storage.WriteSnapshot, checksummed).
const snapMagic = "MRGN\x01"

// errFenced is the apply result of an effects entry the fence refused.
var errFenced = errors.New("regional: entry fenced off")

// isRemoved reports whether a node id was removed from the region.
func (f *fsm) isRemoved(id string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.mu.removed[id]
}

type fsmSnapshot struct{ data []byte }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.data); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
