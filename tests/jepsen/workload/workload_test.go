package workload_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
	"github.com/meridian-kv/meridian/tests/jepsen/workload"
)

// respErr returns the error go-redis reports for a server reply -msg.
func respErr(t *testing.T, msg string) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 512)
		for { // one small command per read
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if strings.Contains(strings.ToLower(string(buf[:n])), "hello") {
				io.WriteString(c, "-ERR unknown command 'hello'\r\n") // as Redis 5 answers
				continue
			}
			fmt.Fprintf(c, "-%s\r\n", msg)
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer rdb.Close()
	return rdb.Set(t.Context(), "k", "v", 0).Err()
}

func TestClassify(t *testing.T) {
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		pol  workload.Policy
		want history.Type
	}{
		{name: "ok", err: nil, want: history.OK},
		// Never sent: certainly not applied.
		{name: "dial refused", err: dialErr, want: history.Fail},
		{name: "dial wrapped in deadline", err: fmt.Errorf("%w: %w", context.DeadlineExceeded, dialErr), want: history.Fail},
		{name: "pool timeout", err: redis.ErrPoolTimeout, want: history.Fail},
		{name: "not applied", err: fmt.Errorf("%w: cas mismatch", workload.ErrNotApplied), want: history.Fail},
		// Sent, outcome unknown.
		{name: "timeout", err: context.DeadlineExceeded, want: history.Info},
		{name: "read timeout", err: &net.OpError{Op: "read", Err: timeoutErr{}}, want: history.Info},
		{name: "eof", err: io.EOF, want: history.Info},
		{name: "reset", err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}, want: history.Info},
		{name: "uncertain", err: respErr(t, "UNCERTAIN the write may or may not have been applied"), want: history.Info},
		{name: "unknown server error", err: respErr(t, "ERR something odd"), want: history.Info},
		// TRYAGAIN: Info unless the policy trusts the server's "not executed".
		{name: "tryagain", err: respErr(t, "TRYAGAIN no leader"), want: history.Info},
		{name: "tryagain trusted", err: respErr(t, "TRYAGAIN no leader"), pol: workload.Policy{TryAgainFails: true}, want: history.Fail},
		// Certain rejections.
		{name: "wrongtype", err: respErr(t, "WRONGTYPE Operation against a key holding the wrong kind of value"), want: history.Fail},
		{name: "not an integer", err: respErr(t, "ERR value is not an integer or out of range"), want: history.Fail},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			if got := workload.Classify(tt.err, tt.pol); got != tt.want {
				t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// run drives w against the given servers for d, then final reads, and
// returns the verdicts.
func run(t *testing.T, w workload.Workload, addrs []string, d time.Duration) ([]checker.Result, history.History) {
	t.Helper()
	nodes := make([]string, len(addrs))
	byNode := make(map[string]string)
	for i, a := range addrs {
		nodes[i] = fmt.Sprintf("n%d", i+1)
		byNode[nodes[i]] = a
	}
	cfg := workload.Config{Nodes: nodes, Addr: func(n string) string { return byNode[n] },
		Concurrency: 6, Stagger: time.Millisecond, Seed: 42}
	rec := history.NewRecorder(time.Now())
	workload.Run(t.Context(), cfg, rec, w, d)
	workload.FinalReads(t.Context(), cfg, rec, w)
	h := rec.History()
	return w.Check(h, t.TempDir()), h
}

// TestWorkloadsOnOneNode: a single correct server must pass every checker.
func TestWorkloadsOnOneNode(t *testing.T) {
	for _, w := range []workload.Workload{
		workload.NewRegister(workload.RegisterOptions{}),
		workload.NewCounter(workload.CounterOptions{Realtime: true}),
		workload.NewSet(workload.SetOptions{Realtime: true}),
		workload.NewList(workload.ListOptions{Realtime: true}),
	} {
		t.Run(w.Name(), func(t *testing.T) {
			srv := servertest.Start(t)
			res, h := run(t, w, []string{srv.Addr}, 700*time.Millisecond)
			c := h.Counts()
			if c.OK < 100 || c.Info != 0 || c.Pending != 0 {
				t.Errorf("counts %+v: want many OK ops and no indeterminate ones", c)
			}
			finals := h.Filter(func(op history.Op) bool { return op.Final && op.Type == history.OK })
			if len(finals) == 0 {
				t.Error("no final reads")
			}
			for _, r := range res {
				if r.Valid != checker.Valid {
					t.Errorf("%s: %s: %q %q", r.Checker, r.Valid, r.Anomalies, r.Notes)
				}
			}
			if w.Name() == "register" {
				cas := h.Filter(func(op history.Op) bool { return op.F == history.FCAS && op.Type == history.OK })
				if len(cas) == 0 {
					t.Error("no CAS succeeded: the workload does not exercise CAS")
				}
			}
		})
	}
}

// TestWorkloadsFindSplitBrain: two independent servers posing as one
// region are a split brain; every checker must say so.
func TestWorkloadsFindSplitBrain(t *testing.T) {
	for _, w := range []workload.Workload{
		workload.NewRegister(workload.RegisterOptions{}),
		workload.NewCounter(workload.CounterOptions{}),
		workload.NewSet(workload.SetOptions{}),
		workload.NewList(workload.ListOptions{}),
	} {
		t.Run(w.Name(), func(t *testing.T) {
			a, b := servertest.Start(t), servertest.Start(t)
			res, _ := run(t, w, []string{a.Addr, b.Addr}, 500*time.Millisecond)
			for _, r := range res {
				if r.Valid != checker.Invalid {
					t.Errorf("%s: %s, want invalid; notes %q", r.Checker, r.Valid, r.Notes)
				} else {
					t.Logf("%s found: %s", r.Checker, r.Anomalies[0])
				}
			}
		})
	}
}

// TestTimeoutIsInfo: a server that stops answering makes writes Info,
// never Fail, and the client moves to a new process.
func TestTimeoutIsInfo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts, reads, never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	cfg := workload.Config{Nodes: []string{"n1"}, Addr: func(string) string { return ln.Addr().String() }, OpTimeout: 100 * time.Millisecond}
	rec := history.NewRecorder(time.Now())
	cl := workload.NewClient(&cfg, rec, "n1")
	defer cl.Close()
	for range 2 {
		cl.Write(t.Context(), history.FWrite, "k", "v", func(ctx context.Context, rdb *redis.Client) error {
			return rdb.Set(ctx, "k", "v", 0).Err()
		})
	}
	h := rec.History()
	if h[0].Type != history.Info || h[1].Type != history.Info {
		t.Fatalf("timed-out writes: %v / %v, want info", h[0], h[1])
	}
	if h[0].Process == h[1].Process {
		t.Errorf("process %d reused after an indeterminate op", h[0].Process)
	}
	if !errors.Is(context.DeadlineExceeded, context.DeadlineExceeded) || h[0].Error == "" {
		t.Errorf("error text not recorded: %v", h[0])
	}
}
