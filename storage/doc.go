// Package storage is Meridian's keyspace: [NumDBs] databases of keys that
// hold strings, hashes, sets, sorted sets and lists, in which every
// element carries the [hlc.Timestamp] of the write that made it, removals
// leave tombstones, and counters keep their increments one by one until
// they are stable.
//
// A [Store] changes only through [Store.Apply], which merges a batch of
// [Effect]s. The same merge serves a region's own Raft log and the batches
// of other regions, and it is commutative, associative and idempotent:
// stores that apply the same effects, in any order and any number of
// times, agree on every read and on [Store.Digest] (DESIGN.md, "Merge
// rules").
//
// Usage:
//
//  1. Make a store with [NewStore], or restore one with [ReadSnapshot].
//  2. Read through a [Reader] fixed at an instant, in Unix ms, against
//     which expiry is judged: r := s.At(now); o := r.Get(db, key). The
//     [Object]s a Reader returns belong to the store: do not modify them
//     or keep them past the lock under which they were read.
//  3. Turn each command into effects that all carry the command's stamp,
//     and apply them: s.Apply(logIndex, effects). [AppendEffects] and
//     [DecodeEffects] put them in and out of log entries.
//  4. Call [Store.SetStable] when every region has applied every effect
//     up to a stamp (on a single node: the stamp of each batch, before
//     applying it). Across regions call [Store.SetFrontiers] instead, with
//     a second, later frontier for list tombstones. Tombstones and
//     increments up to the frontiers are then compacted, key by key, as
//     Apply touches the keys (or all at once with [Store.Compact]);
//     [Store.Tombstones] counts what is left. Across regions, call
//     [Store.ExpireStable] right after SetFrontiers too: keys whose
//     deadline the frontier passed expire there (a single region deletes
//     expired keys with OpDel effects instead).
//  5. Write snapshots with [Store.WriteSnapshot]: they hold every
//     element with its stamps, tombstones included, so a restored store
//     merges exactly like the original. To write one while Apply goes on,
//     take a view with [Store.Freeze] (a copy of the key maps, nothing
//     encoded), write it with [Frozen.WriteSnapshot] on any goroutine,
//     and [Frozen.Release] it: the bytes are those WriteSnapshot gave at
//     the Freeze.
//
// A Store is not safe for concurrent use: its owner serialises Apply with
// every read. A [Frozen] view is the exception: while one is alive, the
// store copies an object before its first change (copy on write), so the
// view never sees a change. storagetest generates effects from several regions and
// compares stores, for tests of this package and of its users.
//
// Merge rules, as [Store.Apply] implements them:
//
//   - Strings, hash fields, set members and sorted-set scores are
//     [Register]s: the write with the larger stamp wins (stamps order by
//     wall time, logical counter, region, node); a removal kills what is
//     stamped before it; a write stamped like a removal (one command that
//     deletes and writes) survives it.
//   - Counters: increments stamped after the base add up, whatever region
//     made them; a new base (SET, HSET, ZADD) hides the increments
//     stamped before it.
//   - A key-level delete (OpDel, and OpFlushDB for a database) raises a
//     floor: every element, and the TTL, stamped before it dies; writes
//     stamped before it that arrive later are dropped.
//   - The TTL is a register of its own (OpExpire; deadline 0 persists).
//     Between regions a key expires by the merged state, not by a
//     delete: once the stable frontier passes the deadline of the TTL
//     write in force there, [Store.ExpireStable] deletes the key at the
//     deadline's stamp, the same in every region (see ttl.go). The
//     object keeps the TTL writes that decision may still need.
//   - Type conflicts: the key takes the type of its newest write, removals
//     included, and every write also deletes the elements of other types
//     stamped before it (see applyToObject).
//   - Lists are a sequence CRDT: every item has an id, an insert names
//     the item it goes after, removed items stay as tombstones, and an
//     item once removed stays removed (see [List]).
//
// HAZARD: stamps identify writes. Every effect of one command carries
// the command's stamp, and no two commands may share one: the HLC's
// region and node ids see to that, so never stamp effects by hand in
// production code. A command must never name one element twice (HSET h f
// 1 f 2 must emit only f=2): two writes of one element with one stamp are
// resolved by value (the larger wins), not by their order in the batch.
//
// HAZARD: list effects need causal delivery. An insert whose reference
// item, or an LSET or removal whose item, has not arrived yet cannot be
// placed, and the regions diverge; the inter-region layer must deliver an
// item's insert before any effect that names it. A key whose type flips
// between list and another type concurrently may also diverge: the list's
// tombstones go with the list when another type wins, and an LSET or a
// removal of an item that is no longer there leaves no stamp to take part
// in the type contest.
//
// HAZARD: a tombstone may go only once no effect stamped before it can
// still arrive, or a late write comes back to life (an HSET stamped
// before an HDEL, applied after the field's tombstone was dropped). That
// is what [Store.SetStable] promises: pass it a stamp only when every
// region has applied every effect stamped at or before it. A list
// tombstone needs more: no insert still to come may name it. Evaluators
// name live items only ([List.LastLive], [List.LiveBefore]; never
// [List.Last] or [List.Before]), and the list frontier of
// [Store.SetFrontiers] must be a stamp such that every effect still to
// come was evaluated by a region that had applied every effect stamped at
// or before it (see [List] for why that converges). Effects delivered
// twice must not be stamped at or before the frontier either: duplicates
// are harmless only while tombstones remain.
package storage
