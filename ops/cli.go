package ops

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/meridian-kv/meridian/server"
)

// Exit codes of Main.
const (
	exitOK    = 0
	exitError = 1 // the server failed
	exitUsage = 2 // bad command line or configuration
)

const mainUsage = `Meridian is a Valkey-compatible, multi-region key-value store.

Usage:

	meridian <command> [arguments]

Commands:

	server     run a node (single-node mode: no Raft, data in memory)
	version    print the version
	help       print help for a command

Reserved for Raft regions (not yet implemented):

	region     bootstrap, join and link regions

Run 'meridian help server' for the server's settings.
`

const serverUsage = `Usage: meridian server [flags]

Runs a single-node server: RESP on --bind:--port, /metrics and /health on
--http. SIGINT or SIGTERM shuts it down gracefully.

Every flag is also an environment variable (MERIDIAN_PORT, ...) and a
config-file directive ("port 6380"). Later sources win: defaults, the
config file, the environment, flags.

Flags:
`

// Main runs the meridian CLI with args (without the program name) and
// returns the process exit code. SIGINT and SIGTERM end `meridian server`
// gracefully.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.LookupEnv, os.Stdout, os.Stderr, nil)
}

// run is Main with its environment passed in. ready, if not nil, is called
// with the started node (tests).
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer, ready func(*Node)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "server":
		return runServer(ctx, rest, lookupEnv, stderr, ready)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "meridian %s (valkey-compatible %s, %s %s/%s)\n",
			server.Version, server.RedisVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "help", "--help", "-h":
		if len(rest) > 0 && rest[0] == "server" {
			LoadConfig([]string{"--help"}, lookupEnv, stdout)
			return exitOK
		}
		fmt.Fprint(stdout, mainUsage)
		return exitOK
	case "region":
		fmt.Fprintln(stderr, "meridian region: Raft regions are not implemented yet; run 'meridian server' for a single node")
		return exitUsage
	default:
		fmt.Fprintf(stderr, "meridian: unknown command %q\n\n%s", cmd, mainUsage)
		return exitUsage
	}
}

func runServer(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer, ready func(*Node)) int {
	cfg, err := LoadConfig(args, lookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "meridian server: %v\nRun 'meridian help server' for its settings.\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	node, err := Start(cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitError
	}
	if ready != nil {
		ready(node)
	}
	err = node.Serve(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.DeadlineExceeded):
		// Busy connections were closed after ShutdownTimeout: the
		// shutdown still completed.
		log.Warn("shutdown timed out, closed busy connections", "timeout", ShutdownTimeout)
		return exitOK
	default:
		log.Error("server failed", "err", err)
		return exitError
	}
}
