package eval_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
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

// Expected replies are written from Valkey's documentation and its
// t_list.c, not from our code.

const (
	listWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
	listNotInt    = "ERR value is not an integer or out of range"
	listPositive  = "ERR value is out of range, must be positive"
	listRankZero  = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	listLongRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)

// listNull marks a step that wants a null reply.
type listNullReply struct{}

var listNull = listNullReply{}

// listStep is one command and what it must reply, as go-redis's Do returns
// it: string for bulk strings, int64 for integers, []any for arrays.
type listStep struct {
	note string // what the row checks
	cmd  []any
	want any    // the reply, or listNull
	err  string // the exact error text, when an error is wanted
}

func listA(args ...any) []any { return args }

// listStrs builds the []any go-redis returns for an array of bulk strings.
func listStrs(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// listInts builds the []any go-redis returns for an array of integers.
func listInts(ns ...int64) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

func listRun(t *testing.T, rdb *redis.Client, steps []listStep) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		got, err := rdb.Do(ctx, s.cmd...).Result()
		switch {
		case s.err != "":
			if err == nil || err.Error() != s.err {
				t.Errorf("%s: %v = %#v, %v; want error %q", s.note, s.cmd, got, err, s.err)
			}
		case s.want == listNull:
			if err != redis.Nil {
				t.Errorf("%s: %v = %#v, %v; want null", s.note, s.cmd, got, err)
			}
		case err != nil || !reflect.DeepEqual(got, s.want):
			t.Errorf("%s: %v = %#v, %v; want %#v", s.note, s.cmd, got, err, s.want)
		}
	}
}

// listContents returns LRANGE key 0 -1.
func listContents(t *testing.T, rdb *redis.Client, key string) []string {
	t.Helper()
	got, err := rdb.LRange(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE %s: %v", key, err)
	}
	return got
}

// listReset replaces key with a list of vals (none: no key).
func listReset(t *testing.T, rdb *redis.Client, key string, vals ...string) {
	t.Helper()
	ctx := context.Background()
	if err := rdb.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if len(vals) == 0 {
		return
	}
	args := []any{"rpush", key}
	for _, v := range vals {
		args = append(args, v)
	}
	if err := rdb.Do(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestListPushPop(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := listA
		listRun(t, rdb, []listStep{
			{note: "RPUSH creates the list", cmd: a("rpush", "l", "a", "b", "c"), want: int64(3)},
			{note: "LPUSH pushes each in turn at the head", cmd: a("lpush", "l", "x", "y"), want: int64(5)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("y", "x", "a", "b", "c")},
			{note: "LPUSHX on a missing key", cmd: a("lpushx", "nolist", "v"), want: int64(0)},
			{note: "RPUSHX on a missing key", cmd: a("rpushx", "nolist", "v", "w"), want: int64(0)},
			{note: "...creates nothing", cmd: a("exists", "nolist"), want: int64(0)},
			{cmd: a("lpushx", "l", "z"), want: int64(6)},
			{cmd: a("rpushx", "l", "w", "v"), want: int64(8)},
			{cmd: a("llen", "l"), want: int64(8)},
			{cmd: a("llen", "nolist"), want: int64(0)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("z", "y", "x", "a", "b", "c", "w", "v")},
			{note: "LPOP without count: a bulk string", cmd: a("lpop", "l"), want: "z"},
			{cmd: a("rpop", "l"), want: "v"},
			{note: "LPOP with count: an array, head first", cmd: a("lpop", "l", "2"), want: listStrs("y", "x")},
			{note: "RPOP with count: tail first", cmd: a("rpop", "l", "2"), want: listStrs("w", "c")},
			{note: "count 0: an empty array", cmd: a("lpop", "l", "0"), want: listStrs()},
			{cmd: a("rpop", "l", "0"), want: listStrs()},
			{note: "count beyond the length pops all", cmd: a("lpop", "l", "10"), want: listStrs("a", "b")},
			{note: "popping the last item deletes the key", cmd: a("exists", "l"), want: int64(0)},
			{cmd: a("lpop", "l"), want: listNull},
			{cmd: a("lpop", "l", "1"), want: listNull},
			{cmd: a("rpop", "l", "0"), want: listNull},
			{note: "count is parsed before the lookup", cmd: a("lpop", "nolist", "-1"), err: listPositive},
			{cmd: a("rpop", "nolist", "abc"), err: listPositive},
			{cmd: a("lpop", "nolist", "99999999999999999999"), err: listPositive},
			{cmd: a("lpop", "l", "1", "2"), err: "ERR wrong number of arguments for 'lpop' command"},
			{cmd: a("rpop", "l", "1", "2"), err: "ERR wrong number of arguments for 'rpop' command"},
			{cmd: a("rpush", "l"), err: "ERR wrong number of arguments for 'rpush' command"},
			{cmd: a("lpushx", "l"), err: "ERR wrong number of arguments for 'lpushx' command"},
			{note: "one pushed item", cmd: a("rpush", "l", "only"), want: int64(1)},
			{cmd: a("rpop", "l"), want: "only"},
			{cmd: a("exists", "l"), want: int64(0)},
			{note: "binary-safe values", cmd: a("rpush", "l", "", "a\r\nb", "\x00"), want: int64(3)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("", "a\r\nb", "\x00")},
		})
	})
}

