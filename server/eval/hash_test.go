package eval_test

import (
	"context"
	"fmt"
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

// hashEffects evaluates cmd, after setup, directly with the evaluator and
// returns cmd's effects, to check what a command records.
func hashEffects(t *testing.T, setup [][]string, cmd ...string) []storage.Effect {
	t.Helper()
	st := storage.NewStore()
	clock := hlc.NewClock(hlc.NewManualClock(1_000_000), 1, 1)
	run := func(args []string) []storage.Effect {
		bargs := make([][]byte, len(args))
		for i, a := range args {
			bargs[i] = []byte(a)
		}
		c := &eval.Ctx{R: st.At(1_000_000), W: &protocol.Writer{}, Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))}
		eval.Run(c, bargs)
		if strings.HasPrefix(string(c.W.Bytes()), "-") {
			t.Fatalf("%q: %s", args, c.W.Bytes())
		}
		effects := slices.Clone(c.Effects())
		st.SetStable(clock.Last())
		st.Apply(st.Index()+1, effects)
		return effects
	}
	for _, s := range setup {
		run(s)
	}
	return run(cmd)
}

// hashErr runs a command and returns its error text ("" if none).
func hashErr(ctx context.Context, rdb *redis.Client, args ...any) string {
	if err := rdb.Do(ctx, args...).Err(); err != nil && err != redis.Nil {
		return err.Error()
	}
	return ""
}

const hashWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

func TestHashFieldCommands(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		steps := []struct {
			args []any
			want any // int64, string, nil (null), []any
		}{
			{[]any{"hset", "h", "a", "1", "b", "2"}, int64(2)},
			{[]any{"hset", "h", "a", "10", "c", "3"}, int64(1)}, // a updated, c new
			{[]any{"hget", "h", "a"}, "10"},
			{[]any{"hget", "h", "zz"}, nil},
			{[]any{"hget", "nokey", "a"}, nil},
			// A field named twice is written once, with its last value,
			// and counted once.
			{[]any{"hset", "h", "d", "x", "d", "y"}, int64(1)},
			{[]any{"hget", "h", "d"}, "y"},
			{[]any{"hmset", "h", "e", "5", "a", "11"}, "OK"},
			{[]any{"hmget", "h", "a", "zz", "e"}, []any{"11", nil, "5"}},
			{[]any{"hmget", "nokey", "a", "b"}, []any{nil, nil}},
			{[]any{"hsetnx", "h", "a", "nope"}, int64(0)},
			{[]any{"hsetnx", "h", "f", "6"}, int64(1)},
			{[]any{"hsetnx", "h2", "f", "6"}, int64(1)}, // creates the key
			{[]any{"hget", "h", "a"}, "11"},
			{[]any{"hexists", "h", "a"}, int64(1)},
			{[]any{"hexists", "h", "zz"}, int64(0)},
			{[]any{"hexists", "nokey", "a"}, int64(0)},
			{[]any{"hlen", "h"}, int64(6)},
			{[]any{"hlen", "nokey"}, int64(0)},
			{[]any{"hstrlen", "h", "a"}, int64(2)},
			{[]any{"hstrlen", "h", "zz"}, int64(0)},
			{[]any{"hstrlen", "nokey", "a"}, int64(0)},
			{[]any{"hset", "h", "empty", ""}, int64(1)}, // an empty value is a value
			{[]any{"hexists", "h", "empty"}, int64(1)},
			{[]any{"hget", "h", "empty"}, ""},
			{[]any{"hdel", "h", "zz", "yy"}, int64(0)},
			{[]any{"hdel", "h", "a", "a", "b", "zz"}, int64(2)}, // a named twice counts once
			{[]any{"hdel", "nokey", "a"}, int64(0)},
			{[]any{"hlen", "h"}, int64(5)},
		}
		for _, s := range steps {
			got, err := rdb.Do(ctx, s.args...).Result()
			if err == redis.Nil {
				got, err = nil, nil
			}
			if err != nil {
				t.Fatalf("%v: %v", s.args, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Fatalf("%v = %#v, want %#v", s.args, got, s.want)
			}
		}
	})
}

