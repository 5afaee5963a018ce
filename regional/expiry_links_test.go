package regional_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/regional/regionaltest"
	"github.com/meridian-kv/meridian/storage"
)

// Expiry in linked and unlinked regions. A linked region's evaluator
// writes no expiry deletes (they would be stamped when they run and
// remove TTL changes other regions made before the deadline, see
// TestConflictExpiry); its stable entries delete expired keys instead,
// at their deadlines. An unlinked region deletes them through its log.

// waitMemory polls until every node of every region holds no key at all,
// live, expired or deleted (no tombstone either), or fails after a minute:
// a hang guard, not a timing assertion.
func waitMemory(t *testing.T, regions ...*regionaltest.Cluster) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var held []string
		for _, r := range regions {
			for i, nd := range r.Nodes {
				var keys, tombs int64
				nd.Group.Read(func(s *storage.Store) { keys, tombs = int64(s.Keys()), s.Tombstones().Count })
				dbsize := render(r.Do(i, "DBSIZE"))
				if keys != 0 || tombs != 0 || dbsize != "0" {
					held = append(held, fmt.Sprintf("%s node %d: %d keys, %d tombstones, DBSIZE %s", r.Name(), i, keys, tombs, dbsize))
				}
			}
		}
		if len(held) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired keys still held after a minute: %v", held)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLinkedExpiryRemovesKeys: keys that expire in linked regions leave
// every node's memory once the regions have heard from each other,
// including keys that expired while the regions were cut off.
func TestLinkedExpiryRemovesKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{nodes: 3, unlinked: true}, "east", "west")
	regionaltest.Mesh(t, w.regions...) // no sync markers: they would stay
	east, west := w.byName["east"], w.byName["west"]
	set := func(r *regionaltest.Cluster, key string) {
		t.Helper()
		if got := r.Do(0, "SET", key, "v", "PX", "300"); got != "+OK\r\n" {
			t.Fatalf("%s: SET %s = %q", r.Name(), key, got)
		}
	}
	for i := range 3 {
		set(east, fmt.Sprint("east:", i))
		set(west, fmt.Sprint("west:", i))
	}
	// A hash written in east whose TTL comes from west.
	if got := east.Do(0, "HSET", "h", "f", "v"); got != ":1\r\n" {
		t.Fatalf("HSET = %q", got)
	}
	eventually(t, "west merges h", func() bool { return west.Do(0, "EXISTS", "h") == ":1\r\n" })
	if got := west.Do(0, "PEXPIRE", "h", "300"); got != ":1\r\n" {
		t.Fatalf("PEXPIRE = %q", got)
	}
	eventually(t, "east merges h's TTL", func() bool { return east.Do(0, "PTTL", "h") != ":-1\r\n" })
	w.cut()
	set(east, "cut:east")
	set(west, "cut:west")
	eventually(t, "every key expires for readers", func() bool {
		for _, r := range w.regions {
			if render(r.Do(0, "EXISTS", "east:0", "west:0", "cut:east", "cut:west", "h")) != "0" {
				return false
			}
		}
		return true
	})
	for _, a := range w.regions {
		for _, b := range w.regions {
			if a != b {
				w.wan.Heal(a.Name(), b.Name())
			}
		}
	}
	waitMemory(t, w.regions...)
}

// TestUnlinkedExpiryDeletes: a region with no links deletes expired
// keys by itself, through its log, on every node, with no other write.
func TestUnlinkedExpiryDeletes(t *testing.T) {
	t.Parallel()
	r := regionaltest.New(t, 3, regionaltest.Options{Region: 1, Name: "alone"})
	r.WaitLeader(t)
	for i := range 3 {
		if got := r.Do(0, "SET", fmt.Sprint("k", i), "v", "PX", "100"); got != "+OK\r\n" {
			t.Fatalf("SET = %q", got)
		}
	}
	waitMemory(t, r)
}
