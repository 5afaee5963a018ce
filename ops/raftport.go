package ops

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// The Raft port also carries the admin API, so that a node can reach any
// other member knowing only its Raft address (the one in the Raft
// configuration): a follower forwards `region join` and `region leave`
// to the leader this way, and GET /v1/region/members asks every member
// for its status. A dialer sends adminProto, then speaks HTTP/1.1.
// regional's own protocols start with 'R' (Raft) and 'F' (forwarded
// requests); raftPort hands those connections to regional untouched.
const adminProto byte = 'H'

// routeTimeout bounds the wait for a new connection's first byte, as
// regional's own mux does.
const routeTimeout = 10 * time.Second

// raftPort splits the Raft listener: admin connections go to Admin,
// every other connection to Accept (regional), its first byte replayed.
// Close is idempotent; regional calls it when the Group closes.
type raftPort struct {
	ln      net.Listener
	raftCh  chan net.Conn
	admin   *chanListener
	done    chan struct{}
	closing sync.Once
	wg      sync.WaitGroup

	// mu guards routing: connections whose first byte is awaited, closed
	// by Close so that it never waits out routeTimeout.
	mu      sync.Mutex
	routing map[net.Conn]struct{}
}

func newRaftPort(ln net.Listener) *raftPort {
	p := &raftPort{
		ln:      ln,
		raftCh:  make(chan net.Conn),
		done:    make(chan struct{}),
		routing: map[net.Conn]struct{}{},
	}
	p.admin = &chanListener{ch: make(chan net.Conn), done: p.done, addr: ln.Addr(), closed: make(chan struct{})}
	p.wg.Go(p.run)
	return p
}

func (p *raftPort) run() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		p.mu.Lock()
		p.routing[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.route(c) })
	}
}

func (p *raftPort) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(routeTimeout))
	var b [1]byte
	_, err := c.Read(b[:])
	c.SetReadDeadline(time.Time{})
	p.mu.Lock()
	delete(p.routing, c)
	p.mu.Unlock()
	if err != nil {
		c.Close()
		return
	}
	ch, out := p.raftCh, net.Conn(&replayConn{Conn: c, first: b[0]})
	if b[0] == adminProto {
		ch, out = p.admin.ch, c
	}
	select {
	case ch <- out:
	case <-p.done:
		c.Close()
	}
}

// Accept returns the next connection for regional.
func (p *raftPort) Accept() (net.Conn, error) {
	select {
	case c := <-p.raftCh:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes connections not yet routed and waits for
// the port's goroutines.
func (p *raftPort) Close() error {
	var err error
	p.closing.Do(func() {
		close(p.done)
		err = p.ln.Close()
		p.mu.Lock()
		for c := range p.routing {
			c.Close()
		}
		p.mu.Unlock()
	})
	p.wg.Wait()
	return err
}

func (p *raftPort) Addr() net.Addr { return p.ln.Addr() }

// Admin returns the listener of admin connections (their first byte
// consumed).
func (p *raftPort) Admin() net.Listener { return p.admin }

// replayConn gives back the byte read to route a connection. It is read
// from one goroutine at a time, as every net.Conn reader here is.
type replayConn struct {
	net.Conn
	first  byte
	served bool
}

func (c *replayConn) Read(b []byte) (int, error) {
	if !c.served && len(b) > 0 {
		c.served = true
		b[0] = c.first
		return 1, nil
	}
	return c.Conn.Read(b)
}

// chanListener is a net.Listener fed by raftPort. Closing it (http.Server
// does) only stops its Accept; the port owns the real listener.
type chanListener struct {
	ch     chan net.Conn
	done   <-chan struct{} // the port's
	addr   net.Addr
	closed chan struct{}
	once   sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// newAdminClient returns an HTTP client that reaches other nodes' admin
// API through their Raft port: URLs name the Raft address,
// "http://10.0.0.2:7379/v1/status". Each request uses its own connection
// (admin calls are rare), so the client holds nothing to close.
func newAdminClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if dl, ok := ctx.Deadline(); ok {
				c.SetWriteDeadline(dl)
			}
			if _, err := c.Write([]byte{adminProto}); err != nil {
				c.Close()
				return nil, err
			}
			c.SetWriteDeadline(time.Time{})
			return c, nil
		},
	}}
}
