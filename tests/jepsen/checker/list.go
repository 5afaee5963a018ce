package checker

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// ListOptions configures [List].
type ListOptions struct {
	// Realtime also checks reads made during the run against real time,
	// as a linearizable list must answer them (one region): a read sees
	// every append acknowledged before it started and everything an
	// earlier-completed read saw, and appends acknowledged one after the
	// other are in that order. When false only the shape of the reads
	// (one total order, no duplicates) and the final reads are checked
	// (eventually consistent, across regions).
	Realtime bool
	// SameFinal also requires every final read of a key to be identical:
	// the same values in the same order on every node (linked regions,
	// read after they converged and no push is in flight). Without it
	// final reads need only be prefixes of one order.
	SameFinal bool
	// MaxListed bounds how many elements one anomaly line names; zero
	// means 10.
	MaxListed int
}

// List checks FAppend and FList ops on each key, in the manner of Elle's
// list-append checker. Appended values must be unique per key. Then:
//   - every read is a prefix of one total order per key (the longest
//     read): no read disagrees with another about any position, so no
//     duplicates, no reordering, no value missing in the middle;
//   - no read contains a value nobody appended, a value whose append
//     certainly failed, or a value appended only after the read ended;
//   - every final read contains every acknowledged append, exactly once;
//     an indeterminate append appears at most once (in any read);
//   - with SameFinal: every final read of a key is the same list;
//   - with Realtime: a read contains every append acknowledged before it
//     started, and everything a read that completed before it started
//     saw; and if append a was acknowledged before append b was invoked,
//     a precedes b in the order.
func List(h history.History, opts ListOptions) Result {
	res := Result{Checker: "list"}
	if opts.MaxListed == 0 {
		opts.MaxListed = 10
	}
	byKey := h.Filter(func(op history.Op) bool {
		return op.F == history.FAppend || op.F == history.FList
	}).ByKey()
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		checkListKey(&res, key, byKey[key], opts)
	}
	res.finish()
	return res
}

// end returns op's completion time, or +inf for an op whose outcome is
// unknown (it may take effect at any time after its invocation).
func end(op history.Op) int64 {
	if op.Type == history.OK || op.Type == history.Fail {
		return op.End
	}
	return math.MaxInt64
}

