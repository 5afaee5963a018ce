package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

func isPop(f history.F) bool { return f == history.FLPop || f == history.FRPop }

// ListPops checks FAppend (RPUSH of a value unique per run), [history.FLPop],
// [history.FRPop] and FList (LRANGE 0 -1) ops on each key, as lists that several
// active-active regions push to and pop from (docs/CONFLICTS.md,
// "Lists"):
//   - a pop returns an element that was pushed (acknowledged or
//     indeterminate) and whose push began before the pop ended;
//   - no element is popped twice in one region (a region's pops are
//     linearizable, and a popped element stays removed). Two regions
//     may both pop one element: "Pops are not exactly-once across
//     regions" (docs/CONFLICTS.md); such elements are counted in the
//     notes;
//   - no read holds an element twice, an element never pushed, whose
//     push failed, or pushed only after the read ended;
//   - no read holds an element whose pop was acknowledged in its region
//     before the read began; no final read one popped anywhere;
//   - a read holds every push acknowledged in its region before the
//     read began (a final read: every acknowledged push) that no
//     acknowledged pop begun before the read ended took, except at most
//     one per indeterminate pop begun before the read ended;
//   - every final read of a key is the same list.
func ListPops(h history.History, opts RegionOptions) Result {
	opts.fill()
	res := Result{Checker: "list-pops"}
	byKey := h.Filter(func(op history.Op) bool {
		return op.F == history.FAppend || op.F == history.FList || isPop(op.F)
	}).ByKey()
	var is issues
	var doubles []string
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		k := newPopsKey(key, byKey[key], opts, &is)
		doubles = append(doubles, k.checkPops()...)
		for _, r := range k.reads {
			k.checkRead(r)
		}
		sameFinals(&is, fmt.Sprintf("key %q", key), k.finals, func(op history.Op) []string {
			v, _ := op.Value.([]string)
			return v
		})
		res.Notes = append(res.Notes, k.note())
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d element(s) popped in both regions (legal: concurrent pops in two regions both return the element): %s",
		len(doubles), orNothing(list(doubles, opts.MaxListed))))
	is.flush(&res, opts.MaxListed)
	res.finish()
	return res
}

