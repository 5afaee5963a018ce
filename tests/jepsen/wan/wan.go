// Package wan makes the links between two regions behave like a
// wide-area network: one-way delay with jitter and packet loss, each way,
// on inter-region traffic only ([SetupLinks], [Links]). Where the kernel
// has sch_netem it uses tc netem; this project's CI kernel does not
// (`tc qdisc ... netem` fails with "qdisc kind is unknown"), so there it
// delays with a user-space TCP proxy ([Proxy]) and drops packets with
// iptables (netns.Network.DropRandom): real loss, which TCP retransmits.
// [Choose] probes netem.
//
// The proxy works at the byte-stream level: it delays each chunk of data
// it reads by the direction's delay plus jitter, and cuts connections on
// demand ([Proxy.Cut]). Byte order is preserved: jitter never reorders
// data (a chunk is never delivered before the chunk read before it).
//
// Usage (one proxy):
//
//	p, err := wan.Listen("10.77.0.1:0", "10.77.0.21:7100",
//		wan.Shape{Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond}, // to the target
//		wan.Shape{Delay: 40 * time.Millisecond})                               // back
//	defer p.Close()
//	peerAddr := p.Addr().String() // give this to the dialer instead of the target
//	p.SetShape(toTarget, fromTarget)  // applies to data read from now on
//	p.Cut()                           // close every connection, refuse new ones
//	p.Heal()                          // accept again
//
// Usage (two regions, as jepsen.RunRegions does):
//
//	l, err := wan.SetupLinks(ctx, wan.LinksConfig{Network: nw, Regions: [2][]string{east, west},
//		Port: 8379, Conditions: wan.Conditions{Delay: 25 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.02}})
//	defer l.Close(ctx)
//	peer := l.Addr("w1") // what east's nodes dial to reach w1's link port
//	log.Print(l.Describe()) // which conditions, and how
//	st, err := l.Stats(ctx) // packets seen and dropped, TCP retransmits, proxied bytes
//
// Proxy layout: every node's namespace runs one proxy per node of the
// other region, on the namespace's own loopback, dialing from inside the
// namespace (netns.Network.Listen and DialContext). The link addresses
// the regions are given are those loopback addresses, so every
// inter-region byte crosses a proxy, intra-region and client traffic
// does not, and the proxied packets still leave from the node's own
// address: partitions (iptables in the namespaces) cut them as they cut
// the node's own traffic.
package wan

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/netns"
)

// Shape is one direction's behaviour.
type Shape struct {
	// Delay is added to every chunk of data; Jitter adds a uniform
	// extra in [0, Jitter) (never negative, so Delay is a lower bound).
	Delay, Jitter time.Duration
}

// Method is how the harness shapes WAN traffic.
type Method string

// The methods.
const (
	// Netem shapes packets with tc netem inside the namespaces
	// (netns.Network.Netem): delay, jitter and loss.
	Netem Method = "netem"
	// ProxyMethod routes inter-region connections through a [Proxy] in
	// each node's namespace (delay and jitter) and drops packets with
	// iptables (loss); see [Links].
	ProxyMethod Method = "proxy"
)

// Choose returns Netem if this kernel supports tc netem (probed in a
// throw-away namespace, see netns.NetemSupported) and ProxyMethod
// otherwise, with the probe's reason.
func Choose(ctx context.Context) (Method, error) {
	ok, err := netns.NetemSupported(ctx)
	if ok {
		return Netem, nil
	}
	return ProxyMethod, err
}

// ErrClosed is returned by [Listen]'s accept loop after [Proxy.Close].
var ErrClosed = errors.New("wan: proxy closed")

// chunkSize bounds one read; a delayed chunk is at most this big.
const chunkSize = 32 << 10

// queueLen bounds the chunks in flight per direction of a connection:
// a slow reader back-pressures the writer, as a real link's window does.
const queueLen = 256

// Proxy forwards TCP connections from its listener to a target. Its
// methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string
	dial   Dialer
	ctx    context.Context // ends at Close: stops dials in progress
	cancel context.CancelFunc

	conns, bytesTo, bytesFrom atomic.Int64

	mu struct {
		sync.Mutex
		to, from Shape
		cut      bool
		closed   bool
		conns    map[*pair]struct{}
		rng      *rand.Rand
	}
	wg sync.WaitGroup
}

// Listen starts a proxy listening on addr (host:port, port 0 for any)
// and forwarding to target, shaping data sent to the target with to and
// data coming back with from.
func Listen(addr, target string, to, from Shape) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return Serve(ln, target, nil, to, from), nil
}

