package netns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
)

// NetemSupported reports whether this kernel can run tc netem, by adding
// a netem qdisc to the loopback of a throw-away namespace (so nothing in
// the root namespace changes). When it cannot, the error says why: not
// root, no namespaces, or the kernel's answer ("qdisc kind is unknown"
// where sch_netem is missing). The harness then shapes WAN links with
// the user-space proxy of package wan.
func NetemSupported(ctx context.Context) (bool, error) {
	if os.Geteuid() != 0 {
		return false, fmt.Errorf("netns: netem probe needs root")
	}
	probe := fmt.Sprintf("mjnetem%d", os.Getpid())
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return false, fmt.Errorf("netns: netem probe: ip netns add: %v: %s", err, bytes.TrimSpace(out))
	}
	defer exec.Command("ip", "netns", "del", probe).Run()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", probe,
		"tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("qdisc kind is unknown")) {
			return false, fmt.Errorf("%w (%s)", ErrNetemUnsupported, bytes.TrimSpace(out))
		}
		return false, fmt.Errorf("netns: netem probe: tc qdisc add: %v: %s", err, bytes.TrimSpace(out))
	}
	return true, nil
}