func TestListNullReplies(t *testing.T) {
	srv := servertest.Start(t)
	if err := srv.Client(t, 2).RPush(context.Background(), "l", "a").Err(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cmd          []string
		resp2, resp3 string
	}{
		{[]string{"LPOP", "nolist"}, "$-1\r\n", "_\r\n"},                     // null bulk
		{[]string{"RPOP", "nolist"}, "$-1\r\n", "_\r\n"},                     //
		{[]string{"LPOP", "nolist", "1"}, "*-1\r\n", "_\r\n"},                // null array with a count
		{[]string{"RPOP", "nolist", "0"}, "*-1\r\n", "_\r\n"},                // even count 0: the key is looked up first
		{[]string{"LPOP", "l", "0"}, "*0\r\n", "*0\r\n"},                     // existing key, count 0
		{[]string{"LINDEX", "nolist", "0"}, "$-1\r\n", "_\r\n"},              //
		{[]string{"LINDEX", "l", "5"}, "$-1\r\n", "_\r\n"},                   // out of range
		{[]string{"LPOS", "l", "zz"}, "$-1\r\n", "_\r\n"},                    // no match
		{[]string{"LPOS", "nolist", "zz"}, "$-1\r\n", "_\r\n"},               //
		{[]string{"LPOS", "nolist", "zz", "COUNT", "0"}, "*0\r\n", "*0\r\n"}, // COUNT: empty array
		{[]string{"LMOVE", "nolist", "d", "LEFT", "RIGHT"}, "$-1\r\n", "_\r\n"},
		{[]string{"RPOPLPUSH", "nolist", "d"}, "$-1\r\n", "_\r\n"},
		{[]string{"LRANGE", "nolist", "0", "-1"}, "*0\r\n", "*0\r\n"},
		{[]string{"LRANGE", "l", "0", "-1"}, "*1\r\n$1\r\na\r\n", "*1\r\n$1\r\na\r\n"}, // an array in RESP3 too
		{[]string{"LPOS", "l", "a", "COUNT", "1"}, "*1\r\n:0\r\n", "*1\r\n:0\r\n"},
	}
	for _, proto := range []int{2, 3} {
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

func TestListRangeIndex(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		listReset(t, rdb, "l", "a", "b", "c", "d", "e")
		a := listA
		listRun(t, rdb, []listStep{
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("a", "b", "c", "d", "e")},
			{cmd: a("lrange", "l", "1", "3"), want: listStrs("b", "c", "d")},
			{cmd: a("lrange", "l", "-2", "-1"), want: listStrs("d", "e")},
			{note: "both ends clamp", cmd: a("lrange", "l", "-100", "100"), want: listStrs("a", "b", "c", "d", "e")},
			{cmd: a("lrange", "l", "0", "0"), want: listStrs("a")},
			{note: "start after stop", cmd: a("lrange", "l", "3", "1"), want: listStrs()},
			{note: "start past the end", cmd: a("lrange", "l", "5", "10"), want: listStrs()},
			{cmd: a("lrange", "l", "-1", "-2"), want: listStrs()},
			{note: "stop before the head", cmd: a("lrange", "l", "0", "-6"), want: listStrs()},
			{cmd: a("lrange", "l", "-9223372036854775808", "9223372036854775807"), want: listStrs("a", "b", "c", "d", "e")},
			{cmd: a("lrange", "nolist", "0", "-1"), want: listStrs()},
			{cmd: a("lrange", "l", "x", "1"), err: listNotInt},
			{note: "indexes are parsed before the lookup", cmd: a("lrange", "nolist", "0", "1.5"), err: listNotInt},
			{cmd: a("lindex", "l", "0"), want: "a"},
			{cmd: a("lindex", "l", "4"), want: "e"},
			{cmd: a("lindex", "l", "-1"), want: "e"},
			{cmd: a("lindex", "l", "-5"), want: "a"},
			{cmd: a("lindex", "l", "5"), want: listNull},
			{cmd: a("lindex", "l", "-6"), want: listNull},
			{cmd: a("lindex", "l", "9223372036854775807"), want: listNull},
			{cmd: a("lindex", "l", "-9223372036854775808"), want: listNull},
			{cmd: a("lindex", "l", "abc"), err: listNotInt},
			{note: "LINDEX looks the key up first", cmd: a("lindex", "nolist", "abc"), want: listNull},
		})
	})
}

