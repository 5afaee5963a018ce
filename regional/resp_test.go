package regional_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/regional/regionaltest"
)

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, PoolSize: 1, MaxRetries: -1, DisableIdentity: true, ReadTimeout: 20 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// indeterminate reports whether an error leaves the outcome unknown: the
// region said so, or the connection broke. Such an operation may or may
// not have taken effect (Jepsen's :info).
func indeterminate(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.HasPrefix(s, "UNCERTAIN") || strings.HasPrefix(s, "TRYAGAIN") ||
		strings.Contains(s, "EOF") || strings.Contains(s, "connection") || strings.Contains(s, "timeout")
}

// TestRegionConcurrentClientsLikeOneValkey runs 50 clients spread over the
// three nodes doing SETNX, INCR, LPOP and MULTI on shared keys, once
// without faults and once with the leader killed mid-way: every definite
// reply must be what one Valkey would give.
func TestRegionConcurrentClientsLikeOneValkey(t *testing.T) {
	for _, kill := range []bool{false, true} {
		t.Run(map[bool]string{false: "no_faults", true: "leader_killed"}[kill], func(t *testing.T) {
			c := regionaltest.New(t, 3, regionaltest.Options{OnDisk: true})
			addrs := c.ServeRESP(t)
			c.WaitLeader(t)
			ctx := context.Background()
			const clients, rounds, items = 50, 20, 2000
			setup := client(t, addrs[0])
			args := make([]interface{}, items)
			for i := range items {
				args[i] = fmt.Sprint(i)
			}
			if err := setup.RPush(ctx, "list", args...).Err(); err != nil {
				t.Fatal(err)
			}
			var (
				mu                  sync.Mutex
				setnxWins, setnxUnk int
				incrVals            []int64
				incrUnknown         int
				popped              []string
				multiPairs          [][2]int64
			)
			var wg sync.WaitGroup
			for cl := range clients {
				rdb := client(t, addrs[cl%3])
				wg.Go(func() {
					for r := range rounds {
						ok, err := rdb.SetNX(ctx, fmt.Sprintf("nx%d", r), cl, 0).Result()
						mu.Lock()
						switch {
						case indeterminate(err):
							setnxUnk++
						case err != nil:
							t.Errorf("SETNX: %v", err)
						case ok:
							setnxWins++
						}
						mu.Unlock()
						n, err := rdb.Incr(ctx, "counter").Result()
						mu.Lock()
						switch {
						case indeterminate(err):
							incrUnknown++
						case err != nil:
							t.Errorf("INCR: %v", err)
						default:
							incrVals = append(incrVals, n)
						}
						mu.Unlock()
						v, err := rdb.LPop(ctx, "list").Result()
						if err == nil {
							mu.Lock()
							popped = append(popped, v)
							mu.Unlock()
						} else if !indeterminate(err) {
							t.Errorf("LPOP: %v", err)
						}
						cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Incr(ctx, "m")
							p.Incr(ctx, "m")
							return nil
						})
						if err == nil {
							a, b := cmds[0].(*redis.IntCmd).Val(), cmds[1].(*redis.IntCmd).Val()
							mu.Lock()
							multiPairs = append(multiPairs, [2]int64{a, b})
							mu.Unlock()
						} else if !indeterminate(err) {
							t.Errorf("MULTI: %v", err)
						}
					}
				})
			}
			if kill {
				time.Sleep(150 * time.Millisecond)
				for i, nd := range c.Nodes {
					if nd.Group != nil && nd.Group.IsReadyLeader() {
						c.Stop(i)
						break
					}
				}
			}
			wg.Wait()
			leader := c.WaitLeader(t)
			_ = leader
			check := client(t, addrs[slices.IndexFunc(c.Nodes, func(n *regionaltest.Node) bool { return n.Group != nil && n.Group.IsReadyLeader() })])
			// SETNX: exactly one winner per key, unless outcomes are unknown.
			if setnxWins > rounds || (setnxUnk == 0 && setnxWins != rounds) {
				t.Errorf("SETNX winners = %d for %d keys (%d unknown)", setnxWins, rounds, setnxUnk)
			}
			// INCR: definite replies are distinct, and the final value
			// counts every acknowledged increment plus at most the unknown ones.
			seen := map[int64]bool{}
			for _, v := range incrVals {
				if seen[v] {
					t.Fatalf("INCR returned %d twice", v)
				}
				seen[v] = true
			}
			final, err := check.Get(ctx, "counter").Int64()
			if err != nil {
				t.Fatal(err)
			}
			if final < int64(len(incrVals)) || final > int64(len(incrVals)+incrUnknown) {
				t.Errorf("counter = %d, acknowledged %d, unknown %d", final, len(incrVals), incrUnknown)
			}
			for _, v := range incrVals {
				if v > final {
					t.Errorf("INCR replied %d above final %d", v, final)
				}
			}
			// LPOP: no item popped twice, and pops come in list order per client is not
			// required, but every popped item is an original one.
			got := map[string]bool{}
			for _, v := range popped {
				if got[v] {
					t.Fatalf("LPOP returned %q twice", v)
				}
				got[v] = true
			}
			// MULTI: the two increments of one transaction are consecutive.
			for _, p := range multiPairs {
				if p[1] != p[0]+1 {
					t.Fatalf("MULTI INCR m; INCR m = %v, not consecutive", p)
				}
			}
			t.Logf("setnx wins %d (+%d unknown), incr %d (+%d unknown), pops %d, multis %d",
				setnxWins, setnxUnk, len(incrVals), incrUnknown, len(popped), len(multiPairs))
		})
	}
}

