package eval_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/meridian-kv/meridian/server/servertest"
)

// TestEvaluatorIsTheOnlyWriter runs 50 concurrent clients doing SETNX,
// INCR and LPOP on the same keys: the replies must be exactly what one
// Valkey would give — one SETNX winner per key, INCR replies 1..N each
// once, every list item popped exactly once.
func TestEvaluatorIsTheOnlyWriter(t *testing.T) {
	srv := servertest.Start(t)
	ctx := context.Background()
	const clients, rounds = 50, 40
	setup := srv.Client(t, 2)
	items := make([]interface{}, clients*rounds)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	if err := setup.RPush(ctx, "queue", items...).Err(); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		winners = map[string]int{}
		incrs   []int64
		popped  []int
	)
	var wg sync.WaitGroup
	for cl := range clients {
		rdb := srv.Client(t, 2+cl%2) // half the clients speak RESP3
		wg.Go(func() {
			for r := range rounds {
				key := fmt.Sprintf("nx:%d", r)
				ok, err := rdb.SetNX(ctx, key, cl, 0).Result()
				if err != nil {
					t.Errorf("SETNX: %v", err)
					return
				}
				n, err := rdb.Incr(ctx, "counter").Result()
				if err != nil {
					t.Errorf("INCR: %v", err)
					return
				}
				v, err := rdb.LPop(ctx, "queue").Int()
				if err != nil {
					t.Errorf("LPOP: %v", err)
					return
				}
				mu.Lock()
				if ok {
					winners[key]++
				}
				incrs = append(incrs, n)
				popped = append(popped, v)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for r := range rounds {
		key := fmt.Sprintf("nx:%d", r)
		if winners[key] != 1 {
			t.Errorf("SETNX %s had %d winners, want 1", key, winners[key])
		}
	}
	sort.Slice(incrs, func(i, j int) bool { return incrs[i] < incrs[j] })
	for i, n := range incrs {
		if n != int64(i+1) {
			t.Fatalf("INCR replies are not 1..%d each once: position %d holds %d", len(incrs), i, n)
		}
	}
	sort.Ints(popped)
	for i, v := range popped {
		if v != i {
			t.Fatalf("LPOP replies are not every item once: position %d holds %d", i, v)
		}
	}
	if n, _ := setup.LLen(ctx, "queue").Result(); n != 0 {
		t.Fatalf("queue has %d items left, want 0", n)
	}
}
