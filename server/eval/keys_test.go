package eval_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
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

// keysNeed runs setup commands of other families (HSET, RPUSH, ...) and
// skips the test while one of them is not implemented.
func keysNeed(t *testing.T, rdb *redis.Client, cmds ...[]any) {
	t.Helper()
	for _, cmd := range cmds {
		if err := rdb.Do(context.Background(), cmd...).Err(); err != nil {
			if strings.HasPrefix(err.Error(), "ERR unknown command") {
				t.Skipf("%v not available", cmd[0])
			}
			t.Fatalf("setup %v: %v", cmd, err)
		}
	}
}

// keysSorted returns a KEYS or SCAN key list sorted, for comparison.
func keysSorted(v any) []string {
	var out []string
	for _, k := range v.([]any) {
		out = append(out, k.(string))
	}
	sort.Strings(out)
	return out
}

func TestDelExistsTouch(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "setup", cmd: a("mset", "a", "1", "b", "2", "c", "3"), want: "OK"},
			{note: "EXISTS counts a key named twice twice", cmd: a("exists", "a", "a", "nokey"), want: int64(2)},
			{note: "TOUCH counts existing keys", cmd: a("touch", "a", "b", "nokey", "b"), want: int64(3)},
			{note: "DEL counts a key named twice once", cmd: a("del", "a", "a", "nokey"), want: int64(1)},
			{note: "...deleted", cmd: a("exists", "a"), want: int64(0)},
			{note: "UNLINK is DEL", cmd: a("unlink", "b", "c"), want: int64(2)},
			{note: "...all gone", cmd: a("dbsize"), want: int64(0)},
			{note: "DEL missing", cmd: a("del", "nokey"), want: int64(0)},
			{note: "empty value exists", cmd: a("set", "e", ""), want: "OK"},
			{note: "...EXISTS", cmd: a("exists", "e"), want: int64(1)},
			{note: "DEL arity", cmd: a("del"), err: "ERR wrong number of arguments for 'del' command"},
			{note: "EXISTS arity", cmd: a("exists"), err: "ERR wrong number of arguments for 'exists' command"},
		})
		// An expired key is gone for every command.
		stringsRun(t, rdb, []stringsStep{{note: "short TTL", cmd: a("set", "x", "v", "px", "10"), want: "OK"}})
		srv.Advance(time.Second)
		stringsRun(t, rdb, []stringsStep{
			{note: "EXISTS expired", cmd: a("exists", "x"), want: int64(0)},
			{note: "TOUCH expired", cmd: a("touch", "x"), want: int64(0)},
			{note: "TYPE expired", cmd: a("type", "x"), want: "none"},
			{note: "DEL expired counts nothing", cmd: a("del", "x"), want: int64(0)},
		})
	})
}

func TestType(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "missing", cmd: a("type", "nokey"), want: "none"},
			{note: "setup", cmd: a("set", "s", "v"), want: "OK"},
			{note: "string", cmd: a("type", "s"), want: "string"},
			{note: "a counter is a string", cmd: a("incr", "n"), want: int64(1)},
			{note: "...TYPE", cmd: a("type", "n"), want: "string"},
		})
		keysNeed(t, rdb, a("hset", "h", "f", "v"), a("sadd", "st", "m"), a("zadd", "z", "1", "m"), a("rpush", "l", "x"))
		stringsRun(t, rdb, []stringsStep{
			{note: "hash", cmd: a("type", "h"), want: "hash"},
			{note: "set", cmd: a("type", "st"), want: "set"},
			{note: "zset", cmd: a("type", "z"), want: "zset"},
			{note: "list", cmd: a("type", "l"), want: "list"},
		})
	})
}

func TestKeys(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		if v := rdb.Do(ctx, "keys", "*").Val(); len(v.([]any)) != 0 {
			t.Fatalf("KEYS * on an empty database = %v", v)
		}
		for _, k := range []string{"key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c", "{a}x", "{a}y", "{b}a", "", "h*llo"} {
			rdb.Set(ctx, k, "hello", 0)
		}
		rdb.Set(ctx, "gone", "x", 10*time.Millisecond)
		srv.Advance(time.Second)
		tests := []struct {
			pattern string
			want    []string
		}{
			{"foo*", []string{"foo_a", "foo_b", "foo_c"}},
			{"*", []string{"", "foo_a", "foo_b", "foo_c", "h*llo", "key_x", "key_y", "key_z", "{a}x", "{a}y", "{b}a"}}, // the empty key too; not the expired one
			{"{a}*", []string{"{a}x", "{a}y"}},
			{"*{b}*", []string{"{b}a"}},
			{"key_[xy]", []string{"key_x", "key_y"}},
			{"key_[^x]", []string{"key_y", "key_z"}},
			{"???_?", []string{"foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z"}},
			{`h\*llo`, []string{"h*llo"}},
			{"nomatch*", nil},
			{"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", nil},
		}
		for _, tt := range tests {
			v, err := rdb.Do(ctx, "keys", tt.pattern).Result()
			if got := keysSorted(v); err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("KEYS %q = %q, %v; want %q", tt.pattern, got, err, tt.want)
			}
		}
		stringsRun(t, rdb, []stringsStep{
			{note: "arity", cmd: stringsArgs("keys"), err: "ERR wrong number of arguments for 'keys' command"},
		})
	})
}

