// Package netns builds a private network of Linux network namespaces for
// Jepsen-style tests, and breaks it on demand: partitions (iptables DROP
// inside the namespaces), one-way partitions, isolation, and WAN delay or
// loss (tc netem, or iptables random drop where the kernel has no netem).
//
// Layout: one namespace per node (<prefix>-<node>, interface eth0 with the
// node's address), all attached by veth pairs to a bridge inside a "hub"
// namespace (<prefix>-hub). The test process reaches every node from the
// root namespace through one more veth pair (<prefix>-ctl, the control
// address .1). Faults apply between nodes only; the control address always
// reaches every node, as Jepsen's control node does. Nothing is installed
// in the root namespace but that one veth end and its /24 route, and no
// packet leaves the machine.
//
// Usage (root only):
//
//	if err := netns.Check(ctx); err != nil { t.Skip(err) } // or fail in CI
//	netns.Cleanup(ctx, "mjep")                             // leftovers of a crashed run
//	nw, err := netns.Create(ctx, netns.Config{Prefix: "mjep", Subnet: "10.77.0",
//		Nodes: netns.DefaultNodes("10.77.0", "n1", "n2", "n3")})
//	defer nw.Close()
//	cmd := nw.Command("n1", "meridian", "server", "--bind", nw.Addr("n1"), ...)
//	nw.Partition(ctx, []string{"n1"}, []string{"n2", "n3"})
//	nw.Heal(ctx)
//	nw.Netem(ctx, "n1", []string{"n2"}, netns.Netem{Delay: 50 * time.Millisecond, Loss: 0.05})
//	nw.DropRandom(ctx, "n2", []string{"n1"}, 0.02)         // 2% of what n2 receives from n1
//	c, err := nw.DropCounters(ctx, "n2")                   // packets seen, dropped
//	ln, err := nw.Listen("n2", "127.0.0.1:9000")           // a socket inside n2's namespace
//	conn, err := nw.DialContext(ctx, "n1", "10.77.0.12:7000") // a connection from n1
//
// The harness's own sockets can live inside a namespace: [Network.Listen]
// and [Network.DialContext] create them on a thread moved there (setns),
// so their packets cross the node's rules as the node's own do (the WAN
// proxies of package wan work this way).
//
// HAZARD: the names and the subnet are global to the machine. Two runs at
// once must use different prefixes and subnets; a run must call [Cleanup]
// with its prefix before [Create] (a crashed run leaves its namespaces).
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNetemUnsupported is returned by [Network.Netem] when the kernel has
// no sch_netem and the fault asked for delay (loss alone falls back to
// iptables random drop).
var ErrNetemUnsupported = errors.New("netns: tc netem is not supported by this kernel")

// Node is one namespace of the network.
type Node struct {
	// Name is short (at most 8 characters): it is part of interface and
	// namespace names.
	Name string
	// Addr is the node's IPv4 address inside the subnet.
	Addr string
}

// DefaultNodes gives names[i] the address subnet.(11+i), as in the
// region examples (n1 = 10.77.0.11).
func DefaultNodes(subnet string, names ...string) []Node {
	out := make([]Node, len(names))
	for i, n := range names {
		out[i] = Node{Name: n, Addr: fmt.Sprintf("%s.%d", subnet, 11+i)}
	}
	return out
}

// Config describes a network.
type Config struct {
	// Prefix starts every namespace and root interface name; at most 5
	// characters. Empty means "mjep".
	Prefix string
	// Subnet is the first three octets of the private /24 the network
	// uses, such as "10.77.0". The control address is Subnet.1. Empty
	// means "10.77.0".
	Subnet string
	// Nodes lists the namespaces to create.
	Nodes []Node
	// Logger receives every command run, at debug level, and failures.
	// Nil means discard.
	Logger *slog.Logger
}

// Network is a set of namespaces built by [Create]. Its fault methods are
// safe for concurrent use.
type Network struct {
	cfg   Config
	log   *slog.Logger
	addrs map[string]string

	mu struct {
		sync.Mutex
		netem  map[string]bool // nodes with a tc qdisc installed
		closed bool
	}
}

