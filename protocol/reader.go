package protocol

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Limits Valkey applies to requests (networking.c).
const (
	// InlineMax is the longest inline request, and the longest length line
	// of a multibulk request (PROTO_INLINE_MAX_SIZE).
	InlineMax = 64 << 10
	// DefaultMaxBulk is the default proto-max-bulk-len.
	DefaultMaxBulk = 512 << 20
	// unauthMultibulk and unauthBulk bound what a client that has not yet
	// authenticated may send.
	unauthMultibulk = 10
	unauthBulk      = 16384
	maxMultibulk    = 1<<31 - 1
)

// ProtocolError is a malformed request. Its message is Valkey's, without
// the "ERR " prefix; the connection replies with it and closes.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

func protoErr(msg string) error { return &ProtocolError{msg} }

// IsProtocolError reports whether err is a malformed-request error.
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// Reader parses client requests, multibulk and inline, the way Valkey's
// networking.c does, with its limits and error texts. It is modelled on
// tidwall/redcon's Reader, which has no length limits.
type Reader struct {
	rd         io.Reader
	buf        []byte
	start, end int
	args       [][]byte
	// MaxBulk is proto-max-bulk-len; zero means DefaultMaxBulk.
	MaxBulk int64
	// Unauthenticated applies Valkey's tighter limits for clients that have
	// not yet passed AUTH.
	Unauthenticated bool
}

// NewReader returns a Reader over rd.
func NewReader(rd io.Reader) *Reader {
	return &Reader{rd: rd, buf: make([]byte, 16<<10)}
}

// Buffered reports how many unparsed bytes are waiting: when zero, the
// pipeline so far has been read and replies should be flushed.
func (r *Reader) Buffered() int { return r.end - r.start }