func TestHashGetAllReplies(t *testing.T) {
	srv := servertest.Start(t)
	rdb := srv.Client(t, 2)
	ctx := context.Background()
	rdb.Do(ctx, "hset", "h", "b", "2", "a", "1")
	cases := []struct {
		proto int
		cmd   []string
		want  string
	}{
		// HGETALL is a map in RESP3, a flat array in RESP2.
		{2, []string{"hgetall", "h"}, "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"},
		{3, []string{"hgetall", "h"}, "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"},
		{2, []string{"hgetall", "nokey"}, "*0\r\n"},
		{3, []string{"hgetall", "nokey"}, "%0\r\n"},
		{3, []string{"hkeys", "h"}, "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{3, []string{"hvals", "h"}, "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"},
		{2, []string{"hkeys", "nokey"}, "*0\r\n"},
		{3, []string{"hvals", "nokey"}, "*0\r\n"},
		// Missing values are null bulks ($-1), _ in RESP3.
		{2, []string{"hget", "h", "zz"}, "$-1\r\n"},
		{3, []string{"hget", "h", "zz"}, "_\r\n"},
		{2, []string{"hmget", "h", "zz"}, "*1\r\n$-1\r\n"},
		// HSETNX and HEXISTS stay integers in RESP3.
		{3, []string{"hexists", "h", "a"}, ":1\r\n"},
		{3, []string{"hsetnx", "h", "a", "x"}, ":0\r\n"},
		// HINCRBYFLOAT replies with a bulk string, not a double.
		{3, []string{"hincrbyfloat", "f", "x", "1.5"}, "$3\r\n1.5\r\n"},
	}
	conns := map[int]*servertest.RawConn{2: srv.Raw(t, 2), 3: srv.Raw(t, 3)}
	for _, tc := range cases {
		if got := conns[tc.proto].Do(tc.cmd...); got != tc.want {
			t.Errorf("RESP%d %q = %q, want %q", tc.proto, tc.cmd, got, tc.want)
		}
	}
}

func TestHashIncr(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		rdb.Do(ctx, "hset", "h", "n", "100", "big", "17179869184", "neg", "-9223372036854775484",
			"lsp", " 11", "rsp", "11 ", "word", "abc", "float", "1.5", "nul", "1\x002", "inf", "inf")
		steps := []struct {
			args []any
			want string // reply, or the error text
		}{
			{[]any{"hincrby", "nokey", "f", "2"}, "2"},
			{[]any{"hincrby", "h", "new", "3"}, "3"},
			{[]any{"hincrby", "h", "new", "3"}, "6"},
			{[]any{"hincrby", "h", "n", "-102"}, "-2"},
			{[]any{"hincrby", "h", "big", "17179869184"}, "34359738368"},
			{[]any{"hincrby", "h", "zero", "0"}, "0"}, // creates the field
			{[]any{"hget", "h", "zero"}, "0"},
			{[]any{"hincrby", "h", "neg", "-1"}, "-9223372036854775485"},
			{[]any{"hincrby", "h", "neg", "-10000"}, "ERR increment or decrement would overflow"},
			{[]any{"hincrby", "h", "n", "9223372036854775807"}, "9223372036854775805"},
			{[]any{"hincrby", "h", "n", "3"}, "ERR increment or decrement would overflow"},
			{[]any{"hincrby", "h", "lsp", "1"}, "ERR hash value is not an integer"},
			{[]any{"hincrby", "h", "rsp", "1"}, "ERR hash value is not an integer"},
			{[]any{"hincrby", "h", "float", "1"}, "ERR hash value is not an integer"},
			{[]any{"hincrby", "h", "n", "v"}, "ERR value is not an integer or out of range"},
			{[]any{"hincrby", "h", "n", "1.5"}, "ERR value is not an integer or out of range"},
			{[]any{"hincrby", "h", "n", "9223372036854775808"}, "ERR value is not an integer or out of range"},
			{[]any{"hincrbyfloat", "nokey2", "f", "2.5"}, "2.5"},
			{[]any{"hincrbyfloat", "h", "float", "1"}, "2.5"},
			{[]any{"hincrbyfloat", "h", "big", "1"}, "34359738369"},
			{[]any{"hincrbyfloat", "h", "new", "3.5"}, "9.5"}, // new was 6 from HINCRBY
			{[]any{"hget", "h", "new"}, "9.5"},
			{[]any{"hincrbyfloat", "h", "new", "0.5"}, "10"}, // no trailing ".0"
			{[]any{"hincrby", "h", "new", "1"}, "11"},        // integral again: HINCRBY works
			{[]any{"hincrbyfloat", "h", "e", "5.0e3"}, "5000"},
			{[]any{"hincrbyfloat", "h", "lsp", "1"}, "ERR hash value is not a float"},
			{[]any{"hincrbyfloat", "h", "rsp", "1"}, "ERR hash value is not a float"},
			{[]any{"hincrbyfloat", "h", "word", "1"}, "ERR hash value is not a float"},
			{[]any{"hincrbyfloat", "h", "nul", "1"}, "ERR hash value is not a float"},
			{[]any{"hincrbyfloat", "h", "n", "v"}, "ERR value is not a valid float"},
			{[]any{"hincrbyfloat", "h", "n", "nan"}, "ERR value is not a valid float"},
			{[]any{"hincrbyfloat", "h", "n", "+inf"}, "ERR value is NaN or Infinity"},
			{[]any{"hincrbyfloat", "h", "n", "-inf"}, "ERR value is NaN or Infinity"},
			{[]any{"hincrbyfloat", "h", "inf", "1"}, "ERR increment would produce NaN or Infinity"},
			{[]any{"hget", "h", "inf"}, "inf"}, // refused: unchanged
		}
		for _, s := range steps {
			res, err := rdb.Do(ctx, s.args...).Result()
			got := fmt.Sprint(res)
			if err != nil {
				got = err.Error()
			}
			if got != s.want {
				t.Fatalf("%v = %q, want %q", s.args, got, s.want)
			}
		}
		// Errors leave nothing behind.
		if err := hashErr(ctx, rdb, "hincrbyfloat", "hfoo", "f", "+inf"); err != "ERR value is NaN or Infinity" {
			t.Fatalf("HINCRBYFLOAT +inf = %q", err)
		}
		if v, err := rdb.Do(ctx, "hlen", "hfoo").Int(); v != 0 || err != nil {
			t.Fatalf("HLEN after refused HINCRBYFLOAT = %d, %v", v, err)
		}
	})
}

