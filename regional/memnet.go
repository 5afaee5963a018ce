package regional

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// MemNet is an in-process Network for nodes whose Raft transport is a
// raft.InmemTransport (tests): connections are net.Pipe pairs, so nodes
// forward requests, probe and publish with no sockets, also inside a
// testing/synctest bubble. Like InmemTransport's Disconnect, Disconnect
// cuts two nodes apart; here it also closes the connections between them
// (a reset, not a black hole).
//
// MemNet.mu is taken alone.
type MemNet struct {
	mu        sync.Mutex
	listeners map[string]*memListener
	cut       map[memLink]bool
	pairs     map[*memPair]struct{}
}

// NewMemNet returns an empty in-process network.
func NewMemNet() *MemNet {
	return &MemNet{listeners: map[string]*memListener{}, cut: map[memLink]bool{}, pairs: map[*memPair]struct{}{}}
}

// Endpoint returns the endpoint of the node at Raft address addr, to set
// as its Config.Network. A node restarted at the same address takes a new
// endpoint once the old node has closed.
func (n *MemNet) Endpoint(addr string) *MemEndpoint { return &MemEndpoint{n: n, addr: addr} }

// Disconnect cuts a and b apart: dials between them fail and the
// connections between them are closed, until Connect.
func (n *MemNet) Disconnect(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := link(a, b)
	n.cut[l] = true
	for p := range n.pairs {
		if link(p.from, p.to) == l {
			n.closePairLocked(p)
		}
	}
}

// Connect undoes Disconnect.
func (n *MemNet) Connect(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cut, link(a, b))
}

func (n *MemNet) closePairLocked(p *memPair) {
	delete(n.pairs, p)
	p.client.Conn.Close()
	p.server.Conn.Close()
}

// memLink is an unordered pair of addresses (a <= b).
type memLink struct{ a, b string }

func link(a, b string) memLink {
	if b < a {
		a, b = b, a
	}
	return memLink{a, b}
}

// errMemRefused is the error of a dial to an address nobody listens on,
// or across a cut.
var errMemRefused = errors.New("regional: memnet: connection refused")

// MemEndpoint is one node's side of a MemNet. It implements Network.
type MemEndpoint struct {
	n    *MemNet
	addr string
}

var _ Network = (*MemEndpoint)(nil)

// Listen starts accepting connections to the endpoint's address.
func (e *MemEndpoint) Listen() (net.Listener, error) {
	n := e.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners[e.addr] != nil {
		return nil, fmt.Errorf("regional: memnet: %s is already listening", e.addr)
	}
	l := &memListener{n: n, addr: e.addr, ch: make(chan net.Conn, 16), done: make(chan struct{})}
	n.listeners[e.addr] = l
	return l, nil
}

// Dial connects to the node listening at addr.
func (e *MemEndpoint) Dial(addr string, timeout time.Duration) (net.Conn, error) {
	n := e.n
	n.mu.Lock()
	l := n.listeners[addr]
	if l == nil || n.cut[link(e.addr, addr)] {
		n.mu.Unlock()
		return nil, &net.OpError{Op: "dial", Net: "memnet", Addr: memAddr(addr), Err: errMemRefused}
	}
	c1, c2 := net.Pipe()
	p := &memPair{from: e.addr, to: addr}
	p.client = &memConn{Conn: c1, n: n, p: p, local: e.addr, remote: addr}
	p.server = &memConn{Conn: c2, n: n, p: p, local: addr, remote: e.addr}
	n.pairs[p] = struct{}{}
	n.mu.Unlock()

	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case l.ch <- p.server:
		return p.client, nil
	case <-l.done:
		err = errMemRefused
	case <-t.C:
		err = errors.New("regional: memnet: dial timed out")
	}
	n.mu.Lock()
	n.closePairLocked(p)
	n.mu.Unlock()
	return nil, &net.OpError{Op: "dial", Net: "memnet", Addr: memAddr(addr), Err: err}
}

// memPair is one connection: the dialer's end and the listener's.
type memPair struct {
	from, to       string
	client, server *memConn
}

// memConn is one end of a memPair. Closing either end closes the pair for
// both (the other end reads EOF).
type memConn struct {
	net.Conn
	n             *MemNet
	p             *memPair
	local, remote string
}

func (c *memConn) LocalAddr() net.Addr  { return memAddr(c.local) }
func (c *memConn) RemoteAddr() net.Addr { return memAddr(c.remote) }

func (c *memConn) Close() error {
	c.n.mu.Lock()
	delete(c.n.pairs, c.p)
	c.n.mu.Unlock()
	return c.Conn.Close()
}

// memListener accepts a MemEndpoint's connections. Closing it closes every
// connection to its address, accepted or not: the node is gone.
type memListener struct {
	n    *MemNet
	addr string
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		n := l.n
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.listeners[l.addr] == l {
			delete(n.listeners, l.addr)
		}
		for p := range n.pairs {
			if p.to == l.addr {
				n.closePairLocked(p)
			}
		}
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr(l.addr) }

// memAddr is a MemNet address (a Raft address).
type memAddr string

func (a memAddr) Network() string { return "memnet" }
func (a memAddr) String() string  { return string(a) }