// ReadCommand returns the next request's arguments. The slices stay valid
// until the next call. Empty requests (blank inline lines, "*0") are
// skipped. A malformed request returns a *ProtocolError; I/O errors are
// returned as they are.
func (r *Reader) ReadCommand() ([][]byte, error) {
	for {
		if r.start < r.end {
			args, n, err := r.parse(r.buf[r.start:r.end])
			if err != nil {
				return nil, err
			}
			if n > 0 {
				r.start += n
				if r.start == r.end {
					r.start, r.end = 0, 0
				}
				if args == nil {
					continue // empty request
				}
				return args, nil
			}
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more bytes, compacting or growing the buffer first.
func (r *Reader) fill() error {
	if r.start > 0 && r.start == r.end {
		r.start, r.end = 0, 0
	}
	if r.end == len(r.buf) {
		if r.start > 0 {
			copy(r.buf, r.buf[r.start:r.end])
			r.end -= r.start
			r.start = 0
		} else {
			nb := make([]byte, len(r.buf)*2)
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
	}
	n, err := r.rd.Read(r.buf[r.end:])
	r.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (r *Reader) maxBulk() int64 {
	if r.Unauthenticated {
		return unauthBulk
	}
	if r.MaxBulk > 0 {
		return r.MaxBulk
	}
	return DefaultMaxBulk
}

// parse tries to parse one request from b. It returns n == 0 when more
// bytes are needed, and args == nil with n > 0 for an empty request.
func (r *Reader) parse(b []byte) (args [][]byte, n int, err error) {
	if b[0] != '*' {
		return r.parseInline(b)
	}
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		if len(b) > InlineMax {
			return nil, 0, protoErr("too big mbulk count string")
		}
		return nil, 0, nil
	}
	if nl < 1 || b[nl-1] != '\r' {
		return nil, 0, protoErr("invalid multibulk length")
	}
	count, ok := parseLen(b[1 : nl-1])
	if !ok || count > maxMultibulk {
		return nil, 0, protoErr("invalid multibulk length")
	}
	if r.Unauthenticated && count > unauthMultibulk {
		return nil, 0, protoErr("unauthenticated multibulk length")
	}
	pos := nl + 1
	if count <= 0 {
		return nil, pos, nil
	}
	args = r.args[:0]
	for i := int64(0); i < count; i++ {
		if pos >= len(b) {
			return nil, 0, nil
		}
		if b[pos] != '$' {
			return nil, 0, protoErr("expected '$', got '" + string(b[pos]) + "'")
		}
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			if len(b)-pos > InlineMax {
				return nil, 0, protoErr("too big bulk count string")
			}
			return nil, 0, nil
		}
		nl += pos
		if b[nl-1] != '\r' {
			return nil, 0, protoErr("invalid bulk length")
		}
		size, ok := parseLen(b[pos+1 : nl-1])
		if !ok || size < 0 || size > r.maxBulk() {
			if ok && size > 0 && r.Unauthenticated {
				return nil, 0, protoErr("unauthenticated bulk length")
			}
			return nil, 0, protoErr("invalid bulk length")
		}
		pos = nl + 1
		if int64(len(b)-pos) < size+2 {
			r.reserve(int64(pos) + size + 2)
			return nil, 0, nil
		}
		end := pos + int(size)
		if b[end] != '\r' || b[end+1] != '\n' {
			return nil, 0, protoErr("invalid bulk length")
		}
		args = append(args, b[pos:end])
		pos = end + 2
	}
	r.args = args
	return args, pos, nil
}

// reserve makes sure the buffer can hold need bytes from r.start, so a big
// argument is read with few copies.
func (r *Reader) reserve(need int64) {
	if need <= int64(len(r.buf)-r.start) {
		return
	}
	size := int64(len(r.buf))
	for size < need {
		size *= 2
	}
	nb := make([]byte, size)
	copy(nb, r.buf[r.start:r.end])
	r.end -= r.start
	r.start = 0
	r.buf = nb
}

func (r *Reader) parseInline(b []byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		if len(b) > InlineMax {
			return nil, 0, protoErr("too big inline request")
		}
		return nil, 0, nil
	}
	line := b[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := SplitArgs(line)
	if !ok {
		return nil, 0, protoErr("unbalanced quotes in request")
	}
	if len(args) == 0 {
		return nil, nl + 1, nil
	}
	return args, nl + 1, nil
}

// parseLen parses a decimal length as Valkey's string2ll does: an optional
// minus sign, digits, no spaces, no plus sign, no leading zeros.
func parseLen(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || b[0] == '+' || (len(b) > 1 && b[0] == '0') {
		return 0, false
	}
	return n, true
}

// SplitArgs splits an inline request line the way Valkey's sdssplitargs
// does: spaces separate arguments, "double quotes" understand \n \r \t \b
// \a \\ \" and \xHH escapes, 'single quotes' understand only \'. A closing
// quote must be followed by a space or the end. It reports false for
// unbalanced quotes.
func SplitArgs(line []byte) ([][]byte, bool) {
	var args [][]byte
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return args, true
		}
		var cur []byte
		inq, insq, done := false, false, false
		for !done {
			if inq {
				if i >= len(line) {
					return nil, false
				}
				switch {
				case line[i] == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur = append(cur, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				case line[i] == '\\' && i+1 < len(line):
					i++
					switch line[i] {
					case 'n':
						cur = append(cur, '\n')
					case 'r':
						cur = append(cur, '\r')
					case 't':
						cur = append(cur, '\t')
					case 'b':
						cur = append(cur, '\b')
					case 'a':
						cur = append(cur, '\a')
					default:
						cur = append(cur, line[i])
					}
				case line[i] == '"':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				default:
					cur = append(cur, line[i])
				}
			} else if insq {
				if i >= len(line) {
					return nil, false
				}
				switch {
				case line[i] == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur = append(cur, '\'')
				case line[i] == '\'':
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				default:
					cur = append(cur, line[i])
				}
			} else {
				if i >= len(line) {
					break
				}
				switch line[i] {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, line[i])
				}
			}
			if i < len(line) {
				i++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		args = append(args, cur)
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' }
func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