func TestListSet(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		listReset(t, rdb, "l", "a", "b", "c")
		a := listA
		listRun(t, rdb, []listStep{
			{cmd: a("lset", "l", "0", "A"), want: "OK"},
			{cmd: a("lset", "l", "-1", "C"), want: "OK"},
			{cmd: a("lset", "l", "1", "B"), want: "OK"},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("A", "B", "C")},
			{note: "LSET twice on one item", cmd: a("lset", "l", "1", "B2"), want: "OK"},
			{cmd: a("lindex", "l", "1"), want: "B2"},
			{cmd: a("lset", "l", "3", "x"), err: "ERR index out of range"},
			{cmd: a("lset", "l", "-4", "x"), err: "ERR index out of range"},
			{cmd: a("lset", "nolist", "0", "x"), err: "ERR no such key"},
			{note: "LSET looks the key up before the index", cmd: a("lset", "nolist", "abc", "x"), err: "ERR no such key"},
			{cmd: a("lset", "l", "abc", "x"), err: listNotInt},
			{note: "errors changed nothing", cmd: a("lrange", "l", "0", "-1"), want: listStrs("A", "B2", "C")},
			{cmd: a("exists", "nolist"), want: int64(0)},
		})
	})
}

func TestListRem(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		listReset(t, rdb, "l", "a", "b", "a", "c", "a", "b", "a")
		a := listA
		listRun(t, rdb, []listStep{
			{note: "positive count: from the head", cmd: a("lrem", "l", "2", "a"), want: int64(2)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("b", "c", "a", "b", "a")},
			{note: "negative count: from the tail", cmd: a("lrem", "l", "-1", "a"), want: int64(1)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("b", "c", "a", "b")},
			{note: "count 0: all", cmd: a("lrem", "l", "0", "b"), want: int64(2)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("c", "a")},
			{note: "count beyond the matches", cmd: a("lrem", "l", "-10", "a"), want: int64(1)},
			{cmd: a("lrem", "l", "0", "zz"), want: int64(0)},
			{cmd: a("lrem", "nolist", "0", "a"), want: int64(0)},
			{cmd: a("lrem", "l", "x", "a"), err: listNotInt},
			{cmd: a("lrem", "l", "-9223372036854775808", "a"), err: listLongRange},
			{note: "removing the last item deletes the key", cmd: a("lrem", "l", "1", "c"), want: int64(1)},
			{cmd: a("exists", "l"), want: int64(0)},
		})
	})
}

