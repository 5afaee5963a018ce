package server_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/servertest"
)

// infoHeaders returns the section names of an INFO text, in order.
func infoHeaders(t *testing.T, text string) []string {
	t.Helper()
	if text == "" {
		return nil
	}
	if !strings.HasSuffix(text, "\r\n") || strings.HasSuffix(text, "\r\n\r\n") {
		t.Fatalf("INFO text must end with exactly one CRLF: %q", text)
	}
	var out []string
	for i, sec := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n\r\n") {
		head, _, _ := strings.Cut(sec, "\r\n")
		if !strings.HasPrefix(head, "# ") {
			t.Fatalf("section %d starts with %q", i, head)
		}
		out = append(out, strings.TrimPrefix(head, "# "))
	}
	return out
}

var infoLineRE = regexp.MustCompile(`^[a-zA-Z0-9_|.-]+:[^\r\n]*$`)

func TestInfoSections(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		tests := []struct {
			args []any
			want []string
		}{
			{[]any{"info"}, []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Errorstats", "Cluster", "Keyspace"}},
			{[]any{"info", "default"}, []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Errorstats", "Cluster", "Keyspace"}},
			{[]any{"info", "all"}, []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Commandstats", "Errorstats", "Cluster", "Keyspace"}},
			{[]any{"info", "everything"}, []string{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Commandstats", "Errorstats", "Cluster", "Keyspace"}},
			// Several sections, any case, in Valkey's order.
			{[]any{"info", "KEYSPACE", "server"}, []string{"Server", "Keyspace"}},
			{[]any{"info", "replication"}, []string{"Replication"}},
			{[]any{"info", "nosuch"}, nil},
		}
		for _, tt := range tests {
			text, err := rdb.Do(ctx, tt.args...).Text()
			if err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			got := infoHeaders(t, text)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("%v sections = %v, want %v", tt.args, got, tt.want)
			}
			for _, line := range strings.Split(text, "\r\n") {
				if line != "" && !strings.HasPrefix(line, "# ") && !infoLineRE.MatchString(line) {
					t.Errorf("%v: malformed line %q", tt.args, line)
				}
			}
		}
		text := rdb.Info(ctx, "server").Val()
		if !strings.HasPrefix(text, "# Server\r\nredis_version:7.2.4\r\n") {
			t.Fatalf("INFO server starts %q", text[:min(len(text), 60)])
		}
		for _, want := range []string{"\r\nredis_mode:standalone\r\n", "\r\ntcp_port:", "\r\nrun_id:", "\r\nuptime_in_seconds:"} {
			if !strings.Contains(text, want) {
				t.Errorf("INFO server lacks %q", want)
			}
		}
		repl := rdb.Info(ctx, "replication").Val()
		if !strings.Contains(repl, "\r\nrole:master\r\nconnected_slaves:0\r\n") {
			t.Errorf("INFO replication = %q", repl)
		}
	})
}

func TestInfoKeyspaceAndClients(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		if got := rdb.Info(ctx, "keyspace").Val(); got != "# Keyspace\r\n" {
			t.Fatalf("empty keyspace = %q", got)
		}
		rdb.Set(ctx, "a", "1", 0)
		rdb.Set(ctx, "b", "1", time.Hour)
		other := srv.Client(t, 2)
		other.Do(ctx, "select", "2")
		other.Set(ctx, "c", "1", 0)
		want := "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\ndb2:keys=1,expires=0,avg_ttl=0\r\n"
		if got := rdb.Info(ctx, "keyspace").Val(); got != want {
			t.Fatalf("INFO keyspace = %q, want %q", got, want)
		}
		m := rdb.InfoMap(ctx, "clients").Val()["Clients"]
		if m["connected_clients"] != "2" || m["maxclients"] != "10000" {
			t.Fatalf("INFO clients = %v", m)
		}
		errCount := func() string {
			m := rdb.InfoMap(ctx, "errorstats").Val()["Errorstats"]
			return m["errorstat_ERR"]
		}
		before := errCount()
		rdb.Do(ctx, "nosuchcommand")
		rdb.Do(ctx, "get")
		after := errCount()
		if !(before == "" && after == "count=2" || before == "count=1" && after == "count=3") {
			t.Fatalf("errorstat_ERR went from %q to %q, want 2 more", before, after)
		}
		cmds := rdb.Info(ctx, "commandstats").Val()
		for _, re := range []string{
			`cmdstat_set:calls=3,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0\r\n`,
			// An arity error is a rejected call.
			`cmdstat_get:calls=0,usec=0,usec_per_call=0\.00,rejected_calls=1,failed_calls=0\r\n`,
		} {
			if !regexp.MustCompile(re).MatchString(cmds) {
				t.Errorf("INFO commandstats %q lacks %s", cmds, re)
			}
		}
	})
}

