package eval_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/server/servertest"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// zsetStep is one command of a sorted-set script and its expected reply,
// rendered by zsetShow.
type zsetStep struct {
	args []any
	// want is the rendered reply in RESP2, and in RESP3 too unless want3
	// is set.
	want  string
	want3 string
}

// zsetShow renders a go-redis reply: text for strings and numbers (a
// RESP3 double as the shortest text that reads back as it, "inf" and
// "-inf" for infinities), "nil" for nulls, [a b] for arrays, and the text
// of an error reply.
func zsetShow(v any, err error) string {
	if err == redis.Nil {
		return "nil"
	}
	if err != nil {
		return err.Error()
	}
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		switch {
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = zsetShow(e, nil)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// zsetRun runs a script against rdb, which speaks proto.
func zsetRun(t *testing.T, rdb *redis.Client, proto int, steps []zsetStep) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		want := s.want
		if proto == 3 && s.want3 != "" {
			want = s.want3
		}
		if got := zsetShow(rdb.Do(ctx, s.args...).Result()); got != want {
			t.Errorf("%v = %s, want %s", s.args, got, want)
		}
	}
}

// zsetProto returns the RESP version rdb speaks.
func zsetProto(rdb *redis.Client) int { return rdb.Options().Protocol }

func TestZSetAdd(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "z", "1", "a", "2", "b"}, want: "2"},
			{args: []any{"zadd", "z", "3", "a"}, want: "0"},                 // updates are not counted
			{args: []any{"zadd", "z", "ch", "4", "a", "5", "c"}, want: "2"}, // CH counts the update
			{args: []any{"zadd", "z", "CH", "4", "a"}, want: "0"},           // same score: no change
			{args: []any{"zadd", "z", "nx", "10", "a", "6", "d"}, want: "1"},
			{args: []any{"zscore", "z", "a"}, want: "4"}, // NX left a alone
			{args: []any{"zadd", "z", "xx", "7", "e", "8", "a"}, want: "0"},
			{args: []any{"zscore", "z", "e"}, want: "nil"}, // XX added nothing
			{args: []any{"zscore", "z", "a"}, want: "8"},
			{args: []any{"zadd", "z", "xx", "ch", "9", "a"}, want: "1"},
			{args: []any{"zadd", "z", "gt", "ch", "5", "a"}, want: "0"}, // 5 < 9
			{args: []any{"zadd", "z", "gt", "ch", "11", "a"}, want: "1"},
			{args: []any{"zadd", "z", "lt", "ch", "12", "a"}, want: "0"},
			{args: []any{"zadd", "z", "lt", "ch", "1", "a"}, want: "1"},
			{args: []any{"zadd", "z", "gt", "1", "g"}, want: "1"},         // GT still adds new members
			{args: []any{"zadd", "z", "xx", "gt", "100", "g"}, want: "0"}, // XX and GT combine
			{args: []any{"zscore", "z", "g"}, want: "100"},
			{args: []any{"zadd", "z", "1", "dup", "2", "dup"}, want: "1"}, // one member, last score wins
			{args: []any{"zscore", "z", "dup"}, want: "2"},
			{args: []any{"zadd", "z", "ch", "3", "dup", "3", "dup"}, want: "1"},
			{args: []any{"zadd", "z", "incr", "5", "a"}, want: "6"}, // 1 + 5
			{args: []any{"zadd", "z", "incr", "1.5", "new"}, want: "1.5"},
			{args: []any{"zadd", "z", "incr", "nx", "1", "a"}, want: "nil"}, // INCR aborted by NX
			{args: []any{"zadd", "z", "incr", "xx", "1", "nosuch"}, want: "nil"},
			{args: []any{"zadd", "z", "incr", "gt", "-1", "a"}, want: "nil"},
			{args: []any{"zadd", "z", "incr", "lt", "-1", "a"}, want: "5"},
			{args: []any{"zadd", "nokey", "xx", "1", "a"}, want: "0"},
			{args: []any{"zadd", "nokey", "xx", "incr", "1", "a"}, want: "nil"},
			{args: []any{"zcard", "nokey"}, want: "0"},
			{args: []any{"zadd", "z", "inf", "pinf", "-inf", "ninf"}, want: "2"},
			{args: []any{"zscore", "z", "pinf"}, want: "inf"},
			{args: []any{"zscore", "z", "ninf"}, want: "-inf"},
			{args: []any{"zadd", "z", "+inf", "pinf2"}, want: "1"},
			{args: []any{"zscore", "z", "pinf2"}, want: "inf"},
			// Errors, word for word, in Valkey's order of checks.
			{args: []any{"zadd", "z", "nx", "xx", "1", "a"}, want: "ERR XX and NX options at the same time are not compatible"},
			{args: []any{"zadd", "z", "gt", "lt", "1", "a"}, want: "ERR GT, LT, and/or NX options at the same time are not compatible"},
			{args: []any{"zadd", "z", "gt", "nx", "1", "a"}, want: "ERR GT, LT, and/or NX options at the same time are not compatible"},
			{args: []any{"zadd", "z", "lt", "nx", "1", "a"}, want: "ERR GT, LT, and/or NX options at the same time are not compatible"},
			{args: []any{"zadd", "z", "incr", "1", "a", "2", "b"}, want: "ERR INCR option supports a single increment-element pair"},
			{args: []any{"zadd", "z", "nx", "xx", "1"}, want: "ERR syntax error"}, // pairs are checked first
			{args: []any{"zadd", "z", "1", "a", "2"}, want: "ERR syntax error"},
			{args: []any{"zadd", "z", "1"}, want: "ERR wrong number of arguments for 'zadd' command"},
			{args: []any{"zadd", "z", "nan", "a"}, want: "ERR value is not a valid float"},
			{args: []any{"zadd", "z", "1", "a", "x", "b"}, want: "ERR value is not a valid float"},
			{args: []any{"zadd", "z", " 1", "a"}, want: "ERR value is not a valid float"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zadd", "str", "1", "a"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
			{args: []any{"zadd", "str", "x", "a"}, want: "ERR value is not a valid float"}, // scores before the key
			{args: []any{"zscore", "z", "a"}, want: "5"},                                   // errors changed nothing
			{args: []any{"zscore", "z", "b"}, want: "2"},
		})
	})
}

