package server_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/servertest"
)

func TestCommandInfo(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		// go-redis parses Valkey 7's ten-element entries.
		infos, err := rdb.Command(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name              string
			arity             int8
			flags, acl        []string
			first, last, step int8
		}{
			{"get", 2, []string{"readonly", "fast"}, []string{"@read", "@string", "@fast"}, 1, 1, 1},
			{"set", -3, []string{"write", "denyoom"}, []string{"@write", "@string", "@slow"}, 1, 1, 1},
			// A container has no flags and is @slow.
			{"client", -2, []string{}, []string{"@slow"}, 0, 0, 0},
			{"watch", -2, []string{"noscript", "loading", "stale", "fast", "allow_busy"}, []string{"@fast", "@transaction"}, 1, -1, 1},
			{"ping", -1, []string{"fast"}, []string{"@fast", "@connection"}, 0, 0, 0},
		}
		for _, tt := range tests {
			got := infos[tt.name]
			if got == nil {
				t.Fatalf("no entry for %s", tt.name)
			}
			if got.Arity != tt.arity || got.FirstKeyPos != tt.first || got.LastKeyPos != tt.last || got.StepCount != tt.step {
				t.Errorf("%s = arity %d keys %d %d %d", tt.name, got.Arity, got.FirstKeyPos, got.LastKeyPos, got.StepCount)
			}
			if !sameSet(got.Flags, tt.flags) {
				t.Errorf("%s flags = %v, want %v", tt.name, got.Flags, tt.flags)
			}
			if !sameSet(got.ACLFlags, tt.acl) {
				t.Errorf("%s ACL categories = %v, want %v", tt.name, got.ACLFlags, tt.acl)
			}
		}
		// COMMAND describes every command; COMMAND COUNT counts them.
		all := infos
		n, _ := rdb.Do(ctx, "command", "count").Int()
		if n != len(all) || n != len(protocol.All()) {
			t.Fatalf("COMMAND COUNT = %d, COMMAND has %d, table has %d", n, len(all), len(protocol.All()))
		}
		// An unknown name gets a null entry.
		v, err := rdb.Do(ctx, "command", "info", "nosuch", "get").Slice()
		if err != nil || len(v) != 2 || v[0] != nil || v[1] == nil {
			t.Fatalf("COMMAND INFO nosuch get = %v, %v", v, err)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestCommandInfoShape(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	want2 := "*1\r\n*10\r\n$4\r\necho\r\n:2\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n"
	c.want(want2, "command", "info", "echo")
	c.do("hello", "3")
	// Flags, categories and tips are sets in RESP3; key specs an array;
	// no subcommands is an empty set.
	want3 := "*1\r\n*10\r\n$4\r\necho\r\n:2\r\n~1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@fast\r\n+@connection\r\n~0\r\n*0\r\n~0\r\n"
	c.want(want3, "command", "info", "echo")
	// A container lists its subcommands as full entries.
	got := c.do("command", "info", "config")
	if !strings.Contains(got, "$10\r\nconfig|get\r\n:-3\r\n") || !strings.Contains(got, "$10\r\nconfig|set\r\n:-4\r\n") {
		t.Fatalf("COMMAND INFO config = %q", got)
	}
	c.want("*1\r\n_\r\n", "command", "info", "nosuch")
}

func TestCommandDocs(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		v, err := rdb.Do(ctx, "command", "docs", "get", "nosuch", "client|id").Result()
		if err != nil {
			t.Fatal(err)
		}
		docs := toMap(t, rdb, v)
		if len(docs) != 2 {
			t.Fatalf("COMMAND DOCS = %v, want get and client|id only", docs)
		}
		get := toMap(t, rdb, docs["get"])
		if get["summary"] != "Returns the string value of a key." || get["since"] != "1.0.0" || get["group"] != "string" {
			t.Fatalf("docs of get = %v", get)
		}
		if g := toMap(t, rdb, docs["client|id"])["group"]; g != "connection" {
			t.Fatalf("docs of client|id group = %v", g)
		}
		pubsub := toMap(t, rdb, toMap(t, rdb, rdb.Do(ctx, "command", "docs", "pubsub").Val())["pubsub"])
		subs := toMap(t, rdb, pubsub["subcommands"])
		if _, ok := subs["pubsub|numsub"]; !ok {
			t.Fatalf("PUBSUB docs lack subcommands: %v", pubsub)
		}
		all := toMap(t, rdb, rdb.Do(ctx, "command", "docs").Val())
		if len(all) != len(protocol.All()) {
			t.Fatalf("COMMAND DOCS has %d entries, want %d", len(all), len(protocol.All()))
		}
	})
}

