package protocol

import (
	"errors"
	"io"
)

// Limits Valkey applies to requests (networking.c).
const (
	// InlineMax is the longest inline request, and the longest length line
	// of a multibulk request (PROTO_INLINE_MAX_SIZE).
	InlineMax = 64 << 10
	// DefaultMaxBulk is the default proto-max-bulk-len.
	DefaultMaxBulk = 512 << 20
	// MaxQueryBuffer is the most a single request may occupy in the read
	// buffer (client-query-buffer-limit).
	MaxQueryBuffer = 1 << 30
	// unauthMultibulk and unauthBulk bound what a client that has not yet
	// authenticated may send.
	unauthMultibulk = 10
	unauthBulk      = 16384
	maxMultibulk    = 1<<31 - 1
)

// ErrQueryBufferLimit is returned by [Reader.ReadCommand] when a single
// request needs more than [MaxQueryBuffer] bytes. Valkey closes such a
// client without a reply.
var ErrQueryBufferLimit = errors.New("protocol: query buffer limit reached")

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
//
// The result does not depend on how the bytes are split into reads: a
// multibulk request is parsed incrementally, and a length line longer than
// InlineMax is an error whether or not its end has arrived (Valkey accepts
// such a line when it happens to arrive in one read).
//
// Like Valkey, which looks for line ends with strchr, a NUL byte hides any
// line end after it: such a line never completes, and becomes a "too big"
// error once more than InlineMax bytes are waiting.
type Reader struct {
	rd         io.Reader
	buf        []byte
	start, end int // unparsed bytes; start is where the current request begins
	args       [][]byte
	lastLen    int // bytes of the request last returned

	// mb is the state of a multibulk request being parsed; positions are
	// relative to start, so they survive compaction.
	mb struct {
		active bool
		left   int64 // arguments still to read
		pos    int   // where parsing resumes
		bulk   int64 // length of the argument whose data is awaited; -1 before its header
		spans  [][2]int
	}
	// scan remembers how far the search for the current line's end got,
	// so a line arriving in many small reads is scanned once.
	scan struct {
		valid     bool
		from, end int  // line start, and how far no line end was found
		nul       bool // a NUL came first: the line never ends
	}

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

// Buffered reports how many unparsed bytes are waiting, including the
// parsed part of an incomplete request.
func (r *Reader) Buffered() int { return r.end - r.start }

// LastLen returns the size in bytes of the request ReadCommand last
// returned (CLIENT LIST counts it in the caller's qbuf, as Valkey does).
func (r *Reader) LastLen() int { return r.lastLen }

// ReadCommand returns the next request's arguments. The slices stay valid
// until the next call. Empty requests (blank inline lines, "*0") are
// skipped. A malformed request returns a *ProtocolError; I/O errors are
// returned as they are.
func (r *Reader) ReadCommand() ([][]byte, error) {
	for {
		if r.start < r.end {
			args, done, err := r.parse()
			if err != nil {
				return nil, err
			}
			if done {
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

// ReadBuffered returns the next request only if it is complete in the
// bytes already read, without reading from the connection (ok false
// otherwise). The connection uses it to gather a pipeline. The slices stay
// valid until the next call.
func (r *Reader) ReadBuffered() (args [][]byte, ok bool, err error) {
	for r.start < r.end {
		args, done, err := r.parse()
		if err != nil {
			return nil, false, err
		}
		if !done {
			return nil, false, nil
		}
		if args != nil {
			return args, true, nil
		}
	}
	return nil, false, nil
}

// ReadBufferedIf is ReadBuffered for a request that keep accepts: one it
// refuses, like one that is incomplete or malformed, stays unread (the
// next ReadBuffered or ReadCommand returns it again). keep must not keep
// args. The connection uses it to gather a pipeline in one parse per
// request and no allocation.
func (r *Reader) ReadBufferedIf(keep func(args [][]byte) bool) ([][]byte, bool) {
	saved := *r
	args, ok, err := r.ReadBuffered()
	if err != nil || !ok || !keep(args) {
		*r = saved
		return nil, false
	}
	return args, true
}

// PeekBuffered returns the next request if it is complete in the bytes
// already read, without consuming it; the next ReadBuffered or ReadCommand
// returns it again. The slices stay valid until the next call.
func (r *Reader) PeekBuffered() ([][]byte, bool) {
	saved := *r
	args, ok, err := r.ReadBuffered()
	if err != nil || !ok {
		*r = saved
		return nil, false
	}
	out := make([][]byte, len(args))
	copy(out, args)
	*r = saved
	return out, true
}

// fill reads more bytes, compacting or growing the buffer first.
func (r *Reader) fill() error {
	if r.start == r.end {
		r.start, r.end = 0, 0
		if len(r.buf) > 1<<20 {
			// Give back the memory of a big request.
			r.buf = make([]byte, 16<<10)
		}
	}
	if r.end == len(r.buf) {
		if r.start > 0 {
			copy(r.buf, r.buf[r.start:r.end])
			r.end -= r.start
			r.start = 0
		} else {
			if len(r.buf) >= MaxQueryBuffer {
				return ErrQueryBufferLimit
			}
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

// consume ends the current request at n bytes from start.
func (r *Reader) consume(n int) {
	r.scan.valid = false
	r.start += n
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
}

func (r *Reader) maxBulk() int64 {
	if r.MaxBulk > 0 {
		return r.MaxBulk
	}
	return DefaultMaxBulk
}

// parse tries to complete one request from the buffered bytes. done is
// false when more bytes are needed; args is nil with done for an empty
// request.
func (r *Reader) parse() (args [][]byte, done bool, err error) {
	b := r.buf[r.start:r.end]
	if !r.mb.active {
		if b[0] != '*' {
			return r.parseInline(b)
		}
		cr := r.lineEnd(b, 0, '\r')
		if cr < 0 {
			if len(b) > InlineMax {
				return nil, false, protoErr("too big mbulk count string")
			}
			return nil, false, nil
		}
		if cr > InlineMax {
			return nil, false, protoErr("too big mbulk count string")
		}
		if cr+1 >= len(b) {
			return nil, false, nil // the line end's second byte
		}
		count, ok := String2ll(b[1:cr])
		if !ok || count > maxMultibulk {
			return nil, false, protoErr("invalid multibulk length")
		}
		if count > unauthMultibulk && r.Unauthenticated {
			return nil, false, protoErr("unauthenticated multibulk length")
		}
		if count <= 0 {
			r.consume(cr + 2)
			return nil, true, nil
		}
		r.mb.active, r.mb.left, r.mb.pos, r.mb.bulk = true, count, cr+2, -1
		r.mb.spans = r.mb.spans[:0]
	}
	for r.mb.left > 0 {
		pos := r.mb.pos
		if r.mb.bulk < 0 {
			cr := r.lineEnd(b, pos, '\r')
			if cr < 0 {
				if len(b)-pos > InlineMax {
					return nil, false, protoErr("too big bulk count string")
				}
				return nil, false, nil
			}
			if cr-pos > InlineMax {
				return nil, false, protoErr("too big bulk count string")
			}
			if cr+1 >= len(b) {
				return nil, false, nil
			}
			if b[pos] != '$' {
				return nil, false, protoErr("expected '$', got '" + string(b[pos]) + "'")
			}
			size, ok := String2ll(b[pos+1 : cr])
			if !ok || size < 0 || size > r.maxBulk() {
				return nil, false, protoErr("invalid bulk length")
			}
			if size > unauthBulk && r.Unauthenticated {
				return nil, false, protoErr("unauthenticated bulk length")
			}
			r.mb.bulk = size
			r.mb.pos = cr + 2
			pos = r.mb.pos
		}
		// The argument and the two bytes after it (Valkey skips them
		// without looking).
		need := int64(pos) + r.mb.bulk + 2
		if int64(len(b)) < need {
			return nil, false, nil
		}
		r.mb.spans = append(r.mb.spans, [2]int{pos, pos + int(r.mb.bulk)})
		r.mb.pos = int(need)
		r.mb.bulk = -1
		r.mb.left--
	}
	args = r.args[:0]
	for _, s := range r.mb.spans {
		args = append(args, b[s[0]:s[1]:s[1]])
	}
	r.args = args
	r.mb.active = false
	r.lastLen = r.mb.pos
	r.consume(r.mb.pos)
	return args, true, nil
}

func (r *Reader) parseInline(b []byte) ([][]byte, bool, error) {
	nl := r.lineEnd(b, 0, '\n')
	if nl < 0 {
		if len(b) > InlineMax {
			return nil, false, protoErr("too big inline request")
		}
		return nil, false, nil
	}
	if nl > InlineMax {
		return nil, false, protoErr("too big inline request")
	}
	line := b[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := SplitArgs(line)
	if !ok {
		return nil, false, protoErr("unbalanced quotes in request")
	}
	r.consume(nl + 1)
	if len(args) == 0 {
		return nil, true, nil
	}
	r.lastLen = nl + 1
	return args, true, nil
}

// lineEnd returns the index of the first c in b from the line start on,
// or -1 if there is none or a NUL byte comes first (Valkey searches with
// strchr, which stops at a NUL).
func (r *Reader) lineEnd(b []byte, from int, c byte) int {
	s := &r.scan
	if !s.valid || s.from != from {
		s.valid, s.from, s.end, s.nul = true, from, from, false
	}
	if s.nul {
		return -1
	}
	for j := s.end; j < len(b); j++ {
		switch b[j] {
		case c:
			return j
		case 0:
			s.nul = true
			return -1
		}
	}
	s.end = len(b)
	return -1
}

// String2ll parses a decimal integer exactly as Valkey's string2ll does:
// an optional minus sign, then "0" or digits without a leading zero; no
// spaces, no plus sign, at most 20 bytes, within int64.
func String2ll(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) >= 21 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	p := b
	neg := false
	if p[0] == '-' {
		neg = true
		p = p[1:]
		if len(p) == 0 {
			return 0, false
		}
	}
	if p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, ch := range p {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v *= 10
		if v > 1<<64-1-d {
			return 0, false
		}
		v += d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// parseLen is String2ll; NumKeys uses it for numkeys arguments.
func parseLen(b []byte) (int64, bool) { return String2ll(b) }

// SplitArgs splits an inline request line the way Valkey's sdssplitargs
// does: spaces separate arguments, "double quotes" understand \n \r \t \b
// \a \\ \" and \xHH escapes, 'single quotes' understand only \'. A closing
// quote must be followed by a space or the end. It reports false for
// unbalanced quotes. Like sdssplitargs, which reads a C string, it stops
// at a NUL byte.
func SplitArgs(line []byte) ([][]byte, bool) {
	for i, ch := range line {
		if ch == 0 {
			line = line[:i]
			break
		}
	}
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
				case ' ', '\n', '\r', '\t':
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

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'
}
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
