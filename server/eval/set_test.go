package eval_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

// setMembersOf returns a set's members, sorted.
func setMembersOf(t *testing.T, rdb *redis.Client, key string) []string {
	t.Helper()
	m, err := rdb.SMembers(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("SMEMBERS %s: %v", key, err)
	}
	slices.Sort(m)
	return m
}

// setSorted returns a sorted copy of ss.
func setSorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

func TestSetMemberCommands(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		steps := []struct {
			args []any
			want any
		}{
			{[]any{"sadd", "s", "a", "b", "c"}, int64(3)},
			{[]any{"sadd", "s", "A", "a", "b", "c", "B"}, int64(2)},
			{[]any{"sadd", "s", "x", "x", "x"}, int64(1)}, // named thrice, added once
			{[]any{"scard", "s"}, int64(6)},
			{[]any{"scard", "nokey"}, int64(0)},
			{[]any{"sismember", "s", "a"}, int64(1)},
			{[]any{"sismember", "s", "zz"}, int64(0)},
			{[]any{"sismember", "nokey", "a"}, int64(0)},
			{[]any{"smismember", "s", "a", "zz", "B"}, []any{int64(1), int64(0), int64(1)}},
			{[]any{"smismember", "nokey", "a", "b"}, []any{int64(0), int64(0)}},
			{[]any{"srem", "s", "qux"}, int64(0)},
			{[]any{"srem", "s", "A", "A", "B", "zz"}, int64(2)},
			{[]any{"srem", "nokey", "a"}, int64(0)},
			{[]any{"scard", "s"}, int64(4)},
			{[]any{"sadd", "s", ""}, int64(1)}, // the empty string is a member
			{[]any{"sismember", "s", ""}, int64(1)},
			{[]any{"sadd", "i", "3", "1", "2"}, int64(3)},
		}
		for _, s := range steps {
			got, err := rdb.Do(ctx, s.args...).Result()
			if err != nil {
				t.Fatalf("%v: %v", s.args, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Fatalf("%v = %#v, want %#v", s.args, got, s.want)
			}
		}
		if got := setMembersOf(t, rdb, "s"); !slices.Equal(got, []string{"", "a", "b", "c", "x"}) {
			t.Fatalf("SMEMBERS = %q", got)
		}
		if got := setMembersOf(t, rdb, "nokey"); len(got) != 0 {
			t.Fatalf("SMEMBERS missing key = %q", got)
		}
		// Removing every member deletes the key.
		if n := rdb.SRem(ctx, "i", 1, 2, 3, 4, 5, 6, 7, 8).Val(); n != 3 {
			t.Fatalf("SREM all = %d, want 3", n)
		}
		if n := rdb.Exists(ctx, "i").Val(); n != 0 {
			t.Fatalf("EXISTS after SREM of every member = %d", n)
		}
	})
}