// toMap turns a map reply (RESP3) or a flat array (RESP2) into a map.
func toMap(t *testing.T, rdb *redis.Client, v any) map[string]any {
	t.Helper()
	out := map[string]any{}
	switch v := v.(type) {
	case map[any]any:
		if rdb.Options().Protocol != 3 {
			t.Fatalf("map reply in RESP2")
		}
		for k, val := range v {
			out[k.(string)] = val
		}
	case []any:
		if rdb.Options().Protocol == 3 {
			t.Fatalf("array reply where RESP3 has a map")
		}
		for i := 0; i+1 < len(v); i += 2 {
			out[v[i].(string)] = v[i+1]
		}
	default:
		t.Fatalf("reply %T is not a map", v)
	}
	return out
}

func TestCommandGetKeysAndList(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"command", "getkeys", "set", "k", "v"}, "*1\r\n$1\r\nk\r\n"},
		{[]string{"command", "getkeys", "del", "a", "b", "c"}, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"},
		{[]string{"command", "getkeys", "nosuch", "k"}, "-ERR Invalid command specified\r\n"},
		{[]string{"command", "getkeys", "ping"}, "-ERR The command has no key arguments\r\n"},
		{[]string{"command", "getkeys", "get"}, "-ERR Invalid number of arguments specified for command\r\n"},
		{[]string{"command", "getkeys", "get", "a", "b"}, "-ERR Invalid number of arguments specified for command\r\n"},
		{[]string{"command", "getkeys", "client", "nosuch"}, "-ERR Invalid command specified\r\n"},
		{[]string{"command", "getkeys"}, "-ERR wrong number of arguments for 'command|getkeys' command\r\n"},
		{[]string{"command", "list", "filterby", "pattern", "client|s*"}, "*2\r\n$14\r\nclient|setinfo\r\n$14\r\nclient|setname\r\n"},
		{[]string{"command", "list", "filterby", "module", "json"}, "*0\r\n"},
		{[]string{"command", "list", "filterby", "color", "x"}, "-ERR syntax error\r\n"},
		{[]string{"command", "list", "extra"}, "-ERR syntax error\r\n"},
		{[]string{"command", "nosuch"}, "-ERR unknown subcommand 'nosuch'. Try COMMAND HELP.\r\n"},
	}
	for _, s := range steps {
		if got := c.do(s.args...); got != s.want {
			t.Errorf("%q = %q, want %q", s.args, got, s.want)
		}
	}
	list := c.do("command", "list")
	for _, want := range []string{bulk("get"), bulk("client"), bulk("client|list"), bulk("config|get")} {
		if !strings.Contains(list, want) {
			t.Errorf("COMMAND LIST lacks %q", want)
		}
	}
	pubsub := c.do("command", "list", "filterby", "aclcat", "pubsub")
	if !strings.Contains(pubsub, bulk("publish")) || strings.Contains(pubsub, bulk("get")) {
		t.Errorf("COMMAND LIST FILTERBY ACLCAT pubsub = %q", pubsub)
	}
	if help := c.do("command", "help"); !strings.Contains(help, "+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n") {
		t.Errorf("COMMAND HELP = %q", help)
	}
}
