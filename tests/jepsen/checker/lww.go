package checker

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// RegionOptions configures the checkers of linked regions: [LWW],
// [Hash] and [ListPops].
type RegionOptions struct {
	// Region returns a node's region; nil means the node name's first
	// letter (e1 is east, w1 west).
	Region func(node string) string
	// MaxListed bounds the anomalies listed per kind; zero means 10.
	MaxListed int
}

func (o *RegionOptions) fill() {
	if o.Region == nil {
		o.Region = firstLetter
	}
	if o.MaxListed == 0 {
		o.MaxListed = 10
	}
}

func firstLetter(node string) string { return node[:min(1, len(node))] }

// LWW checks FWrite (SET of a value unique per write) and FRead (GET)
// ops on each key as a last-writer-wins register written in several
// active-active regions (docs/CONFLICTS.md, "Strings"):
//   - every read returns nil or the value of a write that did not fail
//     and began before the read ended;
//   - no read returns a value its region certainly held something newer
//     than when the read began (see below), and no final read returns
//     a value older than a write that certainly took effect anywhere:
//     an acknowledged write is never lost to an older one;
//   - every final read of a key returns the same value.
//
// "Certainly newer" uses only orders that fix HLC stamps: a write that
// region R evaluates stamps later than every write R has applied (the
// HLC receive rule: R's clock moves past every stamp it applies; in
// regional the FSM and the evaluator update the clock with every stamp
// they apply or merge, and a new leader with the store's last stamp
// before it evaluates anything). R has
// certainly applied x when R acknowledged x, or when a read in R
// returned x; so a write begun in R after that is stamped later than x,
// and once R has applied that write too, R never again returns x.
// Real time across regions says nothing about stamps: a write in west
// begun after east acknowledged one is stamped by west's clock, which
// has not seen east's write and may be behind (skew, the same
// millisecond with a smaller logical counter), so east's older write
// may legally win. Such pairs are concurrent and either may win.
//
// Reads other than final ones may lag the other region: a read in R is
// judged only against what R has certainly applied. Final reads (after
// heal and convergence) are judged against every write that certainly
// took effect: acknowledged, or returned by some read.
func LWW(h history.History, opts RegionOptions) Result {
	opts.fill()
	res := Result{Checker: "register-lww"}
	byKey := h.Filter(func(op history.Op) bool {
		return op.F == history.FWrite || op.F == history.FRead
	}).ByKey()
	var is issues
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		reg := &lwwRegister{name: fmt.Sprintf("key %q", key)}
		var finals history.History
		for _, op := range byKey[key] {
			if op.F == history.FWrite {
				v, _ := op.Value.(string)
				reg.write(op, v, false, opts.Region)
				continue
			}
			if op.Type != history.OK {
				continue
			}
			v, present := op.Value.(string)
			reg.read(op, v, present, opts.Region)
			if op.Final {
				finals = append(finals, op)
			}
		}
		reg.check(&is)
		res.Notes = append(res.Notes, reg.note(len(finals)))
		sameFinals(&is, fmt.Sprintf("key %q", key), finals, func(op history.Op) []string {
			if s, ok := op.Value.(string); ok {
				return []string{s}
			}
			return nil
		})
	}
	is.flush(&res, opts.MaxListed)
	res.finish()
	return res
}

// never is a time that never comes: a region never certainly applied
// the write, or nothing supersedes it.
const never = math.MaxInt64

// lwwWrite is one write of a register: a value, or a delete (HDEL).
type lwwWrite struct {
	op     history.Op
	value  string
	del    bool
	region string
	// known is, per region, when that region had certainly applied the
	// write (never if not known): its acknowledgement there, or the end
	// of a read there that returned it. Invariant: not before op.Start.
	known map[string]int64
	// applied: the write certainly took effect (acknowledged, or read).
	applied bool
}

func (w *lwwWrite) learn(region string, at int64) {
	at = max(at, w.op.Start)
	if t, ok := w.known[region]; !ok || at < t {
		w.known[region] = at
	}
	w.applied = true
}

func (w *lwwWrite) knownIn(region string) int64 {
	if t, ok := w.known[region]; ok {
		return t
	}
	return never
}

// lwwRead is one successful read of a register.
type lwwRead struct {
	op      history.Op
	value   string
	present bool
	region  string // "" for a final read: judged against every region
}

// lwwRegister is one register's history: a key's (SET/GET) or one
// field's of a hash (HSET/HDEL/HGETALL).
type lwwRegister struct {
	name    string
	writes  []*lwwWrite
	byValue map[string]*lwwWrite
	reads   []lwwRead
	dups    []string // anomalies found while recording
}

