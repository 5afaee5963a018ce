package server_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// batchExec is a single-node executor that also takes pipelines, and
// records their sizes.
type batchExec struct {
	*eval.Local
	sizes []int
}

func (b *batchExec) ExecBatch(reqs []*eval.Request, w *protocol.Writer) int {
	b.sizes = append(b.sizes, len(reqs))
	db := 0
	for _, r := range reqs {
		db = b.Local.Exec(r, w)
	}
	return db
}

// TestPipelineGathering: a pipeline of writes and reads reaches a batch
// executor as runs of one kind, in order, and every reply matches its
// request — including the request right before a change of kind, whose
// arguments share the reader's buffer with the one peeked at.
func TestPipelineGathering(t *testing.T) {
	ex := &batchExec{Local: eval.NewLocal(storage.NewStore(), hlc.NewClock(hlc.SystemClock{}, 1, 1))}
	srv := server.New(server.DefaultConfig(), ex)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var req strings.Builder
	var want strings.Builder
	for i := range 5 {
		fmt.Fprintf(&req, "*3\r\n$3\r\nSET\r\n$2\r\nk%d\r\n$2\r\nv%d\r\n", i, i)
		want.WriteString("+OK\r\n")
	}
	for i := range 5 {
		fmt.Fprintf(&req, "*2\r\n$3\r\nGET\r\n$2\r\nk%d\r\n", i)
		fmt.Fprintf(&want, "$2\r\nv%d\r\n", i)
	}
	// Alternating kinds: each request is alone in its run, and the next
	// one is peeked at and left alone.
	for i := range 5 {
		fmt.Fprintf(&req, "*3\r\n$3\r\nSET\r\n$2\r\nk%d\r\n$1\r\nz\r\n*2\r\n$3\r\nGET\r\n$2\r\nk%d\r\n", i, i)
		want.WriteString("+OK\r\n$1\r\nz\r\n")
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req.String())); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, want.Len())
	if _, err := ioReadFull(bufio.NewReader(conn), got); err != nil {
		t.Fatalf("reading replies: %v (got %q)", err, got)
	}
	if string(got) != want.String() {
		t.Fatalf("replies = %q\nwant %q", got, want.String())
	}
	if len(ex.sizes) == 0 {
		t.Fatal("the pipeline never reached ExecBatch")
	}
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