func TestListTrim(t *testing.T) {
	tests := []struct {
		start, stop string
		want        []string // nil: the key is deleted
	}{
		{"1", "-1", []string{"b", "c", "d", "e"}},
		{"0", "0", []string{"a"}},
		{"-2", "-1", []string{"d", "e"}},
		{"1", "2", []string{"b", "c"}},
		{"-100", "100", []string{"a", "b", "c", "d", "e"}}, // nothing to trim
		{"2", "1", nil},                                    // start after stop
		{"10", "20", nil},                                  // start past the end
		{"0", "-6", nil},                                   // stop before the head
	}
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		for _, tt := range tests {
			listReset(t, rdb, "l", "a", "b", "c", "d", "e")
			if err := rdb.PExpire(ctx, "l", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			if got, err := rdb.Do(ctx, "ltrim", "l", tt.start, tt.stop).Result(); err != nil || got != "OK" {
				t.Fatalf("LTRIM %s %s = %v, %v", tt.start, tt.stop, got, err)
			}
			if got := listContents(t, rdb, "l"); !slices.Equal(got, tt.want) {
				t.Errorf("LTRIM %s %s: %q, want %q", tt.start, tt.stop, got, tt.want)
			}
			n, _ := rdb.Exists(ctx, "l").Result()
			if want := int64(min(len(tt.want), 1)); n != want {
				t.Errorf("LTRIM %s %s: EXISTS = %d, want %d", tt.start, tt.stop, n, want)
			}
		}
		a := listA
		listRun(t, rdb, []listStep{
			{cmd: a("ltrim", "nolist", "0", "1"), want: "OK"},
			{cmd: a("exists", "nolist"), want: int64(0)},
			{cmd: a("ltrim", "l", "a", "1"), err: listNotInt},
			{cmd: a("ltrim", "nolist", "0", "b"), err: listNotInt},
		})
		// Trimming everything took the TTL with the key: a new list has none.
		listReset(t, rdb, "l", "a")
		if err := rdb.PExpire(ctx, "l", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		listRun(t, rdb, []listStep{
			{cmd: a("ltrim", "l", "1", "0"), want: "OK"},
			{cmd: a("rpush", "l", "b"), want: int64(1)},
			{cmd: a("ttl", "l"), want: int64(-1)},
		})
	})
}

func TestListInsert(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		listReset(t, rdb, "l", "a", "b", "c", "b")
		a := listA
		listRun(t, rdb, []listStep{
			{note: "before the first match from the head", cmd: a("linsert", "l", "BEFORE", "b", "x"), want: int64(5)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("a", "x", "b", "c", "b")},
			{cmd: a("linsert", "l", "after", "b", "y"), want: int64(6)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("a", "x", "b", "y", "c", "b")},
			{note: "before the head", cmd: a("linsert", "l", "Before", "a", "h"), want: int64(7)},
			{note: "after the tail", cmd: a("linsert", "l", "AFTER", "c", "t"), want: int64(8)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("h", "a", "x", "b", "y", "c", "t", "b")},
			{note: "pivot not found", cmd: a("linsert", "l", "before", "zz", "v"), want: int64(-1)},
			{note: "missing key", cmd: a("linsert", "nolist", "before", "a", "v"), want: int64(0)},
			{cmd: a("exists", "nolist"), want: int64(0)},
			{cmd: a("linsert", "l", "middle", "a", "v"), err: "ERR syntax error"},
			{note: "where is parsed before the lookup", cmd: a("linsert", "nolist", "middle", "a", "v"), err: "ERR syntax error"},
			{cmd: a("llen", "l"), want: int64(8)},
		})
	})
}

func TestListPos(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		// The example of Valkey's LPOS page: a b c 1 2 3 c c.
		listReset(t, rdb, "l", "a", "b", "c", "1", "2", "3", "c", "c")
		a := listA
		listRun(t, rdb, []listStep{
			{cmd: a("lpos", "l", "c"), want: int64(2)},
			{cmd: a("lpos", "l", "c", "rank", "2"), want: int64(6)},
			{note: "negative rank: from the tail, index still from the head", cmd: a("lpos", "l", "c", "RANK", "-1"), want: int64(7)},
			{cmd: a("lpos", "l", "c", "RANK", "-3"), want: int64(2)},
			{cmd: a("lpos", "l", "c", "RANK", "4"), want: listNull},
			{cmd: a("lpos", "l", "c", "COUNT", "2"), want: listInts(2, 6)},
			{note: "COUNT 0: every match", cmd: a("lpos", "l", "c", "COUNT", "0"), want: listInts(2, 6, 7)},
			{cmd: a("lpos", "l", "c", "RANK", "-1", "COUNT", "2"), want: listInts(7, 6)},
			{cmd: a("lpos", "l", "c", "RANK", "2", "COUNT", "0"), want: listInts(6, 7)},
			{note: "MAXLEN bounds the scan", cmd: a("lpos", "l", "c", "MAXLEN", "2"), want: listNull},
			{cmd: a("lpos", "l", "c", "MAXLEN", "3"), want: int64(2)},
			{cmd: a("lpos", "l", "c", "COUNT", "0", "MAXLEN", "7"), want: listInts(2, 6)},
			{cmd: a("lpos", "l", "c", "RANK", "-1", "MAXLEN", "1"), want: int64(7)},
			{cmd: a("lpos", "l", "a", "RANK", "-1", "MAXLEN", "7"), want: listNull},
			{note: "MAXLEN 0: no bound", cmd: a("lpos", "l", "c", "RANK", "3", "MAXLEN", "0"), want: int64(7)},
			{cmd: a("lpos", "l", "zz"), want: listNull},
			{cmd: a("lpos", "l", "zz", "COUNT", "1"), want: listInts()},
			{cmd: a("lpos", "nolist", "c"), want: listNull},
			{cmd: a("lpos", "nolist", "c", "COUNT", "1"), want: listInts()},
			{note: "a repeated option: the last one counts", cmd: a("lpos", "l", "c", "RANK", "5", "RANK", "1"), want: int64(2)},
			{cmd: a("lpos", "l", "c", "RANK", "0"), err: listRankZero},
			{cmd: a("lpos", "l", "c", "RANK", "x"), err: listNotInt},
			{cmd: a("lpos", "l", "c", "RANK", "-9223372036854775808"), err: listLongRange},
			{cmd: a("lpos", "l", "c", "COUNT", "-1"), err: "ERR COUNT can't be negative"},
			{cmd: a("lpos", "l", "c", "COUNT", "x"), err: "ERR COUNT can't be negative"},
			{cmd: a("lpos", "l", "c", "MAXLEN", "-1"), err: "ERR MAXLEN can't be negative"},
			{cmd: a("lpos", "l", "c", "MAXLEN", "x"), err: "ERR MAXLEN can't be negative"},
			{cmd: a("lpos", "l", "c", "FOO", "1"), err: "ERR syntax error"},
			{note: "an option without its value", cmd: a("lpos", "l", "c", "RANK"), err: "ERR syntax error"},
			{note: "options are parsed before the lookup", cmd: a("lpos", "nolist", "c", "RANK", "0"), err: listRankZero},
		})
	})
}

