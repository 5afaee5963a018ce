package protocol_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/meridian-kv/meridian/protocol"
)

// readAll parses every request from rd and returns them with the error
// that ended the stream, rendered as text.
func readAll(rd io.Reader, configure func(r *protocol.Reader)) ([][]string, string) {
	r := protocol.NewReader(rd)
	if configure != nil {
		configure(r)
	}
	var out [][]string
	for {
		args, err := r.ReadCommand()
		if err != nil {
			return out, errText(err)
		}
		cmd := make([]string, len(args))
		for i, a := range args {
			cmd[i] = string(a)
		}
		out = append(out, cmd)
	}
}

func errText(err error) string {
	var pe *protocol.ProtocolError
	switch {
	case errors.As(err, &pe):
		return pe.Error()
	case errors.Is(err, io.EOF):
		return "EOF"
	}
	return "other: " + err.Error()
}

func TestReaderRequests(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want [][]string
		err  string // how the stream ends
	}{
		{"multibulk", "*2\r\n$3\r\nget\r\n$1\r\nk\r\n", [][]string{{"get", "k"}}, "EOF"},
		{"pipeline", "*1\r\n$4\r\nping\r\n*2\r\n$4\r\necho\r\n$2\r\nhi\r\n", [][]string{{"ping"}, {"echo", "hi"}}, "EOF"},
		{"binary bulk", "*2\r\n$4\r\necho\r\n$4\r\na\r\nb\r\n", [][]string{{"echo", "a\r\nb"}}, "EOF"},
		{"empty bulk", "*1\r\n$0\r\n\r\n", [][]string{{""}}, "EOF"},
		// Valkey skips the two bytes after a bulk without looking at them.
		{"bulk end not checked", "*1\r\n$1\r\naXY", [][]string{{"a"}}, "EOF"},
		{"line end after CR not checked", "*1\rX$1\rXa\r\n", [][]string{{"a"}}, "EOF"},
		{"empty multibulks skipped", "*0\r\n*-1\r\n*-5\r\n*1\r\n$1\r\nx\r\n", [][]string{{"x"}}, "EOF"},
		{"incomplete", "*2\r\n$3\r\nget\r\n", nil, "EOF"},
		{"inline", "set k v\r\n", [][]string{{"set", "k", "v"}}, "EOF"},
		{"inline LF only", "ping\n", [][]string{{"ping"}}, "EOF"},
		{"inline spaces and tabs", "  set \t k   v  \r\n", [][]string{{"set", "k", "v"}}, "EOF"},
		{"blank lines skipped", "\r\n\n   \r\nping\r\n", [][]string{{"ping"}}, "EOF"},
		{"double quotes", `set k "a b\n\x41\"\\"` + "\r\n", [][]string{{"set", "k", "a b\nA\"\\"}}, "EOF"},
		{"single quotes", `set k 'it\'s \n'` + "\r\n", [][]string{{"set", "k", `it's \n`}}, "EOF"},
		{"empty quotes", `echo "" ''` + "\r\n", [][]string{{"echo", "", ""}}, "EOF"},
		{"bad hex escape kept", `echo "\xZZ"` + "\r\n", [][]string{{"echo", "xZZ"}}, "EOF"},
		{"inline then multibulk", "ping\r\n*1\r\n$4\r\nping\r\n", [][]string{{"ping"}, {"ping"}}, "EOF"},
		// A NUL hides the line end from Valkey's strchr: the line never
		// completes.
		{"NUL in inline line", "get a\x00b\r\nping\r\n", nil, "EOF"},
		{"NUL before count CR", "*1\x00\r\n$1\r\na\r\n", nil, "EOF"},

		{"multibulk count not a number", "*x\r\n", nil, "Protocol error: invalid multibulk length"},
		{"multibulk count with plus", "*+1\r\n", nil, "Protocol error: invalid multibulk length"},
		{"multibulk count minus zero", "*-0\r\n", nil, "Protocol error: invalid multibulk length"},
		{"multibulk count leading zero", "*01\r\n", nil, "Protocol error: invalid multibulk length"},
		{"multibulk count empty", "*\r\n", nil, "Protocol error: invalid multibulk length"},
		{"multibulk count over INT_MAX", "*2147483648\r\n", nil, "Protocol error: invalid multibulk length"},
		{"expected dollar", "*1\r\n:1\r\n", nil, "Protocol error: expected '$', got ':'"},
		{"bulk length negative", "*1\r\n$-1\r\n", nil, "Protocol error: invalid bulk length"},
		{"bulk length not a number", "*1\r\n$x\r\n", nil, "Protocol error: invalid bulk length"},
		{"bulk length over proto-max-bulk-len", "*1\r\n$536870913\r\n", nil, "Protocol error: invalid bulk length"},
		{"unbalanced double quotes", "set k \"v\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"unbalanced single quotes", "set k 'v\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"closing quote then text", "set k \"v\"x\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"error after good requests", "ping\r\n*1\r\n$1\r\nx\r\n*z\r\n", [][]string{{"ping"}, {"x"}}, "Protocol error: invalid multibulk length"},
		{"inline too big", strings.Repeat("a", protocol.InlineMax+1), nil, "Protocol error: too big inline request"},
		{"inline line too long even when complete", strings.Repeat("a", protocol.InlineMax+1) + "\n", nil, "Protocol error: too big inline request"},
		{"inline at the limit", strings.Repeat("a", protocol.InlineMax) + "\n", [][]string{{strings.Repeat("a", protocol.InlineMax)}}, "EOF"},
		{"mbulk count too big", "*" + strings.Repeat("1", protocol.InlineMax+1), nil, "Protocol error: too big mbulk count string"},
		{"bulk count too big", "*1\r\n$" + strings.Repeat("1", protocol.InlineMax+1), nil, "Protocol error: too big bulk count string"},
		{"NUL then too much", "*1\x00" + strings.Repeat("x", protocol.InlineMax), nil, "Protocol error: too big mbulk count string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rd := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tt.in)},
				{"byte by byte", iotest.OneByteReader(strings.NewReader(tt.in))},
			} {
				got, err := readAll(rd.r, nil)
				if fmt.Sprint(got) != fmt.Sprint(tt.want) || err != tt.err {
					t.Errorf("%s: got %q, %s; want %q, %s", rd.name, got, err, tt.want, tt.err)
				}
			}
		})
	}
}

