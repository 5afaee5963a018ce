package server_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

func TestConfigGet(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		_, port, _ := strings.Cut(srv.Addr, ":")
		tests := []struct {
			patterns []string
			want     map[string]string
		}{
			{[]string{"maxclients"}, map[string]string{"maxclients": "10000"}},
			{[]string{"databases"}, map[string]string{"databases": "16"}},
			{[]string{"proto-max-bulk-len"}, map[string]string{"proto-max-bulk-len": "536870912"}},
			{[]string{"port", "bind"}, map[string]string{"port": port, "bind": "127.0.0.1"}},
			// Globs, case-insensitively.
			{[]string{"MAX*"}, map[string]string{"maxclients": "10000", "maxmemory": "0", "maxmemory-policy": "noeviction"}},
			{[]string{"requirepas?"}, map[string]string{"requirepass": ""}},
			// A name that matches nothing adds nothing.
			{[]string{"no-such-param"}, map[string]string{}},
			{[]string{"databases", "nope*", "databases"}, map[string]string{"databases": "16"}},
		}
		for _, tt := range tests {
			got, err := configGet(t, rdb, tt.patterns...)
			if err != nil {
				t.Fatalf("CONFIG GET %q: %v", tt.patterns, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("CONFIG GET %q = %v, want %v", tt.patterns, got, tt.want)
			}
		}
		wantErr(t, "arity", rdb.Do(ctx, "config", "get").Err(), "ERR wrong number of arguments for 'config|get' command")
	})
}

// configGet runs CONFIG GET with several patterns and returns the reply
// as a map, from RESP2's flat array or RESP3's map.
func configGet(t *testing.T, rdb *redis.Client, patterns ...string) (map[string]string, error) {
	t.Helper()
	args := []any{"config", "get"}
	for _, p := range patterns {
		args = append(args, p)
	}
	v, err := rdb.Do(t.Context(), args...).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	switch v := v.(type) {
	case []any:
		if rdb.Options().Protocol == 3 {
			t.Fatalf("RESP3 reply is not a map")
		}
		for i := 0; i+1 < len(v); i += 2 {
			out[v[i].(string)] = v[i+1].(string)
		}
	case map[any]any:
		if rdb.Options().Protocol != 3 {
			t.Fatalf("RESP2 reply is a map")
		}
		for k, val := range v {
			out[k.(string)] = val.(string)
		}
	default:
		t.Fatalf("CONFIG GET reply %T", v)
	}
	return out, nil
}

func TestConfigGetShape(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	c.want("*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n", "config", "get", "maxclients")
	c.do("hello", "3")
	c.want("%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n", "config", "get", "maxclients")
	c.want("%0\r\n", "config", "get", "nothing*")
}

