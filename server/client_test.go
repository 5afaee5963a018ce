package server_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/servertest"
)

// clientLine matches one CLIENT LIST line in Valkey 7.2's format.
var clientLine = regexp.MustCompile(`^id=(\d+) addr=(127\.0\.0\.1:\d+) laddr=(127\.0\.0\.1:\d+) fd=\d+ name=(\S*) age=\d+ idle=\d+ flags=(\w+) db=(\d+) sub=(\d+) psub=(\d+) ssub=(\d+) multi=(-?\d+) qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=\d+ rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ omem=\d+ tot-mem=\d+ events=r cmd=(\S+) user=default redir=-1 resp=([23]) lib-name=(\S*) lib-ver=(\S*)$`)

// clientFields parses CLIENT LIST output into one map per line.
func clientFields(t *testing.T, list string) []map[string]string {
	t.Helper()
	if !strings.HasSuffix(list, "\n") {
		t.Fatalf("CLIENT LIST output %q does not end with a newline", list)
	}
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSuffix(list, "\n"), "\n") {
		if !clientLine.MatchString(line) {
			t.Fatalf("line %q is not in Valkey's format", line)
		}
		m := map[string]string{}
		for _, f := range strings.Split(line, " ") {
			k, v, _ := strings.Cut(f, "=")
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

func TestClientIDNameInfo(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		id, err := rdb.ClientID(ctx).Result()
		if err != nil || id <= 0 {
			t.Fatalf("CLIENT ID = %d, %v", id, err)
		}
		other := srv.Client(t, 2)
		if id2 := other.ClientID(ctx).Val(); id2 <= id {
			t.Fatalf("second client's id %d is not above %d", id2, id)
		}
		// No name yet: a null reply.
		if err := rdb.Do(ctx, "client", "getname").Err(); err != redis.Nil {
			t.Fatalf("GETNAME without a name: %v", err)
		}
		if err := rdb.Do(ctx, "client", "setname", "worker-1").Err(); err != nil {
			t.Fatal(err)
		}
		if v := rdb.Do(ctx, "client", "getname").Val(); v != "worker-1" {
			t.Fatalf("GETNAME = %v", v)
		}
		wantErr(t, "space in name", rdb.Do(ctx, "client", "setname", "a b").Err(),
			"ERR Client names cannot contain spaces, newlines or special characters.")
		info := clientFields(t, rdb.Do(ctx, "client", "info").Val().(string))
		if len(info) != 1 {
			t.Fatalf("CLIENT INFO has %d lines", len(info))
		}
		want := map[string]string{
			"id": strconv.FormatInt(id, 10), "name": "worker-1", "flags": "N", "db": "0",
			"multi": "-1", "cmd": "client|info", "resp": strconv.Itoa(rdb.Options().Protocol),
		}
		for k, v := range want {
			if info[0][k] != v {
				t.Errorf("CLIENT INFO %s = %q, want %q", k, info[0][k], v)
			}
		}
		// An empty name clears it.
		if err := rdb.Do(ctx, "client", "setname", "").Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Do(ctx, "client", "getname").Err(); err != redis.Nil {
			t.Fatalf("GETNAME after clearing: %v", err)
		}
	})
}

