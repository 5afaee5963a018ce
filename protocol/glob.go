package protocol

// GlobMatch reports whether s matches pattern the way Valkey's
// stringmatchlen (util.c) does: '*' any run of bytes, '?' one byte,
// "[abc]", "[^abc]" and "[a-z]" byte classes, '\' escapes the next byte.
// nocase folds ASCII case (CONFIG GET, COMMAND LIST); pub/sub patterns
// are case-sensitive.
//
// Valkey's quirks are kept: an unclosed '[' runs to the end of the
// pattern, a trailing '\' matches itself, range ends compare as C's
// signed char, and recursion deeper than 1000 levels fails the match.
func GlobMatch(pattern, s []byte, nocase bool) bool {
	skipLonger := false
	return globMatchImpl(pattern, s, nocase, &skipLonger, 0)
}

func globLower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func globMatchImpl(pat, str []byte, nocase bool, skipLonger *bool, nesting int) bool {
	if nesting > 1000 {
		return false
	}
	// at reads the pattern as C does, with a NUL past its end.
	at := func(i int) byte {
		if i < len(pat) {
			return pat[i]
		}
		return 0
	}
	eq := func(a, b byte) bool {
		if nocase {
			return globLower(int(a)) == globLower(int(b))
		}
		return a == b
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
				if globMatchImpl(pat[p+1:], str[s:], nocase, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
			}
			*skipLonger = true
			return false
		case '?':
			s++
		case '[':
			p++
			not := at(p) == '^'
			if not {
				p++
			}
			match := false
			for {
				if at(p) == '\\' && len(pat)-p >= 2 {
					p++
					if pat[p] == str[s] {
						match = true
					}
				} else if at(p) == ']' {
					break
				} else if p >= len(pat) {
					p--
					break
				} else if len(pat)-p >= 3 && pat[p+1] == '-' {
					start, end, c := int(int8(pat[p])), int(int8(pat[p+2])), int(int8(str[s]))
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = globLower(start), globLower(end), globLower(c)
					}
					p += 2
					if c >= start && c <= end {
						match = true
					}
				} else if eq(pat[p], str[s]) {
					match = true
				}
				p++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s++
		case '\\':
			if len(pat)-p >= 2 {
				p++
			}
			fallthrough
		default:
			if !eq(pat[p], str[s]) {
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
