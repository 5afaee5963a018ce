package eval

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

// Counter commands. They emit increments (OpIncr, OpIncrFloat), not the new
// value, so that increments made concurrently in several regions add up
// (DESIGN.md, "Merge rules"); the reply is the current value plus the
// increment, checked as Valkey checks it.
func init() {
	Register(map[string]Handler{
		"incr":        cmdIncr,
		"decr":        cmdDecr,
		"incrby":      cmdIncrBy,
		"decrby":      cmdDecrBy,
		"incrbyfloat": cmdIncrByFloat,
	})
}

// INCR key
func cmdIncr(c *Ctx, args [][]byte) { stringsIncr(c, args[1], 1) }

// DECR key
func cmdDecr(c *Ctx, args [][]byte) { stringsIncr(c, args[1], -1) }

// INCRBY key increment
func cmdIncrBy(c *Ctx, args [][]byte) {
	by, ok := ParseInt(args[2])
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
		return
	}
	stringsIncr(c, args[1], by)
}

// DECRBY key decrement
func cmdDecrBy(c *Ctx, args [][]byte) {
	by, ok := ParseInt(args[2])
	if !ok {
		c.W.Error(protocol.ErrNotInteger)
		return
	}
	if by == math.MinInt64 {
		c.W.Error("ERR decrement would overflow")
		return
	}
	stringsIncr(c, args[1], -by)
}

// stringsIncr is Valkey's incrDecrCommand.
func stringsIncr(c *Ctx, key []byte, by int64) {
	// >> Operation
	o, ok := c.LookupWrite(key, storage.KindString)
	if !ok {
		return
	}
	var cur int64
	if o != nil {
		// Only a value that is exactly an integer may take an OpIncr:
		// storage would read anything else as a float.
		if cur, ok = ParseInt(o.Str().Value()); !ok {
			c.W.Error(protocol.ErrNotInteger)
			return
		}
	}
	if (by < 0 && cur < 0 && by < math.MinInt64-cur) || (by > 0 && cur > 0 && by > math.MaxInt64-cur) {
		c.W.Error(protocol.ErrOverflow)
		return
	}
	c.Emit(storage.Effect{Op: storage.OpIncr, Key: string(key), Int: by})

	// >> Response
	c.W.Int(cur + by)
}

// INCRBYFLOAT key increment
func cmdIncrByFloat(c *Ctx, args [][]byte) {
	// >> Args
	key := args[1]

	// >> Operation
	o, ok := c.LookupWrite(key, storage.KindString)
	if !ok {
		return
	}
	var cur []byte
	val := new(big.Float).SetPrec(stringsLDPrec)
	if o != nil {
		cur = o.Str().Value()
		if val, ok = stringsParseLongDouble(cur); !ok {
			c.W.Error(protocol.ErrNotFloat)
			return
		}
	}
	by, ok := stringsParseLongDouble(args[2])
	if !ok {
		c.W.Error(protocol.ErrNotFloat)
		return
	}
	sum, ok := stringsAddLongDouble(val, by)
	if !ok {
		c.W.Error(protocol.ErrNaN)
		return
	}
	text := stringsFormatLongDouble(sum)
	if d, exact := stringsFloatDelta(cur, text); exact {
		c.Emit(storage.Effect{Op: storage.OpIncrFloat, Key: string(key), Float: d})
	} else {
		// Storage's float64 sum cannot land on Valkey's result (too many
		// digits, or out of float64's range): write the result itself.
		c.Emit(storage.Effect{Op: storage.OpSet, Key: string(key), Value: []byte(text)})
	}

	// >> Response
	c.W.BulkString(text)
}

// Valkey computes INCRBYFLOAT in C's long double, which on x86-64 is the
// x87 extended format: a 64-bit significand and a 15-bit exponent. It
// prints the sum with "%.17Lf" and trims trailing zeros, so 0.1+0.2 gives
// "0.3" where float64 arithmetic would give 0.30000000000000004. The
// evaluator reproduces that with big.Float at 64 bits of precision.
const (
	stringsLDPrec = 64
	// stringsLDMaxExp bounds finite values: |x| < 2^16384.
	stringsLDMaxExp = 16384
	// stringsLDMinExp is the exponent (in big.Float's MantExp sense) of the
	// smallest denormal, 2^-16445.
	stringsLDMinExp = -16444
	// stringsLDMaxChars is Valkey's MAX_LONG_DOUBLE_CHARS: longer input is
	// not a float.
	stringsLDMaxChars = 5 * 1024
)

