package servertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// RawConn speaks RESP on a raw connection, so tests can check replies byte
// for byte (go-redis hides the difference between an array and a set, or
// between a null bulk and a null array).
type RawConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

// Raw opens a raw connection speaking proto (2 or 3), closed when the test
// ends.
func (i *Instance) Raw(t testing.TB, proto int) *RawConn {
	t.Helper()
	conn := i.Dial(t)
	rc := &RawConn{t: t, c: conn, r: bufio.NewReader(conn)}
	if proto == 3 {
		rc.Do("HELLO", "3")
	}
	return rc
}

// Do sends one command and returns its whole reply as the server wrote it.
func (rc *RawConn) Do(args ...string) string {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := rc.c.Write([]byte(b.String())); err != nil {
		rc.t.Fatal(err)
	}
	return rc.Read()
}

// Read reads one whole RESP value (nested aggregates included) and
// returns its bytes.
func (rc *RawConn) Read() string {
	rc.t.Helper()
	var out strings.Builder
	rc.read(&out)
	return out.String()
}

func (rc *RawConn) read(out *strings.Builder) {
	rc.t.Helper()
	line, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read reply: %v", err)
	}
	out.WriteString(line)
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	switch line[0] {
	case '$', '=', '!':
		if n >= 0 {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(rc.r, buf); err != nil {
				rc.t.Fatalf("read bulk: %v", err)
			}
			out.Write(buf)
		}
	case '*', '~', '>':
		for range max(n, 0) {
			rc.read(out)
		}
	case '%', '|':
		for range 2 * n {
			rc.read(out)
		}
	}
}
