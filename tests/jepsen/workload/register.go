package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// RegisterOptions configures [NewRegister].
type RegisterOptions struct {
	// Keys is how many keys are live at once; zero means 3.
	Keys int
	// OpsPerKey retires a key after about this many ops; zero means 150.
	OpsPerKey int
	// CheckTimeout bounds porcupine per key; zero means 1 minute.
	CheckTimeout time.Duration
}

// Register is the linearizable-register workload: GET, SET of unique
// values, and compare-and-set as WATCH k, GET k, MULTI, SET k new, EXEC.
// A CAS whose GET saw another value, or whose EXEC was aborted, is Fail:
// nothing was written.
type Register struct {
	opts RegisterOptions
	keys *keySpace
	seq  atomic.Int64

	mu struct {
		sync.Mutex
		last map[string]string // a recently written or read value per key: the CAS's expected value
	}
}

// NewRegister returns the register workload.
func NewRegister(opts RegisterOptions) *Register {
	if opts.Keys == 0 {
		opts.Keys = 3
	}
	if opts.OpsPerKey == 0 {
		opts.OpsPerKey = 150
	}
	if opts.CheckTimeout == 0 {
		opts.CheckTimeout = time.Minute
	}
	w := &Register{opts: opts, keys: &keySpace{prefix: "jepsen:reg:", slots: opts.Keys, opsPerKey: opts.OpsPerKey}}
	w.mu.last = make(map[string]string)
	return w
}

// Name returns "register".
func (w *Register) Name() string { return "register" }

var errCASMismatch = fmt.Errorf("%w: cas: the current value differs", ErrNotApplied)

func (w *Register) remember(key, v string) {
	w.mu.Lock()
	w.mu.last[key] = v
	w.mu.Unlock()
}

// Step reads (50%), writes (30%) or compare-and-sets (20%) a key.
func (w *Register) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	key := w.keys.next(rng)
	switch p := rng.IntN(10); {
	case p < 5:
		v, t := cl.Read(ctx, history.FRead, key, false, readString(key))
		if s, ok := v.(string); ok && t == history.OK {
			w.remember(key, s)
		}
	case p < 8:
		v := strconv.FormatInt(w.seq.Add(1), 10)
		if cl.Write(ctx, history.FWrite, key, v, func(ctx context.Context, rdb *redis.Client) error {
			return rdb.Set(ctx, key, v, 0).Err()
		}) == history.OK {
			w.remember(key, v)
		}
	default:
		w.mu.Lock()
		old, ok := w.mu.last[key]
		w.mu.Unlock()
		if !ok {
			old = "0" // never written: the CAS will fail, which is fine
		}
		v := strconv.FormatInt(w.seq.Add(1), 10)
		if cl.Write(ctx, history.FCAS, key, []string{old, v}, cas(key, old, v)) == history.OK {
			w.remember(key, v)
		}
	}
}

func readString(key string) func(ctx context.Context, rdb *redis.Client) (any, error) {
	return func(ctx context.Context, rdb *redis.Client) (any, error) {
		s, err := rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// cas sets key to new if it holds old, with WATCH/MULTI/EXEC. Its error
// wraps ErrNotApplied when it certainly wrote nothing.
func cas(key, old, new string) func(ctx context.Context, rdb *redis.Client) error {
	return func(ctx context.Context, rdb *redis.Client) error {
		return rdb.Watch(ctx, func(tx *redis.Tx) error {
			cur, err := tx.Get(ctx, key).Result()
			if errors.Is(err, redis.Nil) || (err == nil && cur != old) {
				return errCASMismatch
			}
			if err != nil {
				// MULTI was not sent: nothing can have been written.
				return fmt.Errorf("%w: cas read: %w", ErrNotApplied, err)
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, new, 0)
				return nil
			})
			if errors.Is(err, redis.TxFailedErr) {
				return fmt.Errorf("%w: EXEC aborted: the watched key changed", ErrNotApplied)
			}
			return err
		}, key)
	}
}

// Final reads every key used.
func (w *Register) Final(ctx context.Context, cl *Client) {
	for _, k := range w.keys.used() {
		cl.Read(ctx, history.FRead, k, true, readString(k))
	}
}

// Check runs the linearizability checker.
func (w *Register) Check(h history.History, dir string) []checker.Result {
	return []checker.Result{checker.Register(h, checker.RegisterOptions{Dir: dir, Timeout: w.opts.CheckTimeout})}
}
