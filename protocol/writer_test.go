package protocol_test

import (
	"math"
	"testing"

	"github.com/meridian-kv/meridian/protocol"
)

func TestWriterEncodings(t *testing.T) {
	tests := []struct {
		name         string
		write        func(w *protocol.Writer)
		resp2, resp3 string
	}{
		{"ok", func(w *protocol.Writer) { w.OK() }, "+OK\r\n", "+OK\r\n"},
		{"simple", func(w *protocol.Writer) { w.Simple("QUEUED") }, "+QUEUED\r\n", "+QUEUED\r\n"},
		{"error", func(w *protocol.Writer) { w.Error("ERR syntax error") }, "-ERR syntax error\r\n", "-ERR syntax error\r\n"},
		// Line ends inside an error would break the protocol; Valkey turns
		// them into spaces.
		{"error with newlines", func(w *protocol.Writer) { w.Error("ERR a\r\nb") }, "-ERR a  b\r\n", "-ERR a  b\r\n"},
		{"int", func(w *protocol.Writer) { w.Int(-42) }, ":-42\r\n", ":-42\r\n"},
		{"bulk", func(w *protocol.Writer) { w.Bulk([]byte("a\r\nb")) }, "$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n"},
		{"empty bulk", func(w *protocol.Writer) { w.Bulk([]byte{}) }, "$0\r\n\r\n", "$0\r\n\r\n"},
		{"bulk int", func(w *protocol.Writer) { w.BulkInt(123) }, "$3\r\n123\r\n", "$3\r\n123\r\n"},
		{"null", func(w *protocol.Writer) { w.Null() }, "$-1\r\n", "_\r\n"},
		{"null array", func(w *protocol.Writer) { w.NullArray() }, "*-1\r\n", "_\r\n"},
		{"array", func(w *protocol.Writer) { w.Array(2); w.Int(1); w.Int(2) }, "*2\r\n:1\r\n:2\r\n", "*2\r\n:1\r\n:2\r\n"},
		{"empty array", func(w *protocol.Writer) { w.Array(0) }, "*0\r\n", "*0\r\n"},
		// A map is a flat array of twice the pairs in RESP2.
		{"map", func(w *protocol.Writer) { w.Map(1); w.BulkString("k"); w.Int(1) }, "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n"},
		{"set", func(w *protocol.Writer) { w.SetHeader(1); w.BulkString("m") }, "*1\r\n$1\r\nm\r\n", "~1\r\n$1\r\nm\r\n"},
		{"push", func(w *protocol.Writer) { w.Push(1); w.BulkString("message") }, "*1\r\n$7\r\nmessage\r\n", ">1\r\n$7\r\nmessage\r\n"},
		// A double is a bulk string in RESP2.
		{"double", func(w *protocol.Writer) { w.Double(1.5) }, "$3\r\n1.5\r\n", ",1.5\r\n"},
		{"integral double", func(w *protocol.Writer) { w.Double(3) }, "$1\r\n3\r\n", ",3\r\n"},
		{"small double", func(w *protocol.Writer) { w.Double(0.1) }, "$3\r\n0.1\r\n", ",0.1\r\n"},
		{"inf", func(w *protocol.Writer) { w.Double(math.Inf(1)) }, "$3\r\ninf\r\n", ",inf\r\n"},
		{"-inf", func(w *protocol.Writer) { w.Double(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"nan", func(w *protocol.Writer) { w.Double(math.NaN()) }, "$3\r\nnan\r\n", ",nan\r\n"},
		{"true", func(w *protocol.Writer) { w.Bool(true) }, ":1\r\n", "#t\r\n"},
		{"false", func(w *protocol.Writer) { w.Bool(false) }, ":0\r\n", "#f\r\n"},
		{"verbatim", func(w *protocol.Writer) { w.Verbatim("a\r\nb") }, "$4\r\na\r\nb\r\n", "=8\r\ntxt:a\r\nb\r\n"},
		{"bulk strings", func(w *protocol.Writer) { w.BulkStrings([]string{"a", ""}) }, "*2\r\n$1\r\na\r\n$0\r\n\r\n", "*2\r\n$1\r\na\r\n$0\r\n\r\n"},
		{"raw", func(w *protocol.Writer) { w.Raw([]byte("+X\r\n")) }, "+X\r\n", "+X\r\n"},
	}
	for _, tt := range tests {
		for _, proto := range []int{2, 3} {
			var w protocol.Writer
			w.Proto = proto
			tt.write(&w)
			want := tt.resp2
			if proto == 3 {
				want = tt.resp3
			}
			if got := string(w.Bytes()); got != want {
				t.Errorf("%s in RESP%d = %q, want %q", tt.name, proto, got, want)
			}
		}
	}
}

// The zero Writer speaks RESP2.
func TestWriterZeroIsRESP2(t *testing.T) {
	var w protocol.Writer
	w.Null()
	w.Map(0)
	if got := string(w.Bytes()); got != "$-1\r\n*0\r\n" {
		t.Fatalf("zero Writer = %q", got)
	}
}

func TestWriterBuffer(t *testing.T) {
	var w protocol.Writer
	w.OK()
	mark := w.Len()
	w.Int(1)
	w.Truncate(mark)
	if got := string(w.Bytes()); got != "+OK\r\n" {
		t.Fatalf("after Truncate = %q", got)
	}
	w.Reset()
	if w.Len() != 0 {
		t.Fatalf("Len after Reset = %d", w.Len())
	}
	w.Simple("PONG")
	if got := string(w.Bytes()); got != "+PONG\r\n" {
		t.Fatalf("after Reset = %q", got)
	}
}