// stringsParseLongDouble parses b as Valkey's string2ld does: strtold over
// the whole argument, no leading space, no NaN, no overflow and no
// underflow to zero. Infinities parse.
func stringsParseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= stringsLDMaxChars || isSpaceByte(b[0]) {
		return nil, false
	}
	s := string(b)
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return nil, false
	}
	neg := s[0] == '-'
	switch strings.ToLower(body) {
	case "inf", "infinity":
		return new(big.Float).SetInf(neg), true
	}
	hex := len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	zero, exp, ok := stringsFloatSyntax(body, hex)
	if !ok {
		return nil, false
	}
	if zero {
		f := new(big.Float).SetPrec(stringsLDPrec)
		if neg {
			f.Neg(f)
		}
		return f, true
	}
	if exp > 100000 || exp < -100000 {
		return nil, false // certainly out of range, and costly to parse
	}
	base := 10
	if hex {
		base = 0
	}
	f, _, err := new(big.Float).SetPrec(stringsLDPrec).SetMode(big.ToNearestEven).Parse(s, base)
	if err != nil {
		return nil, false
	}
	if e := f.MantExp(nil); e > stringsLDMaxExp || e < stringsLDMinExp {
		return nil, false // strtold's ERANGE: overflow, or underflow to zero
	}
	return f, true
}

// stringsFloatSyntax checks that s (without its sign) is entirely a
// strtold number: decimal digits with an optional point and e exponent, or
// 0x hex digits with an optional point and p exponent. It reports whether
// every digit is zero, and the exponent's value.
func stringsFloatSyntax(s string, hex bool) (zero bool, exp int64, ok bool) {
	isDigit := func(ch byte) bool { return ch >= '0' && ch <= '9' }
	isMant := isDigit
	expChar := byte('e')
	if hex {
		s = s[2:]
		isMant = func(ch byte) bool {
			return isDigit(ch) || (ch|0x20 >= 'a' && ch|0x20 <= 'f')
		}
		expChar = 'p'
	}
	i, digits, point := 0, 0, false
	zero = true
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case isMant(ch):
			digits++
			if ch != '0' {
				zero = false
			}
			continue
		case ch == '.' && !point:
			point = true
			continue
		}
		break
	}
	if digits == 0 {
		return false, 0, false
	}
	if i == len(s) {
		return zero, 0, true
	}
	if s[i]|0x20 != expChar {
		return false, 0, false
	}
	i++
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return false, 0, false
	}
	for ; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false, 0, false
		}
		if exp < math.MaxInt32 {
			exp = exp*10 + int64(s[i]-'0')
		}
	}
	if neg {
		exp = -exp
	}
	return zero, exp, true
}

// stringsAddLongDouble adds as the x87 does; false means the sum is NaN or
// infinite.
func stringsAddLongDouble(a, b *big.Float) (*big.Float, bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false
	}
	sum := new(big.Float).SetPrec(stringsLDPrec).SetMode(big.ToNearestEven).Add(a, b)
	if sum.Sign() != 0 && sum.MantExp(nil) > stringsLDMaxExp {
		return nil, false
	}
	return sum, true
}

// stringsFormatLongDouble prints f as Valkey's ld2string in human mode:
// "%.17Lf" with trailing zeros (and a trailing point) removed, and "-0"
// written "0".
func stringsFormatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// stringsFloatDelta returns the float64 increment to log so that storage,
// which adds in float64 to the value it parses from cur and prints the
// shortest form of the sum (storage.sumValue), ends up holding exactly
// text, the reply; exact is false when no increment does (text has more
// digits than a float64's shortest form, or is out of its range). The
// increment may differ from the client's by a rounding error: what
// matters is that every region lands on the same value.
func stringsFloatDelta(cur []byte, text string) (d float64, exact bool) {
	base, err := strconv.ParseFloat(string(cur), 64)
	if err != nil || math.IsNaN(base) || math.IsInf(base, 0) {
		base = 0
	}
	target, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(target, 0) || string(storage.FormatFloat(nil, target)) != text {
		return 0, false
	}
	d = target - base
	for range 8 {
		switch sum := base + d; {
		case sum == target:
			return d, true
		case sum < target:
			d = math.Nextafter(d, math.Inf(1))
		default:
			d = math.Nextafter(d, math.Inf(-1))
		}
	}
	return 0, false
}
