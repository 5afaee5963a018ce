// Package regional turns one node's keyspace into a member of a region: a
// hashicorp/raft group (log and stable store in raft-boltdb/v2 with a log
// cache, file snapshots) whose log holds evaluated effects (DESIGN.md, "Log
// entries are effects").
//
// Usage:
//
//  1. Open a node with a Config (node id, numeric region and node ids,
//     data dir, a listener for the Raft port).
//  2. Form the region once, from nodes with no state: Bootstrap on one
//     node with every member (or BootstrapSelf for a 1-node region). Nodes
//     added later call Join on the leader; they start as non-voters and the
//     leader promotes them once they have caught up.
//  3. Serve clients through the Group, which implements server.Executor:
//     Exec runs a request wherever it lands (followers forward to the
//     leader over the Raft port), ExecBatch runs a connection's pipeline.
//  4. Close the node: it hands leadership over first if it leads.
//
// The leader runs one evaluator: commands are evaluated in arrival order
// against the applied store plus an overlay of proposed-but-unapplied
// effects, the effects of many commands go into one log entry, and replies
// are released once that entry is applied. Reads are linearizable by
// default (ReadIndex: commit index, one shared VerifyLeader, wait for
// apply); a request marked Stale reads the local store.
//
// HAZARD: a new leader serves nothing until a barrier has applied its whole
// log, and its clock has been advanced past the store's last stamp, so
// stamps never go backwards along the log.
//
// HAZARD: a write whose entry was proposed but whose fate is unknown
// (leadership lost, time out) is answered ErrUncertain, never as a failure;
// ErrNoLeader means the command was not executed and may be retried.
//
// HAZARD: the FSM panics on a committed entry it cannot decode: a corrupt
// log must stop the node, not serve wrong data. Open verifies every log
// entry before starting for the same reason.
package regional