func TestListMove(t *testing.T) {
	// s is a b c and d is x y before each row; "new" does not exist.
	tests := []struct {
		name   string
		cmd    []any
		want   string
		src    []string // s after
		dstKey string
		dst    []string // dstKey after
	}{
		{"left left", listA("lmove", "s", "d", "LEFT", "LEFT"), "a", []string{"b", "c"}, "d", []string{"a", "x", "y"}},
		{"left right", listA("lmove", "s", "d", "left", "right"), "a", []string{"b", "c"}, "d", []string{"x", "y", "a"}},
		{"right left", listA("lmove", "s", "d", "RIGHT", "LEFT"), "c", []string{"a", "b"}, "d", []string{"c", "x", "y"}},
		{"right right", listA("lmove", "s", "d", "Right", "Right"), "c", []string{"a", "b"}, "d", []string{"x", "y", "c"}},
		{"rpoplpush", listA("rpoplpush", "s", "d"), "c", []string{"a", "b"}, "d", []string{"c", "x", "y"}},
		{"new destination", listA("lmove", "s", "new", "LEFT", "RIGHT"), "a", []string{"b", "c"}, "new", []string{"a"}},
	}
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		for _, tt := range tests {
			listReset(t, rdb, "s", "a", "b", "c")
			listReset(t, rdb, "d", "x", "y")
			rdb.Del(ctx, "new")
			got, err := rdb.Do(ctx, tt.cmd...).Result()
			if err != nil || got != tt.want {
				t.Errorf("%s: %v, %v; want %q", tt.name, got, err, tt.want)
			}
			if got := listContents(t, rdb, "s"); !slices.Equal(got, tt.src) {
				t.Errorf("%s: source %q, want %q", tt.name, got, tt.src)
			}
			if got := listContents(t, rdb, tt.dstKey); !slices.Equal(got, tt.dst) {
				t.Errorf("%s: destination %q, want %q", tt.name, got, tt.dst)
			}
		}

		// Source and destination the same list: a rotation, or nothing.
		same := []struct {
			from, to string
			want     []string
		}{
			{"LEFT", "RIGHT", []string{"b", "c", "a"}},
			{"RIGHT", "LEFT", []string{"c", "a", "b"}},
			{"LEFT", "LEFT", []string{"a", "b", "c"}},
			{"RIGHT", "RIGHT", []string{"a", "b", "c"}},
		}
		for _, tt := range same {
			listReset(t, rdb, "l", "a", "b", "c")
			if _, err := rdb.Do(ctx, "lmove", "l", "l", tt.from, tt.to).Result(); err != nil {
				t.Fatal(err)
			}
			if got := listContents(t, rdb, "l"); !slices.Equal(got, tt.want) {
				t.Errorf("LMOVE l l %s %s: %q, want %q", tt.from, tt.to, got, tt.want)
			}
		}

		a := listA
		listReset(t, rdb, "l", "a", "b", "c")
		listReset(t, rdb, "one", "z")
		listReset(t, rdb, "s", "only")
		rdb.Del(ctx, "d", "str")
		if err := rdb.Set(ctx, "str", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		listRun(t, rdb, []listStep{
			{note: "RPOPLPUSH on one list rotates it", cmd: a("rpoplpush", "l", "l"), want: "c"},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("c", "a", "b")},
			{note: "moving a one-item list onto itself keeps it", cmd: a("lmove", "one", "one", "LEFT", "RIGHT"), want: "z"},
			{cmd: a("lrange", "one", "0", "-1"), want: listStrs("z")},
			{cmd: a("rpoplpush", "one", "one"), want: "z"},
			{cmd: a("llen", "one"), want: int64(1)},
			{note: "moving the last item deletes the source", cmd: a("lmove", "s", "d", "RIGHT", "LEFT"), want: "only"},
			{cmd: a("exists", "s"), want: int64(0)},
			{cmd: a("lrange", "d", "0", "-1"), want: listStrs("only")},
			{cmd: a("lmove", "l", "d", "UP", "LEFT"), err: "ERR syntax error"},
			{cmd: a("lmove", "l", "d", "LEFT", "DOWN"), err: "ERR syntax error"},
			{note: "directions are parsed before the lookup", cmd: a("lmove", "nolist", "d", "LEFT", "X"), err: "ERR syntax error"},
			{note: "wrong-type destination", cmd: a("lmove", "l", "str", "LEFT", "LEFT"), err: listWrongType},
			{cmd: a("rpoplpush", "l", "str"), err: listWrongType},
			{note: "...changes nothing", cmd: a("lrange", "l", "0", "-1"), want: listStrs("c", "a", "b")},
			{note: "a missing source replies null before the destination's type is checked", cmd: a("lmove", "nolist", "str", "LEFT", "LEFT"), want: listNull},
			{cmd: a("rpoplpush", "nolist", "str"), want: listNull},
			{cmd: a("lmove", "str", "d", "LEFT", "LEFT"), err: listWrongType},
			{cmd: a("rpoplpush", "l"), err: "ERR wrong number of arguments for 'rpoplpush' command"},
		})
	})
}

