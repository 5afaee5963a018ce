package checker

import (
	"fmt"
	"sort"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// CounterOptions configures [Counter].
type CounterOptions struct {
	// Realtime also checks reads made while increments were running, as a
	// linearizable counter must answer them (one region). When false only
	// final reads are checked (eventually consistent, across regions).
	Realtime bool
}

// Counter checks FIncr and FCount ops on each key: every checked read
// must lie between the sum of the increments that certainly happened
// before it and that sum plus every increment that may have happened.
//
// For a final read (taken after every increment finished) the bounds are
// exactly "sum of acknowledged increments, plus at most the sum of
// indeterminate ones". For a read during the run (Realtime), an
// acknowledged increment that completed before the read started is
// certain; one concurrent with the read, or indeterminate and invoked
// before the read ended, may or may not be counted; one invoked after the
// read ended, or failed, must not be. A negative increment widens the
// lower bound the way a positive one widens the upper bound. An absent
// key reads as 0.
func Counter(h history.History, opts CounterOptions) Result {
	res := Result{Checker: "counter"}
	byKey := h.Filter(func(op history.Op) bool {
		return op.F == history.FIncr || op.F == history.FCount
	}).ByKey()
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		checkCounterKey(&res, key, byKey[key], opts)
	}
	res.finish()
	return res
}

func checkCounterKey(res *Result, key string, ops history.History, opts CounterOptions) {
	var incrs, reads history.History
	for _, op := range ops {
		if op.F == history.FIncr {
			incrs = append(incrs, op)
		} else if op.Type == history.OK {
			reads = append(reads, op)
		}
	}
	var acked, maybeUp, maybeDown int64
	var nOK, nInfo int
	for _, in := range incrs {
		d, _ := in.Value.(int64)
		switch in.Type {
		case history.OK:
			acked += d
			nOK++
		case history.Info, history.Invoke:
			maybeUp += max(d, 0)
			maybeDown += min(d, 0)
			nInfo++
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("key %q: %d acked increments (sum %d), %d indeterminate (+%d/%d): final must be in [%d, %d]",
		key, nOK, acked, nInfo, maybeUp, maybeDown, acked+maybeDown, acked+maybeUp))
	checked := 0
	for _, r := range reads {
		if !r.Final && !opts.Realtime {
			continue
		}
		checked++
		got, _ := r.Value.(int64) // nil (absent) reads as 0
		lo, hi := int64(0), int64(0)
		for _, in := range incrs {
			d, _ := in.Value.(int64)
			switch {
			case in.Type == history.Fail:
			case in.Start > r.End:
				// invoked after the read returned: cannot be counted
			case in.Type == history.OK && in.End < r.Start:
				lo += d
				hi += d
			default: // concurrent with the read, or indeterminate
				lo += min(d, 0)
				hi += max(d, 0)
			}
		}
		if got < lo || got > hi {
			kind := "read"
			if r.Final {
				kind = "final read"
			}
			res.Anomalies = append(res.Anomalies, fmt.Sprintf("key %q: %s %d outside [%d, %d]: %s", key, kind, got, lo, hi, r))
		}
	}
	if checked == 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("key %q: no successful read to check", key))
	}
}
