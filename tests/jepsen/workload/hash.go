package workload

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// HashOptions configures [NewHash].
type HashOptions struct {
	// Keys is the number of hashes; zero means 2.
	Keys int
	// Fields is the number of fields per hash; zero means 4.
	Fields int
	// Region returns a node's region, for the checker; nil means the
	// node name's first letter.
	Region func(node string) string
}

// Hash is the hash workload of linked regions: HSET of one field to a
// value unique per run (40%), HDEL of one field (20%) and HGETALL (40%)
// of a few hashes with a few fields each, from clients in every region.
// Checked by [checker.Hash]: each field is a last-writer-wins register.
type Hash struct {
	opts HashOptions
	keys fixedKeys
	seq  atomic.Int64
}

// NewHash returns the hash workload.
func NewHash(opts HashOptions) *Hash {
	if opts.Keys == 0 {
		opts.Keys = 2
	}
	if opts.Fields == 0 {
		opts.Fields = 4
	}
	return &Hash{opts: opts, keys: fixedKeys{prefix: "jepsen:hash:", n: opts.Keys}}
}

// Name returns "hash-lww".
func (w *Hash) Name() string { return "hash-lww" }

// Step writes, deletes or reads fields.
func (w *Hash) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	key := w.keys.pick(rng)
	f := "f" + strconv.Itoa(rng.IntN(w.opts.Fields))
	switch p := rng.IntN(5); {
	case p < 2:
		cl.Read(ctx, history.FHGetAll, key, false, readHash(key))
	case p < 4:
		v := uniqueValue(&w.seq, cl)
		cl.Write(ctx, history.FHSet, key, []string{f, v}, func(ctx context.Context, rdb *redis.Client) error {
			return rdb.HSet(ctx, key, f, v).Err()
		})
	default:
		cl.Write(ctx, history.FHDel, key, f, func(ctx context.Context, rdb *redis.Client) error {
			return rdb.HDel(ctx, key, f).Err()
		})
	}
}

func readHash(key string) func(ctx context.Context, rdb *redis.Client) (any, error) {
	return func(ctx context.Context, rdb *redis.Client) (any, error) {
		m, err := rdb.HGetAll(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]string{}
		}
		return m, nil
	}
}

// Final reads every hash.
func (w *Hash) Final(ctx context.Context, cl *Client) {
	for _, k := range w.keys.all() {
		cl.Read(ctx, history.FHGetAll, k, true, readHash(k))
	}
}

// Check runs the hash checker.
func (w *Hash) Check(h history.History, _ string) []checker.Result {
	return []checker.Result{checker.Hash(h, checker.RegionOptions{Region: w.opts.Region})}
}

// Keys returns the hashes' keys.
func (w *Hash) Keys() []string { return w.keys.all() }