func TestConfigSet(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		steps := []struct {
			args []any
			err  string // "" for OK
		}{
			{args: []any{"config", "set", "maxclients", "500", "proto-max-bulk-len", "2mb"}},
			{args: []any{"config", "set", "nosuch", "1"}, err: "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
			{args: []any{"config", "set", "databases", "32"}, err: "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
			{args: []any{"config", "set", "databases", "16"}, err: "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
			// Fixed parameters accept their current value only.
			{args: []any{"config", "set", "save", "", "appendonly", "NO", "maxmemory-policy", "noeviction"}},
			{args: []any{"config", "set", "appendonly", "yes"}, err: "ERR CONFIG SET failed (possibly related to argument 'appendonly') - can't set immutable config"},
			{args: []any{"config", "set", "maxclients", "many"}, err: "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"},
			{args: []any{"config", "set", "maxclients", "0"}, err: "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"},
			{args: []any{"config", "set", "proto-max-bulk-len", "lots"}, err: "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value"},
			{args: []any{"config", "set", "proto-max-bulk-len", "1000"}, err: "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"},
			{args: []any{"config", "set", "maxclients", "7", "MAXCLIENTS", "8"}, err: "ERR CONFIG SET failed (possibly related to argument 'MAXCLIENTS') - duplicate parameter"},
			// Pairs only.
			{args: []any{"config", "set", "maxclients", "7", "port"}, err: "ERR wrong number of arguments for 'config|set' command"},
			{args: []any{"config", "set", "maxclients"}, err: "ERR wrong number of arguments for 'config|set' command"},
			// All or nothing: the valid first pair is not applied.
			{args: []any{"config", "set", "maxclients", "9", "proto-max-bulk-len", "x"}, err: "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value"},
		}
		for _, s := range steps {
			err := rdb.Do(ctx, s.args...).Err()
			if s.err == "" {
				if err != nil {
					t.Fatalf("%v: %v", s.args, err)
				}
				continue
			}
			wantErr(t, "CONFIG SET", err, s.err)
		}
		got := rdb.ConfigGet(ctx, "maxclients").Val()["maxclients"]
		if got != "500" {
			t.Fatalf("maxclients = %q, want 500 (later failed sets must change nothing)", got)
		}
		if got := rdb.ConfigGet(ctx, "proto-max-bulk-len").Val()["proto-max-bulk-len"]; got != "2097152" {
			t.Fatalf("proto-max-bulk-len = %q, want 2097152", got)
		}
	})
}

func TestConfigSetMaxClients(t *testing.T) {
	srv := servertest.Start(t)
	admin := dialRaw(t, srv)
	second := dialRaw(t, srv)
	second.want("+PONG\r\n", "ping")
	admin.want("+OK\r\n", "config", "set", "maxclients", "2")
	// A third client is refused with Valkey's error, then closed.
	third := dialRaw(t, srv)
	third.expect("-ERR max number of clients reached\r\n")
	third.expectClosed()
	// Existing clients are kept, and a slot freed is reusable.
	second.want("+PONG\r\n", "ping")
	second.nc.Close()
	eventually(t, "the second client to go", func() bool { return srv.Server.NumClients() == 1 })
	fourth := dialRaw(t, srv)
	fourth.want("+PONG\r\n", "ping")
	if got := admin.do("info", "stats"); !strings.Contains(got, "rejected_connections:1\r\n") {
		t.Fatalf("INFO stats lacks rejected_connections:1: %q", got)
	}
}

func TestConfigSetRequirePass(t *testing.T) {
	srv := servertest.Start(t)
	admin := dialRaw(t, srv)
	admin.want("+OK\r\n", "config", "set", "requirepass", "s3cret")
	// The connection that set it stays authenticated; new ones are not.
	admin.want("+PONG\r\n", "ping")
	c := dialRaw(t, srv)
	c.want("-NOAUTH Authentication required.\r\n", "get", "k")
	c.want("-WRONGPASS invalid username-password pair or user is disabled.\r\n", "auth", "wrong")
	c.want("+OK\r\n", "auth", "s3cret")
	c.want("$-1\r\n", "get", "k")
	admin.want("*2\r\n$11\r\nrequirepass\r\n$6\r\ns3cret\r\n", "config", "get", "requirepass")
	// Clearing it lets unauthenticated clients in again.
	admin.want("+OK\r\n", "config", "set", "requirepass", "")
	d := dialRaw(t, srv)
	d.want("$-1\r\n", "get", "k")
}

func TestConfigSetProtoMaxBulkLen(t *testing.T) {
	srv := servertest.Start(t)
	admin := dialRaw(t, srv)
	admin.want("+OK\r\n", "config", "set", "proto-max-bulk-len", "1mb")
	c := dialRaw(t, srv)
	c.want("+OK\r\n", "set", "k", strings.Repeat("x", 1<<20))
	c.send("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1048577\r\n")
	c.expect("-ERR Protocol error: invalid bulk length\r\n")
	c.expectClosed()
}

func TestConfigMisc(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	c.want("-ERR The server is running without a config file\r\n", "config", "rewrite")
	c.want("-ERR unknown subcommand 'nope'. Try CONFIG HELP.\r\n", "config", "nope")
	if help := c.do("config", "help"); !strings.Contains(help, "+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n") ||
		!strings.Contains(help, "+RESETSTAT\r\n") {
		t.Fatalf("CONFIG HELP = %q", help)
	}
	c.do("get", "a")
	c.do("nosuch")
	c.want("+OK\r\n", "config", "resetstat")
	stats := bulkBody(t, c.do("info", "stats"))
	// RESETSTAT is counted after it runs, as in Valkey; INFO after its reply.
	if !strings.Contains(stats, "total_commands_processed:1\r\n") || !strings.Contains(stats, "total_error_replies:0\r\n") {
		t.Fatalf("counters not reset: %q", stats)
	}
}