func TestZSetIncrBy(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zincrby", "z", "2", "a"}, want: "2"}, // from nothing
			{args: []any{"zincrby", "z", "-0.5", "a"}, want: "1.5"},
			{args: []any{"zincrby", "z", "0", "a"}, want: "1.5"},
			{args: []any{"zincrby", "z", "+inf", "a"}, want: "inf"},
			{args: []any{"zincrby", "z", "-inf", "a"}, want: "ERR resulting score is not a number (NaN)"},
			{args: []any{"zadd", "z", "incr", "-inf", "a"}, want: "ERR resulting score is not a number (NaN)"},
			{args: []any{"zscore", "z", "a"}, want: "inf"}, // the NaN was not stored
			{args: []any{"zincrby", "z", "abc", "a"}, want: "ERR value is not a valid float"},
			{args: []any{"zincrby", "z", "nx", "a"}, want: "ERR syntax error"}, // parsed as ZADD's option
			{args: []any{"zincrby", "z", "1"}, want: "ERR wrong number of arguments for 'zincrby' command"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zincrby", "str", "1", "a"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
			{args: []any{"zincrby", "f", "0.1", "m"}, want: "0.1"},
			{args: []any{"zincrby", "f", "0.2", "m"}, want: "0.30000000000000004"},
		})
	})
}

// zsetRaw sends commands on a fresh raw connection speaking proto and
// returns each reply's bytes exactly as the server wrote them.
func zsetRaw(t *testing.T, srv *servertest.Instance, proto int, cmds ...[]string) []string {
	t.Helper()
	rc := srv.Raw(t, proto)
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = rc.Do(c...)
	}
	return out
}

// TestZSetDoubleFormat checks score replies byte for byte against
// Valkey's d2string: integers up to 2^62 without a point, shortest
// round-trip digits otherwise, fpconv's exponent style.
func TestZSetDoubleFormat(t *testing.T) {
	srv := servertest.Start(t)
	cases := []struct {
		score string // as ZADD is given it
		text  string // as Valkey replies
	}{
		{"1.1", "1.1"},
		{"3.0", "3"},
		{"-0.0", "-0"}, // the sign of zero survives
		{"0", "0"},
		{"1e20", "1e+20"},
		{"1e-7", "1e-7"},
		{"1e-6", "0.000001"},
		{"0.00031415", "3.1415e-4"},
		{"-2.5", "-2.5"},
		{"123456789012345678", "123456789012345680"},
		{"9223372036854775807", "9223372036854776000"}, // past 2^62: shortest digits, zero-padded
		{"1.5e300", "1.5e+300"},
		{"12345678901.5", "12345678901.5"},
		{"inf", "inf"},
		{"-inf", "-inf"},
	}
	for _, proto := range []int{2, 3} {
		var cmds [][]string
		for i, c := range cases {
			cmds = append(cmds, []string{"zadd", "f", c.score, strconv.Itoa(i)}, []string{"zscore", "f", strconv.Itoa(i)})
		}
		got := zsetRaw(t, srv, proto, cmds...)
		for i, c := range cases {
			want := fmt.Sprintf("$%d\r\n%s\r\n", len(c.text), c.text)
			if proto == 3 {
				want = "," + c.text + "\r\n"
			}
			if g := got[2*i+1]; g != want {
				t.Errorf("RESP%d ZSCORE of %s = %q, want %q", proto, c.score, g, want)
			}
		}
	}
	// 0.1 + 0.2 reached by ZINCRBY.
	got := zsetRaw(t, srv, 3, []string{"zadd", "g", "0.1", "m"}, []string{"zincrby", "g", "0.2", "m"})
	if got[1] != ",0.30000000000000004\r\n" {
		t.Errorf("ZINCRBY 0.1+0.2 = %q", got[1])
	}
	// WITHSCORES in RESP3: pairs of bulk member and double score.
	got = zsetRaw(t, srv, 3, []string{"zrange", "g", "0", "-1", "withscores"})
	if want := "*1\r\n*2\r\n$1\r\nm\r\n,0.30000000000000004\r\n"; got[0] != want {
		t.Errorf("RESP3 ZRANGE WITHSCORES = %q, want %q", got[0], want)
	}
	got = zsetRaw(t, srv, 2, []string{"zrange", "g", "0", "-1", "withscores"})
	if want := "*2\r\n$1\r\nm\r\n$19\r\n0.30000000000000004\r\n"; got[0] != want {
		t.Errorf("RESP2 ZRANGE WITHSCORES = %q, want %q", got[0], want)
	}
}

func TestZSetRem(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "z", "1", "a", "2", "b", "3", "c"}, want: "3"},
			{args: []any{"zrem", "z", "a", "a", "x"}, want: "1"}, // a named twice, removed once
			{args: []any{"dbsize"}, want: "1"},
			{args: []any{"zrem", "z", "b", "c"}, want: "2"},
			{args: []any{"dbsize"}, want: "0"}, // the last member took the key with it
			{args: []any{"zrem", "z", "a"}, want: "0"},
			{args: []any{"zrem", "z"}, want: "ERR wrong number of arguments for 'zrem' command"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zrem", "str", "a"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
			{args: []any{"zadd", "z", "1", "a"}, want: "1"}, // a fresh key, a fresh member
			{args: []any{"zrange", "z", "0", "-1", "withscores"}, want: "[a 1]", want3: "[[a 1]]"},
		})
	})
}

