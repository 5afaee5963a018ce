package eval_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/eval"
	"github.com/meridian-kv/meridian/server/servertest"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// forEachProto runs f against a fresh server once per RESP version.
func forEachProto(t *testing.T, f func(t *testing.T, srv *servertest.Instance, rdb *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(map[int]string{2: "resp2", 3: "resp3"}[proto], func(t *testing.T) {
			srv := servertest.Start(t)
			f(t, srv, srv.Client(t, proto))
		})
	}
}

// stringsStep is one command and the reply it must get, as go-redis's Do
// returns it: string for bulk and simple strings, int64 for integers,
// []any for arrays; or a stringsBetween, or stringsAnyReply.
type stringsStep struct {
	note string // what the row checks
	cmd  []any
	want any    // the reply; nil means a null reply
	err  string // the exact error text, when an error is wanted
}

// stringsBetween wants an integer reply in [lo, hi] (a PTTL read a few
// milliseconds after it was set).
type stringsBetween struct{ lo, hi int64 }

// stringsAnyReply wants any reply but an error or null.
const stringsAnyReply = "<any reply>"

// stringsRun runs steps in order on rdb.
func stringsRun(t *testing.T, rdb *redis.Client, steps []stringsStep) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		got, err := rdb.Do(ctx, s.cmd...).Result()
		switch {
		case s.err != "":
			if err == nil || err.Error() != s.err {
				t.Errorf("%s: %v = %#v, %v; want error %q", s.note, s.cmd, got, err, s.err)
			}
		case s.want == nil:
			if err != redis.Nil {
				t.Errorf("%s: %v = %#v, %v; want null", s.note, s.cmd, got, err)
			}
		case s.want == stringsAnyReply:
			if err != nil {
				t.Errorf("%s: %v = %v; want a reply", s.note, s.cmd, err)
			}
		case reflect.TypeOf(s.want) == reflect.TypeFor[stringsBetween]():
			r := s.want.(stringsBetween)
			if n, ok := got.(int64); err != nil || !ok || n < r.lo || n > r.hi {
				t.Errorf("%s: %v = %#v, %v; want an integer in [%d, %d]", s.note, s.cmd, got, err, r.lo, r.hi)
			}
		case err != nil || !reflect.DeepEqual(got, s.want):
			t.Errorf("%s: %v = %#v, %v; want %#v", s.note, s.cmd, got, err, s.want)
		}
	}
}

// stringsArgs builds a go-redis argument list.
func stringsArgs(args ...any) []any { return args }

// stringsEffects evaluates cmd after setup directly with the evaluator (no
// server) and returns cmd's reply and effects, to check what a command
// records.
func stringsEffects(t *testing.T, setup [][]string, cmd ...string) (string, []storage.Effect) {
	t.Helper()
	const now = 1_000_000
	st := storage.NewStore()
	clock := hlc.NewClock(hlc.NewManualClock(now), 1, 1)
	run := func(args []string) (string, []storage.Effect) {
		bargs := make([][]byte, len(args))
		for i, a := range args {
			bargs[i] = []byte(a)
		}
		c := &eval.Ctx{R: st.At(now), W: &protocol.Writer{}, Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))}
		eval.Run(c, bargs)
		effects := slices.Clone(c.Effects())
		st.SetStable(clock.Last())
		st.Apply(st.Index()+1, effects)
		return string(c.W.Bytes()), effects
	}
	for _, s := range setup {
		if reply, _ := run(s); strings.HasPrefix(reply, "-") {
			t.Fatalf("setup %q: %s", s, reply)
		}
	}
	return run(cmd)
}

func TestSetGet(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		if v, err := rdb.Get(ctx, "k").Result(); err != redis.Nil {
			t.Fatalf("GET missing = %q, %v; want nil", v, err)
		}
		if err := rdb.Set(ctx, "k", "v1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v := rdb.Get(ctx, "k").Val(); v != "v1" {
			t.Fatalf("GET = %q, want v1", v)
		}
		// NX on an existing key does nothing and replies nil.
		if ok, err := rdb.SetNX(ctx, "k", "v2", 0).Result(); ok || err != nil {
			t.Fatalf("SET NX existing = %v, %v", ok, err)
		}
		// GET returns the old value.
		if old, err := rdb.SetArgs(ctx, "k", "v3", redis.SetArgs{Get: true}).Result(); old != "v1" || err != nil {
			t.Fatalf("SET GET = %q, %v", old, err)
		}
		// Overwriting keeps the new value.
		if v := rdb.Get(ctx, "k").Val(); v != "v3" {
			t.Fatalf("GET after overwrite = %q, want v3", v)
		}
		// PX expires the key.
		if err := rdb.Set(ctx, "t", "x", 100*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		srv.Advance(time.Second)
		if err := rdb.Get(ctx, "t").Err(); err != redis.Nil {
			t.Fatalf("expired key: %v", err)
		}
		// Errors, word for word.
		if err := rdb.Do(ctx, "set", "k", "v", "ex", "0").Err(); err == nil || err.Error() != "ERR invalid expire time in 'set' command" {
			t.Fatalf("EX 0: %v", err)
		}
		if err := rdb.Do(ctx, "set", "k", "v", "nx", "xx").Err(); err == nil || err.Error() != "ERR syntax error" {
			t.Fatalf("NX XX: %v", err)
		}
		if err := rdb.Do(ctx, "get").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'get' command" {
			t.Fatalf("arity: %v", err)
		}
	})
}

const stringsWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

func TestSetOptions(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "XX on a missing key does nothing", cmd: a("set", "k", "v", "xx"), want: nil},
			{note: "...and creates nothing", cmd: a("exists", "k"), want: int64(0)},
			{note: "NX on a missing key sets", cmd: a("set", "k", "v1", "nx"), want: "OK"},
			{note: "XX on an existing key sets", cmd: a("set", "k", "v2", "XX"), want: "OK"},
			{note: "NX GET on an existing key replies the old value, sets nothing", cmd: a("set", "k", "v3", "nx", "get"), want: "v2"},
			{note: "...value unchanged", cmd: a("get", "k"), want: "v2"},
			{note: "NX GET on a missing key replies null and sets", cmd: a("set", "n", "v", "get", "nx"), want: nil},
			{note: "...key set", cmd: a("get", "n"), want: "v"},
			{note: "XX GET on a missing key replies null", cmd: a("set", "m", "v", "xx", "get"), want: nil},
			{note: "...and sets nothing", cmd: a("exists", "m"), want: int64(0)},
			{note: "options are case-insensitive and may repeat", cmd: a("set", "k", "v4", "Nx", "nX"), want: nil},
			{note: "the same unit twice: the last wins", cmd: a("set", "k", "v5", "ex", "100", "ex", "200"), want: "OK"},
			{note: "...TTL from the last EX", cmd: a("ttl", "k"), want: int64(200)},
			{note: "IFEQ with a matching value sets", cmd: a("set", "k", "v6", "ifeq", "v5"), want: "OK"},
			{note: "IFEQ with another value does nothing", cmd: a("set", "k", "v7", "ifeq", "zz"), want: nil},
			{note: "...value unchanged", cmd: a("get", "k"), want: "v6"},
			{note: "IFEQ GET replies the old value either way", cmd: a("set", "k", "v8", "ifeq", "zz", "get"), want: "v6"},
			{note: "IFEQ on a missing key does nothing", cmd: a("set", "nokey", "v", "ifeq", "v"), want: nil},
			{note: "...and creates nothing", cmd: a("exists", "nokey"), want: int64(0)},
			{note: "IFEQ excludes NX", cmd: a("set", "k", "v", "ifeq", "v6", "nx"), err: "ERR syntax error"},
		})
	})
}

func TestSetErrors(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		const syntax = "ERR syntax error"
		stringsRun(t, rdb, []stringsStep{
			{note: "NX with XX", cmd: a("set", "k", "v", "nx", "xx"), err: syntax},
			{note: "XX with NX", cmd: a("set", "k", "v", "xx", "nx"), err: syntax},
			{note: "IFEQ with NX", cmd: a("set", "k", "v", "nx", "ifeq", "x"), err: syntax},
			{note: "IFEQ twice", cmd: a("set", "k", "v", "ifeq", "x", "ifeq", "y"), err: syntax},
			{note: "IFEQ without a value", cmd: a("set", "k", "v", "ifeq"), err: syntax},
			{note: "EX with PX", cmd: a("set", "k", "v", "ex", "10", "px", "100"), err: syntax},
			{note: "EXAT with PXAT", cmd: a("set", "k", "v", "exat", "10", "pxat", "100"), err: syntax},
			{note: "EX with KEEPTTL", cmd: a("set", "k", "v", "ex", "10", "keepttl"), err: syntax},
			{note: "KEEPTTL with PX", cmd: a("set", "k", "v", "keepttl", "px", "10"), err: syntax},
			{note: "EX without a value", cmd: a("set", "k", "v", "ex"), err: syntax},
			{note: "PERSIST is GETEX's", cmd: a("set", "k", "v", "persist"), err: syntax},
			{note: "unknown option", cmd: a("set", "k", "v", "foo"), err: syntax},
			{note: "EX not an integer", cmd: a("set", "k", "v", "ex", "1.5"), err: "ERR value is not an integer or out of range"},
			{note: "EX 0", cmd: a("set", "k", "v", "ex", "0"), err: "ERR invalid expire time in 'set' command"},
			{note: "PX negative", cmd: a("set", "k", "v", "px", "-1"), err: "ERR invalid expire time in 'set' command"},
			{note: "EX overflowing in ms", cmd: a("set", "k", "v", "ex", "9223372036854775"), err: "ERR invalid expire time in 'set' command"},
			{note: "PX overflowing with now added", cmd: a("set", "k", "v", "px", "9223372036854775807"), err: "ERR invalid expire time in 'set' command"},
			{note: "EXAT 0", cmd: a("set", "k", "v", "exat", "0"), err: "ERR invalid expire time in 'set' command"},
			{note: "no error left anything behind", cmd: a("exists", "k"), want: int64(0)},
			{note: "arity", cmd: a("set", "k"), err: "ERR wrong number of arguments for 'set' command"},
		})
	})
}