func TestSetReplies(t *testing.T) {
	srv := servertest.Start(t)
	rdb := srv.Client(t, 2)
	ctx := context.Background()
	rdb.SAdd(ctx, "s", "b", "a")
	rdb.SAdd(ctx, "t", "b", "c")
	rdb.SAdd(ctx, "n", "10", "9", "-1")
	cases := []struct {
		proto int
		cmd   []string
		want  string
	}{
		// Sets are sets in RESP3, arrays in RESP2.
		{2, []string{"smembers", "s"}, "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{3, []string{"smembers", "s"}, "~2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{3, []string{"smembers", "nokey"}, "~0\r\n"},
		{2, []string{"smembers", "nokey"}, "*0\r\n"},
		// Integers come in numeric order, as from an intset.
		{2, []string{"smembers", "n"}, "*3\r\n$2\r\n-1\r\n$1\r\n9\r\n$2\r\n10\r\n"},
		{3, []string{"sinter", "s", "t"}, "~1\r\n$1\r\nb\r\n"},
		{3, []string{"sunion", "s", "t"}, "~3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"},
		{3, []string{"sdiff", "s", "t"}, "~1\r\n$1\r\na\r\n"},
		{3, []string{"sinter", "s", "nokey"}, "~0\r\n"},
		{2, []string{"sdiff", "nokey", "s"}, "*0\r\n"},
		// SISMEMBER stays an integer in RESP3.
		{3, []string{"sismember", "s", "a"}, ":1\r\n"},
		{3, []string{"smismember", "s", "a", "z"}, "*2\r\n:1\r\n:0\r\n"},
		// SPOP with a count is a set; without, a bulk or a null.
		{3, []string{"spop", "nokey", "3"}, "~0\r\n"},
		{2, []string{"spop", "nokey", "3"}, "*0\r\n"},
		{3, []string{"spop", "s", "0"}, "~0\r\n"},
		{2, []string{"spop", "nokey"}, "$-1\r\n"},
		{3, []string{"spop", "nokey"}, "_\r\n"},
		// SRANDMEMBER with a count is an array, even in RESP3.
		{3, []string{"srandmember", "s", "5"}, "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{3, []string{"srandmember", "s", "0"}, "*0\r\n"},
		{3, []string{"srandmember", "nokey", "100"}, "*0\r\n"},
		{2, []string{"srandmember", "nokey"}, "$-1\r\n"},
		{3, []string{"srandmember", "nokey"}, "_\r\n"},
		{3, []string{"sscan", "s", "0"}, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{3, []string{"sscan", "nokey", "0", "novalues"}, "*2\r\n$1\r\n0\r\n*0\r\n"},
	}
	conns := map[int]*servertest.RawConn{2: srv.Raw(t, 2), 3: srv.Raw(t, 3)}
	for _, tc := range cases {
		if got := conns[tc.proto].Do(tc.cmd...); got != tc.want {
			t.Errorf("RESP%d %q = %q, want %q", tc.proto, tc.cmd, got, tc.want)
		}
	}
}

func TestSetPop(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		contents := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"}
		rdb.SAdd(ctx, "s", contents)

		// Valkey's "SPOP with <count>": the pops together are the set.
		var popped []string
		for _, n := range []int64{11, 9, 0, 4, 1, 0, 1, 0} {
			got, err := rdb.SPopN(ctx, "s", n).Result()
			if err != nil || int64(len(got)) != n {
				t.Fatalf("SPOP %d = %q, %v", n, got, err)
			}
			popped = append(popped, got...)
		}
		if !slices.Equal(setSorted(popped), contents) {
			t.Fatalf("SPOP pops = %q, want every member once", setSorted(popped))
		}
		if n := rdb.SCard(ctx, "s").Val(); n != 0 {
			t.Fatalf("SCARD after popping all = %d", n)
		}
		if n := rdb.Exists(ctx, "s").Val(); n != 0 {
			t.Fatalf("EXISTS after popping all = %d", n)
		}

		// Count larger than the set: the whole set, and the key goes.
		rdb.SAdd(ctx, "s", "1", "2", "3")
		got, err := rdb.SPopN(ctx, "s", 30).Result()
		if err != nil || !slices.Equal(setSorted(got), []string{"1", "2", "3"}) {
			t.Fatalf("SPOP 30 = %q, %v", got, err)
		}
		if n := rdb.Exists(ctx, "s").Val(); n != 0 {
			t.Fatalf("EXISTS after SPOP 30 = %d", n)
		}

		// Single pops.
		rdb.SAdd(ctx, "s", "a", "b", "c")
		var singles []string
		for range 3 {
			singles = append(singles, rdb.SPop(ctx, "s").Val())
		}
		if !slices.Equal(setSorted(singles), []string{"a", "b", "c"}) {
			t.Fatalf("SPOP x3 = %q", singles)
		}
		if err := rdb.SPop(ctx, "s").Err(); err != redis.Nil {
			t.Fatalf("SPOP empty: %v, want nil", err)
		}

		errs := []struct {
			args []any
			want string
		}{
			{[]any{"spop", "s", "-1"}, "ERR value is out of range, must be positive"},
			{[]any{"spop", "s", "x"}, "ERR value is out of range, must be positive"},
			{[]any{"spop", "s", "1", "2"}, "ERR syntax error"},
			{[]any{"spop"}, "ERR wrong number of arguments for 'spop' command"},
		}
		for _, e := range errs {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Fatalf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
	})
}

// TestSetPopMoveConsistency checks that the effects of SPOP and SMOVE keep
// the sets consistent: what is popped or moved is gone from the source,
// what remains plus what left is what was there, and nothing is duplicated.
func TestSetPopMoveConsistency(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		var all []string
		for i := range 300 {
			all = append(all, "m"+strconv.Itoa(i))
		}
		rdb.SAdd(ctx, "src", all)
		left := map[string]string{} // member -> where it went
		for round := 0; round < 20; round++ {
			popped, err := rdb.SPopN(ctx, "src", int64(round%7)).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range popped {
				if left[m] != "" {
					t.Fatalf("%s popped twice", m)
				}
				left[m] = "popped"
			}
			// Move one random remaining member.
			m := rdb.SRandMember(ctx, "src").Val()
			if ok := rdb.SMove(ctx, "src", "dst", m).Val(); !ok {
				t.Fatalf("SMOVE of member %q = false", m)
			}
			left[m] = "dst"
			if ok := rdb.SMove(ctx, "src", "dst", m).Val(); ok {
				t.Fatalf("SMOVE of a moved member = true")
			}
		}
		remaining := setMembersOf(t, rdb, "src")
		moved := setMembersOf(t, rdb, "dst")
		if got := rdb.SCard(ctx, "src").Val(); got != int64(len(remaining)) {
			t.Fatalf("SCARD src = %d, SMEMBERS has %d", got, len(remaining))
		}
		for _, m := range remaining {
			if left[m] != "" {
				t.Fatalf("%s is still in src after leaving (%s)", m, left[m])
			}
		}
		for _, m := range moved {
			if left[m] != "dst" {
				t.Fatalf("%s is in dst but went %q", m, left[m])
			}
		}
		if len(remaining)+len(left) != len(all) {
			t.Fatalf("%d remaining + %d gone != %d", len(remaining), len(left), len(all))
		}

		// Popping the rest empties and deletes src.
		rest := rdb.SPopN(ctx, "src", 1000).Val()
		if len(rest) != len(remaining) || rdb.Exists(ctx, "src").Val() != 0 {
			t.Fatalf("SPOP rest = %d members, EXISTS %d", len(rest), rdb.Exists(ctx, "src").Val())
		}
	})
}