func TestZSetRange(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "s", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}, want: "5"},
			{args: []any{"zadd", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"}, want: "5"},
			// By rank.
			{args: []any{"zrange", "s", "0", "-1"}, want: "[a b c d e]"},
			{args: []any{"zrange", "s", "1", "2"}, want: "[b c]"},
			{args: []any{"zrange", "s", "-2", "-1"}, want: "[d e]"},
			{args: []any{"zrange", "s", "3", "1"}, want: "[]"},
			{args: []any{"zrange", "s", "0", "100"}, want: "[a b c d e]"},
			{args: []any{"zrange", "s", "-100", "0"}, want: "[a]"},
			{args: []any{"zrange", "s", "5", "10"}, want: "[]"},
			{args: []any{"zrange", "s", "0", "1", "rev"}, want: "[e d]"},
			{args: []any{"zrevrange", "s", "0", "1"}, want: "[e d]"},
			{args: []any{"zrevrange", "s", "-1", "-1"}, want: "[a]"},
			{args: []any{"zrange", "s", "0", "1", "withscores"}, want: "[a 1 b 2]", want3: "[[a 1] [b 2]]"},
			{args: []any{"zrevrange", "s", "0", "0", "withscores"}, want: "[e 5]", want3: "[[e 5]]"},
			{args: []any{"zrange", "nokey", "0", "-1"}, want: "[]"},
			// By score.
			{args: []any{"zrange", "s", "2", "4", "byscore"}, want: "[b c d]"},
			{args: []any{"zrange", "s", "(2", "4", "byscore"}, want: "[c d]"},
			{args: []any{"zrange", "s", "(2", "(4", "byscore"}, want: "[c]"},
			{args: []any{"zrange", "s", "-inf", "+inf", "byscore", "limit", "1", "2"}, want: "[b c]"},
			{args: []any{"zrange", "s", "-inf", "+inf", "byscore", "limit", "1", "-1"}, want: "[b c d e]"}, // negative count: all
			{args: []any{"zrange", "s", "-inf", "+inf", "byscore", "limit", "-1", "2"}, want: "[]"},
			{args: []any{"zrange", "s", "-inf", "+inf", "byscore", "limit", "0", "0"}, want: "[]"},
			{args: []any{"zrange", "s", "-inf", "+inf", "byscore", "limit", "5", "1"}, want: "[]"},
			{args: []any{"zrange", "s", "4", "2", "byscore", "rev"}, want: "[d c b]"},
			{args: []any{"zrange", "s", "+inf", "-inf", "byscore", "rev", "limit", "1", "2"}, want: "[d c]"},
			{args: []any{"zrangebyscore", "s", "-inf", "2", "withscores"}, want: "[a 1 b 2]", want3: "[[a 1] [b 2]]"},
			{args: []any{"zrangebyscore", "s", "0", "10", "limit", "2", "2"}, want: "[c d]"},
			{args: []any{"zrevrangebyscore", "s", "5", "(3"}, want: "[e d]"},
			{args: []any{"zrevrangebyscore", "s", "+inf", "-inf", "withscores", "limit", "0", "1"}, want: "[e 5]", want3: "[[e 5]]"},
			{args: []any{"zrangebyscore", "s", "(1", "(1"}, want: "[]"},
			{args: []any{"zrangebyscore", "s", "3", "1"}, want: "[]"},
			{args: []any{"zrangebyscore", "s", "(", "2"}, want: "[a b]"}, // "(" alone is an open 0, as strtod reads ""
			// By member.
			{args: []any{"zrangebylex", "l", "-", "+"}, want: "[a b c d e]"},
			{args: []any{"zrangebylex", "l", "[b", "(d"}, want: "[b c]"},
			{args: []any{"zrangebylex", "l", "(b", "[d"}, want: "[c d]"},
			{args: []any{"zrangebylex", "l", "-", "[c", "limit", "1", "1"}, want: "[b]"},
			{args: []any{"zrangebylex", "l", "[", "+"}, want: "[a b c d e]"}, // "[" is the empty string, inclusive
			{args: []any{"zrangebylex", "l", "+", "-"}, want: "[]"},
			{args: []any{"zrangebylex", "l", "[c", "[c"}, want: "[c]"},
			{args: []any{"zrangebylex", "l", "(c", "[c"}, want: "[]"},
			{args: []any{"zrangebylex", "l", "[aa", "[cc"}, want: "[b c]"},
			{args: []any{"zrevrangebylex", "l", "+", "-"}, want: "[e d c b a]"},
			{args: []any{"zrevrangebylex", "l", "[d", "(b"}, want: "[d c]"},
			{args: []any{"zrevrangebylex", "l", "+", "-", "limit", "1", "2"}, want: "[d c]"},
			{args: []any{"zrange", "l", "[b", "[d", "bylex"}, want: "[b c d]"},
			{args: []any{"zrange", "l", "[d", "[b", "bylex", "rev"}, want: "[d c b]"},
			// Counts.
			{args: []any{"zcount", "s", "2", "4"}, want: "3"},
			{args: []any{"zcount", "s", "(2", "4"}, want: "2"},
			{args: []any{"zcount", "s", "-inf", "+inf"}, want: "5"},
			{args: []any{"zcount", "s", "4", "2"}, want: "0"},
			{args: []any{"zcount", "nokey", "0", "1"}, want: "0"},
			{args: []any{"zlexcount", "l", "-", "+"}, want: "5"},
			{args: []any{"zlexcount", "l", "[b", "(d"}, want: "2"},
			{args: []any{"zlexcount", "nokey", "-", "+"}, want: "0"},
		})
	})
}

