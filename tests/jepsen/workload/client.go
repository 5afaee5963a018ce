// Package workload drives Jepsen-style clients against meridian nodes
// over RESP (go-redis) and records every operation in a
// [history.Recorder]: the register (GET/SET/CAS by WATCH+MULTI), counter
// (INCRBY/GET), set (SADD/SREM/SMEMBERS) and list-append (RPUSH/LRANGE)
// workloads, their final reads,
// and the DEBUG DIGEST convergence probe.
//
// Usage:
//
//	rec := history.NewRecorder(time.Now())
//	cfg := workload.Config{Nodes: nodes, Addr: c.RESPAddr, Concurrency: 10, Seed: seed}
//	w := workload.NewRegister(workload.RegisterOptions{})
//	workload.Run(ctx, cfg, rec, w, time.Minute)  // ops for a minute
//	workload.FinalReads(ctx, cfg, rec, w)        // after heal: reads on every node
//	results := w.Check(rec.History(), runDir)    // checker verdicts
//
// Clients never retry (go-redis retries are off): a retried INCR could
// apply twice, and a retry would hide the indeterminate outcome the
// checkers must see. See [Classify] for how errors become outcomes.
package workload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// Policy tunes [Classify].
type Policy struct {
	// TryAgainFails records a write answered TRYAGAIN as Fail (the server
	// promises it was not executed, so the checkers then test that
	// promise). False records it as Info, which cannot produce a false
	// alarm.
	TryAgainFails bool
}

// ErrNotApplied marks an error after which the op certainly wrote
// nothing (a CAS whose precondition failed, an aborted EXEC); [Classify]
// makes it Fail. Wrap it with %w.
var ErrNotApplied = errors.New("workload: not applied")

// definite are error codes after which the server certainly did not
// apply the command.
var definite = []string{"WRONGTYPE", "EXECABORT", "NOAUTH", "WRONGPASS", "NOPERM", "NOSCRIPT",
	"ERR wrong number of arguments", "ERR syntax error", "ERR unknown command", "ERR value is not an integer"}

// Classify turns the error of a state-changing command into its outcome:
//   - nil: OK;
//   - an error wrapping [ErrNotApplied]: Fail;
//   - the command never left (dial error, pool timeout, closed client): Fail;
//   - TRYAGAIN (not executed, retry): Info, or Fail with TryAgainFails;
//   - a server error that certainly rejected the command (WRONGTYPE,
//     EXECABORT, a syntax error, ...): Fail;
//   - everything else — timeouts, a reset or closed connection after the
//     command was sent, UNCERTAIN, errors the harness does not know: Info.
//
// Reads are classified the same way, for honest counts; a read that
// failed in any way observed nothing, and checkers leave it out.
func Classify(err error, pol Policy) history.Type {
	if err == nil {
		return history.OK
	}
	if errors.Is(err, ErrNotApplied) {
		return history.Fail
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return history.Fail
	}
	if errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) {
		return history.Fail
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		switch {
		case strings.HasPrefix(msg, "UNCERTAIN"):
			return history.Info
		case strings.HasPrefix(msg, "TRYAGAIN"):
			if pol.TryAgainFails {
				return history.Fail
			}
			return history.Info
		}
		for _, d := range definite {
			if strings.HasPrefix(msg, d) {
				return history.Fail
			}
		}
	}
	return history.Info
}

// Config says where and how hard the clients work.
type Config struct {
	// Nodes are the node names; worker i talks to Nodes[i % len(Nodes)].
	Nodes []string
	// Addr returns a node's RESP host:port.
	Addr func(node string) string
	// Route, if set, returns the node now serving in node's place (after
	// membership churn replaced it); a client then moves to that node
	// with a new process id.
	Route func(node string) string
	// Concurrency is the number of workers; zero means 2 per node.
	Concurrency int
	// Stagger is the mean pause between one worker's ops (uniform in
	// [0, 2*Stagger)); zero means 10 ms.
	Stagger time.Duration
	// OpTimeout bounds each op (dial, write, read); zero means 3 s. An op
	// that times out is Info.
	OpTimeout time.Duration
	// Seed seeds the workers' choices (worker i uses Seed+i).
	Seed int64
	// Policy tunes error classification.
	Policy Policy
}

