package regional

import (
	"errors"
	"sync"

	"github.com/hashicorp/raft"
)

// closingStable guards the stable store against hashicorp/raft#717: a
// heartbeat that passed raft's shutdown check runs on a transport
// goroutine after Raft.Shutdown has returned, and raft panics ("failed to
// save current term: database not open") if the store is closed under it.
//
// Close waits for every call in progress, then closes the store. A call
// that starts after that belongs to a Raft already shut down; it blocks
// for good instead of failing (raft would panic) or pretending to succeed
// (the heartbeat's reply could then count this node for a term it never
// stored). Only such a stray transport goroutine is left waiting.
type closingStable struct {
	mu     sync.RWMutex
	closed bool
	raft.StableStore
	closer interface{ Close() error }
	// stray is never closed outside tests: calls after Close wait on it.
	stray chan struct{}
}

func newClosingStable(s raft.StableStore, closer interface{ Close() error }) *closingStable {
	return &closingStable{StableStore: s, closer: closer, stray: make(chan struct{})}
}

// errStoreClosed is what a stray call returns if a test releases it.
var errStoreClosed = errors.New("regional: raft stable store closed")

// enter takes the read lock for one call; once the store is closed it
// blocks for good (see stray) and returns false.
func (c *closingStable) enter() bool {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		<-c.stray
		return false
	}
	return true
}

func (c *closingStable) Set(key, val []byte) error {
	if !c.enter() {
		return errStoreClosed
	}
	defer c.mu.RUnlock()
	return c.StableStore.Set(key, val)
}

func (c *closingStable) Get(key []byte) ([]byte, error) {
	if !c.enter() {
		return nil, errStoreClosed
	}
	defer c.mu.RUnlock()
	return c.StableStore.Get(key)
}

func (c *closingStable) SetUint64(key []byte, val uint64) error {
	if !c.enter() {
		return errStoreClosed
	}
	defer c.mu.RUnlock()
	return c.StableStore.SetUint64(key, val)
}

func (c *closingStable) GetUint64(key []byte) (uint64, error) {
	if !c.enter() {
		return 0, errStoreClosed
	}
	defer c.mu.RUnlock()
	return c.StableStore.GetUint64(key)
}

// Close waits for the calls in progress and closes the store once.
func (c *closingStable) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.closer.Close()
}