func TestScan(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		var want []string
		for i := range 200 {
			k := fmt.Sprintf("key:%d", i)
			want = append(want, k)
			rdb.Set(ctx, k, "v", 0)
		}
		sort.Strings(want)
		// scanAll iterates to the end and returns every key seen once.
		scanAll := func(opts ...any) []string {
			t.Helper()
			seen := map[string]bool{}
			cursor := "0"
			for range 1000 {
				v, err := rdb.Do(ctx, append([]any{"scan", cursor}, opts...)...).Result()
				if err != nil {
					t.Fatalf("SCAN %s %v: %v", cursor, opts, err)
				}
				reply := v.([]any)
				cursor = reply[0].(string)
				for _, k := range reply[1].([]any) {
					seen[k.(string)] = true
				}
				if cursor == "0" {
					var out []string
					for k := range seen {
						out = append(out, k)
					}
					sort.Strings(out)
					return out
				}
			}
			t.Fatal("SCAN never ended")
			return nil
		}
		if got := scanAll(); !slices.Equal(got, want) {
			t.Errorf("SCAN saw %d keys, want %d", len(got), len(want))
		}
		if got := scanAll("count", "7"); !slices.Equal(got, want) {
			t.Errorf("SCAN COUNT 7 saw %d keys, want %d", len(got), len(want))
		}
		if got := scanAll("match", "key:1?", "count", "1000"); !slices.Equal(got, []string{"key:10", "key:11", "key:12", "key:13", "key:14", "key:15", "key:16", "key:17", "key:18", "key:19"}) {
			t.Errorf("SCAN MATCH key:1? = %q", got)
		}
		if got := scanAll("type", "STRING", "match", "*"); !slices.Equal(got, want) {
			t.Errorf("SCAN TYPE string saw %d keys, want %d", len(got), len(want))
		}
		if got := scanAll("type", "hash"); len(got) != 0 {
			t.Errorf("SCAN TYPE hash = %q, want none", got)
		}
		if got := scanAll("type", "stream"); len(got) != 0 {
			t.Errorf("SCAN TYPE stream = %q, want none", got)
		}
		// One call with a large COUNT returns everything and ends.
		v, err := rdb.Do(ctx, "scan", "0", "count", "1000").Result()
		if err != nil || v.([]any)[0] != "0" || len(v.([]any)[1].([]any)) != 200 {
			t.Errorf("SCAN 0 COUNT 1000 = %v, %v; want cursor 0 and 200 keys", v, err)
		}
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "cursor not a number", cmd: a("scan", "abc"), err: "ERR invalid cursor"},
			{note: "negative cursor", cmd: a("scan", "-1"), err: "ERR invalid cursor"},
			{note: "cursor past uint64", cmd: a("scan", "18446744073709551616"), err: "ERR invalid cursor"},
			{note: "cursor with leading zeros is accepted", cmd: a("scan", "00", "match", "nomatch", "count", "1000"), want: []any{"0", []any{}}},
			{note: "COUNT 0", cmd: a("scan", "0", "count", "0"), err: "ERR syntax error"},
			{note: "COUNT not a number", cmd: a("scan", "0", "count", "x"), err: "ERR value is not an integer or out of range"},
			{note: "COUNT without a value", cmd: a("scan", "0", "count"), err: "ERR syntax error"},
			{note: "unknown option", cmd: a("scan", "0", "foo", "bar"), err: "ERR syntax error"},
			{note: "unknown type", cmd: a("scan", "0", "type", "foo"), err: "ERR unknown type name 'foo'"},
			{note: "NOVALUES is HSCAN's", cmd: a("scan", "0", "novalues"), err: "ERR NOVALUES option can only be used in HSCAN"},
			{note: "NOSCORES is ZSCAN's", cmd: a("scan", "0", "noscores"), err: "ERR NOSCORES option can only be used in ZSCAN"},
		})
		keysNeed(t, rdb, a("hset", "h", "f", "v"), a("rpush", "l", "x"))
		if got := scanAll("type", "hash"); !slices.Equal(got, []string{"h"}) {
			t.Errorf("SCAN TYPE hash = %q", got)
		}
		if got := scanAll("type", "list", "match", "l*"); !slices.Equal(got, []string{"l"}) {
			t.Errorf("SCAN TYPE list MATCH l* = %q", got)
		}
	})
}

