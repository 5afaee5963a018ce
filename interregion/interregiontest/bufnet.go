package interregiontest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"google.golang.org/grpc/test/bufconn"
)

// Bufnet is an in-memory network of named listeners for the gRPC Link
// (grpc-go's bufconn): Listen makes a listener, Dial connects to one by
// name. Addresses are written "passthrough:///name" in interregion.Peer so
// that gRPC hands the name to the dialer as it is.
type Bufnet struct {
	mu  sync.Mutex
	lis map[string]*bufconn.Listener
}

// NewBufnet returns an empty Bufnet.
func NewBufnet() *Bufnet { return &Bufnet{lis: map[string]*bufconn.Listener{}} }

// Addr returns the interregion.Peer address of name.
func Addr(name string) string { return "passthrough:///" + name }

// Listen returns a new listener for name, replacing any earlier one.
func (b *Bufnet) Listen(name string) net.Listener {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := bufconn.Listen(1 << 20)
	b.lis[name] = l
	return l
}

// Dial connects to the listener named by addr (a name, or an Addr).
// It is an interregion.Config.Dialer.
func (b *Bufnet) Dial(ctx context.Context, addr string) (net.Conn, error) {
	name := strings.TrimPrefix(addr, "passthrough:///")
	b.mu.Lock()
	l := b.lis[name]
	b.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("interregiontest: no listener %q", name)
	}
	return l.DialContext(ctx)
}
