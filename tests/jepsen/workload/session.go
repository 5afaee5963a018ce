package workload

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// SessionOptions configures [NewSession].
type SessionOptions struct {
	// Region returns a node's region; reads mostly pick sessions written
	// in another region than the reader's. Nil: the node name's first
	// letter.
	Region func(node string) string
	// MinTTL and MaxTTL bound the short sessions' TTL (uniform); zero
	// means 1 s and 3 s.
	MinTTL, MaxTTL time.Duration
	// LongTTL is the TTL of one session in LongEvery; zero means 60 s
	// and 10. Long sessions outlive the run and must cross the regions.
	LongTTL   time.Duration
	LongEvery int
	// Margin is the checker's clock margin ([checker.SessionOptions]).
	Margin time.Duration
}

// Session is the session-store workload: SET sess:<id> <value> PX <ttl>
// of a new session (20% of ops), and GET + PTTL of a known session
// (80%), mostly one written in the other region, chosen by age so that
// reads fall before, around and after the session's expiry. Each
// session is written once. Its final reads read every acknowledged
// session on every node, after every short session has expired.
type Session struct {
	opts SessionOptions
	seq  atomic.Int64

	mu struct {
		sync.Mutex
		acked []sessionRec // in acknowledgement order
		long  []string
	}
}

type sessionRec struct {
	key, region string
	at          time.Time // acknowledged
}

// NewSession returns the session workload.
func NewSession(opts SessionOptions) *Session {
	if opts.Region == nil {
		opts.Region = func(n string) string { return n[:min(1, len(n))] }
	}
	if opts.MinTTL == 0 {
		opts.MinTTL = time.Second
	}
	if opts.MaxTTL == 0 {
		opts.MaxTTL = 3 * time.Second
	}
	if opts.LongTTL == 0 {
		opts.LongTTL = time.Minute
	}
	if opts.LongEvery == 0 {
		opts.LongEvery = 10
	}
	return &Session{opts: opts}
}

// Name returns "session".
func (w *Session) Name() string { return "session" }

// Step writes a session or reads one.
func (w *Session) Step(ctx context.Context, cl *Client, rng *rand.Rand) {
	if rng.IntN(5) == 0 {
		w.write(ctx, cl, rng)
		return
	}
	if key := w.pick(cl.Node(), rng); key != "" {
		cl.Read(ctx, history.FRead, key, false, readSession(key))
	}
}

func (w *Session) write(ctx context.Context, cl *Client, rng *rand.Rand) {
	id := w.seq.Add(1)
	long := id%int64(w.opts.LongEvery) == 0
	ttl := w.opts.MinTTL + time.Duration(rng.Int64N(int64(w.opts.MaxTTL-w.opts.MinTTL)+1)).Round(time.Millisecond)
	if long {
		ttl = w.opts.LongTTL
	}
	key := "sess:" + strconv.FormatInt(id, 10)
	v := checker.SessionValue(id, ttl, cl.Node())
	if cl.Write(ctx, history.FWrite, key, v, func(ctx context.Context, rdb *redis.Client) error {
		return rdb.Do(ctx, "SET", key, v, "PX", ttl.Milliseconds()).Err()
	}) != history.OK {
		return
	}
	w.mu.Lock()
	w.mu.acked = append(w.mu.acked, sessionRec{key: key, region: w.opts.Region(cl.Node()), at: time.Now()})
	if long {
		w.mu.long = append(w.mu.long, key)
	}
	w.mu.Unlock()
}

// pick returns a session to read from node: one in ten a long session,
// else one acknowledged about a random age ago (up to MaxTTL + 2 s, so
// some are read after their expiry), written in another region than
// node's four times in five.
func (w *Session) pick(node string, rng *rand.Rand) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.mu.acked) == 0 {
		return ""
	}
	if len(w.mu.long) > 0 && rng.IntN(10) == 0 {
		return w.mu.long[rng.IntN(len(w.mu.long))]
	}
	age := time.Duration(rng.Int64N(int64(w.opts.MaxTTL + 2*time.Second)))
	at := time.Now().Add(-age)
	i := sort.Search(len(w.mu.acked), func(i int) bool { return w.mu.acked[i].at.After(at) })
	i = min(i, len(w.mu.acked)-1)
	other := rng.IntN(5) != 0
	mine := w.opts.Region(node)
	for j := i; j >= 0 && j > i-50; j-- {
		if (w.mu.acked[j].region != mine) == other {
			return w.mu.acked[j].key
		}
	}
	return w.mu.acked[i].key
}

func readSession(key string) func(ctx context.Context, rdb *redis.Client) (any, error) {
	return func(ctx context.Context, rdb *redis.Client) (any, error) {
		var get *redis.StringCmd
		var pttl *redis.Cmd
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			get = p.Get(ctx, key)
			pttl = p.Do(ctx, "PTTL", key)
			return nil
		})
		if errors.Is(get.Err(), redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		ms, err := pttl.Int64()
		if err != nil {
			return nil, err
		}
		return checker.SessionRead(get.Val(), ms), nil
	}
}

// Final reads every acknowledged session.
func (w *Session) Final(ctx context.Context, cl *Client) {
	w.mu.Lock()
	keys := make([]string, len(w.mu.acked))
	for i, r := range w.mu.acked {
		keys[i] = r.key
	}
	w.mu.Unlock()
	for _, k := range keys {
		cl.Read(ctx, history.FRead, k, true, readSession(k))
	}
}

// Check runs the session checker.
func (w *Session) Check(h history.History, _ string) []checker.Result {
	return []checker.Result{checker.Session(h, checker.SessionOptions{Margin: w.opts.Margin, Region: w.opts.Region})}
}

// Keys returns the keys of the last 20 long sessions, which must have
// crossed to every node by the end of the run (the short ones expire
// meanwhile).
func (w *Session) Keys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.mu.long[max(0, len(w.mu.long)-20):]...)
}