func TestRandomKey(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "empty database", cmd: a("randomkey"), want: nil},
			{note: "a deleted key", cmd: a("set", "x", "10"), want: "OK"},
			{note: "...DEL", cmd: a("del", "x"), want: int64(1)},
			{note: "...is never chosen", cmd: a("randomkey"), want: nil},
		})
		rdb.Set(ctx, "foo", "x", 0)
		rdb.Set(ctx, "bar", "y", 0)
		seen := map[string]bool{}
		for range 100 {
			seen[rdb.RandomKey(ctx).Val()] = true
		}
		if len(seen) != 2 || !seen["foo"] || !seen["bar"] {
			t.Errorf("RANDOMKEY chose %v, want foo and bar", seen)
		}
	})
}

func TestDBSizeSelectFlush(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "setup db 0", cmd: a("mset", "a", "1", "b", "2"), want: "OK"},
			{note: "DBSIZE", cmd: a("dbsize"), want: int64(2)},
			{note: "SELECT 9", cmd: a("select", "9"), want: "OK"},
			{note: "db 9 is empty", cmd: a("dbsize"), want: int64(0)},
			{note: "keys are per database", cmd: a("get", "a"), want: nil},
			{note: "setup db 9", cmd: a("set", "a", "nine"), want: "OK"},
			{note: "SELECT 0", cmd: a("select", "0"), want: "OK"},
			{note: "db 0 value", cmd: a("get", "a"), want: "1"},
			{note: "SELECT 16", cmd: a("select", "16"), err: "ERR DB index is out of range"},
			{note: "SELECT -1", cmd: a("select", "-1"), err: "ERR DB index is out of range"},
			{note: "SELECT not a number", cmd: a("select", "x"), err: "ERR value is not an integer or out of range"},
			{note: "SELECT past int", cmd: a("select", "4294967296"), err: "ERR value is not an integer or out of range"},
			{note: "a failed SELECT keeps the database", cmd: a("dbsize"), want: int64(2)},
			{note: "FLUSHDB SYNC", cmd: a("flushdb", "sync"), want: "OK"},
			{note: "...empties db 0", cmd: a("dbsize"), want: int64(0)},
			{note: "SELECT 9 again", cmd: a("select", "9"), want: "OK"},
			{note: "...db 9 untouched", cmd: a("get", "a"), want: "nine"},
			{note: "FLUSHDB with a bad option", cmd: a("flushdb", "later"), err: "ERR syntax error"},
			{note: "FLUSHALL with two options", cmd: a("flushall", "async", "sync"), err: "ERR syntax error"},
			{note: "...nothing flushed", cmd: a("dbsize"), want: int64(1)},
			{note: "write in db 9 and db 0", cmd: a("set", "b", "x"), want: "OK"},
			{note: "FLUSHALL ASYNC", cmd: a("flushall", "ASYNC"), want: "OK"},
			{note: "...db 9 empty", cmd: a("dbsize"), want: int64(0)},
			{note: "keys written after a flush live", cmd: a("set", "after", "1"), want: "OK"},
			{note: "...DBSIZE", cmd: a("dbsize"), want: int64(1)},
			{note: "FLUSHDB without option", cmd: a("flushdb"), want: "OK"},
			{note: "...empty", cmd: a("dbsize"), want: int64(0)},
		})
	})
}

