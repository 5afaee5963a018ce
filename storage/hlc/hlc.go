// Package hlc implements the hybrid logical clock that stamps every element
// Meridian stores.
//
// A [Timestamp] is (wall milliseconds, logical counter), totally ordered, with
// ties broken by the origin region id and then the node id, so two writes made
// anywhere never compare equal unless they are the same write.
//
// Usage:
//
//	c := hlc.NewClock(hlc.SystemClock{}, region, node)
//	ts := c.Now()        // stamp a local write (the HLC "send" rule)
//	c.Update(remoteTS)   // merge a stamp seen in a log entry (the "receive" rule)
//
// The rules are those of Kulkarni et al., "Logical Physical Clocks" (2014), in
// the shape of CockroachDB's pkg/util/hlc: the clock reads time only through a
// [WallClock], so tests drive it with a [ManualClock].
//
// HAZARD: a Clock never goes backwards, even when the wall clock does; it
// keeps the larger wall time and bumps the logical counter. A remote stamp far
// in the future drags the clock forward with it: [Clock.Update] reports how far
// ahead such a stamp was so that callers can count and log it (DESIGN.md,
// "max-clock-offset"), but it is still merged, because refusing it would lose
// data.
package hlc

import (
	"fmt"
	"sync"
	"time"
)

// Timestamp is one point of the hybrid logical clock.
//
// The zero Timestamp is smaller than every stamp a Clock hands out.
type Timestamp struct {
	// Wall is Unix time in milliseconds.
	Wall int64
	// Logical orders events within one millisecond.
	Logical uint32
	// Region is the id of the region whose node made the stamp.
	Region uint32
	// Node is the id of the node inside that region.
	Node uint32
}

// Compare returns -1, 0 or +1 as t is before, equal to or after u, ordering by
// wall time, then logical counter, then region id, then node id.
func (t Timestamp) Compare(u Timestamp) int {
	switch {
	case t.Wall != u.Wall:
		return cmp(t.Wall < u.Wall)
	case t.Logical != u.Logical:
		return cmp(t.Logical < u.Logical)
	case t.Region != u.Region:
		return cmp(t.Region < u.Region)
	case t.Node != u.Node:
		return cmp(t.Node < u.Node)
	}
	return 0
}

func cmp(less bool) int {
	if less {
		return -1
	}
	return 1
}

// Less reports whether t is before u.
func (t Timestamp) Less(u Timestamp) bool { return t.Compare(u) < 0 }

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Max returns the later of t and u.
func Max(t, u Timestamp) Timestamp {
	if t.Less(u) {
		return u
	}
	return t
}

// String formats t as wall.logical@region.node.
func (t Timestamp) String() string {
	return fmt.Sprintf("%d.%d@%d.%d", t.Wall, t.Logical, t.Region, t.Node)
}

// WallClock is the physical time source of a Clock. Implementations must be
// safe for concurrent use.
type WallClock interface {
	// Now returns the current time.
	Now() time.Time
}

// SystemClock reads the operating system's clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

var _ WallClock = SystemClock{}
var _ WallClock = (*ManualClock)(nil)

// ManualClock is a WallClock for tests: it stands still until told to move.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock set to the given Unix milliseconds.
func NewManualClock(ms int64) *ManualClock {
	return &ManualClock{now: time.UnixMilli(ms)}
}

// Now returns the clock's current time.
func (m *ManualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to the given Unix milliseconds, backwards if need be.
func (m *ManualClock) Set(ms int64) {
	m.mu.Lock()
	m.now = time.UnixMilli(ms)
	m.mu.Unlock()
}

// Advance moves the clock forward by d.
func (m *ManualClock) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}

// Clock is a hybrid logical clock. It is safe for concurrent use.
type Clock struct {
	wall   WallClock
	region uint32
	node   uint32

	mu struct {
		sync.Mutex
		// last is the largest stamp handed out or observed.
		// Invariant: last never decreases.
		last Timestamp
	}
}

// NewClock returns a Clock that reads physical time from wall and stamps its
// events with the given region and node ids.
func NewClock(wall WallClock, region, node uint32) *Clock {
	if wall == nil {
		wall = SystemClock{}
	}
	return &Clock{wall: wall, region: region, node: node}
}

// PhysicalNow returns the wall clock's time in Unix milliseconds. Expiry uses
// it: a key whose deadline is at or before PhysicalNow is gone.
func (c *Clock) PhysicalNow() int64 { return c.wall.Now().UnixMilli() }

// Now returns a new stamp, larger than every stamp this clock has handed out
// or observed (the HLC send rule).
func (c *Clock) Now() Timestamp { return c.NowAt(c.PhysicalNow()) }

// NowAt is Now with the physical time already read (Unix ms), for callers
// that read the wall clock once for several purposes.
func (c *Clock) NowAt(pt int64) Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pt > c.mu.last.Wall {
		c.mu.last.Wall = pt
		c.mu.last.Logical = 0
	} else {
		c.mu.last.Logical++
	}
	c.mu.last.Region = c.region
	c.mu.last.Node = c.node
	return c.mu.last
}

// Update merges a stamp received from elsewhere (the HLC receive rule), so
// that every later Now is larger than it. It returns how far remote is ahead
// of this node's physical time, or zero if it is not ahead.
func (c *Clock) Update(remote Timestamp) time.Duration {
	pt := c.PhysicalNow()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.last.Less(remote) {
		c.mu.last.Wall = remote.Wall
		c.mu.last.Logical = remote.Logical
		c.mu.last.Region = remote.Region
		c.mu.last.Node = remote.Node
	}
	if remote.Wall > pt {
		return time.Duration(remote.Wall-pt) * time.Millisecond
	}
	return 0
}

// Last returns the largest stamp handed out or observed, without advancing
// the clock.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.last
}

// Region returns the region id the clock stamps its events with.
func (c *Clock) Region() uint32 { return c.region }

// Min returns the smaller of t and u.
func Min(t, u Timestamp) Timestamp {
	if u.Less(t) {
		return u
	}
	return t
}