func TestInfoVerbatim(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	if got := c.do("info", "cluster"); got != "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n" {
		t.Fatalf("RESP2 INFO = %q", got)
	}
	c.do("hello", "3")
	if got := c.do("info", "cluster"); got != "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n" {
		t.Fatalf("RESP3 INFO = %q", got)
	}
}

func TestInfoHooks(t *testing.T) {
	srv := servertest.Start(t, func(cfg *server.Config) {
		cfg.Stats = func() server.Stats {
			return server.Stats{DBs: []server.DBStats{{Keys: 7, Expires: 3}}, UsedMemory: 2048}
		}
		cfg.Info = func() []server.InfoSection {
			return []server.InfoSection{{Name: "regional", Lines: []string{"region:2", "leader:yes"}}}
		}
	})
	rdb := srv.Client(t, 2)
	ctx := t.Context()
	if got := rdb.Info(ctx, "keyspace").Val(); got != "# Keyspace\r\ndb0:keys=7,expires=3,avg_ttl=0\r\n" {
		t.Fatalf("keyspace from the Stats hook = %q", got)
	}
	if got := rdb.Info(ctx, "memory").Val(); !strings.Contains(got, "\r\nused_memory:2048\r\nused_memory_human:2.00K\r\n") {
		t.Fatalf("memory from the Stats hook = %q", got)
	}
	if got := rdb.Info(ctx, "regional").Val(); got != "# Regional\r\nregion:2\r\nleader:yes\r\n" {
		t.Fatalf("extra section = %q", got)
	}
	if got := infoHeaders(t, rdb.Info(ctx).Val()); got[len(got)-1] != "Regional" {
		t.Fatalf("default INFO sections = %v, want the extra one last", got)
	}
}

// Valkey's "errorstats: failed call within MULTI/EXEC": commands count
// when EXEC runs them, each with its own reply.
func TestInfoStatsInsideExec(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	c.want("+OK\r\n", "config", "resetstat")
	c.want("+OK\r\n", "multi")
	c.want("+QUEUED\r\n", "set", "a", "b")
	c.want("+QUEUED\r\n", "auth", "a")
	c.want("+QUEUED\r\n", "incr", "a")
	c.want("*3\r\n+OK\r\n-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n-ERR value is not an integer or out of range\r\n", "exec")
	info := bulkBody(t, c.do("info", "commandstats", "errorstats", "stats"))
	for _, re := range []string{
		`cmdstat_set:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=0\r\n`,
		`cmdstat_auth:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=1\r\n`,
		`cmdstat_incr:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=1\r\n`,
		`cmdstat_exec:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=0\r\n`,
		`errorstat_ERR:count=2\r\n`,
		`total_error_replies:2\r\n`,
	} {
		if !regexp.MustCompile(re).MatchString(info) {
			t.Errorf("INFO lacks %s:\n%s", re, info)
		}
	}
	if !strings.Contains(info, "cmdstat_multi:calls=1") {
		t.Errorf("MULTI not counted:\n%s", info)
	}
}