func TestListWrongType(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		if err := rdb.Set(ctx, "str", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		cmds := [][]any{
			{"lpush", "str", "a"}, {"rpush", "str", "a"}, {"lpushx", "str", "a"}, {"rpushx", "str", "a"},
			{"lpop", "str"}, {"rpop", "str", "1"}, {"llen", "str"}, {"lrange", "str", "0", "-1"},
			{"lindex", "str", "0"}, {"lset", "str", "0", "a"}, {"lrem", "str", "0", "a"},
			{"ltrim", "str", "0", "1"}, {"linsert", "str", "before", "a", "b"}, {"lpos", "str", "a"},
			{"lmove", "str", "d", "left", "left"}, {"rpoplpush", "str", "d"},
			{"lindex", "str", "abc"}, // the lookup comes first
			{"lset", "str", "abc", "a"},
		}
		for _, cmd := range cmds {
			if err := rdb.Do(ctx, cmd...).Err(); err == nil || err.Error() != listWrongType {
				t.Errorf("%v: %v, want WRONGTYPE", cmd, err)
			}
		}
		if v, err := rdb.Get(ctx, "str").Result(); v != "v" || err != nil {
			t.Errorf("the string changed: %q, %v", v, err)
		}
	})
}

func TestListExpiry(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		listReset(t, rdb, "l", "a", "b")
		if err := rdb.PExpire(ctx, "l", 100*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		srv.Advance(time.Second)
		a := listA
		listRun(t, rdb, []listStep{
			{note: "an expired list is gone", cmd: a("llen", "l"), want: int64(0)},
			{cmd: a("rpushx", "l", "c"), want: int64(0)},
			{cmd: a("lpop", "l"), want: listNull},
			{note: "a push starts a new list without the TTL", cmd: a("rpush", "l", "c"), want: int64(1)},
			{cmd: a("lrange", "l", "0", "-1"), want: listStrs("c")},
			{cmd: a("ttl", "l"), want: int64(-1)},
		})
		// Popping the last item deletes the key, TTL and all.
		if err := rdb.PExpire(ctx, "l", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		listRun(t, rdb, []listStep{
			{cmd: a("lpop", "l"), want: "c"},
			{cmd: a("rpush", "l", "d"), want: int64(1)},
			{cmd: a("ttl", "l"), want: int64(-1)},
		})
	})
}