func TestClientList(t *testing.T) {
	srv := servertest.Start(t)
	ctx := t.Context()
	rdb := srv.Client(t, 2)
	sub := dialRaw(t, srv)
	sub.want("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n", "subscribe", "news")
	inMulti := dialRaw(t, srv)
	inMulti.do("select", "3")
	inMulti.want("+OK\r\n", "multi")
	inMulti.want("+QUEUED\r\n", "set", "k", "v")
	resp3 := srv.Client(t, 3)
	resp3.Do(ctx, "client", "setinfo", "lib-name", "go-redis")

	list := rdb.Do(ctx, "client", "list").Val().(string)
	lines := clientFields(t, list)
	if len(lines) != 4 {
		t.Fatalf("CLIENT LIST has %d lines, want 4:\n%s", len(lines), list)
	}
	tests := []struct {
		name string
		line map[string]string
		want map[string]string
	}{
		// The caller's qbuf holds its request, "*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n".
		{"caller", lines[0], map[string]string{"flags": "N", "cmd": "client|list", "resp": "2", "multi": "-1", "qbuf": "26"}},
		// A subscriber is flagged P and counts its channels.
		{"subscriber", lines[1], map[string]string{"flags": "P", "sub": "1", "psub": "0", "cmd": "subscribe"}},
		// A client in MULTI is flagged x; multi counts queued commands.
		{"multi", lines[2], map[string]string{"flags": "x", "multi": "1", "db": "3", "cmd": "set"}},
		{"resp3", lines[3], map[string]string{"resp": "3", "lib-name": "go-redis", "cmd": "client|setinfo"}},
	}
	for _, tt := range tests {
		for k, v := range tt.want {
			if tt.line[k] != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, k, tt.line[k], v)
			}
		}
	}
	// Lines are in id order.
	for i := 1; i < len(lines); i++ {
		a, _ := strconv.Atoi(lines[i-1]["id"])
		b, _ := strconv.Atoi(lines[i]["id"])
		if a >= b {
			t.Fatalf("ids out of order: %d then %d", a, b)
		}
	}

	// Filters.
	pubsub := clientFields(t, rdb.Do(ctx, "client", "list", "type", "pubsub").Val().(string))
	if len(pubsub) != 1 || pubsub[0]["id"] != lines[1]["id"] {
		t.Fatalf("TYPE pubsub = %v", pubsub)
	}
	if v := rdb.Do(ctx, "client", "list", "type", "master").Val(); v != "" {
		t.Fatalf("TYPE master = %q, want empty", v)
	}
	byID := clientFields(t, rdb.Do(ctx, "client", "list", "id", lines[3]["id"], "999999", lines[0]["id"]).Val().(string))
	if len(byID) != 2 || byID[0]["id"] != lines[3]["id"] || byID[1]["id"] != lines[0]["id"] {
		t.Fatalf("ID filter = %v", byID)
	}
	wantErr(t, "unknown type", rdb.Do(ctx, "client", "list", "type", "robot").Err(), "ERR Unknown client type 'robot'")
	wantErr(t, "bad id", rdb.Do(ctx, "client", "list", "id", "x").Err(), "ERR Invalid client ID")
	wantErr(t, "bad option", rdb.Do(ctx, "client", "list", "foo").Err(), "ERR syntax error")

	// In RESP3 CLIENT LIST and CLIENT INFO are verbatim strings.
	r3 := dialRaw(t, srv)
	r3.do("hello", "3")
	if got := r3.do("client", "info"); !strings.HasPrefix(got, "=") || !strings.Contains(got, "\r\ntxt:id=") {
		t.Fatalf("RESP3 CLIENT INFO = %q, want a verbatim string", got)
	}
	// In RESP2 they are bulk strings.
	if got := sub.do("ping"); got != "*2\r\n$4\r\npong\r\n$0\r\n\r\n" {
		t.Fatalf("subscribed PING = %q", got)
	}
}

