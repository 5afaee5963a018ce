package server_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

// forEachProto runs f against a fresh server once per RESP version.
func forEachProto(t *testing.T, f func(t *testing.T, srv *servertest.Instance, rdb *redis.Client)) {
	t.Helper()
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			srv := servertest.Start(t)
			f(t, srv, srv.Client(t, proto))
		})
	}
}

// raw is a client connection for exact-bytes tests.
type raw struct {
	t  testing.TB
	nc net.Conn
	rd *bufio.Reader
}

func dialRaw(t testing.TB, srv *servertest.Instance) *raw {
	t.Helper()
	nc := srv.Dial(t)
	return &raw{t: t, nc: nc, rd: bufio.NewReader(nc)}
}

// send writes s as it is.
func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := r.nc.Write([]byte(s)); err != nil {
		r.t.Fatalf("write %q: %v", s, err)
	}
}

// do sends one command as a multibulk request and returns the raw reply.
func (r *raw) do(args ...string) string {
	r.t.Helper()
	r.send(encodeCommand(args...))
	return r.reply()
}

// want sends one command and checks its raw reply.
func (r *raw) want(want string, args ...string) {
	r.t.Helper()
	if got := r.do(args...); got != want {
		r.t.Fatalf("%q = %q, want %q", args, got, want)
	}
}

func encodeCommand(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

// reply reads one whole RESP2 or RESP3 value and returns its bytes.
func (r *raw) reply() string {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	s, err := readValue(r.rd)
	if err != nil {
		r.t.Fatalf("read reply: %v (so far %q)", err, s)
	}
	return s
}

// expect reads one reply and compares it with want.
func (r *raw) expect(want string) {
	r.t.Helper()
	if got := r.reply(); got != want {
		r.t.Fatalf("reply = %q, want %q", got, want)
	}
}

// expectClosed checks that the server closes the connection, after
// sending nothing more.
func (r *raw) expectClosed() {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(r.rd)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.t.Fatalf("connection still open after %q", b)
	}
	if len(b) > 0 {
		r.t.Fatalf("unexpected bytes before close: %q", b)
	}
}

// expectNothing checks that no reply arrives within a short while.
func (r *raw) expectNothing() {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	b, err := r.rd.Peek(1)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		r.t.Fatalf("unexpected data %q, %v", b, err)
	}
}

func readValue(rd *bufio.Reader) (string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return line, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return line, errors.New("malformed line")
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return line, nil
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return line, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return line, err
		}
		return line + string(buf), nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(body)
		if err != nil {
			return line, err
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		out := line
		for range max(n, 0) {
			v, err := readValue(rd)
			out += v
			if err != nil {
				return out, err
			}
		}
		if line[0] == '|' {
			v, err := readValue(rd)
			return out + v, err
		}
		return out, nil
	}
	return line, errors.New("unknown type " + line[:1])
}

// bulk encodes s as a bulk string.
func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// wantErr checks that err is a server error with exactly msg.
func wantErr(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if err == nil || err.Error() != msg {
		t.Fatalf("%s: err = %v, want %q", what, err, msg)
	}
}

// eventually retries f until it returns true or 5 seconds pass.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bulkBody returns the payload of a bulk or verbatim string reply.
func bulkBody(t *testing.T, reply string) string {
	t.Helper()
	head, rest, ok := strings.Cut(reply, "\r\n")
	if !ok || (head[0] != '$' && head[0] != '=') || !strings.HasSuffix(rest, "\r\n") {
		t.Fatalf("%q is not a bulk string", reply)
	}
	body := strings.TrimSuffix(rest, "\r\n")
	if head[0] == '=' {
		body = strings.TrimPrefix(body, "txt:")
	}
	return body
}