// listEval runs commands directly with the evaluator against a store,
// applying each command's effects, and returns the last one's effects.
type listEval struct {
	t     *testing.T
	st    *storage.Store
	clock *hlc.Clock
}

func newListEval(t *testing.T) *listEval {
	return &listEval{t: t, st: storage.NewStore(), clock: hlc.NewClock(hlc.NewManualClock(1_000_000), 1, 1)}
}

func (e *listEval) run(args ...string) []storage.Effect {
	e.t.Helper()
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	c := &eval.Ctx{R: e.st.At(1_000_000), W: &protocol.Writer{}, Clock: e.clock, Rand: rand.New(rand.NewPCG(1, 2))}
	eval.Run(c, bargs)
	if strings.HasPrefix(string(c.W.Bytes()), "-") {
		e.t.Fatalf("%q: %s", args, c.W.Bytes())
	}
	effects := slices.Clone(c.Effects())
	for _, f := range effects {
		if f.TS != effects[0].TS {
			e.t.Fatalf("%q: effects with different stamps: %v", args, effects)
		}
	}
	e.st.SetStable(e.clock.Last())
	e.st.Apply(e.st.Index()+1, effects)
	return effects
}

// items returns the ids and values of key's live items, head first.
func (e *listEval) items(key string) ([]storage.ItemID, []string) {
	o := e.st.At(1_000_000).Get(0, key)
	if o == nil {
		return nil, nil
	}
	var ids []storage.ItemID
	var vals []string
	o.List().Range(0, func(_ int, it storage.Item) bool {
		ids = append(ids, it.ID)
		vals = append(vals, string(it.Value))
		return true
	})
	return ids, vals
}

// listDescribe writes an effect as "op key value id ref" with ids named by
// the position of the item in names (or "new:<seq>" for an item this
// command creates, "head" for the zero id).
func listDescribe(f storage.Effect, names map[storage.ItemID]string) string {
	name := func(id storage.ItemID) string {
		switch {
		case id.IsZero():
			return "head"
		case id.TS == f.TS:
			return "new:" + strconv.Itoa(int(id.Seq))
		}
		if n, ok := names[id]; ok {
			return n
		}
		return id.TS.String()
	}
	switch f.Op {
	case storage.OpLInsert:
		return fmt.Sprintf("linsert %s %s %s after %s", f.Key, f.Value, name(f.ID), name(f.Ref))
	case storage.OpLRem:
		return fmt.Sprintf("lrem %s %s", f.Key, name(f.ID))
	case storage.OpLSet:
		return fmt.Sprintf("lset %s %s %s", f.Key, name(f.ID), f.Value)
	}
	return fmt.Sprintf("%s %s", f.Op, f.Key)
}