// Dialer opens a proxy's connection to its target.
type Dialer func(ctx context.Context, addr string) (net.Conn, error)

// dialTimeout bounds a proxy's connection to its target.
const dialTimeout = 10 * time.Second

// Serve starts a proxy on a listener of the caller's (one inside a
// network namespace, say; see netns.Network.Listen), forwarding to
// target through dial (nil means net.Dialer). The proxy owns ln.
func Serve(ln net.Listener, target string, dial Dialer, to, from Shape) *Proxy {
	if dial == nil {
		dial = func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	p := &Proxy{ln: ln, target: target, dial: dial}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mu.to, p.mu.from = to, from
	p.mu.conns = make(map[*pair]struct{})
	p.mu.rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x77616e)) // "wan"
	p.wg.Go(p.accept)
	return p
}

// ProxyStats is what a proxy has carried.
type ProxyStats struct {
	// Conns is the connections forwarded to the target.
	Conns int64
	// BytesTo and BytesFrom are the bytes delivered to the target and
	// back from it.
	BytesTo, BytesFrom int64
}

// Stats returns what p has carried so far.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{Conns: p.conns.Load(), BytesTo: p.bytesTo.Load(), BytesFrom: p.bytesFrom.Load()}
}

// Addr returns the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// SetShape changes both directions' behaviour; it applies to data read
// after the call (data already queued keeps its delivery time).
func (p *Proxy) SetShape(to, from Shape) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.to, p.mu.from = to, from
}

// Cut closes every open connection and makes the proxy close new ones
// at once, until [Proxy.Heal]: the link is down.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.mu.cut = true
	conns := p.takeConnsLocked()
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Heal accepts connections again after [Proxy.Cut].
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.cut = false
}

// Close stops the proxy, closes every connection and waits for its
// goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.mu.closed {
		p.mu.Unlock()
		return nil
	}
	p.mu.closed = true
	conns := p.takeConnsLocked()
	p.mu.Unlock()
	p.cancel()
	err := p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) takeConnsLocked() []*pair {
	out := make([]*pair, 0, len(p.mu.conns))
	for c := range p.mu.conns {
		out = append(out, c)
	}
	clear(p.mu.conns)
	return out
}

// delay draws one chunk's delay for a direction.
func (p *Proxy) delay(toTarget bool) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.mu.from
	if toTarget {
		s = p.mu.to
	}
	d := s.Delay
	if s.Jitter > 0 {
		d += time.Duration(p.mu.rng.Int64N(int64(s.Jitter)))
	}
	return d
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		cut, closed := p.mu.cut, p.mu.closed
		p.mu.Unlock()
		if cut || closed {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// pair is one proxied connection: client side and target side.
type pair struct {
	client, target net.Conn
	once           sync.Once
}

func (c *pair) close() {
	c.once.Do(func() {
		c.client.Close()
		c.target.Close()
	})
}

func (p *Proxy) serve(client net.Conn) {
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	target, err := p.dial(ctx, p.target)
	cancel()
	if err != nil {
		client.Close()
		return
	}
	p.conns.Add(1)
	c := &pair{client: client, target: target}
	p.mu.Lock()
	if p.mu.cut || p.mu.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.mu.conns[c] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(client, target, true) })
	wg.Go(func() { p.pipe(target, client, false) })
	wg.Wait()
	c.close()
	p.mu.Lock()
	delete(p.mu.conns, c)
	p.mu.Unlock()
}

// chunk is data read at one moment, due for delivery at due.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, holding each chunk until its delivery time.
// Delivery times never decrease, so bytes keep their order. When src ends
// it half-closes dst once the queue has drained; a write error closes
// src, so the other side learns the link broke.
func (p *Proxy) pipe(src, dst net.Conn, toTarget bool) {
	q := make(chan chunk, queueLen)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch := range q {
			if d := time.Until(ch.due); d > 0 {
				time.Sleep(d)
			}
			n, err := dst.Write(ch.b)
			if toTarget {
				p.bytesTo.Add(int64(n))
			} else {
				p.bytesFrom.Add(int64(n))
			}
			if err != nil {
				src.Close()
				for range q { // drain so the reader is not blocked
				}
				return
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		} else {
			dst.Close()
		}
	}()
	var last time.Time
	for {
		buf := make([]byte, chunkSize)
		n, err := src.Read(buf)
		if n > 0 {
			due := time.Now().Add(p.delay(toTarget))
			if due.Before(last) {
				due = last
			}
			last = due
			q <- chunk{b: buf[:n], due: due}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close() // reset or closed by Cut: break the other side too
			}
			break
		}
	}
	close(q)
	<-done
}