func TestSetMove(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		setup := func() {
			rdb.Del(ctx, "s1", "s2", "s3")
			rdb.SAdd(ctx, "s1", "1", "a", "b")
			rdb.SAdd(ctx, "s2", "2", "3", "4")
		}
		steps := []struct {
			name            string
			src, dst, m     string
			want            bool
			wantS1, wantDst string // members of s1 and of dst afterwards
		}{
			{"to existing set", "s1", "s2", "a", true, "1 b", "2 3 4 a"},
			{"integer member", "s1", "s2", "1", true, "a b", "1 2 3 4"},
			{"not a member", "s1", "s2", "foo", false, "1 a b", "2 3 4"},
			{"same set, not a member", "s1", "s1", "foo", false, "1 a b", "1 a b"},
			{"same set, member", "s1", "s1", "a", true, "1 a b", "1 a b"},
			{"missing source", "nos", "s2", "foo", false, "1 a b", "2 3 4"},
			{"to a new set", "s1", "s3", "a", true, "1 b", "a"},
			{"already in destination", "s1", "s2", "1", true, "a b", "1 2 3 4"},
		}
		for _, s := range steps {
			setup()
			if s.name == "already in destination" {
				rdb.SAdd(ctx, "s2", "1")
			}
			got, err := rdb.SMove(ctx, s.src, s.dst, s.m).Result()
			if err != nil || got != s.want {
				t.Fatalf("%s: SMOVE = %v, %v", s.name, got, err)
			}
			if m := fmt.Sprint(setMembersOf(t, rdb, "s1")); m != "["+s.wantS1+"]" {
				t.Fatalf("%s: s1 = %s, want [%s]", s.name, m, s.wantS1)
			}
			if m := fmt.Sprint(setMembersOf(t, rdb, s.dst)); m != "["+s.wantDst+"]" {
				t.Fatalf("%s: %s = %s, want [%s]", s.name, s.dst, m, s.wantDst)
			}
		}
		// Moving the last member deletes the source.
		rdb.Del(ctx, "one")
		rdb.SAdd(ctx, "one", "x")
		rdb.SMove(ctx, "one", "s2", "x")
		if n := rdb.Exists(ctx, "one").Val(); n != 0 {
			t.Fatalf("EXISTS after moving the last member = %d", n)
		}
		rdb.Set(ctx, "str", "10", 0)
		for _, e := range []struct {
			args []any
			want string
		}{
			{[]any{"smove", "str", "s2", "foo"}, hashWrongType},
			{[]any{"smove", "s2", "str", "2"}, hashWrongType},
			{[]any{"smove", "nos", "str", "foo"}, ""}, // a missing source answers 0 first
		} {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Fatalf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
	})
}