func TestListEffects(t *testing.T) {
	tests := []struct {
		name  string
		setup [][]string
		cmd   []string
		want  []string // effects; items named by their value before the command
	}{
		{"rpush on a new list", nil, []string{"rpush", "l", "a", "b", "c"},
			[]string{"linsert l a new:0 after head", "linsert l b new:1 after new:0", "linsert l c new:2 after new:1"}},
		{"rpush goes after the last item", [][]string{{"rpush", "l", "a", "b"}}, []string{"rpush", "l", "c", "d"},
			[]string{"linsert l c new:0 after b", "linsert l d new:1 after new:0"}},
		{"lpush names the head with a growing sequence", [][]string{{"rpush", "l", "a"}}, []string{"lpush", "l", "x", "y"},
			[]string{"linsert l x new:0 after head", "linsert l y new:1 after head"}},
		{"lpushx on a missing key", nil, []string{"lpushx", "l", "x"}, nil},
		{"linsert before", [][]string{{"rpush", "l", "a", "b", "c"}}, []string{"linsert", "l", "before", "b", "x"},
			[]string{"linsert l x new:0 after a"}},
		{"linsert before the head", [][]string{{"rpush", "l", "a", "b"}}, []string{"linsert", "l", "before", "a", "x"},
			[]string{"linsert l x new:0 after head"}},
		{"linsert after", [][]string{{"rpush", "l", "a", "b", "c"}}, []string{"linsert", "l", "after", "b", "x"},
			[]string{"linsert l x new:0 after b"}},
		{"linsert without the pivot", [][]string{{"rpush", "l", "a"}}, []string{"linsert", "l", "after", "z", "x"}, nil},
		{"lpop with count", [][]string{{"rpush", "l", "a", "b", "c"}}, []string{"lpop", "l", "2"},
			[]string{"lrem l a", "lrem l b"}},
		{"rpop of the last item deletes the key", [][]string{{"rpush", "l", "a"}}, []string{"rpop", "l"},
			[]string{"lrem l a", "expire l"}},
		{"lpop count 0", [][]string{{"rpush", "l", "a"}}, []string{"lpop", "l", "0"}, nil},
		{"lset", [][]string{{"rpush", "l", "a", "b"}}, []string{"lset", "l", "-1", "B"},
			[]string{"lset l b B"}},
		{"lrem from the tail", [][]string{{"rpush", "l", "x", "a", "x", "b", "x"}}, []string{"lrem", "l", "-2", "x"},
			[]string{"lrem l x#4", "lrem l x#2"}},
		{"lrem of everything", [][]string{{"rpush", "l", "x", "x"}}, []string{"lrem", "l", "0", "x"},
			[]string{"lrem l x#0", "lrem l x#1", "expire l"}},
		{"ltrim", [][]string{{"rpush", "l", "a", "b", "c", "d"}}, []string{"ltrim", "l", "1", "2"},
			[]string{"lrem l a", "lrem l d"}},
		{"ltrim of everything", [][]string{{"rpush", "l", "a", "b"}}, []string{"ltrim", "l", "5", "6"},
			[]string{"lrem l a", "lrem l b", "expire l"}},
		{"ltrim of nothing", [][]string{{"rpush", "l", "a", "b"}}, []string{"ltrim", "l", "0", "-1"}, nil},
		{"lmove between lists", [][]string{{"rpush", "s", "a", "b"}, {"rpush", "d", "x"}}, []string{"lmove", "s", "d", "left", "right"},
			[]string{"lrem s a", "linsert d a new:0 after x"}},
		{"lmove of the last item", [][]string{{"rpush", "s", "a"}}, []string{"lmove", "s", "d", "left", "right"},
			[]string{"lrem s a", "expire s", "linsert d a new:0 after head"}},
		{"lmove onto the same list", [][]string{{"rpush", "l", "a", "b"}}, []string{"lmove", "l", "l", "left", "right"},
			[]string{"lrem l a", "linsert l a new:0 after b"}},
		{"lmove of a one-item list onto itself", [][]string{{"rpush", "l", "a"}}, []string{"lmove", "l", "l", "right", "right"},
			[]string{"lrem l a", "linsert l a new:0 after a"}},
		{"rpoplpush onto the same list", [][]string{{"rpush", "l", "a", "b"}}, []string{"rpoplpush", "l", "l"},
			[]string{"lrem l b", "linsert l b new:0 after head"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newListEval(t)
			for _, s := range tt.setup {
				e.run(s...)
			}
			// Name every item by its value (and its index, when values repeat).
			names := map[storage.ItemID]string{}
			for _, key := range []string{"l", "s", "d"} {
				ids, vals := e.items(key)
				seen := map[string]int{}
				for _, v := range vals {
					seen[v]++
				}
				for i, id := range ids {
					names[id] = vals[i]
					if seen[vals[i]] > 1 {
						names[id] = vals[i] + "#" + strconv.Itoa(i)
					}
				}
			}
			var got []string
			for _, f := range e.run(tt.cmd...) {
				got = append(got, listDescribe(f, names))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("effects:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestListPushOrderApplied checks the claim the push effects rest on:
// applied, LPUSH a b c's inserts (all after the head, growing sequence)
// give c b a, and RPUSH's chain keeps its order.
func TestListPushOrderApplied(t *testing.T) {
	e := newListEval(t)
	e.run("lpush", "l", "a", "b", "c")
	e.run("rpush", "l", "x", "y")
	e.run("lpush", "l", "z")
	if _, vals := e.items("l"); !slices.Equal(vals, []string{"z", "c", "b", "a", "x", "y"}) {
		t.Fatalf("got %q", vals)
	}
}
