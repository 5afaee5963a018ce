package workload

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// ListPopsOptions configures [NewListPops].
type ListPopsOptions struct {
	// Keys is the number of lists; zero means 2.
	Keys int
	// Region returns a node's region, for the checker; nil means the
	// node name's first letter.
	Region func(node string) string
}

// ListPops is the push-and-pop list workload of linked regions: RPUSH of
// a value unique per run (50%), LPOP (20%), RPOP (15%) and LRANGE 0 -1
// (15%) of a few lists, from clients in every region. Pushes outnumber
// pops so that the lists stay long enough for both regions to pop the
// same element. Checked by [checker.ListPops].
//
// A pop is recorded like a read ([Client.Read]): its outcome carries
// the element popped. An indeterminate pop may still have removed one.
type ListPops struct {
	opts ListPopsOptions
	keys fixedKeys
	seq  atomic.Int64
}

// NewListPops returns the push-and-pop list workload.
func NewListPops(opts ListPopsOptions) *ListPops {
	if opts.Keys == 0 {
		opts.Keys = 2
	}
	return &ListPops{opts: opts, keys: fixedKeys{prefix: "jepsen:queue:", n: opts.Keys}}
}

// Name returns "list-pops".
func (w *ListPops) Name() string { return "list-pops" }

// Step pushes, pops or reads a list.
func (w *ListPops) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	key := w.keys.pick(rng)
	switch p := rng.IntN(20); {
	case p < 10:
		v := uniqueValue(&w.seq, cl)
		cl.Write(ctx, history.FAppend, key, v, func(ctx context.Context, rdb *redis.Client) error {
			return rdb.RPush(ctx, key, v).Err()
		})
	case p < 14:
		cl.Read(ctx, history.FLPop, key, false, pop(key, (*redis.Client).LPop))
	case p < 17:
		cl.Read(ctx, history.FRPop, key, false, pop(key, (*redis.Client).RPop))
	default:
		cl.Read(ctx, history.FList, key, false, readList(key))
	}
}

// pop returns an op that pops one element of key with cmd (LPOP or
// RPOP), or nil if the list is empty.
func pop(key string, cmd func(*redis.Client, context.Context, string) *redis.StringCmd) func(ctx context.Context, rdb *redis.Client) (any, error) {
	return func(ctx context.Context, rdb *redis.Client) (any, error) {
		v, err := cmd(rdb, ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

// Final reads every list.
func (w *ListPops) Final(ctx context.Context, cl *Client) {
	for _, k := range w.keys.all() {
		cl.Read(ctx, history.FList, k, true, readList(k))
	}
}

// Check runs the push-and-pop list checker.
func (w *ListPops) Check(h history.History, _ string) []checker.Result {
	return []checker.Result{checker.ListPops(h, checker.RegionOptions{Region: w.opts.Region})}
}

// Keys returns the lists' keys.
func (w *ListPops) Keys() []string { return w.keys.all() }