func TestZSetRangeErrors(t *testing.T) {
	const wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "s", "1", "a", "2", "b"}, want: "2"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zrange", "s", "0", "1", "limit", "0", "1"}, want: "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"},
			{args: []any{"zrevrange", "s", "0", "1", "limit", "0", "1"}, want: "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"},
			{args: []any{"zrange", "s", "-", "+", "bylex", "withscores"}, want: "ERR syntax error, WITHSCORES not supported in combination with BYLEX"},
			{args: []any{"zrangebylex", "s", "-", "+", "withscores"}, want: "ERR syntax error, WITHSCORES not supported in combination with BYLEX"},
			{args: []any{"zrangebyscore", "s", "a", "1"}, want: "ERR min or max is not a float"},
			{args: []any{"zrangebyscore", "s", "nan", "1"}, want: "ERR min or max is not a float"},
			{args: []any{"zrange", "s", "1", "(x", "byscore"}, want: "ERR min or max is not a float"},
			{args: []any{"zcount", "s", "1", "x"}, want: "ERR min or max is not a float"},
			{args: []any{"zrangebylex", "s", "a", "+"}, want: "ERR min or max not valid string range item"},
			{args: []any{"zrangebylex", "s", "-a", "+"}, want: "ERR min or max not valid string range item"},
			{args: []any{"zlexcount", "s", "", "+"}, want: "ERR min or max not valid string range item"},
			{args: []any{"zrange", "s", "a", "1"}, want: "ERR value is not an integer or out of range"},
			{args: []any{"zrange", "s", "0", "1", "foo"}, want: "ERR syntax error"},
			{args: []any{"zrange", "s", "0", "1", "limit", "1"}, want: "ERR syntax error"},
			{args: []any{"zrange", "s", "0", "1", "byscore", "limit", "x", "1"}, want: "ERR value is not an integer or out of range"},
			{args: []any{"zrangebyscore", "s", "0", "1", "rev"}, want: "ERR syntax error"},
			{args: []any{"zrangebyscore", "s", "0", "1", "bylex"}, want: "ERR syntax error"},
			{args: []any{"zrevrange", "s", "0", "1", "rev"}, want: "ERR syntax error"},
			{args: []any{"zrangestore", "d", "s", "0", "1", "withscores"}, want: "ERR syntax error"},
			{args: []any{"zrange", "s", "0"}, want: "ERR wrong number of arguments for 'zrange' command"},
			{args: []any{"zrange", "str", "0", "1"}, want: wrongType},
			{args: []any{"zrangebyscore", "str", "x", "1"}, want: "ERR min or max is not a float"}, // the range is parsed first
			{args: []any{"zcount", "str", "0", "1"}, want: wrongType},
			{args: []any{"zlexcount", "str", "-", "+"}, want: wrongType},
		})
	})
}

func TestZSetRangeStore(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "s", "1", "a", "2", "b", "3", "c"}, want: "3"},
			{args: []any{"zadd", "l", "0", "x", "0", "y", "0", "z"}, want: "3"},
			{args: []any{"zrangestore", "d", "s", "0", "1"}, want: "2"},
			{args: []any{"zrange", "d", "0", "-1", "withscores"}, want: "[a 1 b 2]", want3: "[[a 1] [b 2]]"},
			{args: []any{"zrangestore", "d", "s", "(1", "+inf", "byscore", "rev"}, want: "0"}, // REV takes max first
			{args: []any{"zrangestore", "d", "s", "+inf", "(1", "byscore", "rev", "limit", "0", "1"}, want: "1"},
			{args: []any{"zrange", "d", "0", "-1", "withscores"}, want: "[c 3]", want3: "[[c 3]]"}, // replaced, not merged
			{args: []any{"zrangestore", "d", "l", "[y", "+", "bylex"}, want: "2"},
			{args: []any{"zrange", "d", "0", "-1", "withscores"}, want: "[y 0 z 0]", want3: "[[y 0] [z 0]]"},
			{args: []any{"zrangestore", "d", "s", "10", "20"}, want: "0"},
			{args: []any{"zrange", "d", "0", "-1"}, want: "[]"},
			{args: []any{"dbsize"}, want: "2"}, // an empty result deletes the destination
			{args: []any{"zrangestore", "d", "nokey", "0", "-1"}, want: "0"},
			{args: []any{"dbsize"}, want: "2"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zrangestore", "str", "s", "0", "0"}, want: "1"}, // overwrites any type
			{args: []any{"zrange", "str", "0", "-1"}, want: "[a]"},
			{args: []any{"zrangestore", "s", "s", "1", "-1"}, want: "2"}, // the source may be the destination
			{args: []any{"zrange", "s", "0", "-1"}, want: "[b c]"},
			{args: []any{"set", "str2", "v"}, want: "OK"},
			{args: []any{"zrangestore", "d", "str2", "0", "-1"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
		})
	})
}

func TestZSetScoreRankCard(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "s", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}, want: "5"},
			{args: []any{"zrank", "s", "c"}, want: "2"},
			{args: []any{"zrank", "s", "a"}, want: "0"},
			{args: []any{"zrevrank", "s", "a"}, want: "4"},
			{args: []any{"zrevrank", "s", "d"}, want: "1"},
			{args: []any{"zrank", "s", "x"}, want: "nil"},
			{args: []any{"zrank", "nokey", "a"}, want: "nil"},
			{args: []any{"zrank", "s", "c", "withscore"}, want: "[2 3]"},
			{args: []any{"zrevrank", "s", "e", "WITHSCORE"}, want: "[0 5]"},
			{args: []any{"zrank", "s", "x", "withscore"}, want: "nil"},
			{args: []any{"zrank", "nokey", "x", "withscore"}, want: "nil"},
			{args: []any{"zrank", "s", "a", "foo"}, want: "ERR syntax error"},
			{args: []any{"zrank", "s", "a", "withscore", "x"}, want: "ERR wrong number of arguments for 'zrank' command"},
			{args: []any{"zscore", "s", "e"}, want: "5"},
			{args: []any{"zscore", "s", "x"}, want: "nil"},
			{args: []any{"zscore", "nokey", "x"}, want: "nil"},
			{args: []any{"zmscore", "s", "a", "x", "e"}, want: "[1 nil 5]"},
			{args: []any{"zmscore", "nokey", "a", "b"}, want: "[nil nil]"},
			{args: []any{"zcard", "s"}, want: "5"},
			{args: []any{"zcard", "nokey"}, want: "0"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zscore", "str", "a"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
			{args: []any{"zmscore", "str", "a"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
			{args: []any{"zcard", "str"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
			{args: []any{"zrank", "str", "a"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
		})
	})
}

func TestZSetRemRange(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "q", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}, want: "5"},
			{args: []any{"zremrangebyrank", "q", "0", "1"}, want: "2"},
			{args: []any{"zrange", "q", "0", "-1"}, want: "[c d e]"},
			{args: []any{"zremrangebyrank", "q", "5", "10"}, want: "0"},
			{args: []any{"zremrangebyscore", "q", "(3", "4"}, want: "1"},
			{args: []any{"zrange", "q", "0", "-1"}, want: "[c e]"},
			{args: []any{"zremrangebyscore", "q", "10", "20"}, want: "0"},
			{args: []any{"zremrangebyrank", "q", "0", "-1"}, want: "2"},
			{args: []any{"dbsize"}, want: "0"}, // emptied: deleted
			{args: []any{"zadd", "lx", "0", "a", "0", "b", "0", "c"}, want: "3"},
			{args: []any{"zremrangebylex", "lx", "[a", "(c"}, want: "2"},
			{args: []any{"zremrangebylex", "lx", "-", "+"}, want: "1"},
			{args: []any{"dbsize"}, want: "0"},
			{args: []any{"zremrangebyrank", "nokey", "0", "-1"}, want: "0"},
			{args: []any{"zremrangebyscore", "nokey", "-inf", "+inf"}, want: "0"},
			{args: []any{"zremrangebylex", "nokey", "-", "+"}, want: "0"},
			{args: []any{"zremrangebyrank", "q", "a", "1"}, want: "ERR value is not an integer or out of range"},
			{args: []any{"zremrangebyscore", "q", "a", "1"}, want: "ERR min or max is not a float"},
			{args: []any{"zremrangebylex", "q", "a", "+"}, want: "ERR min or max not valid string range item"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zremrangebyrank", "str", "0", "1"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
		})
	})
}

