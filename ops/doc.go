// Package ops is Meridian's composition root: the meridian CLI, its
// configuration (flags, MERIDIAN_* environment variables, a config file),
// logging, the Prometheus registry and the /metrics and /health endpoint.
// It is the only package that may call os.Exit or log.Fatal, and the only
// one that parses flags.
//
// Usage:
//
//	meridian server [--port 6379] [--http 127.0.0.1:9121] [--config file] ...
//	meridian version
//	meridian help [command]
//
// From Go, a node runs in the same three steps the CLI takes:
//
//	cfg, err := ops.LoadConfig(args, os.LookupEnv, os.Stderr) // or ops.DefaultConfig()
//	node, err := ops.Start(cfg, logger)                       // binds, starts serving
//	err = node.Serve(ctx)                                     // until ctx ends, then Shutdown
//
// A node wires storage.Store, an hlc.Clock, the single-node executor
// eval.Local, server.Server, an active-expiry goroutine and the HTTP
// endpoint. Raft regions (`meridian region ...`) will replace eval.Local by
// regional.Group here; the subcommand name is reserved.
package ops