func TestRename(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "setup", cmd: a("set", "k", "hello"), want: "OK"},
			{note: "RENAME", cmd: a("rename", "k", "k1"), want: "OK"},
			{note: "RENAME again", cmd: a("rename", "k1", "k2"), want: "OK"},
			{note: "...value moved", cmd: a("get", "k2"), want: "hello"},
			{note: "...source gone", cmd: a("exists", "k", "k1"), want: int64(0)},
			{note: "over an existing key", cmd: a("set", "d", "old"), want: "OK"},
			{note: "...RENAME", cmd: a("rename", "k2", "d"), want: "OK"},
			{note: "...replaces it", cmd: a("get", "d"), want: "hello"},
			{note: "missing source", cmd: a("rename", "nokey", "x"), err: "ERR no such key"},
			{note: "same key, existing", cmd: a("rename", "d", "d"), want: "OK"},
			{note: "...value kept", cmd: a("get", "d"), want: "hello"},
			{note: "same key, missing", cmd: a("rename", "nokey", "nokey"), err: "ERR no such key"},
			{note: "RENAMENX", cmd: a("renamenx", "d", "e"), want: int64(1)},
			{note: "...moved", cmd: a("get", "e"), want: "hello"},
			{note: "RENAMENX onto an existing key", cmd: a("set", "f", "bar"), want: "OK"},
			{note: "...refuses", cmd: a("renamenx", "e", "f"), want: int64(0)},
			{note: "...both kept", cmd: a("mget", "e", "f"), want: []any{"hello", "bar"}},
			{note: "RENAMENX same key", cmd: a("renamenx", "e", "e"), want: int64(0)},
			{note: "RENAMENX missing", cmd: a("renamenx", "nokey", "x"), err: "ERR no such key"},
			// TTLs travel with the value.
			{note: "a volatile key", cmd: a("set", "v", "x", "ex", "100"), want: "OK"},
			{note: "...RENAME", cmd: a("rename", "v", "v2"), want: "OK"},
			{note: "...moves the TTL", cmd: a("ttl", "v2"), want: int64(100)},
			{note: "...source gone", cmd: a("ttl", "v"), want: int64(-2)},
			{note: "a target with a TTL", cmd: a("set", "t", "y", "ex", "100"), want: "OK"},
			{note: "...source without", cmd: a("set", "s", "z"), want: "OK"},
			{note: "...RENAME", cmd: a("rename", "s", "t"), want: "OK"},
			{note: "...does not inherit the target's TTL", cmd: a("ttl", "t"), want: int64(-1)},
			{note: "a counter", cmd: a("incrby", "c", "41"), want: int64(41)},
			{note: "...RENAME", cmd: a("rename", "c", "c2"), want: "OK"},
			{note: "...counts on", cmd: a("incr", "c2"), want: int64(42)},
		})
	})
}

func TestCopy(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "setup", cmd: a("set", "k", "foobar"), want: "OK"},
			{note: "COPY", cmd: a("copy", "k", "n"), want: int64(1)},
			{note: "...copied", cmd: a("mget", "k", "n"), want: []any{"foobar", "foobar"}},
			{note: "...DBSIZE", cmd: a("dbsize"), want: int64(2)},
			{note: "onto an existing key", cmd: a("set", "k2", "hello"), want: "OK"},
			{note: "...without REPLACE", cmd: a("copy", "k2", "n"), want: int64(0)},
			{note: "...unchanged", cmd: a("get", "n"), want: "foobar"},
			{note: "...with REPLACE", cmd: a("copy", "k2", "n", "replace"), want: int64(1)},
			{note: "...replaced", cmd: a("get", "n"), want: "hello"},
			{note: "the copy is independent", cmd: a("set", "n", "hoge"), want: "OK"},
			{note: "...source unchanged", cmd: a("get", "k2"), want: "hello"},
			{note: "missing source", cmd: a("copy", "nokey", "x"), want: int64(0)},
			{note: "same key", cmd: a("copy", "k", "k"), err: "ERR source and destination objects are the same"},
			{note: "same key, same DB named", cmd: a("copy", "k", "k", "db", "0"), err: "ERR source and destination objects are the same"},
			{note: "DB out of range", cmd: a("copy", "k", "x", "db", "16"), err: "ERR DB index is out of range"},
			{note: "DB not a number", cmd: a("copy", "k", "x", "db", "notanumber"), err: "ERR value is not an integer or out of range"},
			{note: "DB without a value", cmd: a("copy", "k", "x", "db"), err: "ERR syntax error"},
			{note: "unknown option", cmd: a("copy", "k", "x", "foo"), err: "ERR syntax error"},
			{note: "to another database, same name", cmd: a("copy", "k", "k", "db", "3"), want: int64(1)},
			{note: "a volatile key", cmd: a("set", "v", "x", "ex", "100"), want: "OK"},
			{note: "...COPY", cmd: a("copy", "v", "v2"), want: int64(1)},
			{note: "...copies the TTL", cmd: a("ttl", "v2"), want: int64(100)},
			{note: "...and keeps the source's", cmd: a("ttl", "v"), want: int64(100)},
			{note: "no TTL", cmd: a("copy", "k", "v2", "replace"), want: int64(1)},
			{note: "...creates none", cmd: a("ttl", "v2"), want: int64(-1)},
			{note: "db 3", cmd: a("select", "3"), want: "OK"},
			{note: "...has the copy", cmd: a("get", "k"), want: "foobar"},
			{note: "...and only it", cmd: a("dbsize"), want: int64(1)},
			{note: "COPY into a db holding the key", cmd: a("select", "0"), want: "OK"},
			{note: "...refuses without REPLACE", cmd: a("copy", "k2", "k", "db", "3"), want: int64(0)},
			{note: "...REPLACE", cmd: a("copy", "k2", "k", "db", "3", "replace"), want: int64(1)},
			{note: "...back to db 3", cmd: a("select", "3"), want: "OK"},
			{note: "...replaced", cmd: a("get", "k"), want: "hello"},
		})
	})
}