func TestClientKill(t *testing.T) {
	srv := servertest.Start(t)
	ctx := t.Context()
	admin := srv.Client(t, 2)
	myID := admin.ClientID(ctx).Val()

	victim := dialRaw(t, srv)
	victimID := victim.do("client", "id")
	admin.Do(ctx, "ping")
	// Kill by ID: the count, and the victim's connection closes.
	if n, err := admin.Do(ctx, "client", "kill", "id", strings.Trim(victimID, ":\r\n")).Int(); n != 1 || err != nil {
		t.Fatalf("KILL ID = %d, %v", n, err)
	}
	victim.expectClosed()

	// Old form: an address, replying OK, or an error when nobody matches.
	victim = dialRaw(t, srv)
	victim.do("ping")
	addr := victim.nc.LocalAddr().String()
	if err := admin.Do(ctx, "client", "kill", addr).Err(); err != nil {
		t.Fatalf("KILL addr: %v", err)
	}
	victim.expectClosed()
	wantErr(t, "kill unknown addr", admin.Do(ctx, "client", "kill", "10.0.0.1:1").Err(), "ERR No such client")

	// Filters combine; SKIPME (default yes) spares the caller.
	a, b := dialRaw(t, srv), dialRaw(t, srv)
	a.do("ping")
	b.do("ping")
	if n := admin.Do(ctx, "client", "kill", "user", "default").Val(); n != int64(2) {
		t.Fatalf("KILL USER default = %v, want 2 (everyone but the caller)", n)
	}
	a.expectClosed()
	b.expectClosed()
	if n := admin.Do(ctx, "client", "kill", "id", strconv.FormatInt(myID, 10)).Val(); n != int64(0) {
		t.Fatalf("KILL own ID with SKIPME yes = %v, want 0", n)
	}
	// LADDR is the server's side of the connection: everyone here.
	a = dialRaw(t, srv)
	a.do("ping")
	if n := admin.Do(ctx, "client", "kill", "laddr", srv.Addr).Val(); n != int64(1) {
		t.Fatalf("KILL LADDR = %v, want 1", n)
	}
	a.expectClosed()
	if n := admin.Do(ctx, "client", "kill", "laddr", "127.0.0.1:1", "skipme", "no").Val(); n != int64(0) {
		t.Fatalf("KILL LADDR elsewhere = %v, want 0", n)
	}
	sub := dialRaw(t, srv)
	sub.do("subscribe", "x")
	normal := dialRaw(t, srv)
	normal.do("ping")
	if n := admin.Do(ctx, "client", "kill", "type", "pubsub").Val(); n != int64(1) {
		t.Fatalf("KILL TYPE pubsub = %v", n)
	}
	sub.expectClosed()
	normal.want("+PONG\r\n", "ping")

	errs := []struct {
		args []any
		msg  string
	}{
		{[]any{"client", "kill", "id", "0"}, "ERR client-id should be greater than 0"},
		{[]any{"client", "kill", "id", "x"}, "ERR client-id should be greater than 0"},
		{[]any{"client", "kill", "type", "robot"}, "ERR Unknown client type 'robot'"},
		{[]any{"client", "kill", "user", "alice"}, "ERR No such user 'alice'"},
		{[]any{"client", "kill", "skipme", "maybe"}, "ERR syntax error"},
		{[]any{"client", "kill", "color", "red"}, "ERR syntax error"},
		// Filters come in pairs.
		{[]any{"client", "kill", "id", "1", "type"}, "ERR syntax error"},
	}
	for _, e := range errs {
		wantErr(t, "kill", admin.Do(ctx, e.args...).Err(), e.msg)
	}
}

func TestClientKillSelf(t *testing.T) {
	srv := servertest.Start(t)
	other := dialRaw(t, srv)
	other.do("ping")
	self := dialRaw(t, srv)
	self.want("+PONG\r\n", "ping")
	if got := self.do("client", "kill", "skipme", "no"); got != ":2\r\n" {
		t.Fatalf("KILL SKIPME no = %q", got)
	}
	self.expectClosed()
	other.expectClosed()
}

func TestClientSetinfoAndModes(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"client", "setinfo", "lib-name", "redis-py"}, "+OK\r\n"},
		{[]string{"client", "setinfo", "LIB-VER", "5.0.1"}, "+OK\r\n"},
		{[]string{"client", "setinfo", "lib-name", "a b"}, "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"},
		{[]string{"client", "setinfo", "color", "red"}, "-ERR Unrecognized option 'color'\r\n"},
		{[]string{"client", "setinfo", "lib-name"}, "-ERR wrong number of arguments for 'client|setinfo' command\r\n"},
		{[]string{"client", "no-evict", "on"}, "+OK\r\n"},
		{[]string{"client", "no-touch", "on"}, "+OK\r\n"},
		{[]string{"client", "no-touch", "maybe"}, "-ERR syntax error\r\n"},
		{[]string{"client", "nosuch"}, "-ERR unknown subcommand 'nosuch'. Try CLIENT HELP.\r\n"},
		{[]string{"client"}, "-ERR wrong number of arguments for 'client' command\r\n"},
	}
	for _, s := range steps {
		if got := c.do(s.args...); got != s.want {
			t.Errorf("%q = %q, want %q", s.args, got, s.want)
		}
	}
	info := c.do("client", "info")
	for _, want := range []string{" flags=eT ", " lib-name=redis-py ", " lib-ver=5.0.1\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("CLIENT INFO %q lacks %q", info, want)
		}
	}
	help := c.do("client", "help")
	if !strings.HasPrefix(help, "*") || !strings.Contains(help, "+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n") {
		t.Fatalf("CLIENT HELP = %q", help)
	}
}

