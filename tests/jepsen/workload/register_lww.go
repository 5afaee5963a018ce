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

// RegisterLWWOptions configures [NewRegisterLWW].
type RegisterLWWOptions struct {
	// Keys is the number of registers; zero means 3.
	Keys int
	// Region returns a node's region, for the checker; nil means the
	// node name's first letter.
	Region func(node string) string
}

// RegisterLWW is the last-writer-wins register workload of linked
// regions: SET of a value unique per run (50%) and GET (50%) of a few
// keys, from clients in every region. No CAS: across regions it would
// decide locally (docs/CONFLICTS.md). Checked by [checker.LWW].
type RegisterLWW struct {
	opts RegisterLWWOptions
	keys fixedKeys
	seq  atomic.Int64
}

// NewRegisterLWW returns the last-writer-wins register workload.
func NewRegisterLWW(opts RegisterLWWOptions) *RegisterLWW {
	if opts.Keys == 0 {
		opts.Keys = 3
	}
	return &RegisterLWW{opts: opts, keys: fixedKeys{prefix: "jepsen:lww:", n: opts.Keys}}
}

// Name returns "register-lww".
func (w *RegisterLWW) Name() string { return "register-lww" }

// Step reads or writes a key.
func (w *RegisterLWW) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	key := w.keys.pick(rng)
	if rng.IntN(2) == 0 {
		cl.Read(ctx, history.FRead, key, false, readString(key))
		return
	}
	v := uniqueValue(&w.seq, cl)
	cl.Write(ctx, history.FWrite, key, v, func(ctx context.Context, rdb *redis.Client) error {
		return rdb.Set(ctx, key, v, 0).Err()
	})
}

// Final reads every key.
func (w *RegisterLWW) Final(ctx context.Context, cl *Client) {
	for _, k := range w.keys.all() {
		cl.Read(ctx, history.FRead, k, true, readString(k))
	}
}

// Check runs the last-writer-wins checker.
func (w *RegisterLWW) Check(h history.History, _ string) []checker.Result {
	return []checker.Result{checker.LWW(h, checker.RegionOptions{Region: w.opts.Region})}
}

// Keys returns the registers' keys.
func (w *RegisterLWW) Keys() []string { return w.keys.all() }

// uniqueValue returns a value never returned before by seq, naming the
// client's node for whoever reads the history.
func uniqueValue(seq *atomic.Int64, cl *Client) string {
	return strconv.FormatInt(seq.Add(1), 10) + "." + cl.Node()
}

// fixedKeys is a fixed set of n keys: prefix0, prefix1, ...
type fixedKeys struct {
	prefix string
	n      int
}

func (k fixedKeys) key(i int) string           { return k.prefix + strconv.Itoa(i) }
func (k fixedKeys) pick(rng *rand.Rand) string { return k.key(rng.IntN(k.n)) }

func (k fixedKeys) all() []string {
	out := make([]string, k.n)
	for i := range out {
		out[i] = k.key(i)
	}
	return out
}