func checkListKey(res *Result, key string, ops history.History, opts ListOptions) {
	anomaly := func(format string, args ...any) {
		res.Anomalies = append(res.Anomalies, fmt.Sprintf("key %q: ", key)+fmt.Sprintf(format, args...))
	}
	appends := make(map[string]history.Op)
	var reads, finals history.History
	var acked, maybe int
	for _, op := range ops {
		switch op.F {
		case history.FAppend:
			v, _ := op.Value.(string)
			if prev, dup := appends[v]; dup {
				anomaly("value %q appended twice (ops #%d and #%d): the workload must append unique values", v, prev.Index, op.Index)
			}
			appends[v] = op
			switch op.Type {
			case history.OK:
				acked++
			case history.Info, history.Invoke:
				maybe++
			}
		case history.FList:
			if op.Type != history.OK {
				continue
			}
			if op.Final {
				finals = append(finals, op)
			}
			if op.Final || opts.Realtime {
				reads = append(reads, op)
			}
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("key %q: %d acked appends, %d indeterminate, %d reads checked (%d final)",
		key, acked, maybe, len(reads), len(finals)))
	where := func(r history.Op) string {
		kind := "read"
		if r.Final {
			kind = "final read"
		}
		return fmt.Sprintf("%s #%d on %s", kind, r.Index, r.Node)
	}
	val := func(r history.Op) []string { v, _ := r.Value.([]string); return v }

	// Each read on its own: duplicates, unknown, failed or future values.
	for _, r := range reads {
		seen := make(map[string]bool)
		var dups, unknown, failed, future []string
		for _, v := range val(r) {
			if seen[v] {
				dups = append(dups, v)
			}
			seen[v] = true
			a, ok := appends[v]
			switch {
			case !ok:
				unknown = append(unknown, v)
			case a.Type == history.Fail:
				failed = append(failed, v)
			case a.Start > r.End:
				future = append(future, v)
			}
		}
		if len(dups) > 0 {
			anomaly("%s has %d duplicated value(s): %s", where(r), len(dups), list(dups, opts.MaxListed))
		}
		if len(unknown) > 0 {
			anomaly("%s has %d value(s) never appended: %s", where(r), len(unknown), list(unknown, opts.MaxListed))
		}
		if len(failed) > 0 {
			anomaly("%s has %d value(s) whose append failed: %s", where(r), len(failed), list(failed, opts.MaxListed))
		}
		if len(future) > 0 {
			anomaly("%s has %d value(s) appended only after it ended: %s", where(r), len(future), list(future, opts.MaxListed))
		}
	}

	// One total order: every read is a prefix of the longest.
	var order []string
	for _, r := range reads {
		if len(val(r)) > len(order) {
			order = val(r)
		}
	}
	for _, r := range reads {
		v := val(r)
		if i := mismatch(v, order); i >= 0 {
			anomaly("%s disagrees with the longest read at position %d: %s, not %s (incompatible orders)",
				where(r), i, at(v, i), at(order, i))
		}
	}

	// Final reads: every acknowledged append (once: no duplicates, see
	// above). Final reads need not be equal: an indeterminate append may
	// still commit between two of them; they are prefixes of one order.
	for _, r := range finals {
		in := make(map[string]bool, len(val(r)))
		for _, v := range val(r) {
			in[v] = true
		}
		var lost []string
		for v, a := range appends {
			if a.Type == history.OK && !in[v] {
				lost = append(lost, v)
			}
		}
		if len(lost) > 0 {
			slices.Sort(lost)
			anomaly("%s lost %d acknowledged append(s): %s", where(r), len(lost), list(lost, opts.MaxListed))
		}
	}

	if opts.SameFinal && len(finals) > 0 {
		first := finals[0]
		for _, r := range finals[1:] {
			if slices.Equal(val(r), val(first)) {
				continue
			}
			i := mismatch(val(r), val(first))
			if i < 0 {
				i = len(val(r))
			}
			anomaly("%s differs from %s: %d values, not %d; first difference at position %d: %s, not %s",
				where(r), where(first), len(val(r)), len(val(first)), i, at(val(r), i), at(val(first), i))
		}
	}

	if !opts.Realtime {
		return
	}
	// A read sees every append acknowledged before it started.
	for _, r := range reads {
		in := make(map[string]bool, len(val(r)))
		for _, v := range val(r) {
			in[v] = true
		}
		var lost []string
		for v, a := range appends {
			if a.Type == history.OK && a.End < r.Start && !in[v] {
				lost = append(lost, v)
			}
		}
		if len(lost) > 0 {
			slices.Sort(lost)
			anomaly("%s misses %d append(s) acknowledged before it started: %s", where(r), len(lost), list(lost, opts.MaxListed))
		}
	}
	// A read sees everything an earlier-completed read saw. Reads are
	// prefixes of one order (checked above), so it is enough that the
	// later read is not shorter; take the longest read completed before
	// each read starts.
	byEnd := slices.Clone(reads)
	sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].End < byEnd[j].End })
	byStart := slices.Clone(reads)
	sort.Slice(byStart, func(i, j int) bool { return byStart[i].Start < byStart[j].Start })
	var longest history.Op
	have, j := false, 0
	for _, r := range byStart {
		for ; j < len(byEnd) && byEnd[j].End < r.Start; j++ {
			if !have || len(val(byEnd[j])) > len(val(longest)) {
				longest, have = byEnd[j], true
			}
		}
		if have && len(val(r)) < len(val(longest)) {
			anomaly("%s saw %d values, but %s, completed before it started, saw %d (stale read; first missing %s)",
				where(r), len(val(r)), where(longest), len(val(longest)), at(val(longest), len(val(r))))
		}
	}
	// Appends in real-time order appear in that order: no value x_i
	// ordered before x_j whose append was acknowledged (x_j's) before
	// x_i's was invoked.
	minEnd, minAt := int64(math.MaxInt64), ""
	for i := len(order) - 1; i >= 0; i-- {
		a, ok := appends[order[i]]
		if !ok {
			continue
		}
		if minEnd < a.Start {
			anomaly("value %q is ordered before %q, but the append of %q was acknowledged before the append of %q was invoked",
				order[i], minAt, minAt, order[i])
			break
		}
		if e := end(a); e < minEnd {
			minEnd, minAt = e, order[i]
		}
	}
}

// mismatch returns the first position at which a is not a prefix of b,
// or -1.
func mismatch(a, b []string) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func at(s []string, i int) string {
	if i < len(s) {
		return fmt.Sprintf("%q", s[i])
	}
	return "nothing"
}