func TestSetRandMember(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		var contents []string
		for i := range 50 {
			contents = append(contents, "m"+strconv.Itoa(i))
		}
		rdb.SAdd(ctx, "s", contents)
		in := map[string]bool{}
		for _, m := range contents {
			in[m] = true
		}
		cases := []struct {
			count    int64
			wantLen  int
			distinct bool
		}{
			{-100, 100, false}, // negative: repeats, exactly |count|
			{50, 50, true},     // the whole set
			{100, 50, true},
			{45, 45, true},
			{5, 5, true},
			{1, 1, true},
			{0, 0, true},
		}
		for _, tc := range cases {
			got, err := rdb.SRandMemberN(ctx, "s", tc.count).Result()
			if err != nil || len(got) != tc.wantLen {
				t.Fatalf("SRANDMEMBER %d = %d members, %v", tc.count, len(got), err)
			}
			seen := map[string]bool{}
			for _, m := range got {
				if !in[m] {
					t.Fatalf("SRANDMEMBER %d returned %q", tc.count, m)
				}
				seen[m] = true
			}
			if tc.distinct && len(seen) != len(got) {
				t.Fatalf("SRANDMEMBER %d repeated a member", tc.count)
			}
		}
		// Every member comes up eventually.
		seen := map[string]bool{}
		for range 1000 {
			seen[rdb.SRandMember(ctx, "s").Val()] = true
		}
		if len(seen) != len(contents) {
			t.Fatalf("1000 SRANDMEMBER saw %d of %d members", len(seen), len(contents))
		}
		for _, e := range []struct {
			args []any
			want string
		}{
			{[]any{"srandmember", "s", "x"}, "ERR value is not an integer or out of range"},
			{[]any{"srandmember", "s", "-9223372036854775808"}, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"},
			{[]any{"srandmember", "s", "1", "2"}, "ERR syntax error"},
		} {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Fatalf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
	})
}

func TestSetAlgebra(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		for i := range 200 {
			rdb.SAdd(ctx, "set1", i)
			rdb.SAdd(ctx, "set2", i+195)
		}
		rdb.SAdd(ctx, "set3", 199, 195, 1000, 2000)
		for i := 5; i < 200; i++ {
			rdb.SAdd(ctx, "set4", i)
		}
		rdb.SAdd(ctx, "set5", 0)
		for i := 1; i <= 5; i++ {
			rdb.SAdd(ctx, "set"+strconv.Itoa(i), "foo")
		}
		union12 := map[string]bool{}
		for i := range 200 {
			union12[strconv.Itoa(i)] = true
			union12[strconv.Itoa(i+195)] = true
		}
		union12["foo"] = true
		var unionList []string
		for m := range union12 {
			unionList = append(unionList, m)
		}
		set1 := setMembersOf(t, rdb, "set1")
		cases := []struct {
			cmd  string
			keys []string
			want []string
		}{
			{"sinter", []string{"set1", "set2"}, []string{"195", "196", "197", "198", "199", "foo"}},
			{"sinter", []string{"set1", "set2", "set3"}, []string{"195", "199", "foo"}},
			{"sinter", []string{"set1", "set2", "nokey"}, nil},
			{"sinter", []string{"set1", "set1", "set1"}, set1},
			{"sunion", []string{"set1", "set2"}, setSorted(unionList)},
			{"sunion", []string{"nokey1", "set1", "set2", "nokey2"}, setSorted(unionList)},
			{"sunion", []string{"set1", "set1", "set1"}, set1},
			{"sdiff", []string{"set1", "set4"}, []string{"0", "1", "2", "3", "4"}},
			{"sdiff", []string{"set1", "set4", "set5"}, []string{"1", "2", "3", "4"}},
			{"sdiff", []string{"set1", "set1", "set1"}, nil},
			{"sdiff", []string{"nokey", "set1"}, nil},
			{"sdiff", []string{"set5", "nokey"}, []string{"0", "foo"}},
		}
		for _, tc := range cases {
			args := []any{tc.cmd}
			for _, k := range tc.keys {
				args = append(args, k)
			}
			got, err := rdb.Do(ctx, args...).StringSlice()
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			if !slices.Equal(setSorted(got), setSorted(tc.want)) {
				t.Fatalf("%v = %q, want %q", args, setSorted(got), setSorted(tc.want))
			}
			// The STORE variant stores the same members and counts them.
			store := append([]any{tc.cmd + "store", "res"}, args[1:]...)
			n, err := rdb.Do(ctx, store...).Int()
			if err != nil || n != len(tc.want) {
				t.Fatalf("%v = %d, %v; want %d", store, n, err, len(tc.want))
			}
			if got := setMembersOf(t, rdb, "res"); !slices.Equal(got, setSorted(tc.want)) {
				t.Fatalf("%v stored %q, want %q", store, got, setSorted(tc.want))
			}
			if len(tc.want) == 0 && rdb.Exists(ctx, "res").Val() != 0 {
				t.Fatalf("%v: an empty result must delete the destination", store)
			}
		}
	})
}

