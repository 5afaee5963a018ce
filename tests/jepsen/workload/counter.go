package workload

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// CounterOptions configures [NewCounter].
type CounterOptions struct {
	// Keys is the number of counters; zero means 2.
	Keys int
	// Realtime checks reads during the run too (one region, linearizable
	// reads); see [checker.CounterOptions].
	Realtime bool
}

// Counter is the counter workload: INCRBY of 1 to 5, and GET.
type Counter struct{ opts CounterOptions }

// NewCounter returns the counter workload.
func NewCounter(opts CounterOptions) *Counter {
	if opts.Keys == 0 {
		opts.Keys = 2
	}
	return &Counter{opts: opts}
}

// Name returns "counter".
func (w *Counter) Name() string { return "counter" }

func (w *Counter) key(i int) string { return "jepsen:ctr:" + strconv.Itoa(i) }

// Step increments a counter (80%) or reads it (20%).
func (w *Counter) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	key := w.key(rng.IntN(w.opts.Keys))
	if rng.IntN(5) == 0 {
		cl.Read(ctx, history.FCount, key, false, readInt(key))
		return
	}
	d := int64(1 + rng.IntN(5))
	cl.Write(ctx, history.FIncr, key, d, func(ctx context.Context, rdb *redis.Client) error {
		return rdb.IncrBy(ctx, key, d).Err()
	})
}

func readInt(key string) func(ctx context.Context, rdb *redis.Client) (any, error) {
	return func(ctx context.Context, rdb *redis.Client) (any, error) {
		n, err := rdb.Get(ctx, key).Int64()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return n, nil
	}
}

// Final reads every counter.
func (w *Counter) Final(ctx context.Context, cl *Client) {
	for i := range w.opts.Keys {
		cl.Read(ctx, history.FCount, w.key(i), true, readInt(w.key(i)))
	}
}

// Check runs the counter checker.
func (w *Counter) Check(h history.History, _ string) []checker.Result {
	return []checker.Result{checker.Counter(h, checker.CounterOptions{Realtime: w.opts.Realtime})}
}

// Keys returns the counters' keys.
func (w *Counter) Keys() []string {
	out := make([]string, w.opts.Keys)
	for i := range out {
		out[i] = w.key(i)
	}
	return out
}