func (c *Config) fill() {
	if c.Concurrency == 0 {
		c.Concurrency = 2 * len(c.Nodes)
	}
	if c.Stagger == 0 {
		c.Stagger = 10 * time.Millisecond
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 3 * time.Second
	}
}

// Client is one logical Jepsen process talking to one node. After an op
// with an indeterminate outcome it takes a new process id and a new
// connection, as that op may still be in flight.
type Client struct {
	cfg     *Config
	rec     *history.Recorder
	node    string
	process int
	rdb     *redis.Client
}

// NewClient returns a client of node recording into rec.
func NewClient(cfg *Config, rec *history.Recorder, node string) *Client {
	cfg.fill()
	c := &Client{cfg: cfg, rec: rec, node: node}
	c.reset()
	return c
}

func (c *Client) reset() {
	if c.rdb != nil {
		c.rdb.Close()
	}
	c.process = c.rec.Process()
	c.rdb = redis.NewClient(&redis.Options{
		Addr:                  c.cfg.Addr(c.node),
		Protocol:              2,
		DisableIdentity:       true,
		MaxRetries:            -1,
		PoolSize:              1,
		MinIdleConns:          0,
		DialTimeout:           c.cfg.OpTimeout,
		ReadTimeout:           c.cfg.OpTimeout,
		WriteTimeout:          c.cfg.OpTimeout,
		ContextTimeoutEnabled: true,
	})
}

// Node returns the node the client talks to.
func (c *Client) Node() string { return c.node }

// Redis returns the client's connection, for ops outside the history.
func (c *Client) Redis() *redis.Client { return c.rdb }

// Close closes the connection.
func (c *Client) Close() error { return c.rdb.Close() }

// follow moves the client to its node's replacement, if any.
func (c *Client) follow() {
	if c.cfg.Route == nil {
		return
	}
	if n := c.cfg.Route(c.node); n != c.node {
		c.node = n
		c.reset()
	}
}

// Write runs a state-changing op: records its invocation with argument
// value, runs fn within the op timeout, and records the outcome
// [Classify] gives its error. It returns the outcome.
func (c *Client) Write(ctx context.Context, f history.F, key string, value any, fn func(ctx context.Context, rdb *redis.Client) error) history.Type {
	c.follow()
	op := c.rec.Invoke(c.process, f, key, value, c.node)
	octx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	err := fn(octx, c.rdb)
	cancel()
	t := Classify(err, c.cfg.Policy)
	c.rec.Complete(op, t, nil, err)
	if t == history.Info {
		c.reset()
	}
	return t
}

// Read runs a read op: fn returns the value read (nil for an absent key).
// An error is classified like a write's (a timed-out read is Info, a
// refused one Fail); either way the read observed nothing and checkers
// leave it out. After an Info read the client takes a new process and
// connection (its reply may still arrive). final marks it as a final read.
func (c *Client) Read(ctx context.Context, f history.F, key string, final bool, fn func(ctx context.Context, rdb *redis.Client) (any, error)) (any, history.Type) {
	c.follow()
	op := c.rec.Invoke(c.process, f, key, nil, c.node)
	if final {
		c.rec.MarkFinal(op)
	}
	octx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
	v, err := fn(octx, c.rdb)
	cancel()
	if err != nil {
		t := Classify(err, c.cfg.Policy)
		c.rec.Complete(op, t, nil, err)
		if t == history.Info {
			c.reset()
		}
		return nil, t
	}
	c.rec.Complete(op, history.OK, v, nil)
	return v, history.OK
}

// Digest returns the node's DEBUG DIGEST (outside the history).
func Digest(ctx context.Context, rdb *redis.Client) (string, error) {
	s, err := rdb.Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		return "", fmt.Errorf("workload: DEBUG DIGEST: %w", err)
	}
	return s, nil
}
