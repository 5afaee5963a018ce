package regionaltest

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// WAN is the network between test regions: links between two regions can
// be cut (open connections are closed, new ones refused) and healed. Give
// the same WAN to every region of a test (Options.WAN).
type WAN struct {
	// Delay, set before the regions start, delays every write on a link
	// connection by that much (one way: a round trip takes twice it).
	Delay time.Duration

	mu    sync.Mutex
	owner map[string]string // link address -> region name
	cut   map[[2]string]bool
	conns map[[2]string]map[net.Conn]bool
}

// NewWAN returns a WAN with every link up.
func NewWAN() *WAN {
	return &WAN{owner: map[string]string{}, cut: map[[2]string]bool{}, conns: map[[2]string]map[net.Conn]bool{}}
}

// errCut is what a dial across a cut link returns.
var errCut = errors.New("regionaltest: link cut")

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func (w *WAN) register(addr, region string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.owner[addr] = region
}

// Cut cuts the link between regions a and b, both ways.
func (w *WAN) Cut(a, b string) {
	w.mu.Lock()
	p := pair(a, b)
	w.cut[p] = true
	conns := w.conns[p]
	delete(w.conns, p)
	w.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// Heal restores the link between regions a and b.
func (w *WAN) Heal(a, b string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.cut, pair(a, b))
}

// dialer returns the link dialer of region from.
func (w *WAN) dialer(from string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		w.mu.Lock()
		p := pair(from, w.owner[addr])
		cut := w.cut[p]
		w.mu.Unlock()
		if cut {
			return nil, errCut
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.cut[p] {
			c.Close()
			return nil, errCut
		}
		if w.conns[p] == nil {
			w.conns[p] = map[net.Conn]bool{}
		}
		w.conns[p][c] = true
		if w.Delay > 0 {
			return newDelayConn(c, w.Delay), nil
		}
		return c, nil
	}
}

// delayConn delays its writes by a fixed time, in order; the dialing side
// delays both directions (reads too), so a round trip takes 2 x delay.
type delayConn struct {
	net.Conn
	delay time.Duration
	out   chan delayed
	in    chan delayed
	rd    []byte
	done  chan struct{}
	once  sync.Once
	err   error
}

type delayed struct {
	at   time.Time
	data []byte
	err  error
}

func newDelayConn(c net.Conn, d time.Duration) *delayConn {
	dc := &delayConn{Conn: c, delay: d, out: make(chan delayed, 4096), in: make(chan delayed, 4096), done: make(chan struct{})}
	go dc.writer()
	go dc.reader()
	return dc
}

func (c *delayConn) writer() {
	for {
		select {
		case w := <-c.out:
			time.Sleep(time.Until(w.at))
			if _, err := c.Conn.Write(w.data); err != nil {
				c.Close()
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *delayConn) reader() {
	for {
		buf := make([]byte, 32<<10)
		n, err := c.Conn.Read(buf)
		select {
		case c.in <- delayed{at: time.Now().Add(c.delay), data: buf[:n], err: err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *delayConn) Write(p []byte) (int, error) {
	select {
	case c.out <- delayed{at: time.Now().Add(c.delay), data: append([]byte(nil), p...)}:
		return len(p), nil
	case <-c.done:
		return 0, net.ErrClosed
	}
}

func (c *delayConn) Read(p []byte) (int, error) {
	for len(c.rd) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		select {
		case r := <-c.in:
			time.Sleep(time.Until(r.at))
			c.rd, c.err = r.data, r.err
		case <-c.done:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.rd)
	c.rd = c.rd[n:]
	return n, nil
}

func (c *delayConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}
