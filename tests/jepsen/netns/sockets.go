package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Listen opens a TCP listener on addr inside node's namespace. A socket
// belongs to the namespace it was created in, so the listener, and every
// connection it accepts, lives in node's network although this process
// runs in the root namespace (the harness's WAN proxies listen this way
// on a node's loopback).
func (n *Network) Listen(node, addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.inNamespace(node, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netns: listen on %s in %s: %w", addr, n.Namespace(node), err)
	}
	return ln, nil
}

// DialContext connects to addr from inside node's namespace: the
// connection's packets leave from node's address and cross node's fault
// rules (partitions, loss), as the node's own connections do.
func (n *Network) DialContext(ctx context.Context, node, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.inNamespace(node, func() error {
		var err error
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netns: dial %s from %s: %w", addr, n.Namespace(node), err)
	}
	return c, nil
}

// TCPRetransmits returns the TCP segments retransmitted in node's
// namespace since it was created (RetransSegs of its /proc/net/snmp),
// over every connection of the namespace.
func (n *Network) TCPRetransmits(node string) (int64, error) {
	var b []byte
	err := n.inNamespace(node, func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/snmp")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("netns: read the TCP counters of %s: %w", n.Namespace(node), err)
	}
	return snmpField(string(b), "Tcp", "RetransSegs")
}

// snmpField returns one counter of /proc/net/snmp's text: a header line
// "Proto: Name Name ..." followed by "Proto: value value ...".
func snmpField(text, proto, field string) (int64, error) {
	lines := strings.Split(text, "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != proto+":" || len(values) != len(names) || values[0] != proto+":" {
			continue
		}
		for j, nm := range names {
			if nm == field {
				return strconv.ParseInt(values[j], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("netns: no %s %s in /proc/net/snmp", proto, field)
}

// inNamespace runs fn on an OS thread moved into node's network
// namespace (setns), on a goroutine of its own: sockets fn creates
// belong to that namespace. The thread is moved back before it serves
// other goroutines; if that fails it is locked to the goroutine, which
// ends, and so Go ends the thread too.
func (n *Network) inNamespace(node string, fn func() error) error {
	path := filepath.Join("/var/run/netns", n.Namespace(node))
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns back to the root namespace: %w (after: %v)", err, ferr)
			return // still locked: the thread ends with this goroutine
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}