func (g *lwwRegister) write(op history.Op, value string, del bool, region func(string) string) {
	w := &lwwWrite{op: op, value: value, del: del, region: region(op.Node), known: make(map[string]int64)}
	if op.Type == history.OK {
		w.learn(w.region, op.End)
	}
	g.writes = append(g.writes, w)
	if del {
		return
	}
	if g.byValue == nil {
		g.byValue = make(map[string]*lwwWrite)
	}
	if prev, dup := g.byValue[value]; dup {
		g.dups = append(g.dups, fmt.Sprintf("%s: %q by ops #%d and #%d (the workload must write unique values)",
			g.name, value, prev.op.Index, op.Index))
	}
	g.byValue[value] = w
}

// read records an OK read that returned value (present) or nothing.
func (g *lwwRegister) read(op history.Op, value string, present bool, region func(string) string) {
	r := lwwRead{op: op, value: value, present: present, region: region(op.Node)}
	if op.Final {
		r.region = ""
	}
	g.reads = append(g.reads, r)
}

// issues collects a check's anomalies by kind, in the order the kinds
// first occur.
type issues struct {
	kinds []string
	lines map[string][]string
}

func (is *issues) addf(kind, format string, args ...any) {
	if is.lines == nil {
		is.lines = make(map[string][]string)
	}
	if _, ok := is.lines[kind]; !ok {
		is.kinds = append(is.kinds, kind)
	}
	is.lines[kind] = append(is.lines[kind], fmt.Sprintf(format, args...))
}

// flush adds the anomalies to res, each prefixed with its kind, sorted,
// at most maxListed per kind and a count of the rest.
func (is *issues) flush(res *Result, maxListed int) {
	for _, kind := range is.kinds {
		lines := slices.Clone(is.lines[kind])
		sort.Strings(lines)
		if len(lines) > maxListed {
			lines = append(lines[:maxListed:maxListed], fmt.Sprintf("... and %d more", len(lines)-maxListed))
		}
		for _, l := range lines {
			res.Anomalies = append(res.Anomalies, kind+": "+l)
		}
	}
}

func (g *lwwRegister) note(finals int) string {
	var acked, maybe, dels, runReads int
	for _, w := range g.writes {
		switch {
		case w.del && w.op.Type != history.Fail:
			dels++
		case w.op.Type == history.OK:
			acked++
		case w.op.Type != history.Fail:
			maybe++
		}
	}
	for _, r := range g.reads {
		if !r.op.Final {
			runReads++
		}
	}
	s := fmt.Sprintf("%s: %d acked writes, %d indeterminate", g.name, acked, maybe)
	if dels > 0 {
		s += fmt.Sprintf(", %d deletes (acked or indeterminate)", dels)
	}
	return s + fmt.Sprintf(", %d reads during the run and %d final reads checked", runReads, finals)
}

// check judges every read of g; see [LWW].
func (g *lwwRegister) check(is *issues) {
	for _, d := range g.dups {
		is.addf("value written twice", "%s", d)
	}
	// Which write each read returned, and what that proves applied.
	source := make([]*lwwWrite, len(g.reads))
	for i, r := range g.reads {
		if !r.present {
			continue
		}
		w := g.byValue[r.value]
		where := readWhere(r.op)
		switch {
		case w == nil:
			is.addf("value never written", "%s: %s returned %q", g.name, where, r.value)
		case w.op.Type == history.Fail:
			is.addf("failed write visible", "%s: %s returned %q of failed write #%d", g.name, where, r.value, w.op.Index)
		case w.op.Start > r.op.End:
			is.addf("value read before it was written", "%s: %s returned %q, written by #%d only after it ended", g.name, where, r.value, w.op.Index)
		default:
			source[i] = w
			w.learn(g.reads[i].region, r.op.End)
		}
	}
	idx := newSupersedeIndex(g.writes)
	initial := map[string]int64{} // the register before any write: every region "had" it
	for i, r := range g.reads {
		var by *lwwWrite
		var at int64
		if r.present {
			w := source[i]
			if w == nil {
				continue
			}
			at, by = idx.superseded(w.known, r.region, true)
			if at >= r.op.Start {
				continue
			}
		} else {
			// Nothing: the initial state or a delete, if any of them was
			// not certainly superseded when the read began.
			at, by = idx.superseded(initial, r.region, false)
			if at >= r.op.Start {
				continue
			}
			explained := false
			for _, d := range g.writes {
				if d.del && d.op.Type != history.Fail && d.op.Start < r.op.End {
					if t, _ := idx.superseded(d.known, r.region, true); t >= r.op.Start {
						explained = true
						break
					}
				}
			}
			if explained {
				continue
			}
		}
		got := "nil"
		if r.present {
			got = fmt.Sprintf("%q (write #%d on %s)", r.value, source[i].op.Index, source[i].op.Node)
		}
		line := fmt.Sprintf("%s: %s returned %s, but write #%d (%s on %s, %s) had certainly taken effect",
			g.name, readWhere(r.op), got, by.op.Index, by.describe(), by.op.Node, by.op.Type)
		if r.op.Final {
			is.addf("lost write", "%s and is stamped later", line)
		} else {
			is.addf("stale read", "%s in region %s before the read began, and is stamped later", line, r.region)
		}
	}
}