// TestRenameCopyAllTypes moves and copies every type: RENAME and COPY
// rebuild the value element by element.
func TestRenameCopyAllTypes(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		a := stringsArgs
		keysNeed(t, rdb,
			a("hset", "h", "f1", "v1", "f2", "v2"),
			a("sadd", "s", "m1", "m2", "m3"),
			a("zadd", "z", "1", "one", "2.5", "two", "-3", "minus"),
			a("rpush", "l", "a", "b", "c", "b"),
			a("pexpire", "l", "100000"),
		)
		check := func(when string) {
			t.Helper()
			if got := rdb.HGetAll(ctx, "h2").Val(); len(got) != 2 || got["f1"] != "v1" || got["f2"] != "v2" {
				t.Errorf("%s: hash = %v", when, got)
			}
			got := rdb.SMembers(ctx, "s2").Val()
			sort.Strings(got)
			if !slices.Equal(got, []string{"m1", "m2", "m3"}) {
				t.Errorf("%s: set = %v", when, got)
			}
			if got := rdb.ZRangeWithScores(ctx, "z2", 0, -1).Val(); !slices.Equal(got, []redis.Z{{Score: -3, Member: "minus"}, {Score: 1, Member: "one"}, {Score: 2.5, Member: "two"}}) {
				t.Errorf("%s: zset = %v", when, got)
			}
			if got := rdb.LRange(ctx, "l2", 0, -1).Val(); !slices.Equal(got, []string{"a", "b", "c", "b"}) {
				t.Errorf("%s: list = %v", when, got)
			}
			if ttl := rdb.PTTL(ctx, "l2").Val(); ttl <= 90*time.Second || ttl > 100*time.Second {
				t.Errorf("%s: list TTL = %v", when, ttl)
			}
		}
		for _, k := range []string{"h", "s", "z", "l"} {
			// The destination holds another type: it is replaced whole.
			rdb.Set(ctx, k+"2", "old", 0)
			if err := rdb.Do(ctx, "copy", k, k+"2", "replace").Err(); err != nil {
				t.Fatalf("COPY %s: %v", k, err)
			}
		}
		check("after COPY")
		// The list copy is a list of its own: pushing to it leaves the source alone.
		rdb.RPush(ctx, "l2", "d")
		if got := rdb.LRange(ctx, "l", 0, -1).Val(); !slices.Equal(got, []string{"a", "b", "c", "b"}) {
			t.Errorf("source list after pushing to the copy = %v", got)
		}
		rdb.RPop(ctx, "l2")
		for _, k := range []string{"h", "s", "z", "l"} {
			rdb.Del(ctx, k+"2")
			if err := rdb.Do(ctx, "rename", k, k+"2").Err(); err != nil {
				t.Fatalf("RENAME %s: %v", k, err)
			}
			if n := rdb.Exists(ctx, k).Val(); n != 0 {
				t.Errorf("RENAME %s: source still exists", k)
			}
		}
		check("after RENAME")
	})
}