// Valkey's "correct float representation" test (issue #2846).
func TestHashIncrByFloatRepresentation(t *testing.T) {
	srv := servertest.Start(t)
	rdb := srv.Client(t, 2)
	ctx := context.Background()
	for _, s := range []struct{ incr, want string }{
		{"1.23", "1.23"},
		{"0.77", "2"},
		{"-0.1", "1.9"},
	} {
		if got := rdb.Do(ctx, "hincrbyfloat", "myhash", "float", s.incr).Val(); got != s.want {
			t.Fatalf("HINCRBYFLOAT %s = %v, want %s", s.incr, got, s.want)
		}
	}
	if got := rdb.HGet(ctx, "myhash", "float").Val(); got != "1.9" {
		t.Fatalf("HGET after increments = %q, want 1.9", got)
	}
}

func TestHashDelLastFieldDeletesKeyAndTTL(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		rdb.HSet(ctx, "h", "a", "1", "b", "2")
		if err := rdb.Expire(ctx, "h", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if n := rdb.HDel(ctx, "h", "a", "b", "c").Val(); n != 2 {
			t.Fatalf("HDEL = %d, want 2", n)
		}
		if n := rdb.Exists(ctx, "h").Val(); n != 0 {
			t.Fatalf("EXISTS after HDEL of every field = %d, want 0", n)
		}
		rdb.HSet(ctx, "h", "c", "3")
		if ttl := rdb.Do(ctx, "ttl", "h").Val(); ttl != int64(-1) {
			t.Fatalf("TTL of a new hash = %v, want -1 (the old TTL went with the key)", ttl)
		}
		if got := rdb.HGetAll(ctx, "h").Val(); len(got) != 1 || got["c"] != "3" {
			t.Fatalf("HGETALL = %v, want only c", got)
		}
		// An expired hash is gone for writers too: HSET starts afresh.
		rdb.Expire(ctx, "h", time.Second)
		srv.Advance(2 * time.Second)
		if n := rdb.HSet(ctx, "h", "d", "4").Val(); n != 1 {
			t.Fatalf("HSET on an expired hash = %d, want 1", n)
		}
		if got := rdb.HKeys(ctx, "h").Val(); !slices.Equal(got, []string{"d"}) {
			t.Fatalf("HKEYS = %v, want [d]", got)
		}
	})
}

