package regional

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// blockingStable is an in-memory stable store whose SetUint64 signals
// entered and waits for release, and which records whether it was closed
// while a SetUint64 was still running.
type blockingStable struct {
	*raft.InmemStore
	entered, release chan struct{}
	running          atomic.Int32
	closed           atomic.Int32
	closedUnderCall  atomic.Bool
}

func (b *blockingStable) SetUint64(key []byte, val uint64) error {
	b.running.Add(1)
	defer b.running.Add(-1)
	b.entered <- struct{}{}
	<-b.release
	return b.InmemStore.SetUint64(key, val)
}

func (b *blockingStable) Close() error {
	if b.running.Load() > 0 {
		b.closedUnderCall.Store(true)
	}
	b.closed.Add(1)
	return nil
}

// TestClosingStableWaitsAndHolds: Close waits for a call in progress
// (hashicorp/raft#717: a heartbeat still storing the term when the store
// closed made raft panic), and a call after Close neither reaches the
// closed store nor returns (a failure would make raft panic, a success
// would let the heartbeat's reply count for a term never stored).
func TestClosingStableWaitsAndHolds(t *testing.T) {
	b := &blockingStable{InmemStore: raft.NewInmemStore(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	c := newClosingStable(b, b)
	setDone := make(chan error, 1)
	go func() { setDone <- c.SetUint64([]byte("CurrentTerm"), 7) }()
	<-b.entered // the call is inside the store
	closeDone := make(chan error, 1)
	go func() { closeDone <- c.Close() }()
	// Give Close time to wait on the call (if it did not wait, it would
	// close the store under it, which closedUnderCall records).
	time.Sleep(50 * time.Millisecond)
	close(b.release)
	if err := <-setDone; err != nil {
		t.Fatalf("SetUint64 in progress: %v", err)
	}
	if err := <-closeDone; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if b.closedUnderCall.Load() || b.closed.Load() != 1 {
		t.Fatalf("store closed under a call: %v, closed %d times", b.closedUnderCall.Load(), b.closed.Load())
	}

	stray := make(chan error, 1)
	go func() { stray <- c.SetUint64([]byte("CurrentTerm"), 8) }()
	select {
	case err := <-stray:
		t.Fatalf("a call after Close returned (%v); it must wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := c.Close(); err != nil || b.closed.Load() != 1 {
		t.Fatalf("second Close: %v, store closed %d times", err, b.closed.Load())
	}
	close(c.stray) // only tests release stray calls
	if err := <-stray; !errors.Is(err, errStoreClosed) {
		t.Fatalf("released stray call: %v, want errStoreClosed", err)
	}
	if v, _ := b.InmemStore.GetUint64([]byte("CurrentTerm")); v != 7 {
		t.Fatalf("a call after Close reached the store: term %d", v)
	}
}
