package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Build compiles the meridian binary from the module at repo into dir
// with -tags faultinject (so the clock-skew nemesis works) and returns its
// path.
func Build(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "meridian")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "faultinject", "-o", bin, ".")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cluster: go build: %v\n%s", err, out)
	}
	return bin, nil
}

var raftFlag = regexp.MustCompile(`(?m)^\s*--?raft\b`)

// SupportsRegions reports whether bin's `server --help` offers --raft,
// the sign that the region CLI the harness drives exists. The returned
// text says what is missing when it does not.
func SupportsRegions(ctx context.Context, bin string) (bool, string) {
	out, _ := exec.CommandContext(ctx, bin, "server", "--help").CombinedOutput()
	if raftFlag.Match(out) {
		return true, ""
	}
	return false, "`meridian server --help` has no --raft flag: the region CLI (server --raft/--http, region bootstrap, status --json) is not there yet"
}

// Bootstrap forms the region: `meridian region bootstrap --nodes URL,...`
// with every node's HTTP endpoint, run from the test's namespace.
func (c *Cluster) Bootstrap(ctx context.Context) error {
	urls := make([]string, len(c.cfg.Nodes))
	for i, n := range c.cfg.Nodes {
		urls[i] = c.HTTPURL(n)
	}
	out, err := exec.CommandContext(ctx, c.cfg.Binary, "region", "bootstrap", "--nodes", strings.Join(urls, ",")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster: region bootstrap: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Status is a node's view of its region: the "node" object of
// `meridian status --json` (a flat document is accepted too). Raw keeps
// the whole document.
type Status struct {
	NodeID       string         `json:"node_id"`
	Role         string         `json:"role"`
	Leader       string         `json:"leader"`
	Term         uint64         `json:"term"`
	CommitIndex  uint64         `json:"commit_index"`
	AppliedIndex uint64         `json:"applied_index"`
	Ready        *bool          `json:"ready"`
	Raw          map[string]any `json:"-"`
}

// Status runs `meridian status --http URL --json` against node.
func (c *Cluster) Status(ctx context.Context, node string) (Status, error) {
	out, err := exec.CommandContext(ctx, c.cfg.Binary, "status", "--http", c.HTTPURL(node), "--json").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return Status{}, fmt.Errorf("cluster: status %s: %w", node, err)
	}
	var doc struct {
		Node *Status `json:"node"`
	}
	var st Status
	if err := json.Unmarshal(out, &doc); err != nil {
		return Status{}, fmt.Errorf("cluster: status %s: %w: %s", node, err, bytes.TrimSpace(out))
	}
	if doc.Node != nil {
		st = *doc.Node
	} else if err := json.Unmarshal(out, &st); err != nil {
		return Status{}, fmt.Errorf("cluster: status %s: %w", node, err)
	}
	json.Unmarshal(out, &st.Raw)
	st.Role = strings.ToLower(st.Role)
	return st, nil
}

// Leader asks every running node for its status and returns the node
// that claims leadership in the highest term and is ready to serve (when
// the status says). Nodes that do not answer are skipped.
func (c *Cluster) Leader(ctx context.Context) (string, Status, error) {
	best, bestSt := "", Status{}
	var errs []error
	for _, n := range c.all() {
		if c.State(n) != Running {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := c.Status(sctx, n)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ready := st.Ready == nil || *st.Ready
		if st.Role == "leader" && ready && (best == "" || st.Term > bestSt.Term) {
			best, bestSt = n, st
		}
	}
	if best == "" {
		return "", Status{}, fmt.Errorf("cluster: no leader: %w", errors.Join(errs...))
	}
	return best, bestSt, nil
}

// WaitLeader polls [Cluster.Leader] until a leader is found or ctx ends.
func (c *Cluster) WaitLeader(ctx context.Context) (string, error) {
	for {
		n, _, err := c.Leader(ctx)
		if err == nil {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w (%v)", err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WaitRESP waits until node accepts TCP connections on its RESP port, or
// its process exits, or ctx ends.
func (c *Cluster) WaitRESP(ctx context.Context, node string) error {
	for {
		conn, err := net.DialTimeout("tcp", c.RESPAddr(node), 500*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if c.State(node) == Stopped {
			return fmt.Errorf("cluster: %s exited before serving; log tail:\n%s", node, c.Tail(node, 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s not serving on %s: %w; log tail:\n%s", node, c.RESPAddr(node), ctx.Err(), c.Tail(node, 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ClockOffset reads node's current clock offset file.
func (c *Cluster) ClockOffset(node string) (time.Duration, error) {
	b, err := os.ReadFile(c.ClockFile(node))
	if err != nil {
		return 0, err
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(ms) * time.Millisecond, err
}

// WaitMember waits until node serves RESP and its status names a leader
// (a region member back in its region), or ctx ends. A rolling restart
// waits for it before moving to the next node.
func (c *Cluster) WaitMember(ctx context.Context, node string) error {
	if err := c.WaitRESP(ctx, node); err != nil {
		return err
	}
	for {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := c.Status(sctx, node)
		cancel()
		if err == nil && st.Leader != "" && (st.Ready == nil || *st.Ready || st.Role != "leader") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s has not rejoined its region: %w (last status %+v, %v)", node, ctx.Err(), st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