func TestZSetPop(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "p", "1", "a", "2", "b", "3", "c", "4", "d"}, want: "4"},
			{args: []any{"zpopmin", "p"}, want: "[a 1]"}, // flat in both protocols without a count
			{args: []any{"zpopmax", "p", "2"}, want: "[d 4 c 3]", want3: "[[d 4] [c 3]]"},
			{args: []any{"zpopmin", "p", "0"}, want: "[]"},
			{args: []any{"zpopmin", "p", "10"}, want: "[b 2]", want3: "[[b 2]]"},
			{args: []any{"dbsize"}, want: "0"},
			{args: []any{"zpopmin", "p"}, want: "[]"},
			{args: []any{"zpopmax", "p", "3"}, want: "[]"},
			{args: []any{"zpopmin", "p", "-1"}, want: "ERR value is out of range, must be positive"},
			{args: []any{"zpopmin", "p", "x"}, want: "ERR value is out of range, must be positive"},
			{args: []any{"zpopmin", "p", "1", "2"}, want: "ERR syntax error"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zpopmin", "str"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
			// ZMPOP pops from the first non-empty key, nested in both protocols.
			{args: []any{"zadd", "m", "1", "a", "2", "b", "3", "c"}, want: "3"},
			{args: []any{"zmpop", "2", "nokey", "m", "min"}, want: "[m [[a 1]]]"},
			{args: []any{"zmpop", "1", "m", "max", "count", "10"}, want: "[m [[c 3] [b 2]]]"},
			{args: []any{"zmpop", "1", "m", "min"}, want: "nil"},
			{args: []any{"zmpop", "0", "m", "min"}, want: "ERR numkeys should be greater than 0"},
			{args: []any{"zmpop", "1", "m", "foo"}, want: "ERR syntax error"},
			{args: []any{"zmpop", "2", "m", "min"}, want: "ERR syntax error"},
			{args: []any{"zmpop", "1", "m", "min", "count", "0"}, want: "ERR count should be greater than 0"},
			{args: []any{"zmpop", "1", "m", "min", "count", "1", "count", "1"}, want: "ERR syntax error"},
			{args: []any{"zmpop", "1", "str", "min"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
		})
	})
}

func TestZSetRandMember(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		proto := zsetProto(rdb)
		zsetRun(t, rdb, proto, []zsetStep{
			{args: []any{"zrandmember", "nokey"}, want: "nil"},
			{args: []any{"zrandmember", "nokey", "5"}, want: "[]"},
			{args: []any{"zrandmember", "nokey", "-5", "withscores"}, want: "[]"},
			{args: []any{"zadd", "r", "1", "a", "2", "b", "3", "c"}, want: "3"},
			{args: []any{"zrandmember", "r", "0"}, want: "[]"},
			{args: []any{"zrandmember", "r", "5"}, want: "[c b a]"}, // the whole set, as Valkey walks it
			{args: []any{"zrandmember", "r", "3", "withscores"}, want: "[c 3 b 2 a 1]", want3: "[[c 3] [b 2] [a 1]]"},
			{args: []any{"zrandmember", "r", "1", "foo"}, want: "ERR syntax error"},
			{args: []any{"zrandmember", "r", "1", "withscores", "x"}, want: "ERR syntax error"},
			{args: []any{"zrandmember", "r", "x"}, want: "ERR value is not an integer or out of range"},
			{args: []any{"zrandmember", "r", "-9223372036854775808"}, want: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"},
			{args: []any{"zrandmember", "r", "-9223372036854775807", "withscores"}, want: "ERR value is out of range"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zrandmember", "str"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
		})
		scores := map[string]float64{"a": 1, "b": 2, "c": 3}
		// One member.
		m, err := rdb.Do(ctx, "zrandmember", "r").Text()
		if _, ok := scores[m]; !ok || err != nil {
			t.Fatalf("ZRANDMEMBER = %q, %v", m, err)
		}
		// Distinct members.
		for range 20 {
			got, err := rdb.Do(ctx, "zrandmember", "r", "2").StringSlice()
			if err != nil || len(got) != 2 || got[0] == got[1] {
				t.Fatalf("ZRANDMEMBER 2 = %q, %v; want 2 distinct members", got, err)
			}
			for _, m := range got {
				if _, ok := scores[m]; !ok {
					t.Fatalf("ZRANDMEMBER 2 returned %q", m)
				}
			}
		}
		// Repetitions, with scores, in each protocol's shape.
		v, err := rdb.Do(ctx, "zrandmember", "r", "-7", "withscores").Slice()
		if err != nil {
			t.Fatal(err)
		}
		var pairs [][2]string
		if proto == 2 {
			if len(v) != 14 {
				t.Fatalf("RESP2 ZRANDMEMBER -7 WITHSCORES has %d elements, want 14", len(v))
			}
			for i := 0; i < len(v); i += 2 {
				pairs = append(pairs, [2]string{zsetShow(v[i], nil), zsetShow(v[i+1], nil)})
			}
		} else {
			if len(v) != 7 {
				t.Fatalf("RESP3 ZRANDMEMBER -7 WITHSCORES has %d pairs, want 7", len(v))
			}
			for _, p := range v {
				pp, ok := p.([]any)
				if !ok || len(pp) != 2 {
					t.Fatalf("RESP3 pair %v", p)
				}
				if _, isFloat := pp[1].(float64); !isFloat {
					t.Fatalf("RESP3 score %T, want a double", pp[1])
				}
				pairs = append(pairs, [2]string{zsetShow(pp[0], nil), zsetShow(pp[1], nil)})
			}
		}
		for _, p := range pairs {
			if s, ok := scores[p[0]]; !ok || strconv.FormatFloat(s, 'g', -1, 64) != p[1] {
				t.Fatalf("ZRANDMEMBER pair %v", p)
			}
		}
		// A single member with a count is an array of one.
		if got := zsetShow(rdb.Do(ctx, "zrandmember", "r", "1").Result()); len(got) != 3 || got[0] != '[' {
			t.Fatalf("ZRANDMEMBER 1 = %s", got)
		}
	})
}

