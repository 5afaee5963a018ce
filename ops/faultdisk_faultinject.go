//go:build faultinject

package ops

import (
	"os"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// faultWrapLogStore, in fault-test builds only, returns a wrapper for
// regional.Config.WrapLogStore that blocks every Raft log write while
// the file named by MERIDIAN_FAULT_DISK_STALL_FILE exists (checked every
// 10 ms; the disk-stall nemesis of tests/jepsen creates and removes it).
// Without the variable it returns nil. Production builds have no such
// code.
func faultWrapLogStore() func(raft.LogStore) raft.LogStore {
	path := os.Getenv("MERIDIAN_FAULT_DISK_STALL_FILE")
	if path == "" {
		return nil
	}
	return func(inner raft.LogStore) raft.LogStore {
		s := &stallingLogStore{LogStore: inner}
		go func() {
			for {
				_, err := os.Stat(path)
				s.stalled.Store(err == nil)
				time.Sleep(10 * time.Millisecond)
			}
		}()
		return s
	}
}

// stallingLogStore blocks StoreLog and StoreLogs while stalled is set,
// as a disk that stopped answering does. Reads and DeleteRange pass
// through: raft's stall guard sits above it and times writes only.
type stallingLogStore struct {
	raft.LogStore
	stalled atomic.Bool
}

func (s *stallingLogStore) wait() {
	for s.stalled.Load() {
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *stallingLogStore) StoreLog(l *raft.Log) error {
	s.wait()
	return s.LogStore.StoreLog(l)
}

func (s *stallingLogStore) StoreLogs(logs []*raft.Log) error {
	s.wait()
	return s.LogStore.StoreLogs(logs)
}
