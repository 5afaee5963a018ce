// Package ops is Meridian's composition root: the meridian CLI, its
// configuration (flags, MERIDIAN_* environment variables, a config file),
// logging, the Prometheus registry, the HTTP endpoint (/metrics, /health
// and the admin API under /v1/) and the wiring of a node. It is the only
// package that may call os.Exit or log.Fatal, and the only one that
// parses flags.
//
// Usage:
//
//	meridian server [--port 6379] [--http 127.0.0.1:9121] [--config file] ...
//	meridian server --raft 127.0.0.1:7379 --node-id n1 --data-dir data/n1 ...
//	meridian region bootstrap --nodes http://h1:9121,http://h2:9121,http://h3:9121
//	meridian region join --http http://h1:9121 --node http://h4:9121
//	meridian region leave --http http://h1:9121 --node-id n4
//	meridian region members --http http://h2:9121
//	meridian server --raft ... --link 10.0.0.1:8379 (MERIDIAN_LINK_TOKEN=secret)
//	meridian region link west 10.1.0.1:8379,10.1.0.2:8379 --id 2 --http http://h1:9121
//	meridian region unlink west --http http://h1:9121
//	meridian region links --http http://h1:9121 [--json]
//	meridian status --http http://h3:9121 [--json]
//	meridian version
//	meridian help [command]
//
// From Go, a node runs in the same three steps the CLI takes:
//
//	cfg, err := ops.LoadConfig(args, os.LookupEnv, os.Stderr) // or ops.DefaultConfig()
//	node, err := ops.Start(cfg, logger)                       // binds, starts serving
//	err = node.Serve(ctx)                                     // until ctx ends, then Shutdown
//
// Without --raft a node is single: storage.Store, an hlc.Clock, the
// executor eval.Local, server.Server, an active-expiry goroutine and the
// HTTP endpoint. With --raft it is a member of a region: the executor is
// a regional.Group over --data-dir (the leader expires keys), INFO
// replication shows the Raft view, /metrics adds meridian_raft_*, and the
// admin API forms the region and changes its members.
//
// The admin API is reachable two ways: on --http for operators and the
// CLI, and on the Raft port for other nodes (a connection that opens with
// the byte 'H', beside regional's 'R' and 'F'; see raftport.go). Nodes
// only know each other's Raft addresses, so this is how a follower
// forwards a join or leave to the leader and how GET /v1/region/members
// asks every member for its status: the CLI may name any member.
//
// With --link a region node also listens on a link port (gRPC, package
// interregion): whichever node leads runs the links to the peer regions
// recorded in the region's log (`meridian region link`, forwarded to the
// leader like join), and INFO replication, `meridian status` and
// /v1/region/links report each peer's connection and lag. The link port
// checks the region set's token (--link-token) and, with --link-tls-*,
// mutual TLS.
//
// HAZARD: the Raft port, like the HTTP endpoint, has no authentication:
// anyone who reaches it can change the region's membership (and, through
// forwarded requests, its data). Keep both on a private network.
package ops
