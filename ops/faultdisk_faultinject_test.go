//go:build faultinject

package ops

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestFaultWrapLogStoreStallsWhileFileExists: a write made while the
// stall file exists does not return until the file is removed, and
// then lands; without the variable there is no wrapper.
func TestFaultWrapLogStoreStallsWhileFileExists(t *testing.T) {
	t.Setenv("MERIDIAN_FAULT_DISK_STALL_FILE", "")
	if faultWrapLogStore() != nil {
		t.Fatal("a wrapper without MERIDIAN_FAULT_DISK_STALL_FILE")
	}
	path := filepath.Join(t.TempDir(), "stall")
	t.Setenv("MERIDIAN_FAULT_DISK_STALL_FILE", path)
	inner := raft.NewInmemStore()
	st := faultWrapLogStore()(inner)
	if err := st.StoreLog(&raft.Log{Index: 1, Term: 1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Wait until the wrapper has seen the file: a write then blocks.
	for !st.(*stallingLogStore).stalled.Load() {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- st.StoreLogs([]*raft.Log{{Index: 2, Term: 1}}) }()
	select {
	case err := <-done:
		t.Fatalf("StoreLogs returned (%v) while the stall file exists", err)
	case <-time.After(100 * time.Millisecond): // a lower bound: cannot flake
	}
	if last, _ := inner.LastIndex(); last != 1 {
		t.Fatalf("entry 2 reached the store during the stall (last index %d)", last)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if last, _ := inner.LastIndex(); last != 2 {
		t.Errorf("last index %d after the stall, want 2", last)
	}
}