func TestSetTTL(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
		stringsRun(t, rdb, []stringsStep{
			{note: "a key with a TTL", cmd: a("set", "k", "v", "ex", "100"), want: "OK"},
			{note: "...has it", cmd: a("ttl", "k"), want: int64(100)},
			{note: "SET without KEEPTTL", cmd: a("set", "k", "v2"), want: "OK"},
			{note: "...clears the TTL", cmd: a("ttl", "k"), want: int64(-1)},
			{note: "a new TTL", cmd: a("set", "k", "v3", "px", "50000"), want: "OK"},
			{note: "SET KEEPTTL", cmd: a("set", "k", "v4", "keepttl"), want: "OK"},
			{note: "...keeps it", cmd: a("ttl", "k"), want: int64(50)},
			{note: "...and the new value", cmd: a("get", "k"), want: "v4"},
			{note: "KEEPTTL on a key without TTL", cmd: a("set", "p", "v", "keepttl"), want: "OK"},
			{note: "...leaves none", cmd: a("ttl", "p"), want: int64(-1)},
			{note: "EXAT in the future", cmd: a("set", "e", "v", "exat", future), want: "OK"},
			{note: "...expires then", cmd: a("expiretime", "e"), want: mustInt(future)},
			{note: "PXAT in the past on an existing key replies OK", cmd: a("set", "k", "v", "pxat", "1"), want: "OK"},
			{note: "...and deletes it", cmd: a("exists", "k"), want: int64(0)},
			{note: "EXAT in the past with GET replies the old value", cmd: a("set", "e", "w", "exat", "1", "get"), want: "v"},
			{note: "...and deletes it", cmd: a("exists", "e"), want: int64(0)},
			{note: "SETEX sets value and TTL", cmd: a("setex", "s", "100", "v"), want: "OK"},
			{note: "...TTL", cmd: a("ttl", "s"), want: int64(100)},
			{note: "PSETEX in ms", cmd: a("psetex", "s", "1500", "w"), want: "OK"},
			{note: "...PTTL", cmd: a("pttl", "s"), want: stringsBetween{1000, 1500}},
			{note: "...value", cmd: a("get", "s"), want: "w"},
			{note: "SETEX 0", cmd: a("setex", "s", "0", "v"), err: "ERR invalid expire time in 'setex' command"},
			{note: "SETEX not an integer", cmd: a("setex", "s", "x", "v"), err: "ERR value is not an integer or out of range"},
			{note: "PSETEX negative", cmd: a("psetex", "s", "-5", "v"), err: "ERR invalid expire time in 'psetex' command"},
			{note: "GETSET clears the TTL", cmd: a("getset", "s", "g"), want: "w"},
			{note: "...TTL gone", cmd: a("ttl", "s"), want: int64(-1)},
		})
		// The deadline passes: the key goes, whatever the options.
		stringsRun(t, rdb, []stringsStep{{note: "short TTL", cmd: a("set", "x", "v", "px", "10"), want: "OK"}})
		srv.Advance(20 * time.Millisecond)
		stringsRun(t, rdb, []stringsStep{
			{note: "expired key reads as missing", cmd: a("get", "x"), want: nil},
			{note: "NX sets over an expired key", cmd: a("set", "x", "new", "nx"), want: "OK"},
			{note: "...without the old TTL", cmd: a("ttl", "x"), want: int64(-1)},
		})
	})
}

func mustInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func TestStringCommands(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "SETNX missing", cmd: a("setnx", "k", "v"), want: int64(1)},
			{note: "SETNX existing", cmd: a("setnx", "k", "w"), want: int64(0)},
			{note: "...value kept", cmd: a("get", "k"), want: "v"},
			{note: "GETSET missing replies null", cmd: a("getset", "g", "1"), want: nil},
			{note: "GETSET existing replies old", cmd: a("getset", "g", "2"), want: "1"},
			{note: "...and sets", cmd: a("get", "g"), want: "2"},
			{note: "GETDEL existing", cmd: a("getdel", "g"), want: "2"},
			{note: "...deletes", cmd: a("exists", "g"), want: int64(0)},
			{note: "GETDEL missing", cmd: a("getdel", "g"), want: nil},
			{note: "MSET", cmd: a("mset", "a", "1", "b", "2", "a", "3"), want: "OK"},
			{note: "MGET: the last value of a repeated key wins, missing is null", cmd: a("mget", "a", "b", "nokey"), want: []any{"3", "2", nil}},
			{note: "MSETNX with one existing key", cmd: a("msetnx", "c", "1", "a", "9"), want: int64(0)},
			{note: "...sets none", cmd: a("mget", "c", "a"), want: []any{nil, "3"}},
			{note: "MSETNX all new", cmd: a("msetnx", "c", "1", "d", "2"), want: int64(1)},
			{note: "...sets all", cmd: a("mget", "c", "d"), want: []any{"1", "2"}},
			{note: "MSET odd arguments", cmd: a("mset", "a", "1", "b"), err: "ERR wrong number of arguments for 'mset' command"},
			{note: "MSETNX odd arguments", cmd: a("msetnx", "a", "1", "b"), err: "ERR wrong number of arguments for 'msetnx' command"},
			{note: "APPEND creates", cmd: a("append", "s", "Hello"), want: int64(5)},
			{note: "APPEND appends", cmd: a("append", "s", " World"), want: int64(11)},
			{note: "...value", cmd: a("get", "s"), want: "Hello World"},
			{note: "STRLEN", cmd: a("strlen", "s"), want: int64(11)},
			{note: "STRLEN missing", cmd: a("strlen", "nokey"), want: int64(0)},
			{note: "DELIFEQ other value", cmd: a("delifeq", "s", "nope"), want: int64(0)},
			{note: "DELIFEQ missing", cmd: a("delifeq", "nokey", "x"), want: int64(0)},
			{note: "DELIFEQ equal value", cmd: a("delifeq", "s", "Hello World"), want: int64(1)},
			{note: "...deleted", cmd: a("exists", "s"), want: int64(0)},
		})
	})
}

func TestGetRange(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "setup", cmd: a("set", "s", "This is a string"), want: "OK"},
			{note: "doc example 0 3", cmd: a("getrange", "s", "0", "3"), want: "This"},
			{note: "doc example -3 -1", cmd: a("getrange", "s", "-3", "-1"), want: "ing"},
			{note: "doc example 0 -1", cmd: a("getrange", "s", "0", "-1"), want: "This is a string"},
			{note: "doc example 10 100: end clamps", cmd: a("getrange", "s", "10", "100"), want: "string"},
			{note: "start after end", cmd: a("getrange", "s", "5", "3"), want: ""},
			{note: "both negative, start after end", cmd: a("getrange", "s", "-1", "-5"), want: ""},
			{note: "negative start before the beginning clamps to 0", cmd: a("getrange", "s", "-100", "3"), want: "This"},
			{note: "negative end before the beginning clamps to 0", cmd: a("getrange", "s", "0", "-100"), want: "T"},
			{note: "start past the end", cmd: a("getrange", "s", "100", "200"), want: ""},
			{note: "SUBSTR is GETRANGE", cmd: a("substr", "s", "-6", "-1"), want: "string"},
			{note: "missing key", cmd: a("getrange", "nokey", "0", "-1"), want: ""},
			{note: "empty string", cmd: a("set", "e", ""), want: "OK"},
			{note: "...any range is empty", cmd: a("getrange", "e", "0", "-1"), want: ""},
			{note: "start not an integer", cmd: a("getrange", "s", "a", "1"), err: "ERR value is not an integer or out of range"},
			{note: "end not an integer (even on a missing key)", cmd: a("getrange", "nokey", "0", "1.5"), err: "ERR value is not an integer or out of range"},
		})
	})
}

func TestSetRange(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "doc example", cmd: a("set", "k", "Hello World"), want: "OK"},
			{note: "...overwrite part", cmd: a("setrange", "k", "6", "Redis"), want: int64(11)},
			{note: "...value", cmd: a("get", "k"), want: "Hello Redis"},
			{note: "missing key is zero-padded", cmd: a("setrange", "p", "6", "Redis"), want: int64(11)},
			{note: "...value", cmd: a("get", "p"), want: "\x00\x00\x00\x00\x00\x00Redis"},
			{note: "past the end pads", cmd: a("setrange", "k", "13", "!"), want: int64(14)},
			{note: "...value", cmd: a("get", "k"), want: "Hello Redis\x00\x00!"},
			{note: "empty value on a missing key creates nothing", cmd: a("setrange", "m", "5", ""), want: int64(0)},
			{note: "...nothing", cmd: a("exists", "m"), want: int64(0)},
			{note: "empty value on an existing key replies its length", cmd: a("setrange", "k", "100", ""), want: int64(14)},
			{note: "negative offset", cmd: a("setrange", "k", "-1", "x"), err: "ERR offset is out of range"},
			{note: "offset not an integer", cmd: a("setrange", "k", "x", "x"), err: "ERR value is not an integer or out of range"},
			{note: "offset past proto-max-bulk-len", cmd: a("setrange", "k", "536870911", "xx"), err: "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
			{note: "...on a missing key too", cmd: a("setrange", "m", "536870912", "x"), err: "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
			{note: "...which is not created", cmd: a("exists", "m"), want: int64(0)},
		})
	})
}

