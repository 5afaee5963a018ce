package regional

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The Raft port carries two protocols, told apart by the first byte a
// dialer sends (as rqlite's tcp.Mux does): Raft's own RPCs, and forwarded
// client requests from followers. Anything else is closed at once, so
// garbage on the port costs one read.
const (
	muxRaft    byte = 'R'
	muxForward byte = 'F'
)

// mux accepts connections on one listener and hands them out by protocol.
type mux struct {
	ln      net.Listener
	raftCh  chan net.Conn
	fwdCh   chan net.Conn
	done    chan struct{}
	closeMu sync.Once
	wg      sync.WaitGroup
}

func newMux(ln net.Listener) *mux {
	m := &mux{ln: ln, raftCh: make(chan net.Conn, 16), fwdCh: make(chan net.Conn, 16), done: make(chan struct{})}
	m.wg.Go(m.run)
	return m
}

func (m *mux) run() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
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
		go m.route(c)
	}
}

func (m *mux) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	var ch chan net.Conn
	switch b[0] {
	case muxRaft:
		ch = m.raftCh
	case muxForward:
		ch = m.fwdCh
	default:
		c.Close()
		return
	}
	select {
	case ch <- c:
	case <-m.done:
		c.Close()
	}
}

func (m *mux) Close() error {
	m.closeMu.Do(func() {
		close(m.done)
		m.ln.Close()
	})
	m.wg.Wait()
	return nil
}

// layer is one protocol's view of the mux: a raft.StreamLayer for Raft, a
// net.Listener for forwarding.
type layer struct {
	m     *mux
	ch    chan net.Conn
	proto byte
}

var _ raft.StreamLayer = (*layer)(nil)

func (l *layer) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}

func (l *layer) Close() error   { return nil } // the mux owns the listener
func (l *layer) Addr() net.Addr { return l.m.ln.Addr() }

func (l *layer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialProto(string(addr), l.proto, timeout)
}

func dialProto(addr string, proto byte, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{proto}); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

// netAddr is a net.Addr for an advertised address.
type netAddr string

func (a netAddr) Network() string { return "tcp" }
func (a netAddr) String() string  { return string(a) }