func (w *lwwWrite) describe() string {
	if w.del {
		return "delete"
	}
	return fmt.Sprintf("%q", w.value)
}

// readWhere names a read for anomalies: "read #12 on e1" or "final read
// #40 on w2".
func readWhere(op history.Op) string {
	if op.Final {
		return fmt.Sprintf("final read #%d on %s", op.Index, op.Node)
	}
	return fmt.Sprintf("read #%d on %s", op.Index, op.Node)
}

// supersedeIndex answers, for a write x and a region R, from when R
// certainly holds a write stamped later than x: the earliest time R
// certainly applied some write k that began in its region Q after Q had
// certainly applied x (k.Start > x.known[Q]).
type supersedeIndex struct {
	// byRegion holds, per region Q, the applied writes made in Q by
	// start time, and for each reader region R (and "" for final reads:
	// every applied write counts at once) the suffix minima of the time
	// R certainly applied them.
	byRegion map[string]*regionWrites
}

type regionWrites struct {
	writes []*lwwWrite // applied writes made in the region, by Start
	starts []int64
	suffix map[string][]int // reader region -> index of the write R applied first among writes[i:], or -1
}

func newSupersedeIndex(writes []*lwwWrite) *supersedeIndex {
	idx := &supersedeIndex{byRegion: make(map[string]*regionWrites)}
	readers := map[string]bool{"": true}
	for _, w := range writes {
		for r := range w.known {
			readers[r] = true
		}
		if !w.applied {
			continue
		}
		q := idx.byRegion[w.region]
		if q == nil {
			q = &regionWrites{suffix: make(map[string][]int)}
			idx.byRegion[w.region] = q
		}
		q.writes = append(q.writes, w)
	}
	for _, q := range idx.byRegion {
		sort.SliceStable(q.writes, func(i, j int) bool { return q.writes[i].op.Start < q.writes[j].op.Start })
		q.starts = make([]int64, len(q.writes))
		for i, w := range q.writes {
			q.starts[i] = w.op.Start
		}
		for r := range readers {
			suf := make([]int, len(q.writes)+1)
			suf[len(q.writes)] = -1
			for i := len(q.writes) - 1; i >= 0; i-- {
				suf[i] = suf[i+1]
				if r == "" || q.writes[i].knownIn(r) < q.at(suf[i], r) {
					suf[i] = i
				}
			}
			q.suffix[r] = suf
		}
	}
	return idx
}

// at returns when region r certainly applied writes[i] (never for -1
// or not at all); for the final reader "" every applied write is held.
func (q *regionWrites) at(i int, r string) int64 {
	switch {
	case i < 0:
		return never
	case r == "":
		return math.MinInt64
	}
	return q.writes[i].knownIn(r)
}

// superseded returns from when reader region r (or "" for a final
// read) certainly holds a write stamped later than the write whose
// known map is given, and that write; (never, nil) if none. With
// strict false, known is the initial state (every region holds it from
// the start, and every applied write supersedes it).
func (idx *supersedeIndex) superseded(known map[string]int64, r string, strict bool) (int64, *lwwWrite) {
	best, by := int64(never), (*lwwWrite)(nil)
	for region, q := range idx.byRegion {
		after := int64(math.MinInt64)
		if strict {
			t, ok := known[region]
			if !ok {
				continue
			}
			after = t
		}
		suf, ok := q.suffix[r]
		if !ok {
			continue // r certainly applied none of q's writes
		}
		i := sort.Search(len(q.starts), func(i int) bool { return q.starts[i] > after })
		j := suf[i]
		if t := q.at(j, r); j >= 0 && (by == nil || t < best) {
			best, by = t, q.writes[j]
		}
	}
	return best, by
}

// sameFinals records an anomaly for each final read of what that
// differs from the first one, as val renders them: linked regions that
// have converged hold the same data on every node.
func sameFinals(is *issues, what string, finals history.History, val func(history.Op) []string) {
	if len(finals) == 0 {
		return
	}
	first := finals[0]
	b := val(first)
	for _, r := range finals[1:] {
		a := val(r)
		switch {
		case slices.Equal(a, b):
		case len(a) <= 1 && len(b) <= 1:
			is.addf("divergent final reads", "%s: %s returned %s, %s returned %s", what, readWhere(r), at(a, 0), readWhere(first), at(b, 0))
		default:
			i := mismatch(a, b)
			if i < 0 {
				i = len(a)
			}
			is.addf("divergent final reads", "%s: %s differs from %s: %d values, not %d; first difference at position %d: %s, not %s",
				what, readWhere(r), readWhere(first), len(a), len(b), i, at(a, i), at(b, i))
		}
	}
}