// Check reports why this process cannot build networks: not root, or no
// ip/iptables/tc binaries after trying to install them with apt-get, or
// network namespaces not permitted. It creates and deletes a probe
// namespace.
func Check(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("netns: needs root (network namespaces, veth, iptables)")
	}
	if err := ensureTools(ctx); err != nil {
		return err
	}
	probe := fmt.Sprintf("mjprobe%d", os.Getpid())
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return fmt.Errorf("netns: cannot create a network namespace: %v: %s", err, bytes.TrimSpace(out))
	}
	defer exec.Command("ip", "netns", "del", probe).Run()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", probe, "iptables", "-w", "-S").CombinedOutput(); err != nil {
		return fmt.Errorf("netns: iptables does not work inside a namespace: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// ensureTools installs iproute2 and iptables with apt-get if ip, tc or
// iptables is missing.
func ensureTools(ctx context.Context) error {
	missing := false
	for _, b := range []string{"ip", "tc", "iptables"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return errors.New("netns: ip, tc or iptables missing and no apt-get to install iproute2 and iptables")
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "iproute2", "iptables"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("netns: apt-get %s: %v: %s", args[0], err, lastLines(out, 5))
		}
	}
	for _, b := range []string{"ip", "tc", "iptables"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("netns: %s still missing after apt-get install iproute2 iptables", b)
		}
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Cleanup deletes every namespace named <prefix>-* (after killing the
// processes left in it: only this harness creates such names) and the root
// interface <prefix>-ctl. It is safe to call when nothing is left.
func Cleanup(ctx context.Context, prefix string) error {
	if prefix == "" {
		prefix = "mjep"
	}
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("netns: ip netns list: %w", err)
	}
	var errs []error
	for line := range strings.SplitSeq(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], prefix+"-") {
			continue
		}
		ns := fields[0]
		killNamespace(ctx, ns)
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", ns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("netns: ip netns del %s: %v: %s", ns, err, bytes.TrimSpace(out)))
		}
	}
	ctl := prefix + "-ctl"
	if exec.CommandContext(ctx, "ip", "link", "show", ctl).Run() == nil {
		// The kernel may remove it meanwhile (its veth peer went with a
		// namespace): a link that is gone by now is what we want.
		if out, err := exec.CommandContext(ctx, "ip", "link", "del", ctl).CombinedOutput(); err != nil && !bytes.Contains(out, []byte("Cannot find device")) {
			errs = append(errs, fmt.Errorf("netns: ip link del %s: %v: %s", ctl, err, bytes.TrimSpace(out)))
		}
	}
	return errors.Join(errs...)
}

