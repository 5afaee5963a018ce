package checker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Convergence is the outcome of [WaitConverged].
type Convergence struct {
	Result
	// Converged reports whether every node showed the same digest.
	Converged bool `json:"converged"`
	// Elapsed is how long it took (or how long was waited, if never).
	Elapsed time.Duration `json:"elapsed"`
	// Digests is each node's last digest ("error: ..." if it failed).
	Digests map[string]string `json:"digests"`
}

// WaitConverged polls digest on every node until all return the same
// value without error, or timeout passes. It is the convergence checker:
// run it after healing every fault and stopping the clients, and report
// Elapsed as the convergence time. The verdict is Invalid if the nodes did
// not agree within timeout.
func WaitConverged(ctx context.Context, nodes []string, digest func(ctx context.Context, node string) (string, error), timeout, poll time.Duration) Convergence {
	c := Convergence{Result: Result{Checker: "convergence"}, Digests: make(map[string]string)}
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		agreed := true
		first := ""
		for i, n := range nodes {
			cctx, cancel := context.WithTimeout(ctx, max(poll, time.Second))
			d, err := digest(cctx, n)
			cancel()
			if err != nil {
				d = "error: " + err.Error()
				agreed = false
			}
			c.Digests[n] = d
			if i == 0 {
				first = d
			} else if d != first {
				agreed = false
			}
		}
		c.Elapsed = time.Since(start)
		if agreed {
			c.Converged = true
			c.Notes = append(c.Notes, fmt.Sprintf("%d nodes converged in %.1fs", len(nodes), c.Elapsed.Seconds()))
			c.finish()
			return c
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
	names := append([]string(nil), nodes...)
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, n+"="+short(c.Digests[n]))
	}
	c.Anomalies = append(c.Anomalies, fmt.Sprintf("nodes did not converge within %s: %s", timeout, strings.Join(parts, " ")))
	c.finish()
	return c
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