// TestRegionPipelinesThroughFollowerDuringLeaderMoves sends pipelines of
// 1,000 commands through followers while leadership moves: every reply
// belongs to its own client, none is lost, order is kept.
func TestRegionPipelinesThroughFollowerDuringLeaderMoves(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{})
	addrs := c.ServeRESP(t)
	c.WaitLeader(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var mover sync.WaitGroup
	mover.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			for _, nd := range c.Nodes {
				if nd.Group.IsReadyLeader() {
					nd.Group.TransferLeadership()
					break
				}
			}
		}
	})
	var wg sync.WaitGroup
	for cl := range 6 {
		rdb := client(t, addrs[cl%3])
		wg.Go(func() {
			for round := range 3 {
				p := rdb.Pipeline()
				var sets []*redis.StatusCmd
				var gets []*redis.StringCmd
				key := fmt.Sprintf("k%d", cl)
				for i := range 500 {
					// Both go through the region: a write, then a
					// linearizable read of the client's own key.
					sets = append(sets, p.Set(ctx, key, fmt.Sprintf("c%d-r%d-%d", cl, round, i), 0))
					gets = append(gets, p.Get(ctx, key))
				}
				p.Exec(ctx)
				for i, cmd := range gets {
					want := fmt.Sprintf("c%d-r%d-%d", cl, round, i)
					if sets[i].Err() != nil && !indeterminate(sets[i].Err()) {
						t.Errorf("client %d SET: %v", cl, sets[i].Err())
						return
					}
					if sets[i].Err() == nil && cmd.Err() == nil && cmd.Val() != want {
						t.Errorf("client %d got %q for %q: a reply crossed", cl, cmd.Val(), want)
						return
					}
					if cmd.Err() != nil && !indeterminate(cmd.Err()) {
						t.Errorf("client %d: %v", cl, cmd.Err())
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	mover.Wait()
}

// TestRegionPipelineIsBatched sends 1,000 pipelined INCRs through a
// follower: the replies are 1..1000 in order, and the leader packed them
// into far fewer log entries than commands.
func TestRegionPipelineIsBatched(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{})
	addrs := c.ServeRESP(t)
	leader := c.WaitLeader(t)
	fi := slices.IndexFunc(c.Nodes, func(n *regionaltest.Node) bool { return n != leader })
	ctx := context.Background()
	rdb := client(t, addrs[fi])
	before := leader.Group.Status().Batches
	p := rdb.Pipeline()
	var cmds []*redis.IntCmd
	for range 1000 {
		cmds = append(cmds, p.Incr(ctx, "n"))
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if cmd.Val() != int64(i+1) {
			t.Fatalf("reply %d = %d, want %d", i, cmd.Val(), i+1)
		}
	}
	if entries := leader.Group.Status().Batches - before; entries > 200 {
		t.Fatalf("1000 pipelined writes took %d log entries; want them batched", entries)
	}
}

// TestRegionPubSubAcrossNodes: a message published on one node reaches a
// subscriber connected to another.
func TestRegionPubSubAcrossNodes(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{})
	addrs := c.ServeRESP(t)
	c.WaitLeader(t)
	ctx := context.Background()
	sub := client(t, addrs[2]).Subscribe(ctx, "news")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := client(t, addrs[0]).Publish(ctx, "news", "hello").Result()
	if err != nil || n != 1 {
		t.Fatalf("PUBLISH = %d, %v; want 1 receiver on another node", n, err)
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil || msg.Payload != "hello" {
		t.Fatalf("subscriber got %v, %v", msg, err)
	}
}

// TestRegionReadOnlyServesStaleReads: with the region below quorum, a
// follower refuses linearizable reads but serves READONLY connections from
// its applied state.
func TestRegionReadOnlyServesStaleReads(t *testing.T) {
	c := regionaltest.New(t, 3, regionaltest.Options{Tune: func(cfg *regional.Config) { cfg.RequestTimeout = time.Second }})
	addrs := c.ServeRESP(t)
	leader := c.WaitLeader(t)
	ctx := context.Background()
	if err := client(t, addrs[0]).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	keep := slices.IndexFunc(c.Nodes, func(n *regionaltest.Node) bool { return n != leader })
	waitFor(t, "the write to reach the kept follower", func() bool { return staleGet(c.Nodes[keep].Group, "k") == bulk("v") })
	for i := range c.Nodes {
		if i != keep {
			c.Stop(i)
		}
	}
	plain := client(t, addrs[keep])
	if err := plain.Get(ctx, "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN") {
		t.Fatalf("linearizable GET without quorum: %v, want TRYAGAIN", err)
	}
	ro := client(t, addrs[keep])
	if err := ro.Do(ctx, "readonly").Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := ro.Get(ctx, "k").Result(); v != "v" || err != nil {
		t.Fatalf("READONLY GET = %q, %v; want the applied value", v, err)
	}
}