func TestHashEffects(t *testing.T) {
	cases := []struct {
		name  string
		setup [][]string
		cmd   []string
		want  []string // op:field[=value] per effect
	}{
		{"hset twice one field", nil, []string{"hset", "h", "f", "1", "f", "2"}, []string{"hset:f=2"}},
		{"hset two fields", nil, []string{"hset", "h", "f", "1", "g", "2", "f", "3"}, []string{"hset:f=3", "hset:g=2"}},
		{"hdel repeated", [][]string{{"hset", "h", "f", "1", "g", "2"}}, []string{"hdel", "h", "f", "f", "x"}, []string{"hdel:f"}},
		{"hdel last field deletes the key", [][]string{{"hset", "h", "f", "1"}}, []string{"hdel", "h", "f", "f"}, []string{"hdel:f", "expire:"}},
		{"hsetnx existing", [][]string{{"hset", "h", "f", "1"}}, []string{"hsetnx", "h", "f", "2"}, nil},
		{"hincrby is a delta", [][]string{{"hset", "h", "f", "10"}}, []string{"hincrby", "h", "f", "5"}, []string{"hincr:f+5"}},
		{"hincrbyfloat is a delta", [][]string{{"hset", "h", "f", "10"}}, []string{"hincrbyfloat", "h", "f", "0.5"}, []string{"hincrfloat:f+0.5"}},
		{"hmset twice one field", nil, []string{"hmset", "h", "f", "1", "f", "2"}, []string{"hset:f=2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range hashEffects(t, tc.setup, tc.cmd...) {
				got = append(got, hashDescribe(e))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("effects = %q, want %q", got, tc.want)
			}
		})
	}
}

// hashDescribe renders an effect for comparison in tests.
func hashDescribe(e storage.Effect) string {
	switch e.Op {
	case storage.OpHSet:
		return "hset:" + e.Field + "=" + string(e.Value)
	case storage.OpHIncr:
		return "hincr:" + e.Field + "+" + strconv.FormatInt(e.Int, 10)
	case storage.OpHIncrFloat:
		return "hincrfloat:" + e.Field + "+" + strconv.FormatFloat(e.Float, 'g', -1, 64)
	}
	return e.Op.String() + ":" + e.Field
}

