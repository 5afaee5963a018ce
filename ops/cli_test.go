package ops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server"
)

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // in stdout
		stderr string // in stderr
	}{
		{name: "no command", args: nil, code: 2, stderr: "Usage:"},
		{name: "version", args: []string{"version"}, code: 0, stdout: "meridian " + server.Version},
		{name: "help", args: []string{"help"}, code: 0, stdout: "meridian <command>"},
		{name: "help server", args: []string{"help", "server"}, code: 0, stdout: "MERIDIAN_PROTO_MAX_BULK_LEN"},
		{name: "server --help", args: []string{"server", "--help"}, code: 0, stderr: "--http"},
		{name: "unknown command", args: []string{"serve"}, code: 2, stderr: `unknown command "serve"`},
		{name: "region", args: []string{"region"}, code: 2, stderr: "meridian region <command>"},
		{name: "region unknown", args: []string{"region", "split"}, code: 2, stderr: `unknown command "split"`},
		{name: "help region", args: []string{"help", "region"}, code: 0, stdout: "bootstrap --nodes"},
		{name: "region bootstrap --help", args: []string{"region", "bootstrap", "--help"}, code: 0, stdout: "-if-new"},
		{name: "bootstrap without nodes", args: []string{"region", "bootstrap"}, code: 2, stderr: "--nodes is required"},
		{name: "bootstrap bad url", args: []string{"region", "bootstrap", "--nodes", "ftp://x"}, code: 2, stderr: "not a node URL"},
		{name: "join without node", args: []string{"region", "join"}, code: 2, stderr: "--node is required"},
		{name: "leave without id", args: []string{"region", "leave"}, code: 2, stderr: "--node-id is required"},
		{name: "help region lists link", args: []string{"help", "region"}, code: 0, stdout: "link NAME ADDR[,ADDR...] --id ID"},
		{name: "region link --help", args: []string{"region", "link", "--help"}, code: 0, stdout: "-wait"},
		{name: "region links --help", args: []string{"region", "links", "--help"}, code: 0, stdout: "LAG_SECONDS"},
		{name: "link without id", args: []string{"region", "link", "west", "127.0.0.1:8479"}, code: 2, stderr: "--id is required"},
		{name: "links stray arg", args: []string{"region", "links", "west"}, code: 2, stderr: `unexpected argument "west"`},
		{name: "members bad flag", args: []string{"region", "members", "--nope"}, code: 2, stderr: "flag provided but not defined"},
		{name: "status stray arg", args: []string{"status", "x"}, code: 2, stderr: `unexpected argument "x"`},
		{name: "help status", args: []string{"help", "status"}, code: 0, stdout: "meridian status [--http URL]"},
		// Nothing listens on port 1: one line, exit 1.
		{name: "status unreachable", args: []string{"status", "--http", "127.0.0.1:1"}, code: 1, stderr: "connection refused"},
		{name: "bad flag", args: []string{"server", "--port", "x"}, code: 2, stderr: "meridian help server"},
		{name: "invalid config", args: []string{"server", "--maxclients", "0"}, code: 2, stderr: "maxclients"},
		// The configuration is valid but the node cannot start.
		{name: "cannot listen", args: []string{"server", "--bind", "192.0.2.1", "--port", "0", "--http", ""}, code: 1, stderr: "cannot start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(t.Context(), tt.args, env(nil), &stdout, &stderr, nil)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}

// TestRunServerUntilSignal runs `meridian server` as Main does, serves a
// client, then cancels the context as SIGTERM would.
func TestRunServerUntilSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr strings.Builder
	vars := map[string]string{"MERIDIAN_HTTP": "127.0.0.1:0", "MERIDIAN_LOG_LEVEL": "debug"}
	served := make(chan error, 1)
	ready := func(n *Node) {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr().String(), Protocol: 2, DisableIdentity: true, MaxRetries: -1})
		defer rdb.Close()
		err := rdb.Set(ctx, "k", "v", 0).Err()
		if err == nil {
			err = rdb.Get(ctx, "k").Err()
		}
		served <- err
		cancel() // SIGTERM
	}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"server", "--port", "0"}, env(vars), &strings.Builder{}, &stderr, ready)
	}()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code = %d, want 0\n%s", code, stderr.String())
		}
	case <-time.After(2 * ShutdownTimeout):
		t.Fatal("meridian server did not stop after cancel")
	}
	if err := <-served; err != nil {
		t.Errorf("SET/GET: %v", err)
	}
	for _, want := range []string{`msg="meridian started"`, `msg="shutting down"`, `msg="meridian stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, stderr.String())
		}
	}
}