func TestReaderLimits(t *testing.T) {
	mb := func(args ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		return b.String()
	}
	unauth := func(r *protocol.Reader) { r.Unauthenticated = true }
	small := func(r *protocol.Reader) { r.MaxBulk = 10 }
	tests := []struct {
		name      string
		in        string
		configure func(r *protocol.Reader)
		n         int
		err       string
	}{
		{"proto-max-bulk-len reached", mb("0123456789"), small, 1, "EOF"},
		{"proto-max-bulk-len passed", mb("0123456789x"), small, 0, "Protocol error: invalid bulk length"},
		{"unauthenticated: 10 arguments", mb("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"), unauth, 1, "EOF"},
		{"unauthenticated: 11 arguments", "*11\r\n", unauth, 0, "Protocol error: unauthenticated multibulk length"},
		{"unauthenticated: 16384 bytes", mb(strings.Repeat("x", 16384)), unauth, 1, "EOF"},
		{"unauthenticated: 16385 bytes", "*1\r\n$16385\r\n", unauth, 0, "Protocol error: unauthenticated bulk length"},
		// Past proto-max-bulk-len the general error comes first.
		{"unauthenticated: over proto-max-bulk-len", "*1\r\n$536870913\r\n", unauth, 0, "Protocol error: invalid bulk length"},
		// Inline requests are not limited by argument count.
		{"unauthenticated inline", "a b c d e f g h i j k l\r\n", unauth, 1, "EOF"},
	}
	for _, tt := range tests {
		got, err := readAll(strings.NewReader(tt.in), tt.configure)
		if len(got) != tt.n || err != tt.err {
			t.Errorf("%s: %d requests, %s; want %d, %s", tt.name, len(got), err, tt.n, tt.err)
		}
	}
}

// A big argument arriving in small reads is assembled whole, and the
// slices stay valid until the next call.
func TestReaderBigArgument(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	in := fmt.Sprintf("*2\r\n$3\r\nset\r\n$%d\r\n%s\r\n*1\r\n$4\r\nping\r\n", len(big), big)
	r := protocol.NewReader(chunkReader{strings.NewReader(in), 4093})
	args, err := r.ReadCommand()
	if err != nil || len(args) != 2 || !bytes.Equal(args[1], big) {
		t.Fatalf("big argument: %d args, err %v", len(args), err)
	}
	if args, err := r.ReadCommand(); err != nil || string(args[0]) != "ping" {
		t.Fatalf("after the big argument: %q, %v", args, err)
	}
}