func TestStringsMaxBulk(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.MaxBulk = 100 })
	rdb := srv.Client(t, 2)
	a := stringsArgs
	const tooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	stringsRun(t, rdb, []stringsStep{
		{note: "60 bytes fit", cmd: a("append", "k", strings.Repeat("x", 60)), want: int64(60)},
		{note: "another 40 reach the limit exactly", cmd: a("append", "k", strings.Repeat("y", 40)), want: int64(100)},
		{note: "one more byte does not fit", cmd: a("append", "k", "z"), err: tooLong},
		{note: "...value unchanged", cmd: a("strlen", "k"), want: int64(100)},
		{note: "SETRANGE up to the limit", cmd: a("setrange", "s", "99", "x"), want: int64(100)},
		{note: "SETRANGE past the limit", cmd: a("setrange", "s", "100", "x"), err: tooLong},
	})
}

func TestGetEx(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		future := time.Now().Add(time.Hour)
		const syntax = "ERR syntax error"
		stringsRun(t, rdb, []stringsStep{
			{note: "missing key", cmd: a("getex", "k"), want: nil},
			{note: "setup", cmd: a("set", "k", "v"), want: "OK"},
			{note: "no option is GET", cmd: a("getex", "k"), want: "v"},
			{note: "...TTL untouched", cmd: a("ttl", "k"), want: int64(-1)},
			{note: "EX sets a TTL", cmd: a("getex", "k", "ex", "100"), want: "v"},
			{note: "...TTL", cmd: a("ttl", "k"), want: int64(100)},
			{note: "PX", cmd: a("getex", "k", "px", "5000"), want: "v"},
			{note: "...PTTL", cmd: a("pttl", "k"), want: stringsBetween{4000, 5000}},
			{note: "EXAT", cmd: a("getex", "k", "exat", strconv.FormatInt(future.Unix(), 10)), want: "v"},
			{note: "...EXPIRETIME", cmd: a("expiretime", "k"), want: future.Unix()},
			{note: "PXAT", cmd: a("getex", "k", "pxat", strconv.FormatInt(future.UnixMilli(), 10)), want: "v"},
			{note: "...PEXPIRETIME", cmd: a("pexpiretime", "k"), want: future.UnixMilli()},
			{note: "PERSIST", cmd: a("getex", "k", "persist"), want: "v"},
			{note: "...TTL gone", cmd: a("ttl", "k"), want: int64(-1)},
			{note: "PXAT in the past replies the value", cmd: a("getex", "k", "pxat", "1"), want: "v"},
			{note: "...and deletes the key", cmd: a("exists", "k"), want: int64(0)},
			{note: "EX 0", cmd: a("getex", "k", "ex", "0"), err: "ERR invalid expire time in 'getex' command"},
			{note: "EX not an integer", cmd: a("getex", "k", "ex", "x"), err: "ERR value is not an integer or out of range"},
			{note: "EX and PERSIST", cmd: a("getex", "k", "ex", "10", "persist"), err: syntax},
			{note: "PERSIST and PX", cmd: a("getex", "k", "persist", "px", "10"), err: syntax},
			{note: "EX and PX", cmd: a("getex", "k", "ex", "10", "px", "10"), err: syntax},
			{note: "KEEPTTL is SET's", cmd: a("getex", "k", "keepttl"), err: syntax},
			{note: "NX is SET's", cmd: a("getex", "k", "nx"), err: syntax},
			{note: "EX without a value", cmd: a("getex", "k", "ex"), err: syntax},
		})
	})
}

func TestStringsWrongType(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		if err := rdb.Do(ctx, "rpush", "l", "x").Err(); err != nil {
			if strings.HasPrefix(err.Error(), "ERR unknown command") {
				t.Skip("RPUSH not available yet")
			}
			t.Fatal(err)
		}
		a := stringsArgs
		steps := []stringsStep{
			{note: "GET", cmd: a("get", "l")},
			{note: "SET GET", cmd: a("set", "l", "v", "get")},
			{note: "SET IFEQ", cmd: a("set", "l", "v", "ifeq", "x")},
			{note: "GETSET", cmd: a("getset", "l", "v")},
			{note: "GETDEL", cmd: a("getdel", "l")},
			{note: "GETEX", cmd: a("getex", "l", "persist")},
			{note: "DELIFEQ", cmd: a("delifeq", "l", "x")},
			{note: "APPEND", cmd: a("append", "l", "v")},
			{note: "STRLEN", cmd: a("strlen", "l")},
			{note: "GETRANGE", cmd: a("getrange", "l", "0", "1")},
			{note: "SETRANGE", cmd: a("setrange", "l", "0", "v")},
			{note: "INCR", cmd: a("incr", "l")},
			{note: "DECRBY", cmd: a("decrby", "l", "2")},
			{note: "INCRBYFLOAT", cmd: a("incrbyfloat", "l", "1.5")},
		}
		for i := range steps {
			steps[i].err = stringsWrongType
		}
		steps = append(steps,
			stringsStep{note: "MGET replies null for another type", cmd: a("mget", "l"), want: []any{nil}},
			stringsStep{note: "SETNX sees the key", cmd: a("setnx", "l", "v"), want: int64(0)},
			stringsStep{note: "the list is intact", cmd: a("type", "l"), want: "list"},
			stringsStep{note: "plain SET replaces another type", cmd: a("set", "l", "s"), want: "OK"},
			stringsStep{note: "...the key is a string now", cmd: a("type", "l"), want: "string"},
		)
		stringsRun(t, rdb, steps)
	})
}

