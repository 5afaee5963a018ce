package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// DropRandom makes node drop, at random with probability p, every
// packet it receives from a node of from (iptables `-m statistic --mode
// random` in chain MJ-WAN, on INPUT): real packet loss on the way in,
// which the sender's TCP must detect and retransmit, as on a lossy WAN.
// A counting rule before each drop counts the packets that arrive
// ([Network.DropCounters]). Rules add up until [Network.ClearDropRandom];
// [Network.Heal] leaves them alone (they are a condition of the network,
// not a partition).
func (n *Network) DropRandom(ctx context.Context, node string, from []string, p float64) error {
	if p < 0 || p > 1 {
		return fmt.Errorf("netns: drop probability %v not in [0, 1]", p)
	}
	var errs []error
	for _, src := range from {
		if src == node {
			continue
		}
		errs = append(errs,
			n.inNS(ctx, node, "iptables", "-w", "-A", "MJ-WAN", "-s", n.Addr(src)),
			n.inNS(ctx, node, "iptables", "-w", "-A", "MJ-WAN", "-s", n.Addr(src),
				"-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(p, 'f', 4, 64), "-j", "DROP"))
	}
	return errors.Join(errs...)
}

// ClearDropRandom removes node's [Network.DropRandom] rules.
func (n *Network) ClearDropRandom(ctx context.Context, node string) error {
	return n.inNS(ctx, node, "iptables", "-w", "-F", "MJ-WAN")
}

// DropCount is what node's [Network.DropRandom] rules have seen.
type DropCount struct {
	// Packets arrived from the sources named; Dropped of them were
	// dropped.
	Packets, Dropped uint64
}

// DropCounters returns the counters of node's [Network.DropRandom] rules.
func (n *Network) DropCounters(ctx context.Context, node string) (DropCount, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", n.Namespace(node), "iptables", "-w", "-S", "MJ-WAN", "-v").CombinedOutput()
	if err != nil {
		return DropCount{}, fmt.Errorf("netns: iptables -S MJ-WAN -v in %s: %v: %s", n.Namespace(node), err, bytes.TrimSpace(out))
	}
	return parseDropCounters(string(out))
}

// parseDropCounters reads `iptables -S MJ-WAN -v`: "-A MJ-WAN -s ADDR
// -c PKTS BYTES" (counting rules) and "... -c PKTS BYTES -j DROP".
func parseDropCounters(text string) (DropCount, error) {
	var c DropCount
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" {
			continue
		}
		var pkts uint64
		found, drop := false, false
		for i := 0; i < len(f); i++ {
			switch {
			case f[i] == "-c" && i+1 < len(f):
				v, err := strconv.ParseUint(f[i+1], 10, 64)
				if err != nil {
					return c, fmt.Errorf("netns: counter in %q: %w", line, err)
				}
				pkts, found = v, true
			case f[i] == "-j" && i+1 < len(f) && f[i+1] == "DROP":
				drop = true
			}
		}
		if !found {
			return c, fmt.Errorf("netns: no counters in %q (iptables -S -v)", line)
		}
		if drop {
			c.Dropped += pkts
		} else {
			c.Packets += pkts
		}
	}
	return c, nil
}

// NetemCounters returns the counters of node's netem qdisc (see
// [Network.Netem]): the packets it passed or dropped, and those dropped.
func (n *Network) NetemCounters(ctx context.Context, node string) (DropCount, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", n.Namespace(node), "tc", "-s", "qdisc", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		return DropCount{}, fmt.Errorf("netns: tc -s qdisc show in %s: %v: %s", n.Namespace(node), err, bytes.TrimSpace(out))
	}
	return parseNetemCounters(string(out))
}

// parseNetemCounters reads `tc -s qdisc show`: after a "qdisc netem"
// line, " Sent BYTES bytes PKTS pkt (dropped DROPPED, overlimits ...)".
func parseNetemCounters(text string) (DropCount, error) {
	var c DropCount
	lines := strings.Split(text, "\n")
	found := false
	for i, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), "qdisc netem ") {
			continue
		}
		for _, next := range lines[i+1:] {
			if strings.HasPrefix(next, "qdisc ") {
				break // the next qdisc: this one printed no counters
			}
			f := strings.Fields(strings.NewReplacer("(", " ", ")", " ", ",", " ").Replace(next))
			if len(f) < 7 || f[0] != "Sent" || f[4] != "pkt" || f[5] != "dropped" {
				continue
			}
			sent, err1 := strconv.ParseUint(f[3], 10, 64)
			dropped, err2 := strconv.ParseUint(f[6], 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return c, fmt.Errorf("netns: netem counters in %q: %w", next, err)
			}
			c.Packets += sent + dropped
			c.Dropped += dropped
			found = true
			break
		}
	}
	if !found {
		return c, errors.New("netns: no netem qdisc with counters in tc -s qdisc show")
	}
	return c, nil
}