func TestExpire(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		const nxErr = "ERR NX and XX, GT or LT options at the same time are not compatible"
		const gtltErr = "ERR GT and LT options at the same time are not compatible"
		farMs := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
		// ms returns the deadline farMs+d as an argument.
		ms := func(d int64) string { return strconv.FormatInt(mustInt(farMs)+d, 10) }
		stringsRun(t, rdb, []stringsStep{
			{note: "missing key", cmd: a("expire", "nokey", "100"), want: int64(0)},
			{note: "setup", cmd: a("set", "k", "v"), want: "OK"},
			{note: "EXPIRE", cmd: a("expire", "k", "100"), want: int64(1)},
			{note: "...TTL", cmd: a("ttl", "k"), want: int64(100)},
			{note: "...PTTL", cmd: a("pttl", "k"), want: stringsBetween{99000, 100000}},
			{note: "NX with a TTL", cmd: a("expire", "k", "50", "nx"), want: int64(0)},
			{note: "XX with a TTL", cmd: a("expire", "k", "50", "xx"), want: int64(1)},
			{note: "...TTL", cmd: a("ttl", "k"), want: int64(50)},
			// GT and LT compare absolute deadlines: use PEXPIREAT so that
			// the clock moving between commands cannot matter.
			{note: "a deadline T", cmd: a("pexpireat", "k", ms(0)), want: int64(1)},
			{note: "GT earlier", cmd: a("pexpireat", "k", ms(-1000), "gt"), want: int64(0)},
			{note: "GT equal", cmd: a("pexpireat", "k", ms(0), "gt"), want: int64(0)},
			{note: "GT later", cmd: a("pexpireat", "k", ms(1000), "gt"), want: int64(1)},
			{note: "LT later", cmd: a("pexpireat", "k", ms(2000), "lt"), want: int64(0)},
			{note: "LT equal", cmd: a("pexpireat", "k", ms(1000), "lt"), want: int64(0)},
			{note: "LT earlier", cmd: a("pexpireat", "k", ms(0), "LT"), want: int64(1)},
			{note: "XX GT together", cmd: a("pexpireat", "k", ms(3000), "xx", "gt"), want: int64(1)},
			{note: "...PEXPIRETIME", cmd: a("pexpiretime", "k"), want: mustInt(ms(3000))},
			{note: "back to a relative TTL", cmd: a("expire", "k", "80", "lt"), want: int64(1)},
			{note: "...TTL", cmd: a("ttl", "k"), want: int64(80)},
			{note: "a key without TTL", cmd: a("set", "p", "v"), want: "OK"},
			{note: "XX without TTL", cmd: a("expire", "p", "50", "xx"), want: int64(0)},
			{note: "GT without TTL (infinite)", cmd: a("expire", "p", "50", "gt"), want: int64(0)},
			{note: "LT without TTL (infinite)", cmd: a("expire", "p", "50", "lt"), want: int64(1)},
			{note: "...TTL", cmd: a("ttl", "p"), want: int64(50)},
			{note: "NX without TTL", cmd: a("expire", "n", "50", "nx"), want: int64(0)},
			{note: "NX XX", cmd: a("expire", "k", "50", "nx", "xx"), err: nxErr},
			{note: "NX GT", cmd: a("expire", "k", "50", "nx", "gt"), err: nxErr},
			{note: "LT NX", cmd: a("expire", "k", "50", "lt", "nx"), err: nxErr},
			{note: "GT LT", cmd: a("expire", "k", "50", "gt", "lt"), err: gtltErr},
			{note: "unknown option", cmd: a("expire", "k", "50", "foo"), err: "ERR Unsupported option foo"},
			{note: "options are checked before the time", cmd: a("pexpire", "k", "x", "bar"), err: "ERR Unsupported option bar"},
			{note: "time not an integer", cmd: a("expire", "k", "1.5"), err: "ERR value is not an integer or out of range"},
			{note: "seconds overflowing in ms", cmd: a("expire", "k", "9223372036854775807"), err: "ERR invalid expire time in 'expire' command"},
			{note: "negative seconds overflowing in ms", cmd: a("expireat", "k", "-9223372036854775807"), err: "ERR invalid expire time in 'expireat' command"},
			{note: "ms overflowing with now added", cmd: a("pexpire", "k", "9223372036854775807"), err: "ERR invalid expire time in 'pexpire' command"},
			{note: "...no error changed the TTL", cmd: a("ttl", "k"), want: int64(80)},
			{note: "PEXPIREAT far future", cmd: a("pexpireat", "k", farMs), want: int64(1)},
			{note: "...PEXPIRETIME", cmd: a("pexpiretime", "k"), want: mustInt(farMs)},
			{note: "...EXPIRETIME rounds to the nearest second", cmd: a("expiretime", "k"), want: (mustInt(farMs) + 500) / 1000},
			{note: "EXPIREAT", cmd: a("expireat", "k", "4102444800"), want: int64(1)},
			{note: "...EXPIRETIME", cmd: a("expiretime", "k"), want: int64(4102444800)},
			{note: "...PEXPIRETIME", cmd: a("pexpiretime", "k"), want: int64(4102444800000)},
			{note: "PEXPIRE and TTL rounding", cmd: a("pexpire", "k", "1800"), want: int64(1)},
			{note: "...TTL rounds 1.8 s up", cmd: a("ttl", "k"), want: int64(2)},
			// A deadline in the past deletes the key at once.
			{note: "EXPIRE negative", cmd: a("expire", "k", "-1"), want: int64(1)},
			{note: "...key gone", cmd: a("exists", "k"), want: int64(0)},
			{note: "again", cmd: a("set", "k", "v"), want: "OK"},
			{note: "EXPIREAT in the past", cmd: a("expireat", "k", "1"), want: int64(1)},
			{note: "...key gone", cmd: a("get", "k"), want: nil},
			{note: "again", cmd: a("set", "k", "v"), want: "OK"},
			{note: "PEXPIRE 0", cmd: a("pexpire", "k", "0"), want: int64(1)},
			{note: "...key gone", cmd: a("ttl", "k"), want: int64(-2)},
			{note: "arity", cmd: a("expire", "k"), err: "ERR wrong number of arguments for 'expire' command"},
		})
	})
}