func TestIncrDecr(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		const notInt = "ERR value is not an integer or out of range"
		const overflow = "ERR increment or decrement would overflow"
		stringsRun(t, rdb, []stringsStep{
			{note: "INCR a missing key counts from 0", cmd: a("incr", "n"), want: int64(1)},
			{note: "INCR", cmd: a("incr", "n"), want: int64(2)},
			{note: "DECR", cmd: a("decr", "n"), want: int64(1)},
			{note: "INCRBY", cmd: a("incrby", "n", "10"), want: int64(11)},
			{note: "INCRBY negative", cmd: a("incrby", "n", "-20"), want: int64(-9)},
			{note: "DECRBY", cmd: a("decrby", "n", "-9"), want: int64(0)},
			{note: "DECR a missing key", cmd: a("decr", "m"), want: int64(-1)},
			{note: "INCRBY 0 creates the key", cmd: a("incrby", "z", "0"), want: int64(0)},
			{note: "...as \"0\"", cmd: a("get", "z"), want: "0"},
			{note: "GET reads the counter", cmd: a("get", "n"), want: "0"},
			{note: "a value set by SET", cmd: a("set", "n", "41"), want: "OK"},
			{note: "...counts on", cmd: a("incr", "n"), want: int64(42)},
			{note: "max int64", cmd: a("set", "big", "9223372036854775807"), want: "OK"},
			{note: "...INCR overflows", cmd: a("incr", "big"), err: overflow},
			{note: "...value kept", cmd: a("get", "big"), want: "9223372036854775807"},
			{note: "...DECR fine", cmd: a("decr", "big"), want: int64(9223372036854775806)},
			{note: "min int64", cmd: a("set", "small", "-9223372036854775808"), want: "OK"},
			{note: "...DECR overflows", cmd: a("decr", "small"), err: overflow},
			{note: "...DECRBY overflows", cmd: a("decrby", "small", "1"), err: overflow},
			{note: "DECRBY of min int64 cannot be negated", cmd: a("decrby", "n", "-9223372036854775808"), err: "ERR decrement would overflow"},
			{note: "not a number", cmd: a("set", "s", "abc"), want: "OK"},
			{note: "...INCR", cmd: a("incr", "s"), err: notInt},
			{note: "a float", cmd: a("set", "f", "1.5"), want: "OK"},
			{note: "...INCR", cmd: a("incr", "f"), err: notInt},
			{note: "...value kept", cmd: a("get", "f"), want: "1.5"},
			{note: "leading space", cmd: a("set", "sp", " 1"), want: "OK"},
			{note: "...INCR", cmd: a("incr", "sp"), err: notInt},
			{note: "leading zero", cmd: a("set", "lz", "01"), want: "OK"},
			{note: "...INCR", cmd: a("incr", "lz"), err: notInt},
			{note: "plus sign", cmd: a("set", "ps", "+1"), want: "OK"},
			{note: "...INCR", cmd: a("incr", "ps"), err: notInt},
			{note: "past int64", cmd: a("set", "huge", "9223372036854775808"), want: "OK"},
			{note: "...INCR", cmd: a("incr", "huge"), err: notInt},
			{note: "INCRBY increment not an integer", cmd: a("incrby", "n", "1.5"), err: notInt},
			{note: "INCRBY increment out of range", cmd: a("incrby", "n", "99999999999999999999"), err: notInt},
			{note: "DECRBY increment not an integer", cmd: a("decrby", "n", "x"), err: notInt},
			{note: "no failed command changed n", cmd: a("get", "n"), want: "42"},
			{note: "arity", cmd: a("incr"), err: "ERR wrong number of arguments for 'incr' command"},
		})
	})
}

func TestIncrKeepsTTL(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "a counter with a TTL", cmd: a("set", "n", "1", "ex", "100"), want: "OK"},
			{note: "INCR", cmd: a("incr", "n"), want: int64(2)},
			{note: "INCRBYFLOAT", cmd: a("incrbyfloat", "n", "0.5"), want: "2.5"},
			{note: "APPEND", cmd: a("append", "n", "0"), want: int64(4)},
			{note: "SETRANGE", cmd: a("setrange", "n", "0", "3"), want: int64(4)},
			{note: "...keep the TTL", cmd: a("ttl", "n"), want: int64(100)},
			{note: "...and the value", cmd: a("get", "n"), want: "3.50"},
		})
		srv.Advance(101 * time.Second)
		stringsRun(t, rdb, []stringsStep{
			{note: "INCR on an expired counter starts from 0", cmd: a("incr", "n"), want: int64(1)},
			{note: "...without a TTL", cmd: a("ttl", "n"), want: int64(-1)},
			{note: "...and GET agrees", cmd: a("get", "n"), want: "1"},
		})
	})
}

