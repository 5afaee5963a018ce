// Package interregion links the regions of a Meridian region set: each
// region ships the committed entries of its own Raft log to every other
// region over gRPC, merges what the others ship it, catches a region up by
// state transfer when its cursor is compacted away, and computes the
// tombstone GC frontier (DESIGN.md, "Data flow of one write", steps 5 and
// 6). It decides no merge rule: storage does.
//
// The package has two layers, in the manner of etcd-io/raft:
//
//   - [Replica], a deterministic state machine that one goroutine steps with
//     [Message]s (time comes in as MsgTick) and that answers with a [Ready]:
//     messages for peers, batches for the local region to merge, state
//     transfers to fetch, a new GC frontier. It keeps, for every peer, the
//     cursor of the local log it ships (next, acknowledged), what the local
//     region has applied of the peer's log, and the peer's applied vector.
//     interregiontest.Network drives replicas in memory with seeded loss,
//     duplication, delay and partitions.
//   - [Link], the gRPC driver: it serves the Link service of
//     interregion/proto (Hello, Ship, StateTransfer), keeps one client
//     stream to each peer, and runs each Ready against the local region,
//     with go-grpc-middleware's auth (the region-set token), logging
//     (slog), recovery and Prometheus interceptors, and optional mutual
//     TLS.
//
// The local region is reached through interfaces this package declares and
// regional implements: [Log] (read committed entries), [Applier] (propose a
// merged batch through the region's Raft log; report what is applied of
// each region), [Exporter] (export the state for a transfer), and the
// optional [Heartbeater] (on the Log) and [Stabilizer] (on the Applier).
//
// # Usage
//
// On the leader of each region (regional starts the link when it becomes
// leader and closes it when it stops being leader):
//
//  1. Implement Log over the Raft log: ReadCommitted returns committed
//     entries with Origin set to the local region id for entries of local
//     commands (and Stamp to their largest stamp), Origin 0 for everything
//     else, and ErrCompacted below the first index kept.
//  2. Implement Applier in the FSM: ApplyRemote proposes a [Batch] as one
//     entry; the FSM merges it only if it continues exactly what it has
//     applied of the batch's origin, and records applied[origin] =
//     {Last, Closed} in its state (so snapshots and new leaders keep it).
//     State batches merge with storage.Store.ApplyState and raise the
//     records. Implement Stabilizer by proposing the frontier, which the
//     FSM passes to storage.Store.SetStable when it applies it.
//  3. Implement Exporter over a snapshot of the FSM: it calls
//     storage.Store.ExportEffects and returns the log index and the
//     applied records of that snapshot.
//  4. Fill a [Config] (DefaultConfig, then identity, peers, token, TLS,
//     registry, logger) and call [NewLink]; call [Link.Serve] with the
//     link listener, [Link.Notify] after each commit (optional: the link
//     polls the log every tick), and [Link.Close] when leadership ends.
//
// # The protocol
//
// A region ships its log to a peer from the peer's cursor on, in batches
// that cover a range of indexes and carry the entries of local origin in
// it (entries merged from other regions are never shipped again), with the
// origin's closed stamp and its applied vector. The receiver accepts a
// batch that continues what it has queued, holds back entries whose list
// items have not arrived yet (see HAZARD), hands the rest to the Applier,
// and acknowledges what is durably applied; a gap gets a reject that
// rewinds the sender, and a sender that hears nothing for RetryTicks
// rewinds to what was acknowledged (go-back-N). Hello tells a reconnecting
// sender where to resume. A sender whose log no longer holds the cursor
// says so, and the receiver pulls a StateTransfer: the sender's exported
// state with the log index and applied vector it stands for, after which
// shipping resumes from that index.
//
// HAZARD: last writer wins by stamp, and stamps order by HLC wall time,
// then logical counter, then region id, then node id (hlc.Timestamp.Compare).
// Two regions can write one element in the same millisecond with the same
// logical counter; the region id breaks the tie, the same way everywhere,
// so that every region picks the same winner whatever order the writes
// arrive in. A region's clock running ahead wins ties it should not:
// entries stamped more than Config.MaxClockOffset ahead of local time are
// counted and logged (EventClockAhead), and merged anyway.
//
// HAZARD: a tombstone may be dropped (storage.Store.SetStable) only once
// every region has applied every effect stamped at or before it; otherwise
// a late write stamped before the delete comes back to life. The frontier
// a Replica hands out is the smallest, over every region X and every
// region Y of the set, of the closed stamp of what X has applied of Y's
// log: X has applied Y's log up to some index, and every effect Y stamps
// after that index is stamped later, because a region's own stamps grow
// along its log (a new leader stamps nothing before a barrier has applied
// its whole log). A region that has not reported holds the frontier at
// zero, so adding a region to the set stops GC until it has caught up. An
// idle region's closed stamp moves only with heartbeat entries: without a
// Heartbeater it holds every region's frontier at its last write. The
// frontier must reach the store through the log (Stabilizer), so that
// every node of a region compacts alike; and duplicates must never be
// merged after the tombstones they could revive are gone, which is why
// the FSM applies a batch only when it continues exactly what it applied,
// and why a state transfer merges with ApplyState.
//
// HAZARD: list effects need causal delivery. An insert after an item, or
// the removal or LSET of an item, means nothing before the item's insert
// has arrived. Items are named by the stamp of the command that inserted
// them, so a receiver holds back an entry naming an item of region Z until
// what it has applied of Z is closed at or after that stamp. Under a
// partition between Z and this region, entries of a third region that
// name Z's new items wait for Z. List tombstones need more than the
// frontier: an insert names the item it goes after, and a region that
// compacted that item cannot place it. The evaluator names only live items
// (storage.List.LastLive), and list tombstones are compacted only behind a
// second frontier (storage.Store.SetFrontiers): every entry of local
// origin carries its evaluation frontier (Entry.Frontier: the region had
// applied every effect stamped at or before it when it evaluated the
// entry), ShipRequest carries the largest of a batch, a receiver records
// it per peer (PeerStatus.Frontier) once the entries are applied, and the
// list frontier is the smallest of those, of the region's own evaluation
// frontier and of the GC frontier. See storage/list.go for why that
// converges.
package interregion
