package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// removedExit bounds how long a node removed from its region may take to
// end its process by itself before [Cluster.Leave] stops it.
const removedExit = 15 * time.Second

// Leave removes node from the region for good with `meridian region
// leave --http <via> --node-id <node>`. A removed node ends its own
// process (that exit is not a crash); if it has not within 15 s, Leave
// stops it and says so in its error. Either way node is stopped when
// Leave returns, and its id must never be started again.
func (c *Cluster) Leave(ctx context.Context, via, node string) error {
	p, _ := c.current(node, true) // nil if it is not running: leave it out anyway
	out, err := exec.CommandContext(ctx, c.cfg.Binary, "region", "leave", "--http", c.HTTPURL(via), "--node-id", node).CombinedOutput()
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("cluster: region leave %s via %s: %v: %s", node, via, err, bytes.TrimSpace(out)))
	}
	if p != nil {
		t := time.NewTimer(removedExit)
		defer t.Stop()
		select {
		case <-p.exited:
		case <-t.C:
			if err == nil {
				errs = append(errs, fmt.Errorf("cluster: %s was removed but still ran %s later; stopped by the harness", node, removedExit))
			}
			if serr := c.Stop(ctx, node); serr != nil {
				errs = append(errs, serr)
			}
		case <-ctx.Done():
			c.Kill(node)
			errs = append(errs, ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// Join starts node — a spare that never ran, so it has no state — and
// adds it to the region with `meridian region join --http <via> --node
// <node> --wait 1m`, which returns once the leader has promoted it to
// voter (or after a minute, still catching up).
func (c *Cluster) Join(ctx context.Context, via, node string) error {
	if _, err := os.Stat(c.DataDir(node)); err == nil {
		return fmt.Errorf("cluster: join %s: it has a data dir already; node ids are never reused", node)
	}
	if err := c.Start(ctx, node); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := c.WaitRESP(rctx, node)
	cancel()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, c.cfg.Binary, "region", "join", "--http", c.HTTPURL(via),
		"--node", c.HTTPURL(node), "--wait", "1m").CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster: region join %s via %s: %v: %s", node, via, err, bytes.TrimSpace(out))
	}
	return nil
}

// DiskStallFile returns node's disk-stall file: while it exists, a
// `-tags faultinject` build blocks its Raft log writes.
func (c *Cluster) DiskStallFile(node string) string {
	return filepath.Join(c.cfg.DataDir, node+".disk-stall")
}

// SetDiskStall creates (on) or removes (off) node's disk-stall file.
func (c *Cluster) SetDiskStall(node string, on bool) error {
	if !on {
		if err := os.Remove(c.DiskStallFile(node)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cluster: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(c.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := os.WriteFile(c.DiskStallFile(node), nil, 0o644); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// diskStallEnv is the variable the faultinject disk hook reads; a
// binary that contains it has the hook linked in.
const diskStallEnv = "MERIDIAN_FAULT_DISK_STALL_FILE"

// SupportsDiskStall reports whether bin has the faultinject disk-stall
// hook linked in (ops.faultWrapLogStore, wired into the node's
// regional.Config): the linker drops the hook, and with it the name of
// its environment variable, unless something calls it. The text says
// what is missing when it does not.
func SupportsDiskStall(bin string) (bool, string) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return false, err.Error()
	}
	if bytes.Contains(b, []byte(diskStallEnv)) {
		return true, ""
	}
	return false, bin + " has no disk-stall hook: build it with -tags faultinject, with ops wiring faultWrapLogStore into regional.Config.WrapLogStore"
}