func TestTTLPersist(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		a := stringsArgs
		stringsRun(t, rdb, []stringsStep{
			{note: "TTL missing", cmd: a("ttl", "nokey"), want: int64(-2)},
			{note: "PTTL missing", cmd: a("pttl", "nokey"), want: int64(-2)},
			{note: "EXPIRETIME missing", cmd: a("expiretime", "nokey"), want: int64(-2)},
			{note: "PEXPIRETIME missing", cmd: a("pexpiretime", "nokey"), want: int64(-2)},
			{note: "setup", cmd: a("set", "k", "v"), want: "OK"},
			{note: "TTL without deadline", cmd: a("ttl", "k"), want: int64(-1)},
			{note: "PTTL without deadline", cmd: a("pttl", "k"), want: int64(-1)},
			{note: "EXPIRETIME without deadline", cmd: a("expiretime", "k"), want: int64(-1)},
			{note: "PEXPIRETIME without deadline", cmd: a("pexpiretime", "k"), want: int64(-1)},
			{note: "PERSIST without deadline", cmd: a("persist", "k"), want: int64(0)},
			{note: "PERSIST missing", cmd: a("persist", "nokey"), want: int64(0)},
			{note: "EXPIRE", cmd: a("expire", "k", "100"), want: int64(1)},
			{note: "PERSIST", cmd: a("persist", "k"), want: int64(1)},
			{note: "...TTL gone", cmd: a("ttl", "k"), want: int64(-1)},
			{note: "...value kept", cmd: a("get", "k"), want: "v"},
			{note: "PERSIST again", cmd: a("persist", "k"), want: int64(0)},
			{note: "a short deadline", cmd: a("pexpire", "k", "100"), want: int64(1)},
		})
		srv.Advance(time.Second)
		stringsRun(t, rdb, []stringsStep{
			{note: "TTL after the deadline", cmd: a("ttl", "k"), want: int64(-2)},
			{note: "PERSIST after the deadline", cmd: a("persist", "k"), want: int64(0)},
			{note: "EXPIRE after the deadline", cmd: a("expire", "k", "100"), want: int64(0)},
			{note: "GET after the deadline", cmd: a("get", "k"), want: nil},
		})
	})
}