func TestZSetAlgebra(t *testing.T) {
	const wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "u1", "1", "a", "2", "b", "3", "c"}, want: "3"},
			{args: []any{"zadd", "u2", "4", "b", "5", "c", "6", "d"}, want: "3"},
			{args: []any{"sadd", "us", "b", "x"}, want: "2"},
			{args: []any{"zunion", "2", "u1", "u2"}, want: "[a b d c]"},
			{args: []any{"zunion", "2", "u1", "u2", "withscores"}, want: "[a 1 b 6 d 6 c 8]", want3: "[[a 1] [b 6] [d 6] [c 8]]"},
			{args: []any{"zinter", "2", "u1", "u2", "withscores"}, want: "[b 6 c 8]", want3: "[[b 6] [c 8]]"},
			{args: []any{"zinter", "2", "u1", "u2", "aggregate", "max", "withscores"}, want: "[b 4 c 5]", want3: "[[b 4] [c 5]]"},
			{args: []any{"zinter", "2", "u1", "u2", "aggregate", "MIN", "withscores"}, want: "[b 2 c 3]", want3: "[[b 2] [c 3]]"},
			{args: []any{"zunion", "2", "u1", "u2", "weights", "2", "1", "withscores"}, want: "[a 2 d 6 b 8 c 11]", want3: "[[a 2] [d 6] [b 8] [c 11]]"},
			{args: []any{"zdiff", "2", "u1", "u2", "withscores"}, want: "[a 1]", want3: "[[a 1]]"},
			{args: []any{"zdiff", "2", "u1", "u1"}, want: "[]"},
			{args: []any{"zdiff", "1", "nokey"}, want: "[]"},
			{args: []any{"zinter", "2", "u1", "us", "withscores"}, want: "[b 3]", want3: "[[b 3]]"}, // a set member scores 1
			{args: []any{"zunion", "2", "u1", "us", "withscores"}, want: "[a 1 x 1 b 3 c 3]", want3: "[[a 1] [x 1] [b 3] [c 3]]"},
			{args: []any{"zinter", "2", "u1", "nokey"}, want: "[]"},
			{args: []any{"zunion", "2", "u1", "nokey"}, want: "[a b c]"},
			{args: []any{"zintercard", "2", "u1", "u2"}, want: "2"},
			{args: []any{"zintercard", "2", "u1", "u2", "limit", "1"}, want: "1"},
			{args: []any{"zintercard", "2", "u1", "u2", "limit", "0"}, want: "2"}, // 0: no limit
			// The STORE forms replace the destination.
			{args: []any{"zunionstore", "dst", "2", "u1", "u2"}, want: "4"},
			{args: []any{"zrange", "dst", "0", "-1", "withscores"}, want: "[a 1 b 6 d 6 c 8]", want3: "[[a 1] [b 6] [d 6] [c 8]]"},
			{args: []any{"zinterstore", "dst", "2", "u1", "u2", "weights", "1", "0"}, want: "2"},
			{args: []any{"zrange", "dst", "0", "-1", "withscores"}, want: "[b 2 c 3]", want3: "[[b 2] [c 3]]"},
			{args: []any{"zdiffstore", "dst", "2", "u2", "u1"}, want: "1"},
			{args: []any{"zrange", "dst", "0", "-1", "withscores"}, want: "[d 6]", want3: "[[d 6]]"},
			{args: []any{"zinterstore", "dst", "2", "u1", "nokey"}, want: "0"},
			{args: []any{"zrange", "dst", "0", "-1"}, want: "[]"},
			{args: []any{"dbsize"}, want: "3"},                             // an empty result deleted dst
			{args: []any{"zunionstore", "u1", "2", "u1", "u1"}, want: "3"}, // a source may be the destination
			{args: []any{"zrange", "u1", "0", "-1", "withscores"}, want: "[a 2 b 4 c 6]", want3: "[[a 2] [b 4] [c 6]]"},
			// Infinities: a sum of +inf and -inf, or 0 times inf, is 0.
			{args: []any{"zadd", "i1", "inf", "m"}, want: "1"},
			{args: []any{"zadd", "i2", "-inf", "m"}, want: "1"},
			{args: []any{"zunion", "2", "i1", "i2", "withscores"}, want: "[m 0]", want3: "[[m 0]]"},
			{args: []any{"zinter", "2", "i1", "i2", "weights", "0", "1", "withscores"}, want: "[m -inf]", want3: "[[m -inf]]"},
			{args: []any{"zunion", "1", "i1", "weights", "0", "withscores"}, want: "[m 0]", want3: "[[m 0]]"},
			// Errors.
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zunion", "0", "u1"}, want: "ERR at least 1 input key is needed for 'zunion' command"},
			{args: []any{"ZUNIONSTORE", "d", "0", "u1"}, want: "ERR at least 1 input key is needed for 'zunionstore' command"},
			{args: []any{"zinterstore", "d", "-1", "u1"}, want: "ERR at least 1 input key is needed for 'zinterstore' command"},
			{args: []any{"zintercard", "0", "u1"}, want: "ERR at least 1 input key is needed for 'zintercard' command"},
			{args: []any{"zunion", "x", "u1"}, want: "ERR value is not an integer or out of range"},
			{args: []any{"zinterstore", "d", "3", "u1", "u2"}, want: "ERR syntax error"},
			{args: []any{"zunion", "2", "u1", "u2", "weights", "1"}, want: "ERR syntax error"},
			{args: []any{"zunion", "2", "u1", "u2", "weights", "1", "x"}, want: "ERR weight value is not a float"},
			{args: []any{"zunion", "2", "u1", "u2", "aggregate", "avg"}, want: "ERR syntax error"},
			{args: []any{"zunion", "2", "u1", "u2", "aggregate"}, want: "ERR syntax error"},
			{args: []any{"zdiff", "2", "u1", "u2", "weights", "1", "1"}, want: "ERR syntax error"},
			{args: []any{"zdiff", "2", "u1", "u2", "aggregate", "sum"}, want: "ERR syntax error"},
			{args: []any{"zunionstore", "d", "2", "u1", "u2", "withscores"}, want: "ERR syntax error"},
			{args: []any{"zintercard", "2", "u1", "u2", "withscores"}, want: "ERR syntax error"},
			{args: []any{"zintercard", "2", "u1", "u2", "limit", "-1"}, want: "ERR LIMIT can't be negative"},
			{args: []any{"zunion", "2", "u1", "str"}, want: wrongType},
			{args: []any{"zunion", "1", "str", "weights", "x"}, want: wrongType}, // keys are checked before options
			{args: []any{"zunionstore", "str", "1", "u1"}, want: "3"},            // the destination's type does not matter
		})
	})
}

