package regional_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/regional/regionaltest"
	"github.com/meridian-kv/meridian/server/eval"
)

// do runs one command on g and returns the raw RESP2 reply.
func do(g interface {
	Exec(*eval.Request, *protocol.Writer) int
}, readOnly bool, args ...string) string {
	var cmd [][]byte
	for _, a := range args {
		cmd = append(cmd, []byte(a))
	}
	var w protocol.Writer
	g.Exec(&eval.Request{Cmds: [][][]byte{cmd}, ReadOnly: readOnly}, &w)
	return string(w.Bytes())
}

func TestGroupWriteOnFollowerReadEverywhere(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{})
	leader := c.WaitLeader(t)
	var follower *regionaltest.Node
	for _, nd := range c.Nodes {
		if nd != leader {
			follower = nd
			break
		}
	}
	if got := do(follower.Group, false, "set", "k", "v"); got != "+OK\r\n" {
		t.Fatalf("SET via follower = %q", got)
	}
	for _, nd := range c.Nodes {
		if got := do(nd.Group, true, "get", "k"); got != "$1\r\nv\r\n" {
			t.Fatalf("GET on %s = %q", nd.ID, got)
		}
	}
}

func TestGroupConcurrentIncrAddsUp(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{})
	c.WaitLeader(t)
	const clients, each = 30, 20
	var wg sync.WaitGroup
	for i := range clients {
		g := c.Nodes[i%3].Group
		wg.Go(func() {
			for range each {
				if got := do(g, false, "incr", "counter"); got[0] != ':' {
					t.Errorf("INCR = %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
	want := fmt.Sprintf("$%d\r\n%d\r\n", len(fmt.Sprint(clients*each)), clients*each)
	for _, nd := range c.Nodes {
		if got := do(nd.Group, true, "get", "counter"); got != want {
			t.Fatalf("GET counter on %s = %q, want %q", nd.ID, got, want)
		}
	}
}

// doStale runs a read with READONLY semantics (local applied state).
func doStale(g interface {
	Exec(*eval.Request, *protocol.Writer) int
}, args ...string) string {
	var cmd [][]byte
	for _, a := range args {
		cmd = append(cmd, []byte(a))
	}
	var w protocol.Writer
	g.Exec(&eval.Request{Cmds: [][][]byte{cmd}, ReadOnly: true, Stale: true}, &w)
	return string(w.Bytes())
}

func TestGroupPublishReachesOtherNodes(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{})
	c.WaitLeader(t)
	var mu sync.Mutex
	got := map[int]string{}
	for i, nd := range c.Nodes {
		nd.Group.SetPublishHandler(func(ch, msg []byte) int {
			mu.Lock()
			defer mu.Unlock()
			got[i] = string(ch) + "=" + string(msg)
			return 1
		})
	}
	if n := c.Nodes[0].Group.Publish([]byte("news"), []byte("hi")); n != 2 {
		t.Fatalf("Publish reached %d receivers, want 2 (one per other node)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if got[0] != "" || got[1] != "news=hi" || got[2] != "news=hi" {
		t.Fatalf("deliveries = %v", got)
	}
}