func TestHashRandField(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		want := map[string]string{}
		for i := range 10 {
			want["f"+strconv.Itoa(i)] = "v" + strconv.Itoa(i)
		}
		rdb.HSet(ctx, "h", want)

		// Without count: one field, every one eventually.
		seen := map[string]bool{}
		for range 200 {
			f, err := rdb.Do(ctx, "hrandfield", "h").Text()
			if err != nil || want[f] == "" {
				t.Fatalf("HRANDFIELD = %q, %v", f, err)
			}
			seen[f] = true
		}
		if len(seen) != len(want) {
			t.Fatalf("200 HRANDFIELD saw %d of %d fields", len(seen), len(want))
		}
		if err := rdb.Do(ctx, "hrandfield", "nokey").Err(); err != redis.Nil {
			t.Fatalf("HRANDFIELD missing key: %v, want nil", err)
		}

		counts := []struct {
			count    int
			wantLen  int
			distinct bool
		}{
			{5, 5, true},     // fewer than the hash: distinct fields
			{9, 9, true},     // almost all
			{10, 10, true},   // all
			{20, 10, true},   // more than the hash: the whole hash once
			{-20, 20, false}, // negative: repeats allowed, exactly |count|
			{-1001, 1001, false},
			{0, 0, true},
		}
		for _, tc := range counts {
			fields, err := rdb.HRandField(ctx, "h", tc.count).Result()
			if err != nil || len(fields) != tc.wantLen {
				t.Fatalf("HRANDFIELD %d = %d fields, %v; want %d", tc.count, len(fields), err, tc.wantLen)
			}
			set := map[string]bool{}
			for _, f := range fields {
				if want[f] == "" {
					t.Fatalf("HRANDFIELD %d returned unknown field %q", tc.count, f)
				}
				set[f] = true
			}
			if tc.distinct && len(set) != len(fields) {
				t.Fatalf("HRANDFIELD %d repeated a field: %v", tc.count, fields)
			}
			pairs, err := rdb.HRandFieldWithValues(ctx, "h", tc.count).Result()
			if err != nil || len(pairs) != tc.wantLen {
				t.Fatalf("HRANDFIELD %d WITHVALUES = %d pairs, %v; want %d", tc.count, len(pairs), err, tc.wantLen)
			}
			for _, p := range pairs {
				if want[p.Key] != p.Value {
					t.Fatalf("HRANDFIELD WITHVALUES pair %s=%s, want %s", p.Key, p.Value, want[p.Key])
				}
			}
		}

		errs := []struct {
			args []any
			want string
		}{
			{[]any{"hrandfield", "h", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"hrandfield", "h", "1", "foo"}, "ERR syntax error"},
			{[]any{"hrandfield", "h", "1", "withvalues", "x"}, "ERR syntax error"},
			{[]any{"hrandfield", "h", "-9223372036854770000", "withvalues"}, "ERR value is out of range"},
			{[]any{"hrandfield", "h", "-9223372036854775808", "withvalues"}, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"},
			{[]any{"hrandfield", "h", "-9223372036854775808"}, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"},
		}
		for _, e := range errs {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Fatalf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
	})

	// Reply shapes: RESP3 WITHVALUES is an array of [field, value] pairs.
	srv := servertest.Start(t)
	rdb := srv.Client(t, 2)
	rdb.HSet(context.Background(), "h", "a", "1")
	for _, tc := range []struct {
		proto int
		cmd   []string
		want  string
	}{
		{2, []string{"hrandfield", "h", "1", "withvalues"}, "*2\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{3, []string{"hrandfield", "h", "1", "withvalues"}, "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{3, []string{"hrandfield", "h", "-2", "WITHVALUES"}, "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{3, []string{"hrandfield", "h", "2"}, "*1\r\n$1\r\na\r\n"},
		{2, []string{"hrandfield", "h", "0"}, "*0\r\n"},
		{2, []string{"hrandfield", "nokey", "100"}, "*0\r\n"},
		{2, []string{"hrandfield", "nokey"}, "$-1\r\n"},
		{3, []string{"hrandfield", "nokey"}, "_\r\n"},
	} {
		if got := srv.Raw(t, tc.proto).Do(tc.cmd...); got != tc.want {
			t.Errorf("RESP%d %q = %q, want %q", tc.proto, tc.cmd, got, tc.want)
		}
	}
}

func TestHashScan(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()

		// A small hash comes whole, with cursor 0, whatever COUNT says.
		rdb.HSet(ctx, "small", "a", "1", "b", "2", "c", "3")
		keys, cursor, err := rdb.HScan(ctx, "small", 0, "", 1).Result()
		if err != nil || cursor != 0 || !slices.Equal(keys, []string{"a", "1", "b", "2", "c", "3"}) {
			t.Fatalf("HSCAN small = %v, %d, %v", keys, cursor, err)
		}
		keys, cursor, err = rdb.HScanNoValues(ctx, "small", 0, "[ab]", 0).Result()
		if err != nil || cursor != 0 || !slices.Equal(keys, []string{"a", "b"}) {
			t.Fatalf("HSCAN small MATCH [ab] NOVALUES = %v, %d, %v", keys, cursor, err)
		}

		// A large hash is walked with a cursor; every field present for
		// the whole scan comes back, though fields come and go meanwhile.
		const n = 1000
		all := map[string]any{}
		for i := range n {
			all["f"+strconv.Itoa(i)] = strconv.Itoa(i)
		}
		rdb.HSet(ctx, "big", all)
		found := map[string]string{}
		calls := 0
		cursor = 0
		for {
			var page []string
			page, cursor, err = rdb.HScan(ctx, "big", cursor, "", 50).Result()
			if err != nil {
				t.Fatal(err)
			}
			calls++
			if len(page)%2 != 0 {
				t.Fatalf("HSCAN page of odd length %d", len(page))
			}
			for i := 0; i < len(page); i += 2 {
				found[page[i]] = page[i+1]
			}
			// Churn: add and remove fields other than f0..f499.
			rdb.HSet(ctx, "big", "tmp"+strconv.Itoa(calls), "x")
			rdb.HDel(ctx, "big", "f"+strconv.Itoa(n-calls))
			if cursor == 0 {
				break
			}
			if calls > 10*n {
				t.Fatal("HSCAN does not end")
			}
		}
		if calls < 5 {
			t.Fatalf("HSCAN of %d fields with COUNT 50 took %d calls, want a real walk", n, calls)
		}
		for i := range n / 2 {
			f := "f" + strconv.Itoa(i)
			if found[f] != strconv.Itoa(i) {
				t.Fatalf("HSCAN missed %s (got %q)", f, found[f])
			}
		}

		// MATCH filters what is examined; NOVALUES drops values.
		var matched []string
		cursor = 0
		for {
			var page []string
			page, cursor, err = rdb.HScanNoValues(ctx, "big", cursor, "f1?", 100).Result()
			if err != nil {
				t.Fatal(err)
			}
			matched = append(matched, page...)
			if cursor == 0 {
				break
			}
		}
		slices.Sort(matched)
		if want := []string{"f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19"}; !slices.Equal(matched, want) {
			t.Fatalf("HSCAN MATCH f1? = %v, want %v", matched, want)
		}

		errs := []struct {
			args []any
			want string
		}{
			{[]any{"hscan", "small", "x"}, "ERR invalid cursor"},
			{[]any{"hscan", "small", "-1"}, "ERR invalid cursor"},
			{[]any{"hscan", "small", "18446744073709551616"}, "ERR invalid cursor"},
			{[]any{"hscan", "small", "0", "count", "0"}, "ERR syntax error"},
			{[]any{"hscan", "small", "0", "count", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"hscan", "small", "0", "match"}, "ERR syntax error"},
			{[]any{"hscan", "small", "0", "foo"}, "ERR syntax error"},
			{[]any{"hscan", "small", "0", "noscores"}, "ERR NOSCORES option can only be used in ZSCAN"},
			// Options are read only once the key is found.
			{[]any{"hscan", "nokey", "0", "count", "0"}, ""},
			{[]any{"hscan", "nokey", "x"}, "ERR invalid cursor"},
		}
		for _, e := range errs {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Fatalf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
		keys, cursor, err = rdb.HScan(ctx, "nokey", 7, "", 0).Result()
		if err != nil || cursor != 0 || len(keys) != 0 {
			t.Fatalf("HSCAN missing key = %v, %d, %v", keys, cursor, err)
		}
	})
}

// TestHashScanMatch checks MATCH patterns against Valkey's glob rules.
func TestHashScanMatch(t *testing.T) {
	srv := servertest.Start(t)
	rdb := srv.Client(t, 2)
	ctx := context.Background()
	fields := []string{"", "a", "ab", "abc", "b", "hello", "hallo", "hxllo", "hllo", "heeeello", "a*b", "a?b", "[x]", "-", "x\\y"}
	for _, f := range fields {
		rdb.HSet(ctx, "h", f, "v")
	}
	cases := []struct {
		pattern string
		want    []string
	}{
		{"*", fields},      // "*" matches everything, the empty name too
		{"**", fields[1:]}, // "**" does not match "": Valkey's loop never runs on it
		{"h?llo", []string{"hallo", "hello", "hxllo"}},
		{"h*llo", []string{"hallo", "heeeello", "hello", "hllo", "hxllo"}},
		{"h[ae]llo", []string{"hallo", "hello"}},
		{"h[^e]llo", []string{"hallo", "hxllo"}},
		{"h[a-b]llo", []string{"hallo"}},
		{"h[b-a]llo", []string{"hallo"}}, // reversed ranges are swapped
		{"a\\*b", []string{"a*b"}},
		{"a\\?b", []string{"a?b"}},
		{"a?b", []string{"a*b", "a?b"}},
		{"\\[x\\]", []string{"[x]"}},
		{"[\\]]", nil},
		{"[-]", []string{"-"}},
		{"x\\\\y", []string{"x\\y"}},
		{"a[", nil},                     // unterminated class matches nothing more
		{"[^", []string{"-", "a", "b"}}, // "[^" is "any one byte"
		{"abc*", []string{"abc"}},
		{"*c", []string{"abc"}},
		{"", []string{""}},
	}
	for _, tc := range cases {
		res, err := rdb.Do(ctx, "hscan", "h", "0", "match", tc.pattern, "novalues").Slice()
		if err != nil || len(res) != 2 {
			t.Fatalf("HSCAN MATCH %q = %v, %v", tc.pattern, res, err)
		}
		var got []string
		for _, f := range res[1].([]any) {
			got = append(got, f.(string))
		}
		want := slices.Clone(tc.want)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("MATCH %q = %q, want %q", tc.pattern, got, want)
		}
	}
}

func TestHashWrongType(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		rdb.Set(ctx, "s", "x", 0)
		for _, args := range [][]any{
			{"hset", "s", "f", "v"}, {"hmset", "s", "f", "v"}, {"hsetnx", "s", "f", "v"},
			{"hget", "s", "f"}, {"hmget", "s", "f"}, {"hdel", "s", "f"}, {"hexists", "s", "f"},
			{"hgetall", "s"}, {"hkeys", "s"}, {"hvals", "s"}, {"hlen", "s"}, {"hstrlen", "s", "f"},
			{"hincrby", "s", "f", "1"}, {"hincrbyfloat", "s", "f", "1"}, {"hscan", "s", "0"},
			{"hrandfield", "s"}, {"hrandfield", "s", "0"}, {"hrandfield", "s", "2", "withvalues"},
		} {
			if got := hashErr(ctx, rdb, args...); got != hashWrongType {
				t.Errorf("%v: error %q, want WRONGTYPE", args, got)
			}
		}
		if v := rdb.Get(ctx, "s").Val(); v != "x" {
			t.Fatalf("the string changed: %q", v)
		}
		// Argument errors come before the type check where Valkey has them so.
		for _, e := range []struct {
			args []any
			want string
		}{
			{[]any{"hincrby", "s", "f", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"hincrbyfloat", "s", "f", "x"}, "ERR value is not a valid float"},
			{[]any{"hscan", "s", "x"}, "ERR invalid cursor"},
			{[]any{"hrandfield", "s", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"hset", "s", "f"}, "ERR wrong number of arguments for 'hset' command"},
			{[]any{"hset", "h", "a", "1", "b"}, "ERR wrong number of arguments for 'hset' command"},
			{[]any{"HMSET", "h", "a", "1", "b"}, "ERR wrong number of arguments for 'hmset' command"},
			{[]any{"hget", "h"}, "ERR wrong number of arguments for 'hget' command"},
			{[]any{"hmget", "h"}, "ERR wrong number of arguments for 'hmget' command"},
			{[]any{"hdel", "h"}, "ERR wrong number of arguments for 'hdel' command"},
			{[]any{"hsetnx", "h", "f"}, "ERR wrong number of arguments for 'hsetnx' command"},
			{[]any{"hscan", "h"}, "ERR wrong number of arguments for 'hscan' command"},
			{[]any{"hrandfield"}, "ERR wrong number of arguments for 'hrandfield' command"},
		} {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Errorf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
	})
}
