package eval

import "github.com/meridian-kv/meridian/protocol"

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
func keysMatch(pattern, s []byte) bool { return protocol.GlobMatch(pattern, s, false) }

// keysMatchAll reports whether pattern is exactly "*", which KEYS and SCAN
// treat as "no pattern" (it then matches even the empty key).
func keysMatchAll(pattern []byte) bool { return len(pattern) == 1 && pattern[0] == '*' }
