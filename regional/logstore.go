package regional

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// ErrDiskStalled is returned by the log store when a write to disk has not
// finished within Config.StallTimeout. A leader that gets it steps down, so
// a stalled disk cannot wedge the region (raft-anchors §6 item 9).
var ErrDiskStalled = errors.New("regional: log store write stalled")

// openBolt opens the raft-boltdb/v2 store with the bbolt settings Consul,
// Vault and rqlite use against freelist write amplification.
func openBolt(dir string) (*raftboltdb.BoltStore, error) {
	st, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(dir, "raft.db"),
		BoltOptions: &bbolt.Options{
			Timeout:        time.Second,
			NoFreelistSync: true,
			FreelistType:   bbolt.FreelistMapType,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("regional: open log store %s: %w", dir, err)
	}
	return st, nil
}

// verifyLog reads every entry of the log and checks it decodes, so that a
// corrupt log makes the node refuse to start instead of serving wrong data.
func verifyLog(logs raft.LogStore) error {
	first, err := logs.FirstIndex()
	if err != nil {
		return fmt.Errorf("regional: log store: %w", err)
	}
	last, err := logs.LastIndex()
	if err != nil {
		return fmt.Errorf("regional: log store: %w", err)
	}
	if first == 0 {
		return nil
	}
	var l raft.Log
	for i := first; i <= last; i++ {
		if err := logs.GetLog(i, &l); err != nil {
			return fmt.Errorf("regional: log entry %d unreadable: %w", i, err)
		}
		if l.Type == raft.LogCommand {
			if _, err := decodeEntry(l.Data); err != nil {
				return fmt.Errorf("regional: log entry %d corrupt: %w", i, err)
			}
		}
	}
	return nil
}

// stallGuard wraps a LogStore so that StoreLogs that take longer than
// timeout fail with ErrDiskStalled; while one is stuck, later writes fail
// at once. Reads pass through.
type stallGuard struct {
	raft.LogStore
	timeout time.Duration
	onStall func()

	mu      sync.Mutex
	stalled bool // a write is stuck in the underlying store
	// latency receives the duration of each StoreLogs (fsync latency metric).
	latency func(time.Duration)
}

func (s *stallGuard) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *stallGuard) StoreLogs(logs []*raft.Log) error {
	s.mu.Lock()
	if s.stalled {
		s.mu.Unlock()
		return ErrDiskStalled
	}
	s.mu.Unlock()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.LogStore.StoreLogs(logs) }()
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		if s.latency != nil {
			s.latency(time.Since(start))
		}
		return err
	case <-t.C:
		s.mu.Lock()
		s.stalled = true
		s.mu.Unlock()
		if s.onStall != nil {
			s.onStall()
		}
		go func() {
			<-done
			s.mu.Lock()
			s.stalled = false
			s.mu.Unlock()
		}()
		return ErrDiskStalled
	}
}