// TestKeysRawReplies checks replies on the wire.
func TestKeysRawReplies(t *testing.T) {
	tests := []struct {
		cmd          []string
		resp2, resp3 string
	}{
		{cmd: []string{"type", "nokey"}, resp2: "+none\r\n", resp3: "+none\r\n"},
		{cmd: []string{"randomkey"}, resp2: "$-1\r\n", resp3: "_\r\n"},
		{cmd: []string{"keys", "*"}, resp2: "*0\r\n", resp3: "*0\r\n"},
		{cmd: []string{"scan", "0"}, resp2: "*2\r\n$1\r\n0\r\n*0\r\n", resp3: "*2\r\n$1\r\n0\r\n*0\r\n"},
		{cmd: []string{"set", "k", "v"}, resp2: "+OK\r\n", resp3: "+OK\r\n"},
		{cmd: []string{"type", "k"}, resp2: "+string\r\n", resp3: "+string\r\n"},
		{cmd: []string{"scan", "0", "count", "100"}, resp2: "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n", resp3: "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"},
		{cmd: []string{"randomkey"}, resp2: "$1\r\nk\r\n", resp3: "$1\r\nk\r\n"},
		{cmd: []string{"ttl", "k"}, resp2: ":-1\r\n", resp3: ":-1\r\n"},
		{cmd: []string{"rename", "nokey", "x"}, resp2: "-ERR no such key\r\n", resp3: "-ERR no such key\r\n"},
		{cmd: []string{"renamenx", "k", "k"}, resp2: ":0\r\n", resp3: ":0\r\n"},
		{cmd: []string{"select", "1"}, resp2: "+OK\r\n", resp3: "+OK\r\n"},
		{cmd: []string{"dbsize"}, resp2: ":0\r\n", resp3: ":0\r\n"},
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

// keysRunWithSeed applies seed effects to a fresh store, then evaluates
// cmd directly and returns its reply and effects.
func keysRunWithSeed(t *testing.T, seed []storage.Effect, cmd ...string) (string, []storage.Effect, hlc.Timestamp) {
	t.Helper()
	const now = 1_000_000
	st := storage.NewStore()
	clock := hlc.NewClock(hlc.NewManualClock(now), 1, 1)
	ts := clock.Now()
	for i := range seed {
		seed[i].TS = ts
	}
	st.SetStable(ts)
	st.Apply(1, seed)
	bargs := make([][]byte, len(cmd))
	for i, a := range cmd {
		bargs[i] = []byte(a)
	}
	c := &eval.Ctx{R: st.At(now), W: &protocol.Writer{}, Clock: clock, Rand: rand.New(rand.NewPCG(1, 2))}
	eval.Run(c, bargs)
	return string(c.W.Bytes()), slices.Clone(c.Effects()), c.Stamp()
}

// TestKeysRebuildEffects checks the effects RENAME and COPY log: a delete
// of the destination, then its elements, then its deadline.
func TestKeysRebuildEffects(t *testing.T) {
	id := func(n uint32) storage.ItemID { return storage.ItemID{TS: hlc.Timestamp{Wall: 1, Logical: n}, Seq: n} }
	listSeed := []storage.Effect{
		{Op: storage.OpLInsert, Key: "l", ID: id(1), Value: []byte("a")},
		{Op: storage.OpLInsert, Key: "l", ID: id(2), Ref: id(1), Value: []byte("b")},
		{Op: storage.OpLInsert, Key: "l", ID: id(3), Ref: id(2), Value: []byte("c")},
		{Op: storage.OpExpire, Key: "l", Int: 5_000_000},
	}
	reply, effects, ts := keysRunWithSeed(t, listSeed, "copy", "l", "m", "db", "2")
	if reply != ":1\r\n" {
		t.Fatalf("COPY reply %q", reply)
	}
	var got []string
	for _, e := range effects {
		if e.DB != 2 || e.Key != "m" || e.TS != ts {
			t.Errorf("effect %v: want db 2, key m, the command's stamp", e)
		}
		got = append(got, fmt.Sprintf("%v %v<-%v %s %d", e.Op, e.ID.Seq, e.Ref.Seq, e.Value, e.Int))
	}
	want := []string{"del 0<-0  0", "linsert 0<-0 a 0", "linsert 1<-0 b 0", "linsert 2<-1 c 0", "expire 0<-0  5000000"}
	if !slices.Equal(got, want) {
		t.Errorf("COPY list effects:\n got %q\nwant %q", got, want)
	}
	for i, e := range effects[1:4] {
		if e.ID.TS != ts || (i > 0 && e.Ref != effects[i].ID) {
			t.Errorf("item %d: id %v ref %v; want fresh ids chained in order", i, e.ID, e.Ref)
		}
	}

	hashSeed := []storage.Effect{{Op: storage.OpHSet, Key: "h", Field: "f", Value: []byte("v")}}
	reply, effects, _ = keysRunWithSeed(t, hashSeed, "rename", "h", "g")
	got = nil
	for _, e := range effects {
		got = append(got, fmt.Sprintf("%v %s %s=%s", e.Op, e.Key, e.Field, e.Value))
	}
	want = []string{"del g =", "hset g f=v", "del h ="}
	if reply != "+OK\r\n" || !slices.Equal(got, want) {
		t.Errorf("RENAME hash: %q, effects %q; want OK, %q", reply, got, want)
	}

	zsetSeed := []storage.Effect{{Op: storage.OpZAdd, Key: "z", Field: "m", Float: 2.5}, {Op: storage.OpSAdd, Key: "s", Field: "x"}}
	_, effects, _ = keysRunWithSeed(t, zsetSeed, "rename", "z", "s")
	if len(effects) != 3 || effects[1].Op != storage.OpZAdd || effects[1].Key != "s" || effects[1].Field != "m" || effects[1].Float != 2.5 {
		t.Errorf("RENAME zset over a set: effects %v", effects)
	}
}

// TestSelectInMulti checks that SELECT queued in a transaction applies to
// the commands after it and stays selected after EXEC, as in Valkey.
func TestSelectInMulti(t *testing.T) {
	srv := servertest.Start(t)
	rc := srv.Raw(t, 2)
	steps := []struct{ cmd, want string }{
		{"multi", "+OK\r\n"},
		{"select 2", "+QUEUED\r\n"},
		{"set a 1", "+QUEUED\r\n"},
		{"exec", "*2\r\n+OK\r\n+OK\r\n"},
		{"dbsize", ":1\r\n"}, // still in db 2
		{"select 0", "+OK\r\n"},
		{"dbsize", ":0\r\n"},
		{"multi", "+OK\r\n"},
		{"select 99", "+QUEUED\r\n"},
		{"exec", "*1\r\n-ERR DB index is out of range\r\n"},
		{"dbsize", ":0\r\n"}, // a failed SELECT changes nothing
	}
	for _, s := range steps {
		if got := rc.Do(strings.Fields(s.cmd)...); got != s.want {
			t.Errorf("%s = %q, want %q", s.cmd, got, s.want)
		}
	}
}