func TestIncrByFloat(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		const notFloat = "ERR value is not a valid float"
		stringsRun(t, rdb, []stringsStep{
			// The documentation's example.
			{note: "doc: SET 10.50", cmd: a("set", "mykey", "10.50"), want: "OK"},
			{note: "doc: +0.1", cmd: a("incrbyfloat", "mykey", "0.1"), want: "10.6"},
			{note: "doc: -5", cmd: a("incrbyfloat", "mykey", "-5"), want: "5.6"},
			{note: "doc: SET 5.0e3", cmd: a("set", "mykey", "5.0e3"), want: "OK"},
			{note: "doc: +2.0e2", cmd: a("incrbyfloat", "mykey", "2.0e2"), want: "5200"},
			{note: "GET agrees with the reply", cmd: a("get", "mykey"), want: "5200"},
			// Valkey adds in long double: no float64 noise.
			{note: "missing key counts from 0", cmd: a("incrbyfloat", "f", "0.1"), want: "0.1"},
			{note: "0.1 + 0.2 is 0.3", cmd: a("incrbyfloat", "f", "0.2"), want: "0.3"},
			{note: "...and GET says so", cmd: a("get", "f"), want: "0.3"},
			{note: "1 - 1.1", cmd: a("set", "d", "1"), want: "OK"},
			{note: "...is -0.1", cmd: a("incrbyfloat", "d", "-1.1"), want: "-0.1"},
			{note: "over 32 bits", cmd: a("set", "b", "17179869184"), want: "OK"},
			{note: "...+1.5", cmd: a("incrbyfloat", "b", "1.5"), want: "17179869185.5"},
			{note: "...+17179869184.5", cmd: a("incrbyfloat", "b", "17179869184.5"), want: "34359738370"},
			{note: "no negative zero", cmd: a("incrbyfloat", "z", "0.024390243902439025"), want: stringsAnyReply},
			{note: "...back to 0", cmd: a("incrbyfloat", "z", "-0.024390243902439025"), want: "0"},
			{note: "exponent increment", cmd: a("incrbyfloat", "e", "1e3"), want: "1000"},
			{note: "hex float value", cmd: a("set", "h", "0x10"), want: "OK"},
			{note: "...counts from 16", cmd: a("incrbyfloat", "h", "1"), want: "17"},
			{note: "...GET", cmd: a("get", "h"), want: "17"},
			{note: "an integer counter accepts floats", cmd: a("set", "i", "3"), want: "OK"},
			{note: "...+1.25", cmd: a("incrbyfloat", "i", "1.25"), want: "4.25"},
			{note: "...then INCR refuses", cmd: a("incr", "i"), err: "ERR value is not an integer or out of range"},
			{note: "increment not a float", cmd: a("incrbyfloat", "f", "abc"), err: notFloat},
			{note: "increment with a space", cmd: a("incrbyfloat", "f", " 1"), err: notFloat},
			{note: "increment NaN", cmd: a("incrbyfloat", "f", "nan"), err: notFloat},
			{note: "increment +inf", cmd: a("incrbyfloat", "f", "+inf"), err: "ERR increment would produce NaN or Infinity"},
			{note: "increment overflowing to infinity", cmd: a("incrbyfloat", "f", "1e5000"), err: notFloat},
			{note: "value with a leading space", cmd: a("set", "s", " 11"), want: "OK"},
			{note: "...refused", cmd: a("incrbyfloat", "s", "1"), err: notFloat},
			{note: "value with a trailing space", cmd: a("set", "s", "11 "), want: "OK"},
			{note: "...refused", cmd: a("incrbyfloat", "s", "1"), err: notFloat},
			{note: "value with a NUL inside", cmd: a("set", "s", "1\x002"), want: "OK"},
			{note: "...refused", cmd: a("incrbyfloat", "s", "1"), err: notFloat},
			{note: "value not a number, bad increment too: the value is checked first", cmd: a("incrbyfloat", "s", "x"), err: notFloat},
			{note: "a result with 17 significant digits", cmd: a("incrbyfloat", "t", "0.333333333333333333"), want: "0.33333333333333333"},
			{note: "...is what GET returns", cmd: a("get", "t"), want: "0.33333333333333333"},
			{note: "...and counts on", cmd: a("incrbyfloat", "t", "1"), want: "1.33333333333333333"},
			{note: "nothing changed f", cmd: a("get", "f"), want: "0.3"},
		})
	})
}