func TestClientReply(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	// OFF: nothing comes back, not even errors, until ON.
	c.send(encodeCommand("client", "reply", "off") + encodeCommand("set", "k", "1") + encodeCommand("nosuch") +
		encodeCommand("client", "reply", "on"))
	c.expect("+OK\r\n")
	// SKIP: drops only the next command's reply.
	c.send(encodeCommand("client", "reply", "skip") + encodeCommand("get", "k") + encodeCommand("echo", "seen"))
	c.expect(bulk("seen"))
	c.want("-ERR syntax error\r\n", "client", "reply", "maybe")
}

func TestReset(t *testing.T) {
	srv := servertest.Start(t, func(cfg *server.Config) { cfg.RequirePass = "secret" })
	c := dialRaw(t, srv)
	other := dialRaw(t, srv)
	other.want("+OK\r\n", "auth", "secret")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"auth", "secret"}, "+OK\r\n"},
		{[]string{"client", "setname", "before"}, "+OK\r\n"},
		{[]string{"client", "no-evict", "on"}, "+OK\r\n"},
		{[]string{"select", "5"}, "+OK\r\n"},
		{[]string{"watch", "w"}, "+OK\r\n"},
		{[]string{"multi"}, "+OK\r\n"},
		{[]string{"set", "k", "v"}, "+QUEUED\r\n"},
		// RESET runs at once even inside MULTI.
		{[]string{"reset"}, "+RESET\r\n"},
		// With requirepass, RESET also forgets the authentication.
		{[]string{"get", "k"}, "-NOAUTH Authentication required.\r\n"},
		{[]string{"auth", "secret"}, "+OK\r\n"},
		// The transaction was discarded.
		{[]string{"exec"}, "-ERR EXEC without MULTI\r\n"},
		{[]string{"client", "getname"}, "$-1\r\n"},
	}
	for _, s := range steps {
		if got := c.do(s.args...); got != s.want {
			t.Fatalf("%q = %q, want %q", s.args, got, s.want)
		}
	}
	info := clientFields(t, bulkBody(t, c.do("client", "info")))[0]
	for k, v := range map[string]string{"db": "0", "name": "", "flags": "N", "resp": "2", "multi": "-1"} {
		if info[k] != v {
			t.Errorf("after RESET %s = %q, want %q", k, info[k], v)
		}
	}
	// The WATCH went too: another client's write no longer aborts EXEC.
	other.want("+OK\r\n", "set", "w", "1")
	c.want("+OK\r\n", "multi")
	if got := c.do("exec"); got != "*0\r\n" {
		t.Fatalf("EXEC after RESET dropped the watch = %q", got)
	}

	// RESET leaves RESP3 and subscriptions; it is allowed while subscribed.
	r := dialRaw(t, srv)
	r.do("hello", "3", "auth", "default", "secret")
	r.want(">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", "subscribe", "ch")
	r.want("+RESET\r\n", "reset")
	r.want("+OK\r\n", "auth", "secret")
	// Not subscribed any more, and RESP2 again (a null is $-1, not _).
	r.want("$-1\r\n", "get", "nosuch")
	other.want("*2\r\n$2\r\nch\r\n:0\r\n", "pubsub", "numsub", "ch")
}

func TestTime(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		tm, err := rdb.Time(t.Context()).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(tm); d < -time.Second || d > time.Second {
			t.Fatalf("TIME is %v away from now", d)
		}
		wantErr(t, "arity", rdb.Do(t.Context(), "time", "x").Err(), "ERR wrong number of arguments for 'time' command")
	})
}
