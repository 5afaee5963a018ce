package workload

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// ListOptions configures [NewList].
type ListOptions struct {
	// Keys is how many lists are live at once; zero means 3.
	Keys int
	// OpsPerKey retires a list after about this many ops, so reads stay
	// short; zero means 300.
	OpsPerKey int
	// Realtime checks reads against real time too (one region,
	// linearizable reads); see [checker.ListOptions].
	Realtime bool
	// LeftPushes makes one push in four an LPUSH (of a value prefixed
	// "l"), so pushes land at both ends. Only without Realtime: the
	// checker's real-time order is that of appends at the tail.
	LeftPushes bool
	// SameFinal also requires every final read of a key to be identical
	// (same values, same order), as every node of linked regions must
	// read once converged; see [checker.ListOptions].
	SameFinal bool
}

// List is the list-append workload (Elle's list-append, one key per
// op): RPUSH of a value unique per run (70%; with LeftPushes a quarter
// of them LPUSH) and LRANGE 0 -1 (30%).
type List struct {
	opts ListOptions
	keys *keySpace
	seq  atomic.Int64
}

// NewList returns the list-append workload.
func NewList(opts ListOptions) *List {
	if opts.Keys == 0 {
		opts.Keys = 3
	}
	if opts.OpsPerKey == 0 {
		opts.OpsPerKey = 300
	}
	return &List{opts: opts, keys: &keySpace{prefix: "jepsen:list:", slots: opts.Keys, opsPerKey: opts.OpsPerKey}}
}

// Name returns "list".
func (w *List) Name() string { return "list" }

// Step appends or reads.
func (w *List) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	key := w.keys.next(rng)
	if rng.IntN(10) < 3 {
		cl.Read(ctx, history.FList, key, false, readList(key))
		return
	}
	v := strconv.FormatInt(w.seq.Add(1), 10)
	if w.opts.LeftPushes && rng.IntN(4) == 0 {
		v = "l" + v
		cl.Write(ctx, history.FAppend, key, v, func(ctx context.Context, rdb *redis.Client) error {
			return rdb.LPush(ctx, key, v).Err()
		})
		return
	}
	cl.Write(ctx, history.FAppend, key, v, func(ctx context.Context, rdb *redis.Client) error {
		return rdb.RPush(ctx, key, v).Err()
	})
}

func readList(key string) func(ctx context.Context, rdb *redis.Client) (any, error) {
	return func(ctx context.Context, rdb *redis.Client) (any, error) {
		l, err := rdb.LRange(ctx, key, 0, -1).Result()
		if errors.Is(err, redis.Nil) {
			return []string{}, nil
		}
		if err != nil {
			return nil, err
		}
		if l == nil {
			l = []string{}
		}
		return l, nil
	}
}

// Final reads every list used.
func (w *List) Final(ctx context.Context, cl *Client) {
	for _, k := range w.keys.used() {
		cl.Read(ctx, history.FList, k, true, readList(k))
	}
}

// Check runs the list-append checker.
func (w *List) Check(h history.History, _ string) []checker.Result {
	return []checker.Result{checker.List(h, checker.ListOptions{Realtime: w.opts.Realtime, SameFinal: w.opts.SameFinal})}
}

// Keys returns every list used so far.
func (w *List) Keys() []string { return w.keys.used() }