// TestIncrEffects checks what counters log: increments, never the new
// value, so that regions incrementing at once add up.
func TestIncrEffects(t *testing.T) {
	tests := []struct {
		name  string
		setup [][]string
		cmd   []string
		reply string
		op    storage.Op
		check func(e storage.Effect) bool
	}{
		{name: "INCRBY logs the delta", setup: [][]string{{"set", "n", "10"}}, cmd: []string{"incrby", "n", "5"}, reply: ":15\r\n",
			op: storage.OpIncr, check: func(e storage.Effect) bool { return e.Int == 5 }},
		{name: "DECR logs -1", cmd: []string{"decr", "n"}, reply: ":-1\r\n",
			op: storage.OpIncr, check: func(e storage.Effect) bool { return e.Int == -1 }},
		{name: "INCRBYFLOAT logs a float delta", setup: [][]string{{"set", "f", "10.5"}}, cmd: []string{"incrbyfloat", "f", "0.1"}, reply: "$4\r\n10.6\r\n",
			op: storage.OpIncrFloat, check: func(e storage.Effect) bool { return e.Float > 0.09 && e.Float < 0.11 }},
		{name: "INCRBYFLOAT past float64's digits logs the value", cmd: []string{"incrbyfloat", "f", "0.333333333333333333"}, reply: "$19\r\n0.33333333333333333\r\n",
			op: storage.OpSet, check: func(e storage.Effect) bool { return string(e.Value) == "0.33333333333333333" }},
		{name: "INCRBYFLOAT past float64's range logs the value", setup: [][]string{{"set", "f", "1e400"}}, cmd: []string{"incrbyfloat", "f", "1e400"},
			reply: "$401\r\n2000000000000000000", // the exact value of the 64-bit significand, as printf gives it
			op:    storage.OpSet, check: func(e storage.Effect) bool { return len(e.Value) == 401 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, effects := stringsEffects(t, tt.setup, tt.cmd...)
			if !strings.HasPrefix(reply, tt.reply) {
				t.Errorf("reply %q, want %q", reply, tt.reply)
			}
			if len(effects) != 1 || effects[0].Op != tt.op || !tt.check(effects[0]) {
				t.Errorf("effects %+v, want one %v", effects, tt.op)
			}
		})
	}
	// A refused increment logs nothing.
	for _, cmd := range [][]string{{"incr", "s"}, {"incrbyfloat", "s", "1"}, {"incr", "big"}} {
		reply, effects := stringsEffects(t, [][]string{{"set", "s", "x"}, {"set", "big", "9223372036854775807"}}, cmd...)
		if !strings.HasPrefix(reply, "-ERR") || len(effects) != 0 {
			t.Errorf("%q: reply %q effects %+v; want an error and no effect", cmd, reply, effects)
		}
	}
}

// TestStringsRawReplies checks replies on the wire, where RESP2 and RESP3
// differ (null) or where go-redis hides the type.
func TestStringsRawReplies(t *testing.T) {
	tests := []struct {
		cmd          []string
		resp2, resp3 string
	}{
		{cmd: []string{"get", "nokey"}, resp2: "$-1\r\n", resp3: "_\r\n"},
		{cmd: []string{"set", "k", "v"}, resp2: "+OK\r\n", resp3: "+OK\r\n"},
		{cmd: []string{"set", "k", "v", "nx"}, resp2: "$-1\r\n", resp3: "_\r\n"},
		{cmd: []string{"set", "k", "w", "get"}, resp2: "$1\r\nv\r\n", resp3: "$1\r\nv\r\n"},
		{cmd: []string{"mget", "k", "nokey"}, resp2: "*2\r\n$1\r\nw\r\n$-1\r\n", resp3: "*2\r\n$1\r\nw\r\n_\r\n"},
		{cmd: []string{"getrange", "nokey", "0", "-1"}, resp2: "$0\r\n\r\n", resp3: "$0\r\n\r\n"},
		{cmd: []string{"setnx", "k", "v"}, resp2: ":0\r\n", resp3: ":0\r\n"},
		{cmd: []string{"incrbyfloat", "f", "1.5"}, resp2: "$3\r\n1.5\r\n", resp3: "$3\r\n1.5\r\n"},
		{cmd: []string{"incr", "n"}, resp2: ":1\r\n", resp3: ":1\r\n"},
		{cmd: []string{"getex", "nokey"}, resp2: "$-1\r\n", resp3: "_\r\n"},
		{cmd: []string{"getdel", "nokey"}, resp2: "$-1\r\n", resp3: "_\r\n"},
	}
	for _, proto := range []int{2, 3} {
		srv := servertest.Start(t)
		rc := srv.Raw(t, proto)
		for _, tt := range tests {
			want := tt.resp2
			if proto == 3 {
				want = tt.resp3
			}
			if got := rc.Do(tt.cmd...); got != want {
				t.Errorf("RESP%d %q = %q, want %q", proto, tt.cmd, got, want)
			}
		}
	}
}