func TestZSetScan(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zadd", "sc", "1", "a", "2.5", "b", "3", "c"}, want: "3"},
			// A small set comes whole, in score order; scores are bulk strings in RESP3 too.
			{args: []any{"zscan", "sc", "0"}, want: "[0 [a 1 b 2.5 c 3]]"},
			{args: []any{"zscan", "sc", "123"}, want: "[0 [a 1 b 2.5 c 3]]"},
			{args: []any{"zscan", "sc", "0", "match", "b*"}, want: "[0 [b 2.5]]"},
			{args: []any{"zscan", "sc", "0", "noscores"}, want: "[0 [a b c]]"},
			{args: []any{"zscan", "sc", "0", "count", "1", "match", "*"}, want: "[0 [a 1 b 2.5 c 3]]"},
			{args: []any{"zscan", "nokey", "0"}, want: "[0 []]"},
			{args: []any{"zscan", "nokey", "0", "foo"}, want: "[0 []]"}, // a missing key replies before options are read
			{args: []any{"zscan", "sc", "x"}, want: "ERR invalid cursor"},
			{args: []any{"zscan", "sc", "0", "count", "0"}, want: "ERR syntax error"},
			{args: []any{"zscan", "sc", "0", "count", "x"}, want: "ERR value is not an integer or out of range"},
			{args: []any{"zscan", "sc", "0", "novalues"}, want: "ERR NOVALUES option can only be used in HSCAN"},
			{args: []any{"zscan", "sc", "0", "foo"}, want: "ERR syntax error"},
			{args: []any{"set", "str", "v"}, want: "OK"},
			{args: []any{"zscan", "str", "0"}, want: "WRONGTYPE Operation against a key holding the wrong kind of value"},
		})
		// A large set is walked with a cursor and returns every member.
		const n = 300
		args := []any{"zadd", "big"}
		for i := range n {
			args = append(args, i, fmt.Sprintf("m%d", i))
		}
		if err := rdb.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		cursor, calls := "0", 0
		for {
			v, err := rdb.Do(ctx, "zscan", "big", cursor, "count", "20").Slice()
			if err != nil {
				t.Fatal(err)
			}
			calls++
			cursor = v[0].(string)
			elems := v[1].([]any)
			for i := 0; i < len(elems); i += 2 {
				seen[elems[i].(string)] = elems[i+1].(string)
			}
			if cursor == "0" || calls > 1000 {
				break
			}
		}
		if calls < 2 {
			t.Errorf("ZSCAN of %d members took %d call(s), want a cursor walk", n, calls)
		}
		if len(seen) != n {
			t.Fatalf("ZSCAN saw %d members, want %d", len(seen), n)
		}
		for i := range n {
			if s := seen[fmt.Sprintf("m%d", i)]; s != strconv.Itoa(i) {
				t.Fatalf("ZSCAN m%d score %q", i, s)
			}
		}
		// MATCH filters pages of a large set too.
		var matched []string
		cursor = "0"
		for {
			v, err := rdb.Do(ctx, "zscan", "big", cursor, "match", "m1?", "noscores").Slice()
			if err != nil {
				t.Fatal(err)
			}
			cursor = v[0].(string)
			for _, e := range v[1].([]any) {
				matched = append(matched, e.(string))
			}
			if cursor == "0" {
				break
			}
		}
		slices.Sort(matched)
		if want := []string{"m10", "m11", "m12", "m13", "m14", "m15", "m16", "m17", "m18", "m19"}; !slices.Equal(matched, want) {
			t.Errorf("ZSCAN MATCH m1? = %v", matched)
		}
	})
}

// TestZSetLargeRanges runs the range commands on a set larger than a
// listpack, where lexicographic ranges are searched rather than walked.
func TestZSetLargeRanges(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		args := []any{"zadd", "big"}
		for i := range 200 {
			args = append(args, 0, fmt.Sprintf("m%03d", i))
		}
		if err := rdb.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
		zsetRun(t, rdb, zsetProto(rdb), []zsetStep{
			{args: []any{"zrangebylex", "big", "[m100", "(m103"}, want: "[m100 m101 m102]"},
			{args: []any{"zrevrangebylex", "big", "(m103", "[m100", "limit", "1", "5"}, want: "[m101 m100]"},
			{args: []any{"zlexcount", "big", "(m010", "+"}, want: "189"},
			{args: []any{"zrange", "big", "-3", "-1"}, want: "[m197 m198 m199]"},
			{args: []any{"zrank", "big", "m150"}, want: "150"},
			{args: []any{"zremrangebylex", "big", "-", "(m100"}, want: "100"},
			{args: []any{"zcard", "big"}, want: "100"},
			{args: []any{"zrange", "big", "0", "0"}, want: "[m100]"},
		})
	})
}

