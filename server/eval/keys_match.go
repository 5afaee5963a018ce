package eval

// keysMatch reports whether s matches the glob-style pattern the way
// Valkey's stringmatchlen (util.c) does, byte for byte, case-sensitively:
//
//   - any run of bytes, the empty one included
//     ?       any single byte
//     [abc]   one byte of the set; [^abc] one byte outside it
//     [a-z]   one byte in the range (ends in either order)
//     \x      the byte x itself (also inside brackets)
//
// Quirks kept on purpose, since clients rely on Valkey's behaviour: an
// unclosed '[' runs to the end of the pattern, a trailing '\' matches
// itself, range ends compare as C's signed char, and a pattern nesting
// more than 1000 stars gives up (no match) rather than recurse on.
func keysMatch(pattern, s []byte) bool {
	skipLonger := false
	return keysMatchImpl(pattern, s, &skipLonger, 0)
}

// keysMatchAll reports whether pattern is exactly "*", which KEYS and SCAN
// treat as "no pattern" (it then matches even the empty key).
func keysMatchAll(pattern []byte) bool { return len(pattern) == 1 && pattern[0] == '*' }

func keysMatchImpl(pat, str []byte, skipLonger *bool, nesting int) bool {
	if nesting > 1000 {
		return false // protection against abusive patterns
	}
	p, s := 0, 0
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p+1 < len(pat) && pat[p+1] == '*' {
				p++
			}
			if p == len(pat)-1 {
				return true
			}
			for s < len(str) {
				if keysMatchImpl(pat[p+1:], str[s:], skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
			}
			// Nothing after the star matched anywhere in the rest of the
			// string: a longer match for an earlier star cannot help.
			*skipLonger = true
			return false
		case '?':
			s++
		case '[':
			p++
			not := p < len(pat) && pat[p] == '^'
			if not {
				p++
			}
			if keysMatchClass(pat, &p, str[s]) == not {
				return false
			}
			s++
		case '\\':
			if len(pat)-p >= 2 {
				p++
			}
			fallthrough
		default:
			if pat[p] != str[s] {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for p < len(pat) && pat[p] == '*' {
				p++
			}
			break
		}
	}
	return p == len(pat) && s == len(str)
}

// keysMatchClass matches one byte against the bracket class starting at
// pat[*p] (after '[' and '^'), leaving *p on the closing ']' (or on the
// last byte of an unclosed class).
func keysMatchClass(pat []byte, p *int, b byte) bool {
	match := false
	for {
		rest := len(pat) - *p
		switch {
		case rest >= 2 && pat[*p] == '\\':
			*p++
			if pat[*p] == b {
				match = true
			}
		case rest > 0 && pat[*p] == ']':
			return match
		case rest == 0:
			*p-- // unclosed: the caller's step lands on the end
			return match
		case rest >= 3 && pat[*p+1] == '-':
			lo, hi := int(int8(pat[*p])), int(int8(pat[*p+2]))
			if lo > hi {
				lo, hi = hi, lo
			}
			*p += 2
			if c := int(int8(b)); c >= lo && c <= hi {
				match = true
			}
		case pat[*p] == b:
			match = true
		}
		*p++
	}
}