func orNothing(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// popsKey is one list's history.
type popsKey struct {
	key    string
	opts   RegionOptions
	is     *issues
	pushes map[string]history.Op
	values []string                   // pushes' values, sorted
	popsOf map[string]history.History // acknowledged pops by element
	maybe  history.History            // indeterminate pops
	empty  int                        // pops that found the list empty
	reads  history.History
	finals history.History
}

func newPopsKey(key string, ops history.History, opts RegionOptions, is *issues) *popsKey {
	k := &popsKey{key: key, opts: opts, is: is, pushes: make(map[string]history.Op), popsOf: make(map[string]history.History)}
	for _, op := range ops {
		switch {
		case op.F == history.FAppend:
			v, _ := op.Value.(string)
			if prev, dup := k.pushes[v]; dup {
				is.addf("value pushed twice", "key %q: %q by ops #%d and #%d (the workload must push unique values)", key, v, prev.Index, op.Index)
			}
			k.pushes[v] = op
		case op.F == history.FList:
			if op.Type != history.OK {
				continue
			}
			k.reads = append(k.reads, op)
			if op.Final {
				k.finals = append(k.finals, op)
			}
		case op.Type == history.OK:
			if v, ok := op.Value.(string); ok {
				k.popsOf[v] = append(k.popsOf[v], op)
			} else {
				k.empty++
			}
		case op.Type != history.Fail:
			k.maybe = append(k.maybe, op)
		}
	}
	k.values = slices.Sorted(maps.Keys(k.pushes))
	return k
}

// checkPops checks each acknowledged pop, and returns the elements
// popped in more than one region.
func (k *popsKey) checkPops() []string {
	var doubles []string
	for _, v := range slices.Sorted(maps.Keys(k.popsOf)) {
		pops := k.popsOf[v]
		for _, p := range pops {
			push, ok := k.pushes[v]
			switch {
			case !ok:
				k.is.addf("popped value never pushed", "key %q: pop #%d on %s returned %q", k.key, p.Index, p.Node, v)
			case push.Type == history.Fail:
				k.is.addf("popped value whose push failed", "key %q: pop #%d on %s returned %q of failed push #%d", k.key, p.Index, p.Node, v, push.Index)
			case push.Start > p.End:
				k.is.addf("value popped before it was pushed", "key %q: pop #%d on %s returned %q, pushed by #%d only after it ended", k.key, p.Index, p.Node, v, push.Index)
			}
		}
		byRegion := make(map[string][]string)
		for _, p := range pops {
			r := k.opts.Region(p.Node)
			byRegion[r] = append(byRegion[r], fmt.Sprintf("#%d on %s", p.Index, p.Node))
		}
		for _, r := range slices.Sorted(maps.Keys(byRegion)) {
			if len(byRegion[r]) > 1 {
				k.is.addf("value popped twice in one region", "key %q: %q popped %d times in region %s: %s",
					k.key, v, len(byRegion[r]), r, strings.Join(byRegion[r], ", "))
			}
		}
		if len(byRegion) > 1 {
			doubles = append(doubles, fmt.Sprintf("%s/%s", k.key, v))
		}
	}
	return doubles
}

// checkRead judges one read; see [ListPops].
func (k *popsKey) checkRead(r history.Op) {
	region := k.opts.Region(r.Node)
	// seenIn: r is final, or op was acknowledged in r's region before r began.
	seenIn := func(op history.Op) bool {
		return r.Final || (k.opts.Region(op.Node) == region && op.Type == history.OK && op.End < r.Start)
	}
	got, _ := r.Value.([]string)
	els := classifyRead(got, r, k.pushes)
	var back []string
	for _, v := range got {
		if slices.ContainsFunc(k.popsOf[v], seenIn) {
			back = append(back, v)
		}
	}
	var lost []string
	for _, v := range k.values {
		push := k.pushes[v]
		if els.seen[v] || push.Type != history.OK || !seenIn(push) {
			continue
		}
		if slices.ContainsFunc(k.popsOf[v], func(p history.Op) bool { return p.Start < r.End }) {
			continue // popped, in some region, before the read ended
		}
		lost = append(lost, v)
	}
	taken := 0
	for _, p := range k.maybe {
		if p.Start < r.End {
			taken++
		}
	}
	where, n := readWhere(r), k.opts.MaxListed
	for _, c := range []struct {
		kind string
		vals []string
	}{
		{"value twice in a list", els.dups},
		{"value never pushed", els.unknown},
		{"value whose push failed", els.failed},
		{"value read before it was pushed", els.future},
		{"popped value back", back},
	} {
		if len(c.vals) > 0 {
			k.is.addf(c.kind, "key %q: %s: %d value(s): %s", k.key, where, len(c.vals), list(c.vals, n))
		}
	}
	if len(lost) > taken {
		k.is.addf("acknowledged push lost", "key %q: %s lacks %d acknowledged push(es) no acknowledged pop took, and only %d indeterminate pop(s) could have: %s",
			k.key, where, len(lost), taken, list(lost, n))
	}
}

// readElements sorts the elements of a list read by what the history
// says about them. (checkListKey in list.go makes the same checks.)
type readElements struct {
	seen                          map[string]bool
	dups, unknown, failed, future []string
}

// classifyRead returns the elements of read r (got) that are in it
// twice, were never pushed, whose push failed, or were pushed only after
// r ended, given each element's push.
func classifyRead(got []string, r history.Op, pushes map[string]history.Op) readElements {
	c := readElements{seen: make(map[string]bool, len(got))}
	for _, v := range got {
		if c.seen[v] {
			c.dups = append(c.dups, v)
		}
		c.seen[v] = true
		push, ok := pushes[v]
		switch {
		case !ok:
			c.unknown = append(c.unknown, v)
		case push.Type == history.Fail:
			c.failed = append(c.failed, v)
		case push.Start > r.End:
			c.future = append(c.future, v)
		}
	}
	return c
}

func (k *popsKey) note() string {
	var acked, maybe, popped int
	for _, p := range k.pushes {
		switch p.Type {
		case history.OK:
			acked++
		case history.Info, history.Invoke:
			maybe++
		}
	}
	for _, ps := range k.popsOf {
		popped += len(ps)
	}
	return fmt.Sprintf("key %q: %d acked pushes, %d indeterminate; %d pops returned an element, %d found the list empty, %d indeterminate; %d reads checked (%d final)",
		k.key, acked, maybe, popped, k.empty, len(k.maybe), len(k.reads), len(k.finals))
}