func TestSetStoreOverwrites(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		rdb.SAdd(ctx, "a", "1", "2", "3")
		rdb.SAdd(ctx, "b", "2", "3", "4")

		// The destination's type, members and TTL all go.
		rdb.Set(ctx, "dst", "string", 0)
		rdb.Expire(ctx, "dst", time.Hour)
		if n := rdb.SInterStore(ctx, "dst", "a", "b").Val(); n != 2 {
			t.Fatalf("SINTERSTORE over a string = %d", n)
		}
		if got := setMembersOf(t, rdb, "dst"); !slices.Equal(got, []string{"2", "3"}) {
			t.Fatalf("dst = %q", got)
		}
		if ttl := rdb.Do(ctx, "ttl", "dst").Val(); ttl != int64(-1) {
			t.Fatalf("TTL of stored set = %v, want -1", ttl)
		}
		rdb.SAdd(ctx, "dst", "9")
		rdb.Expire(ctx, "dst", time.Hour)
		if n := rdb.SUnionStore(ctx, "dst", "a", "b").Val(); n != 4 {
			t.Fatalf("SUNIONSTORE = %d", n)
		}
		if got := setMembersOf(t, rdb, "dst"); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
			t.Fatalf("dst = %q, want the union only (old member 9 gone)", got)
		}
		if ttl := rdb.Do(ctx, "ttl", "dst").Val(); ttl != int64(-1) {
			t.Fatalf("TTL of stored set = %v, want -1", ttl)
		}
		// The destination may be a source: its old members count.
		if n := rdb.SDiffStore(ctx, "a", "a", "b").Val(); n != 1 {
			t.Fatalf("SDIFFSTORE a a b = %d", n)
		}
		if got := setMembersOf(t, rdb, "a"); !slices.Equal(got, []string{"1"}) {
			t.Fatalf("a = %q", got)
		}
		// A string destination is deleted by an empty result.
		rdb.Set(ctx, "setres", "xxx", 0)
		if n := rdb.SDiffStore(ctx, "setres", "foo111", "bar222").Val(); n != 0 {
			t.Fatalf("SDIFFSTORE empty = %d", n)
		}
		if n := rdb.Exists(ctx, "setres").Val(); n != 0 {
			t.Fatalf("EXISTS setres = %d, want 0", n)
		}

		// WRONGTYPE in any source leaves the destination alone.
		rdb.Set(ctx, "key1", "x", 0)
		rdb.SAdd(ctx, "set3", "e")
		for _, cmd := range []string{"sinterstore", "sunionstore", "sdiffstore"} {
			for _, srcs := range [][]any{{"key1", "b", "noset"}, {"b", "key1"}, {"noset", "key1"}} {
				args := append([]any{cmd, "set3"}, srcs...)
				if got := hashErr(ctx, rdb, args...); got != hashWrongType {
					t.Fatalf("%v: error %q, want WRONGTYPE", args, got)
				}
				if got := setMembersOf(t, rdb, "set3"); !slices.Equal(got, []string{"e"}) {
					t.Fatalf("%v changed the destination: %q", args, got)
				}
			}
		}
		for _, cmd := range []string{"sinter", "sunion", "sdiff"} {
			for _, keys := range [][]any{{"key1", "noset"}, {"noset", "key1"}, {"b", "key1"}} {
				if got := hashErr(ctx, rdb, append([]any{cmd}, keys...)...); got != hashWrongType {
					t.Fatalf("%s %v: error %q, want WRONGTYPE", cmd, keys, got)
				}
			}
		}
	})
}

