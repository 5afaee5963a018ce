package workload

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// SetOptions configures [NewSet].
type SetOptions struct {
	// Keys is the number of sets; zero means 2.
	Keys int
	// Realtime checks reads during the run too (one region, linearizable
	// reads); see [checker.SetOptions].
	Realtime bool
	// RemoveOwn removes only elements whose add was acknowledged by a
	// client of the same node (so of the same region): across regions a
	// remove of an element the remover's region has not seen yet would
	// not remove it, and the element would legally come back.
	RemoveOwn bool
}

// Set is the set workload: SADD of unique elements (80%), SREM of an
// element whose SADD was acknowledged (10%), SMEMBERS (10%).
type Set struct {
	opts SetOptions
	seq  atomic.Int64

	mu struct {
		sync.Mutex
		acked map[string][]string // per key (and node, with RemoveOwn): acknowledged adds not yet chosen for removal
	}
}

// NewSet returns the set workload.
func NewSet(opts SetOptions) *Set {
	if opts.Keys == 0 {
		opts.Keys = 2
	}
	w := &Set{opts: opts}
	w.mu.acked = make(map[string][]string)
	return w
}

// Name returns "set".
func (w *Set) Name() string { return "set" }

func (w *Set) key(i int) string { return "jepsen:set:" + strconv.Itoa(i) }

// Step adds, removes or reads.
func (w *Set) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	key := w.key(rng.IntN(w.opts.Keys))
	pool := key
	if w.opts.RemoveOwn {
		pool = key + "\x00" + cl.Node()
	}
	switch p := rng.IntN(10); {
	case p == 0:
		cl.Read(ctx, history.FMembers, key, false, readMembers(key))
	case p == 1:
		w.mu.Lock()
		els := w.mu.acked[pool]
		var e string
		if len(els) > 0 {
			i := rng.IntN(len(els))
			e = els[i]
			els[i] = els[len(els)-1]
			w.mu.acked[pool] = els[:len(els)-1]
		}
		w.mu.Unlock()
		if e == "" {
			return
		}
		cl.Write(ctx, history.FRemove, key, e, func(ctx context.Context, rdb *redis.Client) error {
			return rdb.SRem(ctx, key, e).Err()
		})
	default:
		e := strconv.FormatInt(w.seq.Add(1), 10)
		if cl.Write(ctx, history.FAdd, key, e, func(ctx context.Context, rdb *redis.Client) error {
			return rdb.SAdd(ctx, key, e).Err()
		}) == history.OK {
			w.mu.Lock()
			w.mu.acked[pool] = append(w.mu.acked[pool], e)
			w.mu.Unlock()
		}
	}
}

func readMembers(key string) func(ctx context.Context, rdb *redis.Client) (any, error) {
	return func(ctx context.Context, rdb *redis.Client) (any, error) {
		m, err := rdb.SMembers(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return []string{}, nil
		}
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		return m, nil
	}
}

// Final reads every set.
func (w *Set) Final(ctx context.Context, cl *Client) {
	for i := range w.opts.Keys {
		cl.Read(ctx, history.FMembers, w.key(i), true, readMembers(w.key(i)))
	}
}

// Check runs the set checker.
func (w *Set) Check(h history.History, _ string) []checker.Result {
	return []checker.Result{checker.Set(h, checker.SetOptions{Realtime: w.opts.Realtime})}
}

// Keys returns the sets' keys.
func (w *Set) Keys() []string {
	out := make([]string, w.opts.Keys)
	for i := range out {
		out[i] = w.key(i)
	}
	return out
}
