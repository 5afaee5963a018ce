package protocol_test

import (
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/protocol"
)

// TestReaderReadBufferedIf checks that a buffered request the predicate
// refuses, or an incomplete one, stays unread, and that an accepted one
// is consumed, so that a pipeline is gathered in order.
func TestReaderReadBufferedIf(t *testing.T) {
	in := "*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n" +
		"*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n" +
		"*2\r\n$3\r\nget\r\n$1\r\na\r\n" +
		"*3\r\n$3\r\nset\r\n$1\r\nc" // incomplete
	r := protocol.NewReader(strings.NewReader(in))
	first, err := r.ReadCommand()
	if err != nil || string(first[1]) != "a" {
		t.Fatalf("ReadCommand = %q, %v", first, err)
	}
	isSet := func(args [][]byte) bool { return string(args[0]) == "set" }
	next, ok := r.ReadBufferedIf(isSet)
	if !ok || string(next[1]) != "b" {
		t.Fatalf("ReadBufferedIf(set) = %q, %v; want set b", next, ok)
	}
	if next, ok := r.ReadBufferedIf(isSet); ok {
		t.Fatalf("ReadBufferedIf(set) took %q, which it refuses", next)
	}
	// The refused GET is read next, then the incomplete SET is not.
	next, ok, err = r.ReadBuffered()
	if err != nil || !ok || string(next[0]) != "get" {
		t.Fatalf("ReadBuffered after a refusal = %q, %v, %v; want the get", next, ok, err)
	}
	if next, ok := r.ReadBufferedIf(func([][]byte) bool { return true }); ok {
		t.Fatalf("ReadBufferedIf took the incomplete %q", next)
	}
	if r.Buffered() == 0 {
		t.Fatal("the incomplete request's bytes were consumed")
	}
}
