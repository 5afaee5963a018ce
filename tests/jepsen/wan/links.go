package wan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/netns"
)

// Conditions are a WAN's, the same in each direction.
type Conditions struct {
	// Delay is the one-way delay and Jitter its spread: each packet
	// (netem) or chunk of data (proxy) takes Delay ± Jitter, uniformly
	// (never less than zero).
	Delay, Jitter time.Duration
	// Loss is the probability in [0, 1] that a packet is dropped.
	Loss float64
}

// IsZero reports whether c changes nothing.
func (c Conditions) IsZero() bool { return c.Delay == 0 && c.Jitter == 0 && c.Loss == 0 }

func (c Conditions) String() string {
	if c.IsZero() {
		return "none"
	}
	return fmt.Sprintf("one-way delay %s ± %s, loss %.1f%%, each way", c.Delay, c.Jitter, 100*c.Loss)
}

// shape is the proxy's equivalent of c's delay: uniform in
// [Delay-Jitter, Delay+Jitter), as netem's.
func (c Conditions) shape() Shape {
	lo := max(c.Delay-c.Jitter, 0)
	return Shape{Delay: lo, Jitter: c.Delay + c.Jitter - lo}
}

// LinksConfig describes the WAN between two regions of one network.
type LinksConfig struct {
	Network *netns.Network
	// Regions are the two regions' nodes. Conditions apply between a
	// node of one and a node of the other, never inside a region, and
	// never to the control address (clients, the harness).
	Regions [2][]string
	// Port is the link port every node listens on (its --link port).
	Port int
	// Conditions; zero means none: Links then gives the direct addresses.
	Conditions Conditions
	// Method forces a method; empty means [Choose].
	Method Method
	// ProxyPort is the first loopback port of the proxies; zero means
	// 18000. The proxy to the i-th node (region 0's first) listens on
	// ProxyPort+i in every namespace of the other region.
	ProxyPort int
}

// Links is the WAN between two regions, set up by [SetupLinks].
//
// With [Netem], every node's eth0 delays and drops the packets it sends
// to the other region's nodes (tc netem behind a u32 filter), and the
// regions dial each other's link addresses directly.
//
// With [ProxyMethod] (kernels without sch_netem), every node's
// namespace runs one proxy per node of the other region, listening on
// the namespace's own loopback (127.0.0.1:ProxyPort+i) and dialing that
// node's link port from inside the namespace. The regions are linked
// with these loopback addresses ([Links.Addr]): a link connection goes
// node -> its own loopback -> proxy (delay each way) -> the peer's
// address, so its packets leave from the node's address and cross the
// same iptables rules as the node's own traffic — a link cut
// (netns.Network.Partition) still cuts it. Loss is real packet loss:
// each node drops packets arriving from the other region at random
// (netns.Network.DropRandom), and TCP retransmits them.
type Links struct {
	cfg     LinksConfig
	method  Method
	why     string
	addrs   map[string]string
	proxies []*Proxy
	applied []string // nodes with rules to clear
}

