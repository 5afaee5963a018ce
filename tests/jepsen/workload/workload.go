package workload

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// Workload is one kind of client behaviour and its checker.
type Workload interface {
	// Name is a short name for reports ("register", "counter", "set").
	Name() string
	// Step performs one random op with cl. Many workers call it at once.
	Step(ctx context.Context, cl *Client, rng *rand.Rand)
	// Final performs the final reads of every key with cl, marked Final.
	Final(ctx context.Context, cl *Client)
	// Check returns the checkers' verdicts on h; dir receives artefacts.
	Check(h history.History, dir string) []checker.Result
}

// Run runs cfg.Concurrency workers performing w's ops for d, then waits
// for their last ops to finish. Ops in flight at d are not cancelled (that
// would make them indeterminate); ctx ending cancels everything.
func Run(ctx context.Context, cfg Config, rec *history.Recorder, w Workload, d time.Duration) {
	cfg.fill()
	stop, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for i := range cfg.Concurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)))
			cl := NewClient(&cfg, rec, cfg.Nodes[i%len(cfg.Nodes)])
			defer cl.Close()
			for stop.Err() == nil {
				w.Step(ctx, cl, rng)
				if cfg.Stagger > 0 {
					sleep(stop, time.Duration(rng.Int64N(int64(2*cfg.Stagger))))
				}
			}
		})
	}
	wg.Wait()
}

// FinalReads runs w's final reads once against every node, in parallel.
// Call it after healing every fault and letting the region settle.
func FinalReads(ctx context.Context, cfg Config, rec *history.Recorder, w Workload) {
	cfg.fill()
	var wg sync.WaitGroup
	for _, n := range cfg.Nodes {
		wg.Go(func() {
			cl := NewClient(&cfg, rec, n)
			defer cl.Close()
			w.Final(ctx, cl)
		})
	}
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// keySpace hands out keys so that no key collects more than opsPerKey
// ops: porcupine's search grows quickly with a key's history, so keys
// are retired and replaced, as Jepsen's independent keys are.
type keySpace struct {
	prefix    string
	slots     int
	opsPerKey int

	mu struct {
		sync.Mutex
		ops int
	}
}

func (k *keySpace) next(rng *rand.Rand) string {
	k.mu.Lock()
	gen := k.mu.ops / (k.slots * k.opsPerKey)
	k.mu.ops++
	k.mu.Unlock()
	return k.key(gen*k.slots + rng.IntN(k.slots))
}

// used returns every key handed out so far.
func (k *keySpace) used() []string {
	k.mu.Lock()
	gens := k.mu.ops/(k.slots*k.opsPerKey) + 1
	k.mu.Unlock()
	var out []string
	for i := range gens * k.slots {
		out = append(out, k.key(i))
	}
	return out
}

func (k *keySpace) key(i int) string { return k.prefix + strconv.Itoa(i) }
