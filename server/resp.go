package server

import "github.com/meridian-kv/meridian/protocol"

// respSplitArray splits an encoded RESP array reply into its encoded
// elements. It reports false if b is not exactly one non-null array.
func respSplitArray(b []byte) ([][]byte, bool) {
	if len(b) == 0 || b[0] != '*' {
		return nil, false
	}
	n, pos, ok := respLine(b, 0)
	if !ok || n < 0 {
		return nil, false
	}
	out := make([][]byte, 0, n)
	for range n {
		end, ok := respSkip(b, pos)
		if !ok {
			return nil, false
		}
		out = append(out, b[pos:end])
		pos = end
	}
	return out, pos == len(b)
}

// respLine parses the integer after the type byte at b[i] and returns it
// with the position after the line end.
func respLine(b []byte, i int) (n int64, next int, ok bool) {
	for j := i + 1; j+1 < len(b); j++ {
		if b[j] == '\r' && b[j+1] == '\n' {
			n, ok := protocol.String2ll(b[i+1 : j])
			return n, j + 2, ok
		}
	}
	return 0, 0, false
}

// respSkip returns the end of the RESP2 or RESP3 value at b[i].
func respSkip(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '+', '-', ':', '_', ',', '#', '(':
		for j := i + 1; j+1 < len(b); j++ {
			if b[j] == '\r' && b[j+1] == '\n' {
				return j + 2, true
			}
		}
		return 0, false
	case '$', '=', '!':
		n, next, ok := respLine(b, i)
		if !ok {
			return 0, false
		}
		if n < 0 {
			return next, true
		}
		end := next + int(n) + 2
		if n > int64(len(b)) || end > len(b) {
			return 0, false
		}
		return end, true
	case '*', '~', '>', '%', '|':
		n, next, ok := respLine(b, i)
		if !ok {
			return 0, false
		}
		if b[i] == '%' || b[i] == '|' {
			n *= 2
		}
		pos := next
		for range max(n, 0) {
			if pos, ok = respSkip(b, pos); !ok {
				return 0, false
			}
		}
		if b[i] == '|' {
			// An attribute precedes the value it describes.
			return respSkip(b, pos)
		}
		return pos, true
	}
	return 0, false
}