type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

func TestString2ll(t *testing.T) {
	tests := []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"-0", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1x", 0, false},
		{"000000000000000000001", 0, false}, // 21 bytes
	}
	for _, tt := range tests {
		n, ok := protocol.String2ll([]byte(tt.in))
		if n != tt.n || ok != tt.ok {
			t.Errorf("String2ll(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.ok)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"a b", []string{"a", "b"}, true},
		{`"a\tb" 'c d'`, []string{"a\tb", "c d"}, true},
		{`"\x4a\x4B"`, []string{"JK"}, true},
		{`"\a\b\r"`, []string{"\a\b\r"}, true},
		{`'\x41'`, []string{`\x41`}, true},
		{"a\vb", []string{"a\vb"}, true}, // \v separates only around arguments
		{`"a"b`, nil, false},
		{`'a'b`, nil, false},
		{`"a`, nil, false},
		{`'a`, nil, false},
		{"a\x00b", []string{"a"}, true}, // a NUL ends the line, as in C
	}
	for _, tt := range tests {
		args, ok := protocol.SplitArgs([]byte(tt.in))
		got := make([]string, len(args))
		for i, a := range args {
			got[i] = string(a)
		}
		if ok != tt.ok || (ok && fmt.Sprint(got) != fmt.Sprint(tt.want)) || (ok && len(got) != len(tt.want)) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// splitReader returns its data in two reads, split at off.
type splitReader struct {
	parts [][]byte
}

func (s *splitReader) Read(p []byte) (int, error) {
	for len(s.parts) > 0 && len(s.parts[0]) == 0 {
		s.parts = s.parts[1:]
	}
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.parts[0])
	s.parts[0] = s.parts[0][n:]
	return n, nil
}

// FuzzReader checks that parsing does not depend on how the bytes arrive:
// each input is parsed whole, byte by byte, and split in two at every
// offset (as nats-server's parser fuzz does with halves; long inputs at
// 256 of them), and the requests and the final error must be the same.
func FuzzReader(f *testing.F) {
	seeds := []string{
		"*1\r\n$4\r\nPING\r\n",
		"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nget\r\n$1\r\nk\r\n",
		"PING\r\nset k \"a b\"\r\nget 'k'\n",
		"*0\r\n*-1\r\n\r\n\n",
		"*2\r\n$4\r\necho\r\n$4\r\na\r\nb\r\n",
		"*1\r\n$1\r\naXY*1\r\n$1\r\nb\r\n",
		"*x\r\n",
		"*1\r\n:1\r\n",
		"*1\r\n$-1\r\n",
		"*2147483648\r\n",
		"set k \"v\r\n",
		"set k 'v'x\r\n",
		`echo "\x41\n\"" 'it\'s'` + "\r\n",
		"get a\x00b\r\nping\r\n",
		"*1\x00\r\n",
		"*1\rX$1\rXa\r\n",
		"ping\r\n*1\r\n$3\r\nab",
		"*12\r\n$1\r\na\r\n",
		"*1\r\n$16385\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, unauth bool) {
		if len(data) > 4<<10 {
			t.Skip()
		}
		configure := func(r *protocol.Reader) {
			r.Unauthenticated = unauth
			r.MaxBulk = 1 << 20
		}
		want, wantErr := readAll(bytes.NewReader(data), configure)
		check := func(how string, got [][]string, gotErr string) {
			t.Helper()
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) || gotErr != wantErr {
				t.Fatalf("%s: %q, %s; whole: %q, %s", how, got, gotErr, want, wantErr)
			}
		}
		got, gotErr := readAll(iotest.OneByteReader(bytes.NewReader(data)), configure)
		check("byte by byte", got, gotErr)
		// Every offset of short inputs; about 256 of long ones.
		step := max(1, len(data)/256)
		for off := 1; off < len(data); off += step {
			got, gotErr := readAll(&splitReader{parts: [][]byte{data[:off:off], data[off:]}}, configure)
			check(fmt.Sprintf("split at %d", off), got, gotErr)
		}
		for _, cmd := range want {
			if len(cmd) == 0 {
				t.Fatalf("empty request returned: %q", want)
			}
		}
	})
}
