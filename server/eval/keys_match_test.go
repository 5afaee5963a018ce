package eval

import (
	"strings"
	"testing"
)

func TestKeysMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"*", "", false}, // stringmatchlen itself; KEYS and SCAN special-case "*"
		{"*", "anything", true},
		{"**", "x", true},
		{"a*", "a", true},  // trailing stars match nothing
		{"a**", "a", true}, // ...however many
		{"foo*", "foo_a", true},
		{"foo*", "fo", false},
		{"*{b}*", "{b}a", true},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "heeeello", true},
		{"h*llo", "hellox", false},
		{"h[ae]llo", "hello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true},  // range ends in either order
		{`h\*llo`, "h*llo", true},     // escaped star is literal
		{`h\*llo`, "hallo", false},    // ...and matches nothing else
		{`[\]]`, "]", true},           // escape inside a class
		{`[\-]`, "-", true},           // ...even of a range dash
		{"[abc", "c", true},           // unclosed class runs to the end
		{"[abc", "d", false},          // ...and still must match
		{"[a-", "-", true},            // a dash without an end is literal
		{"[^", "x", true},             // an empty negated class matches any byte
		{`a\`, `a\`, true},            // a trailing backslash matches itself
		{"[a-\xff]", "b", false},      // 0xff is -1 as a C signed char: the range is [-1, 'a']
		{"[\x80-\xff]", "\x90", true}, // both ends negative: [-128, -1]
		{"?", "\xff", true},           // bytes, not runes
		{"a*b", "acccb", true},        // backtracking
		{"a*b*c", "abxbxc", true},     // several stars
		{"a*b*c", "abxbx", false},     // ...that cannot all match
		{"*a", "aaaaaaaaaaaaaaab", false},
		{"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 40), false},
	}
	for _, tt := range tests {
		if got := keysMatch([]byte(tt.pattern), []byte(tt.s)); got != tt.want {
			t.Errorf("keysMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// TestKeysMatchAbusive checks Valkey's guard against patterns that would
// recurse too deep: more than 1000 nested stars never match.
func TestKeysMatchAbusive(t *testing.T) {
	s := strings.Repeat("a", 50000)
	if keysMatch([]byte(strings.Repeat("*?", 50000)), []byte(s)) {
		t.Error("50000 nested stars matched")
	}
	if !keysMatch([]byte(strings.Repeat("*?", 500)), []byte(s)) {
		t.Error("500 nested stars did not match")
	}
}