// SetupLinks puts cfg.Conditions between the two regions. On error it
// undoes what it did. Call [Links.Close] when done, before closing the
// network.
func SetupLinks(ctx context.Context, cfg LinksConfig) (*Links, error) {
	if cfg.ProxyPort == 0 {
		cfg.ProxyPort = 18000
	}
	l := &Links{cfg: cfg, addrs: make(map[string]string)}
	nw := cfg.Network
	all := append(append([]string(nil), cfg.Regions[0]...), cfg.Regions[1]...)
	for _, n := range all {
		l.addrs[n] = net.JoinHostPort(nw.Addr(n), strconv.Itoa(cfg.Port))
	}
	if cfg.Conditions.IsZero() {
		return l, nil
	}
	if cfg.Conditions.Loss < 0 || cfg.Conditions.Loss > 1 || cfg.Conditions.Delay < 0 || cfg.Conditions.Jitter < 0 {
		return nil, fmt.Errorf("wan: bad conditions %+v", cfg.Conditions)
	}
	l.method = cfg.Method
	if l.method == "" {
		var err error
		l.method, err = Choose(ctx)
		if err != nil {
			l.why = err.Error()
		}
	}
	var err error
	switch l.method {
	case Netem:
		err = l.setupNetem(ctx)
	case ProxyMethod:
		err = l.setupProxies(ctx, all)
	default:
		err = fmt.Errorf("wan: unknown method %q (netem, proxy)", l.method)
	}
	if err != nil {
		l.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return l, nil
}

func (l *Links) setupNetem(ctx context.Context) error {
	c := l.cfg.Conditions
	for r, nodes := range l.cfg.Regions {
		for _, n := range nodes {
			l.applied = append(l.applied, n)
			if err := l.cfg.Network.Netem(ctx, n, l.cfg.Regions[1-r], netns.Netem{Delay: c.Delay, Jitter: c.Jitter, Loss: c.Loss}); err != nil {
				return fmt.Errorf("wan: netem on %s: %w", n, err)
			}
		}
	}
	return nil
}

func (l *Links) setupProxies(ctx context.Context, all []string) error {
	nw, shape := l.cfg.Network, l.cfg.Conditions.shape()
	delay := shape != Shape{} // loss alone needs no proxy
	if delay {
		for i, n := range all {
			l.addrs[n] = net.JoinHostPort("127.0.0.1", strconv.Itoa(l.cfg.ProxyPort+i))
		}
	}
	for r, nodes := range l.cfg.Regions {
		for _, from := range nodes {
			dial := func(ctx context.Context, addr string) (net.Conn, error) { return nw.DialContext(ctx, from, addr) }
			for _, to := range l.cfg.Regions[1-r] {
				if !delay {
					continue
				}
				ln, err := nw.Listen(from, l.addrs[to])
				if err != nil {
					return fmt.Errorf("wan: proxy from %s to %s: %w", from, to, err)
				}
				target := net.JoinHostPort(nw.Addr(to), strconv.Itoa(l.cfg.Port))
				l.proxies = append(l.proxies, Serve(ln, target, dial, shape, shape))
			}
			if l.cfg.Conditions.Loss > 0 {
				l.applied = append(l.applied, from)
				if err := nw.DropRandom(ctx, from, l.cfg.Regions[1-r], l.cfg.Conditions.Loss); err != nil {
					return fmt.Errorf("wan: loss on %s: %w", from, err)
				}
			}
		}
	}
	return nil
}

// Addr returns the address the other region dials to reach node's link
// port: node's own with [Netem] or no conditions, a proxy's loopback
// address with [ProxyMethod].
func (l *Links) Addr(node string) string { return l.addrs[node] }

// Method returns the method in use; empty when there are no conditions.
func (l *Links) Method() Method { return l.method }

// Conditions returns the conditions in force.
func (l *Links) Conditions() Conditions { return l.cfg.Conditions }

// Describe says which conditions apply and how, in one line.
func (l *Links) Describe() string {
	c := l.cfg.Conditions
	switch l.method {
	case Netem:
		return fmt.Sprintf("%s between %v and %v: tc netem on every node's eth0 (delay, jitter and loss of packets to the other region)",
			c, l.cfg.Regions[0], l.cfg.Regions[1])
	case ProxyMethod:
		s := fmt.Sprintf("%s between %v and %v: ", c, l.cfg.Regions[0], l.cfg.Regions[1])
		if len(l.proxies) > 0 {
			s += fmt.Sprintf("delay by %d user-space proxies, one per node and peer, in each node's namespace on 127.0.0.1:%d+",
				len(l.proxies), l.cfg.ProxyPort)
		} else {
			s += "no delay, direct links"
		}
		s += " (no tc netem"
		if l.why != "" {
			s += ": " + l.why
		}
		s += ")"
		if c.Loss > 0 {
			s += "; loss by iptables random drop (MJ-WAN, statistic) of packets each node receives from the other region"
		}
		return s
	}
	return "none: the regions' links are direct"
}

// Stats is what the WAN has seen.
type Stats struct {
	// Packets counts the inter-region packets that met the loss rules
	// (iptables' counters with the proxy, netem's with netem) and
	// Dropped those dropped.
	Packets, Dropped uint64
	// Retransmits counts the TCP segments retransmitted in the nodes'
	// namespaces, over all their connections (links, Raft, clients).
	Retransmits int64
	// Proxy is what the proxies carried (ProxyMethod only).
	Proxy ProxyStats
}

func (s Stats) String() string {
	var b strings.Builder
	if s.Packets > 0 {
		fmt.Fprintf(&b, "%d of %d inter-region packets dropped (%.2f%%)", s.Dropped, s.Packets, 100*float64(s.Dropped)/float64(s.Packets))
	} else {
		fmt.Fprintf(&b, "%d inter-region packets seen", s.Packets)
	}
	fmt.Fprintf(&b, "; %d TCP segments retransmitted in the nodes' namespaces", s.Retransmits)
	if s.Proxy.Conns > 0 {
		fmt.Fprintf(&b, "; proxies: %d connections, %d bytes to the peers, %d back", s.Proxy.Conns, s.Proxy.BytesTo, s.Proxy.BytesFrom)
	}
	return b.String()
}

// Stats returns the counters so far.
func (l *Links) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	var errs []error
	nw := l.cfg.Network
	for _, nodes := range l.cfg.Regions {
		for _, n := range nodes {
			var c netns.DropCount
			var err error
			switch l.method {
			case ProxyMethod:
				c, err = nw.DropCounters(ctx, n)
			case Netem:
				c, err = nw.NetemCounters(ctx, n)
			}
			errs = append(errs, err)
			s.Packets += c.Packets
			s.Dropped += c.Dropped
			rt, err := nw.TCPRetransmits(n)
			errs = append(errs, err)
			s.Retransmits += rt
		}
	}
	for _, p := range l.proxies {
		ps := p.Stats()
		s.Proxy.Conns += ps.Conns
		s.Proxy.BytesTo += ps.BytesTo
		s.Proxy.BytesFrom += ps.BytesFrom
	}
	return s, errors.Join(errs...)
}

// Close stops the proxies and removes the rules. It is idempotent.
func (l *Links) Close(ctx context.Context) error {
	var errs []error
	for _, p := range l.proxies {
		errs = append(errs, p.Close())
	}
	l.proxies = nil
	for _, n := range l.applied {
		switch l.method {
		case Netem:
			errs = append(errs, l.cfg.Network.ClearNetem(ctx, n))
		case ProxyMethod:
			errs = append(errs, l.cfg.Network.ClearDropRandom(ctx, n))
		}
	}
	l.applied = nil
	return errors.Join(errs...)
}
