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
	exitError = 1 // the server or a CLI command failed
	exitUsage = 2 // bad command line or configuration
)

const mainUsage = `Meridian is a Valkey-compatible, multi-region key-value store.

Usage:

	meridian <command> [arguments]

Commands:

	server     run a node (with --raft: a member of a region; without: a single node)
	region     form a region, change its members, link it to other regions
	           (bootstrap, join, leave, members, link, unlink, links)
	status     print a node's role, its region's leader, indexes and members' health
	version    print the version
	help       print help for a command

Run 'meridian help <command>' for a command's flags.
`

const serverUsage = `Usage: meridian server [flags]

Runs a node: RESP on --bind:--port; /metrics, /health and the admin API
(/v1/...) on --http. Without --raft it is a single node (no Raft, data in
memory); with --raft it is a member of a region, its Raft log and
snapshots in --data-dir. A new region node waits to be bootstrapped
('meridian region bootstrap') or joined ('meridian region join'), unless
--bootstrap-single forms a one-node region. SIGINT or SIGTERM shuts it
down gracefully (a leader hands leadership over first).

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
	case "region":
		return runRegion(ctx, rest, stdout, stderr)
	case "status":
		return runStatus(ctx, rest, stdout, stderr)
	case "help", "--help", "-h":
		if len(rest) > 0 {
			switch rest[0] {
			case "server":
				LoadConfig([]string{"--help"}, lookupEnv, stdout)
				return exitOK
			case "region":
				fmt.Fprint(stdout, regionUsage)
				return exitOK
			case "status":
				return runStatus(ctx, []string{"--help"}, stdout, stderr)
			}
		}
		fmt.Fprint(stdout, mainUsage)
		return exitOK
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
	case errors.Is(err, ErrRemoved):
		// Not a failure: an operator removed the node. Exiting 0 keeps a
		// supervisor from restarting it (it would stop again at once).
		log.Info("stopped: this node was removed from its region; its id can never join again")
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