// killNamespace SIGKILLs the processes running in namespace ns and waits
// briefly for them to go.
func killNamespace(ctx context.Context, ns string) {
	for range 50 {
		out, _ := exec.CommandContext(ctx, "ip", "netns", "pids", ns).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
				if proc, err := os.FindProcess(pid); err == nil {
					proc.Kill()
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Create builds the network described by cfg. On error it removes what it
// built. The caller must Close the network.
func Create(ctx context.Context, cfg Config) (*Network, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "mjep"
	}
	if cfg.Subnet == "" {
		cfg.Subnet = "10.77.0"
	}
	if len(cfg.Prefix) > 5 {
		return nil, fmt.Errorf("netns: prefix %q longer than 5 characters", cfg.Prefix)
	}
	n := &Network{cfg: cfg, log: cfg.Logger, addrs: make(map[string]string)}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.mu.netem = make(map[string]bool)
	for _, nd := range cfg.Nodes {
		if nd.Name == "" || len(nd.Name) > 8 || nd.Name == "hub" || nd.Name == "ctl" {
			return nil, fmt.Errorf("netns: bad node name %q (1-8 characters, not hub or ctl)", nd.Name)
		}
		if _, dup := n.addrs[nd.Name]; dup {
			return nil, fmt.Errorf("netns: node %q listed twice", nd.Name)
		}
		n.addrs[nd.Name] = nd.Addr
	}
	if out, err := exec.CommandContext(ctx, "ip", "-4", "addr", "show").Output(); err == nil &&
		strings.Contains(string(out), " "+cfg.Subnet+".") {
		return nil, fmt.Errorf("netns: subnet %s.0/24 is already in use in the root namespace (leftover? run Cleanup)", cfg.Subnet)
	}
	if err := n.build(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Network) build(ctx context.Context) error {
	hub, ctl := n.hub(), n.cfg.Prefix+"-ctl"
	steps := [][]string{
		{"ip", "netns", "add", hub},
		{"ip", "netns", "exec", hub, "ip", "link", "set", "lo", "up"},
		{"ip", "netns", "exec", hub, "ip", "link", "add", "br0", "type", "bridge"},
		{"ip", "netns", "exec", hub, "ip", "link", "set", "br0", "up"},
		{"ip", "link", "add", ctl, "type", "veth", "peer", "name", "ctl", "netns", hub},
		{"ip", "addr", "add", n.cfg.Subnet + ".1/24", "dev", ctl},
		{"ip", "link", "set", ctl, "up"},
		{"ip", "netns", "exec", hub, "ip", "link", "set", "ctl", "master", "br0"},
		{"ip", "netns", "exec", hub, "ip", "link", "set", "ctl", "up"},
	}
	for _, nd := range n.cfg.Nodes {
		ns, port := n.Namespace(nd.Name), "v-"+nd.Name
		steps = append(steps,
			[]string{"ip", "netns", "add", ns},
			[]string{"ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"},
			[]string{"ip", "netns", "exec", hub, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"ip", "netns", "exec", hub, "ip", "link", "set", port, "master", "br0"},
			[]string{"ip", "netns", "exec", hub, "ip", "link", "set", port, "up"},
			[]string{"ip", "netns", "exec", ns, "ip", "addr", "add", nd.Addr + "/24", "dev", "eth0"},
			[]string{"ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up"},
			// Fault chains: partitions in MJ-PART, random loss in MJ-LOSS
			// (sent) and MJ-WAN (received, see DropRandom).
			[]string{"ip", "netns", "exec", ns, "iptables", "-w", "-N", "MJ-PART"},
			[]string{"ip", "netns", "exec", ns, "iptables", "-w", "-N", "MJ-LOSS"},
			[]string{"ip", "netns", "exec", ns, "iptables", "-w", "-N", "MJ-WAN"},
			[]string{"ip", "netns", "exec", ns, "iptables", "-w", "-A", "INPUT", "-j", "MJ-PART"},
			[]string{"ip", "netns", "exec", ns, "iptables", "-w", "-A", "INPUT", "-j", "MJ-WAN"},
			[]string{"ip", "netns", "exec", ns, "iptables", "-w", "-A", "OUTPUT", "-j", "MJ-LOSS"},
		)
	}
	for _, s := range steps {
		if err := n.run(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// run runs one command, logging it; its error includes the output.
func (n *Network) run(ctx context.Context, args ...string) error {
	n.log.Debug("netns", "cmd", strings.Join(args, " "))
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("netns: %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		n.log.Warn("netns command failed", "err", err)
	}
	return err
}

// inNS runs a command inside node's namespace.
func (n *Network) inNS(ctx context.Context, node string, args ...string) error {
	return n.run(ctx, append([]string{"ip", "netns", "exec", n.Namespace(node)}, args...)...)
}

func (n *Network) hub() string { return n.cfg.Prefix + "-hub" }

// Namespace returns the name of node's namespace.
func (n *Network) Namespace(node string) string { return n.cfg.Prefix + "-" + node }

// Addr returns node's address.
func (n *Network) Addr(node string) string { return n.addrs[node] }

// ControlAddr returns the root namespace's address on the network.
func (n *Network) ControlAddr() string { return n.cfg.Subnet + ".1" }

// Nodes returns the node names, in configuration order.
func (n *Network) Nodes() []string {
	out := make([]string, len(n.cfg.Nodes))
	for i, nd := range n.cfg.Nodes {
		out[i] = nd.Name
	}
	return out
}

// Command returns a command that runs name inside node's namespace (with
// `ip netns exec`, which execs it: the process's pid is the command's).
func (n *Network) Command(node, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Namespace(node), name}, args...)...)
}

// Partition cuts every link between a node of a and a node of b, both
// ways. Partitions add up until [Network.Heal].
func (n *Network) Partition(ctx context.Context, a, b []string) error {
	return errors.Join(n.PartitionOneWay(ctx, a, b), n.PartitionOneWay(ctx, b, a))
}

// PartitionOneWay drops every packet sent by a node of from to a node of
// to (TCP connections between them then stall both ways, but the nodes of
// to still send).
func (n *Network) PartitionOneWay(ctx context.Context, from, to []string) error {
	var errs []error
	for _, dst := range to {
		for _, src := range from {
			if src == dst {
				continue
			}
			errs = append(errs, n.inNS(ctx, dst, "iptables", "-w", "-A", "MJ-PART", "-s", n.Addr(src), "-j", "DROP"))
		}
	}
	return errors.Join(errs...)
}

// Isolate cuts node from every other node, both ways.
func (n *Network) Isolate(ctx context.Context, node string) error {
	others := slices.DeleteFunc(n.Nodes(), func(s string) bool { return s == node })
	return n.Partition(ctx, []string{node}, others)
}

// Heal removes every partition.
func (n *Network) Heal(ctx context.Context) error {
	var errs []error
	for _, nd := range n.Nodes() {
		errs = append(errs, n.inNS(ctx, nd, "iptables", "-w", "-F", "MJ-PART"))
	}
	return errors.Join(errs...)
}

// Netem is a WAN link's behaviour.
type Netem struct {
	// Delay is added to every packet; Jitter varies it by up to ±Jitter.
	Delay, Jitter time.Duration
	// Loss is the probability in [0, 1] that a packet is dropped.
	Loss float64
}

func (e Netem) String() string {
	return fmt.Sprintf("delay=%s jitter=%s loss=%.1f%%", e.Delay, e.Jitter, 100*e.Loss)
}

// Netem applies e to packets node sends to the nodes of to (tc netem on
// its eth0, with one htb class and u32 filters so other traffic, such as
// clients', is untouched). If the kernel lacks netem and e asks only for
// loss, it drops packets at random with iptables instead; if it asks for
// delay, it returns [ErrNetemUnsupported]. A second call for the same
// node replaces the first.
func (n *Network) Netem(ctx context.Context, node string, to []string, e Netem) error {
	if err := n.ClearNetem(ctx, node); err != nil {
		return err
	}
	err := n.tcNetem(ctx, node, to, e)
	if err == nil {
		return nil
	}
	n.ClearNetem(ctx, node)
	if !errors.Is(err, ErrNetemUnsupported) || e.Delay > 0 || e.Jitter > 0 {
		return err
	}
	var errs []error
	for _, dst := range to {
		errs = append(errs, n.inNS(ctx, node, "iptables", "-w", "-A", "MJ-LOSS", "-d", n.Addr(dst),
			"-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(e.Loss, 'f', 4, 64), "-j", "DROP"))
	}
	return errors.Join(errs...)
}

func (n *Network) tcNetem(ctx context.Context, node string, to []string, e Netem) error {
	n.mu.Lock()
	n.mu.netem[node] = true
	n.mu.Unlock()
	tc := []string{"tc"}
	steps := [][]string{
		append(tc, "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "1"),
		append(tc, "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit"),
		append(tc, "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:2", "htb", "rate", "10gbit"),
	}
	netem := append(tc, "qdisc", "add", "dev", "eth0", "parent", "1:2", "handle", "20:", "netem")
	if e.Delay > 0 || e.Jitter > 0 {
		netem = append(netem, "delay", ms(e.Delay))
		if e.Jitter > 0 {
			netem = append(netem, ms(e.Jitter))
		}
	}
	if e.Loss > 0 {
		netem = append(netem, "loss", strconv.FormatFloat(100*e.Loss, 'f', 2, 64)+"%")
	}
	steps = append(steps, netem)
	for _, dst := range to {
		steps = append(steps, append(tc, "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1",
			"u32", "match", "ip", "dst", n.Addr(dst)+"/32", "flowid", "1:2"))
	}
	for _, s := range steps {
		args := append([]string{"ip", "netns", "exec", n.Namespace(node)}, s...)
		n.log.Debug("netns", "cmd", strings.Join(args, " "))
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			if bytes.Contains(out, []byte("qdisc kind is unknown")) {
				return fmt.Errorf("%w (%s)", ErrNetemUnsupported, bytes.TrimSpace(out))
			}
			return fmt.Errorf("netns: %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + "ms" }

// ClearNetem removes node's delay and loss.
func (n *Network) ClearNetem(ctx context.Context, node string) error {
	n.mu.Lock()
	had := n.mu.netem[node]
	delete(n.mu.netem, node)
	n.mu.Unlock()
	if had {
		// Fails harmlessly if the qdisc was never fully added.
		exec.CommandContext(ctx, "ip", "netns", "exec", n.Namespace(node), "tc", "qdisc", "del", "dev", "eth0", "root").Run()
	}
	return n.inNS(ctx, node, "iptables", "-w", "-F", "MJ-LOSS")
}

// Rules returns each node's fault rules (iptables chains and tc qdiscs,
// MJ-WAN and the qdiscs with their counters), for reports and debugging.
func (n *Network) Rules(ctx context.Context) string {
	var b strings.Builder
	for _, nd := range n.Nodes() {
		fmt.Fprintf(&b, "== %s (%s)\n", nd, n.Addr(nd))
		for _, args := range [][]string{{"iptables", "-w", "-S", "MJ-PART"}, {"iptables", "-w", "-S", "MJ-LOSS"},
			{"iptables", "-w", "-S", "MJ-WAN", "-v"}, {"tc", "-s", "qdisc", "show", "dev", "eth0"}} {
			out, _ := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Namespace(nd)}, args...)...).CombinedOutput()
			b.Write(out)
		}
	}
	return b.String()
}

// Close kills any process still running in the namespaces and deletes
// them, the bridge and the control interface. It is idempotent.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.mu.closed {
		n.mu.Unlock()
		return nil
	}
	n.mu.closed = true
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Cleanup(ctx, n.cfg.Prefix)
}