func TestSetInterCard(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		for i := range 200 {
			rdb.SAdd(ctx, "set1", i)
			rdb.SAdd(ctx, "set2", i+195)
		}
		rdb.SAdd(ctx, "set3", 199, 195, 1000, 2000)
		rdb.Set(ctx, "key1", "x", 0)
		steps := []struct {
			args []any
			want string // the count, or the error text
		}{
			{[]any{"sintercard", "2", "set1", "set2"}, "5"},
			{[]any{"sintercard", "2", "set1", "set2", "limit", "0"}, "5"},
			{[]any{"sintercard", "2", "set1", "set2", "LIMIT", "3"}, "3"},
			{[]any{"sintercard", "2", "set1", "set2", "limit", "10"}, "5"},
			{[]any{"sintercard", "3", "set1", "set2", "set3"}, "2"},
			{[]any{"sintercard", "3", "set1", "set2", "set3", "limit", "1"}, "1"},
			{[]any{"sintercard", "1", "nokey"}, "0"},
			{[]any{"sintercard", "1", "nokey", "limit", "10"}, "0"},
			{[]any{"sintercard", "1", "set3", "limit", "2", "limit", "0"}, "4"}, // the last LIMIT wins
			{[]any{"sintercard", "0", "set1"}, "ERR numkeys should be greater than 0"},
			{[]any{"sintercard", "a", "set1"}, "ERR numkeys should be greater than 0"},
			{[]any{"sintercard", "-1", "set1"}, "ERR numkeys should be greater than 0"},
			{[]any{"sintercard", "2", "set1"}, "ERR Number of keys can't be greater than number of args"},
			{[]any{"sintercard", "3", "set1", "set2"}, "ERR Number of keys can't be greater than number of args"},
			{[]any{"sintercard", "1", "set1", "set2"}, "ERR syntax error"},
			{[]any{"sintercard", "1", "set1", "limit"}, "ERR syntax error"},
			{[]any{"sintercard", "1", "set1", "limit", "-1"}, "ERR LIMIT can't be negative"},
			{[]any{"sintercard", "1", "set1", "limit", "a"}, "ERR LIMIT can't be negative"},
			{[]any{"sintercard", "1", "key1"}, hashWrongType},
			{[]any{"sintercard", "2", "set1", "key1"}, hashWrongType},
			{[]any{"sintercard", "2", "key1", "nokey"}, hashWrongType},
			{[]any{"sintercard"}, "ERR wrong number of arguments for 'sintercard' command"},
			{[]any{"sintercard", "1"}, "ERR wrong number of arguments for 'sintercard' command"},
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
	})
}

func TestSetScan(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		// Small sets (and sets of up to 512 integers) come whole.
		rdb.SAdd(ctx, "small", "b", "a", "c")
		keys, cursor, err := rdb.SScan(ctx, "small", 0, "", 1).Result()
		if err != nil || cursor != 0 || !slices.Equal(setSorted(keys), []string{"a", "b", "c"}) {
			t.Fatalf("SSCAN small = %q, %d, %v", keys, cursor, err)
		}
		for i := range 400 {
			rdb.SAdd(ctx, "ints", i)
		}
		keys, cursor, err = rdb.SScan(ctx, "ints", 0, "*1*", 10).Result()
		want := 0
		for i := range 400 {
			if slices.Contains([]byte(strconv.Itoa(i)), '1') {
				want++
			}
		}
		if err != nil || cursor != 0 || len(keys) != want {
			t.Fatalf("SSCAN ints MATCH *1* = %d members, cursor %d, %v; want %d, cursor 0", len(keys), cursor, err, want)
		}

		// Valkey's regression test for issue #4906: members 0..99 stay for
		// the whole scan, the rest go at some point; 0..99 must be found.
		for k := range 20 {
			rdb.Del(ctx, "set")
			rdb.SAdd(ctx, "set", "x")
			var toRemove []any
			numele := 201 + 37*k
			for j := range numele {
				rdb.SAdd(ctx, "set", j)
				if j >= 100 {
					toRemove = append(toRemove, j)
				}
			}
			found := map[string]bool{}
			cursor, iteration, delAt := uint64(0), 0, k%10
			for {
				var items []string
				items, cursor, err = rdb.SScan(ctx, "set", cursor, "", 10).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range items {
					found[m] = true
				}
				iteration++
				if iteration == delAt {
					rdb.SRem(ctx, "set", toRemove...)
				}
				if cursor == 0 {
					break
				}
			}
			for j := range 100 {
				if !found[strconv.Itoa(j)] {
					t.Fatalf("round %d: SSCAN missed %d", k, j)
				}
			}
		}

		for _, e := range []struct {
			args []any
			want string
		}{
			{[]any{"sscan", "small", "0", "novalues"}, "ERR NOVALUES option can only be used in HSCAN"},
			{[]any{"sscan", "small", "0", "noscores"}, "ERR NOSCORES option can only be used in ZSCAN"},
			{[]any{"sscan", "small", "0", "count", "0"}, "ERR syntax error"},
			{[]any{"sscan", "small", "0", "count"}, "ERR syntax error"},
			{[]any{"sscan", "small", "abc"}, "ERR invalid cursor"},
			{[]any{"sscan", "nokey", "0", "bogus"}, ""},
		} {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Fatalf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
	})
}

