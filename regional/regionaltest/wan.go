package regionaltest

import (
	"context"
	"errors"
	"net"
	"sync"
)

// WAN is the network between test regions: links between two regions can
// be cut (open connections are closed, new ones refused) and healed. Give
// the same WAN to every region of a test (Options.WAN).
type WAN struct {
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
		return c, nil
	}
}