// zsetEffectsHarness evaluates commands straight through eval.Run against
// a Store, the way a region's leader does, to check the effects.
type zsetEffectsHarness struct {
	t     *testing.T
	store *storage.Store
	wall  *hlc.ManualClock
	index uint64
}

func newZSetEffectsHarness(t *testing.T) *zsetEffectsHarness {
	return &zsetEffectsHarness{t: t, store: storage.NewStore(), wall: hlc.NewManualClock(1_000_000)}
}

// eval evaluates one command with clock without applying its effects.
func (h *zsetEffectsHarness) eval(clock *hlc.Clock, args ...string) (string, []storage.Effect) {
	h.t.Helper()
	w := &protocol.Writer{Proto: 2}
	c := &eval.Ctx{R: h.store.At(h.wall.Now().UnixMilli()), W: w, Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))}
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	eval.Run(c, bargs)
	return string(w.Bytes()), slices.Clone(c.Effects())
}

// apply applies effects as the next log entry.
func (h *zsetEffectsHarness) apply(effects []storage.Effect) {
	h.index++
	h.store.Apply(h.index, effects)
}

// run evaluates and applies one command, returning its raw reply and
// effects rendered as "op field score" strings.
func (h *zsetEffectsHarness) run(clock *hlc.Clock, args ...string) (string, []string) {
	h.t.Helper()
	reply, effects := h.eval(clock, args...)
	h.apply(effects)
	return reply, zsetShowEffects(effects)
}

func zsetShowEffects(effects []storage.Effect) []string {
	var out []string
	for _, e := range effects {
		s := e.Op.String() + " " + e.Key
		switch e.Op {
		case storage.OpZAdd, storage.OpZIncr:
			s += " " + e.Field + " " + strconv.FormatFloat(e.Float, 'g', -1, 64)
		case storage.OpZRem:
			s += " " + e.Field
		}
		out = append(out, s)
	}
	return out
}

// TestZSetEffects checks what each write records: final scores for ZADD,
// deltas for increments, removals followed by a key delete when the set
// empties, and delete-then-add for the STORE forms.
func TestZSetEffects(t *testing.T) {
	h := newZSetEffectsHarness(t)
	clock := hlc.NewClock(h.wall, 1, 1)
	steps := []struct {
		args    []string
		reply   string
		effects []string
	}{
		{[]string{"zadd", "z", "1", "a", "2", "b"}, ":2\r\n", []string{"zadd z a 1", "zadd z b 2"}},
		{[]string{"zadd", "z", "3", "a", "5", "a"}, ":0\r\n", []string{"zadd z a 5"}}, // one effect per member
		{[]string{"zadd", "z", "5", "a"}, ":0\r\n", nil},                              // no change, no effect
		{[]string{"zincrby", "z", "3", "b"}, "$1\r\n5\r\n", []string{"zincr z b 3"}},  // the delta, not the sum
		{[]string{"zadd", "z", "incr", "2", "c"}, "$1\r\n2\r\n", []string{"zincr z c 2"}},
		{[]string{"zadd", "z", "incr", "nx", "2", "c"}, "$-1\r\n", nil},
		{[]string{"zrem", "z", "a", "x", "a"}, ":1\r\n", []string{"zrem z a"}},
		{[]string{"zunionstore", "d", "1", "z"}, ":2\r\n", []string{"del d", "zadd d c 2", "zadd d b 5"}},
		{[]string{"zrangestore", "d", "z", "5", "6"}, ":0\r\n", []string{"del d"}}, // empty: just delete
		{[]string{"zrangestore", "d", "z", "5", "6"}, ":0\r\n", nil},               // nothing to delete
		{[]string{"zremrangebyscore", "z", "-inf", "(5"}, ":1\r\n", []string{"zrem z c"}},
		{[]string{"zpopmin", "z"}, "*2\r\n$1\r\nb\r\n$1\r\n5\r\n", []string{"zrem z b", "expire z"}}, // last member: the key empties (TTL reset), no key-level delete
		{[]string{"zadd", "e", "1", "a", "2", "b"}, ":2\r\n", []string{"zadd e a 1", "zadd e b 2"}},
		{[]string{"zrem", "e", "a", "b"}, ":2\r\n", []string{"zrem e a", "zrem e b", "expire e"}},
		{[]string{"zadd", "e", "1", "a"}, ":1\r\n", []string{"zadd e a 1"}},
		{[]string{"zremrangebyrank", "e", "0", "-1"}, ":1\r\n", []string{"zrem e a", "expire e"}},
	}
	for _, s := range steps {
		reply, effects := h.run(clock, s.args...)
		if reply != s.reply || !slices.Equal(effects, s.effects) {
			t.Errorf("%v = %q %q, want %q %q", s.args, reply, effects, s.reply, s.effects)
		}
	}
}

// TestZSetConcurrentIncrements evaluates ZINCRBY in two regions against
// the same state: both deltas survive the merge.
func TestZSetConcurrentIncrements(t *testing.T) {
	h := newZSetEffectsHarness(t)
	r1, r2 := hlc.NewClock(h.wall, 1, 1), hlc.NewClock(h.wall, 2, 1)
	h.run(r1, "zadd", "z", "10", "m")
	h.wall.Advance(time.Millisecond)
	_, e1 := h.eval(r1, "zincrby", "z", "1.5", "m")
	_, e2 := h.eval(r2, "zincrby", "z", "2", "m")
	h.apply(e2)
	h.apply(e1)
	if reply, _ := h.run(r1, "zscore", "z", "m"); reply != "$4\r\n13.5\r\n" {
		t.Errorf("ZSCORE after concurrent ZINCRBY = %q, want 13.5", reply)
	}
}