func TestSetEffects(t *testing.T) {
	cases := []struct {
		name  string
		setup [][]string
		cmd   []string
		want  []string
	}{
		{"sadd repeated member", nil, []string{"sadd", "s", "a", "a"}, []string{"sadd:a"}},
		{"sadd existing member", [][]string{{"sadd", "s", "a"}}, []string{"sadd", "s", "a", "b"}, []string{"sadd:b"}},
		{"srem repeated member", [][]string{{"sadd", "s", "a", "b"}}, []string{"srem", "s", "a", "a"}, []string{"srem:a"}},
		{"srem last member deletes the key", [][]string{{"sadd", "s", "a"}}, []string{"srem", "s", "a", "x"}, []string{"srem:a", "expire:"}},
		{"spop all", [][]string{{"sadd", "s", "a", "b"}}, []string{"spop", "s", "5"}, []string{"srem:a", "srem:b", "expire:"}},
		{"smove to a set holding the member", [][]string{{"sadd", "s", "a", "b"}, {"sadd", "d", "a"}}, []string{"smove", "s", "d", "a"}, []string{"srem:a"}},
		{"smove same set", [][]string{{"sadd", "s", "a"}}, []string{"smove", "s", "s", "a"}, nil},
		{"sinterstore overwrites", [][]string{{"sadd", "s", "a", "b"}, {"sadd", "d", "x"}}, []string{"sinterstore", "d", "s"}, []string{"del:", "sadd:a", "sadd:b"}},
		{"sunionstore into nothing", [][]string{{"sadd", "s", "a"}}, []string{"sunionstore", "d", "s", "s"}, []string{"sadd:a"}},
		{"sdiffstore empty", [][]string{{"sadd", "s", "a"}}, []string{"sdiffstore", "s", "s", "s"}, []string{"del:"}},
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

func TestSetWrongType(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		rdb.Set(ctx, "s", "x", 0)
		for _, args := range [][]any{
			{"sadd", "s", "a"}, {"srem", "s", "a"}, {"sismember", "s", "a"}, {"smismember", "s", "a"},
			{"smembers", "s"}, {"scard", "s"}, {"spop", "s"}, {"spop", "s", "2"}, {"spop", "s", "0"},
			{"srandmember", "s"}, {"srandmember", "s", "0"}, {"sscan", "s", "0"},
		} {
			if got := hashErr(ctx, rdb, args...); got != hashWrongType {
				t.Errorf("%v: error %q, want WRONGTYPE", args, got)
			}
		}
		for _, e := range []struct {
			args []any
			want string
		}{
			{[]any{"sadd", "s"}, "ERR wrong number of arguments for 'sadd' command"},
			{[]any{"srem", "s"}, "ERR wrong number of arguments for 'srem' command"},
			{[]any{"smismember", "s"}, "ERR wrong number of arguments for 'smismember' command"},
			{[]any{"smove", "a", "b"}, "ERR wrong number of arguments for 'smove' command"},
			{[]any{"sinter"}, "ERR wrong number of arguments for 'sinter' command"},
			{[]any{"sinterstore", "d"}, "ERR wrong number of arguments for 'sinterstore' command"},
			{[]any{"spop", "s", "x"}, "ERR value is out of range, must be positive"}, // parsed before the lookup
		} {
			if got := hashErr(ctx, rdb, e.args...); got != e.want {
				t.Errorf("%v: error %q, want %q", e.args, got, e.want)
			}
		}
	})
}
