package checker

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// SetOptions configures [Set].
type SetOptions struct {
	// Realtime also checks reads made during the run, as a linearizable
	// set must answer them (one region). When false only final reads are
	// checked (eventually consistent, across regions).
	Realtime bool
	// MaxListed bounds how many elements one anomaly line names; zero
	// means 10.
	MaxListed int
}

// elemFate is what the history says about one set element.
type elemFate struct {
	add, remove *history.Op // the last attempt of each, if any
}

// Set checks FAdd, FRemove and FMembers ops on each key. Elements must be
// unique per key, and the workload removes only elements whose add was
// acknowledged. Every checked read must:
//   - contain each element whose add was acknowledged before the read
//     started (for a final read: acknowledged at all) and that no remove
//     (acknowledged, indeterminate or in flight) targeted before the read
//     ended — otherwise the element was lost;
//   - not contain an element whose remove was acknowledged before the read
//     started — otherwise a removed element came back;
//   - not contain an element nobody tried to add.
func Set(h history.History, opts SetOptions) Result {
	res := Result{Checker: "set"}
	if opts.MaxListed == 0 {
		opts.MaxListed = 10
	}
	byKey := h.Filter(func(op history.Op) bool {
		return op.F == history.FAdd || op.F == history.FRemove || op.F == history.FMembers
	}).ByKey()
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		checkSetKey(&res, key, byKey[key], opts)
	}
	res.finish()
	return res
}

func checkSetKey(res *Result, key string, ops history.History, opts SetOptions) {
	fates := make(map[string]*elemFate)
	fate := func(e string) *elemFate {
		f := fates[e]
		if f == nil {
			f = &elemFate{}
			fates[e] = f
		}
		return f
	}
	var reads history.History
	var acked, maybe, removed int
	for i := range ops {
		op := &ops[i]
		e, _ := op.Value.(string)
		switch {
		case op.F == history.FMembers:
			if op.Type == history.OK && (op.Final || opts.Realtime) {
				reads = append(reads, *op)
			}
		case op.Type == history.Fail:
		case op.F == history.FAdd:
			fate(e).add = op
			if op.Type == history.OK {
				acked++
			} else {
				maybe++
			}
		case op.F == history.FRemove:
			fate(e).remove = op
			if op.Type == history.OK {
				removed++
			}
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("key %q: %d acked adds, %d indeterminate adds, %d acked removes, %d reads checked",
		key, acked, maybe, removed, len(reads)))
	elems := make([]string, 0, len(fates))
	for e := range fates {
		elems = append(elems, e)
	}
	sort.Strings(elems)
	for _, r := range reads {
		seen := make(map[string]bool)
		members, _ := r.Value.([]string)
		for _, m := range members {
			seen[m] = true
		}
		var lost, back, unexpected []string
		for _, e := range elems {
			f := fates[e]
			if seen[e] {
				if f.remove != nil && f.remove.Type == history.OK && (r.Final || f.remove.End < r.Start) {
					back = append(back, e)
				}
				continue
			}
			if f.add == nil || f.add.Type != history.OK || !(r.Final || f.add.End < r.Start) {
				continue // not certainly added before the read
			}
			if f.remove != nil && f.remove.Start <= r.End {
				continue // a remove may have happened first
			}
			lost = append(lost, e)
		}
		for _, m := range members {
			if fates[m] == nil || fates[m].add == nil {
				unexpected = append(unexpected, m)
			}
		}
		sort.Strings(unexpected)
		kind := "read"
		if r.Final {
			kind = "final read"
		}
		where := fmt.Sprintf("%s #%d on %s", kind, r.Index, r.Node)
		if len(lost) > 0 {
			res.Anomalies = append(res.Anomalies, fmt.Sprintf("key %q: %s lost %d acknowledged element(s): %s", key, where, len(lost), list(lost, opts.MaxListed)))
		}
		if len(back) > 0 {
			res.Anomalies = append(res.Anomalies, fmt.Sprintf("key %q: %s has %d removed element(s) back: %s", key, where, len(back), list(back, opts.MaxListed)))
		}
		if len(unexpected) > 0 {
			res.Anomalies = append(res.Anomalies, fmt.Sprintf("key %q: %s has %d element(s) never added: %s", key, where, len(unexpected), list(unexpected, opts.MaxListed)))
		}
	}
}

func list(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, " ")
	}
	return strings.Join(s[:n], " ") + fmt.Sprintf(" ... (%d more)", len(s)-n)
}
