package protocol

import (
	"math"
	"strconv"

	"github.com/tidwall/redcon"
)

// Writer accumulates RESP replies for one connection. Proto selects the
// dialect: 2 (the default) or 3 (after HELLO 3). The zero Writer speaks RESP2.
//
// Methods append to an internal buffer; the connection loop sends Bytes and
// calls Reset. A Writer is not safe for concurrent use.
type Writer struct {
	b []byte
	// Proto is the RESP version, 2 or 3.
	Proto int
}

// Bytes returns the accumulated replies. The slice is valid until the next
// method call.
func (w *Writer) Bytes() []byte { return w.b }

// Len returns the number of bytes accumulated.
func (w *Writer) Len() int { return len(w.b) }

// Reset empties the buffer, keeping its memory.
func (w *Writer) Reset() { w.b = w.b[:0] }

// Truncate drops everything written after n bytes (see Len).
func (w *Writer) Truncate(n int) { w.b = w.b[:n] }

// UseBuffer makes w append to b's spare capacity from now on, dropping
// what it holds: an owner of many short-lived Writers can carve their
// buffers out of one allocation (a reply that outgrows b moves to a
// buffer of its own).
func (w *Writer) UseBuffer(b []byte) { w.b = b[:0] }

// Raw appends already-encoded RESP.
func (w *Writer) Raw(b []byte) { w.b = append(w.b, b...) }

func (w *Writer) resp3() bool { return w.Proto >= 3 }

// OK appends +OK.
func (w *Writer) OK() { w.b = redcon.AppendOK(w.b) }

// Simple appends a simple string (+s).
func (w *Writer) Simple(s string) { w.b = redcon.AppendString(w.b, s) }

// Error appends an error reply. msg must start with its code, as in
// "ERR syntax error" or "WRONGTYPE ...".
func (w *Writer) Error(msg string) { w.b = redcon.AppendError(w.b, msg) }

// Int appends an integer reply.
func (w *Writer) Int(n int64) { w.b = redcon.AppendInt(w.b, n) }

// Bulk appends a bulk string.
func (w *Writer) Bulk(b []byte) { w.b = redcon.AppendBulk(w.b, b) }

// BulkString appends a bulk string.
func (w *Writer) BulkString(s string) { w.b = redcon.AppendBulkString(w.b, s) }

// BulkInt appends an integer as a bulk string.
func (w *Writer) BulkInt(n int64) { w.b = redcon.AppendBulkInt(w.b, n) }

// Null appends the null bulk string ($-1 in RESP2, _ in RESP3).
func (w *Writer) Null() {
	if w.resp3() {
		w.b = append(w.b, "_\r\n"...)
		return
	}
	w.b = redcon.AppendNull(w.b)
}

// NullArray appends the null array (*-1 in RESP2, _ in RESP3).
func (w *Writer) NullArray() {
	if w.resp3() {
		w.b = append(w.b, "_\r\n"...)
		return
	}
	w.b = append(w.b, "*-1\r\n"...)
}

// Array appends an array header for n elements.
func (w *Writer) Array(n int) { w.b = redcon.AppendArray(w.b, n) }

// Map appends a map header for n key/value pairs (a flat array of 2n
// elements in RESP2).
func (w *Writer) Map(n int) {
	if w.resp3() {
		w.b = appendHeader(w.b, '%', n)
		return
	}
	w.Array(2 * n)
}

// SetHeader appends a set header for n elements (an array in RESP2).
func (w *Writer) SetHeader(n int) {
	if w.resp3() {
		w.b = appendHeader(w.b, '~', n)
		return
	}
	w.Array(n)
}

// Push appends a push header for n elements (an array in RESP2), for
// pub/sub messages.
func (w *Writer) Push(n int) {
	if w.resp3() {
		w.b = appendHeader(w.b, '>', n)
		return
	}
	w.Array(n)
}

// Double appends a float: a RESP3 double, or a bulk string in RESP2, both
// formatted as Valkey does (shortest round-trip form, inf, -inf, nan).
func (w *Writer) Double(f float64) {
	if w.resp3() {
		w.b = append(w.b, ',')
		w.b = AppendFloat(w.b, f)
		w.b = append(w.b, '\r', '\n')
		return
	}
	w.Bulk(AppendFloat(nil, f))
}

// Bool appends a boolean (#t/#f in RESP3, :1/:0 in RESP2).
func (w *Writer) Bool(v bool) {
	if w.resp3() {
		if v {
			w.b = append(w.b, "#t\r\n"...)
		} else {
			w.b = append(w.b, "#f\r\n"...)
		}
		return
	}
	if v {
		w.Int(1)
	} else {
		w.Int(0)
	}
}

// Verbatim appends a verbatim text string (=txt: in RESP3, a bulk string
// in RESP2).
func (w *Writer) Verbatim(s string) {
	if w.resp3() {
		w.b = appendHeader(w.b, '=', len(s)+4)
		w.b = append(w.b, "txt:"...)
		w.b = append(w.b, s...)
		w.b = append(w.b, '\r', '\n')
		return
	}
	w.BulkString(s)
}

// BulkStrings appends an array of bulk strings.
func (w *Writer) BulkStrings(ss []string) {
	w.Array(len(ss))
	for _, s := range ss {
		w.BulkString(s)
	}
}

func appendHeader(b []byte, c byte, n int) []byte {
	b = append(b, c)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// AppendFloat formats f as Valkey's d2string does for double replies
// (addReplyDouble, both RESP2 and RESP3): "nan", "inf", "-inf", "0" or
// "-0"; an integral value of magnitude up to 2^62 as an integer; anything
// else as fpconv_dtoa writes the shortest digits that read back as f:
// plain decimals for exponents from -7 up ("0.1", "0.000001",
// "123.45678901234568"), plain integers with up to 6 padding zeros
// ("9223372036854776000"), and otherwise scientific notation with an
// unpadded exponent ("1e-7", "1.5e+300", "1e+20").
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	// double2ll: integral values within +-LLONG_MAX/2 print as integers.
	const llHalf = float64(math.MaxInt64 / 2)
	if f >= -llHalf && f <= llHalf && f == math.Trunc(f) {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest digits d1.d2d3...e±X; the value is digits * 10^k.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	mant, exp10 := e, 0
	for i, ch := range e {
		if ch == 'e' {
			mant = e[:i]
			x, _ := strconv.Atoi(string(e[i+1:]))
			exp10 = x
			break
		}
	}
	var digits []byte
	for _, ch := range mant {
		if ch != '.' {
			digits = append(digits, ch)
		}
	}
	nd := len(digits)
	k := exp10 - (nd - 1)
	absExp := exp10
	if absExp < 0 {
		absExp = -absExp
	}
	// emit_digits of fpconv_dtoa.
	if k >= 0 && absExp < nd+7 {
		dst = append(dst, digits...)
		for range k {
			dst = append(dst, '0')
		}
		return dst
	}
	if k < 0 && (k > -7 || absExp < 4) {
		offset := nd + k
		if offset <= 0 {
			dst = append(dst, '0', '.')
			for range -offset {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
		dst = append(dst, digits[:offset]...)
		dst = append(dst, '.')
		return append(dst, digits[offset:]...)
	}
	dst = append(dst, digits[0])
	if nd > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	if exp10 < 0 {
		dst = append(dst, '-')
	} else {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, int64(absExp), 10)
}
