package checker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// SessionOptions configures [Session].
type SessionOptions struct {
	// Margin is added to every expiry deadline for clock skew between
	// the harness and the nodes (all on one machine); zero means 200 ms.
	Margin time.Duration
	// Settle is how long after a write's acknowledgement a read in the
	// other region is counted in the presence statistic; zero means 1 s.
	Settle time.Duration
	// Region returns a node's region; nil means the node name's first
	// letter (e1 is east, w1 west).
	Region func(node string) string
	// MaxListed bounds the anomalies listed per kind; zero means 10.
	MaxListed int
}

// SessionValue returns the value a session workload writes: it carries
// the session's TTL so that the checker needs only the history.
func SessionValue(id int64, ttl time.Duration, node string) string {
	return fmt.Sprintf("s%d.ttl%d.%s", id, ttl.Milliseconds(), node)
}

// SessionRead returns the value a session read records: nil for an
// absent key, else the value and the PTTL read with it.
func SessionRead(value string, pttl int64) string {
	return value + " pttl=" + strconv.FormatInt(pttl, 10)
}

func parseSessionTTL(v string) (time.Duration, bool) {
	parts := strings.Split(v, ".")
	if len(parts) < 3 || !strings.HasPrefix(parts[1], "ttl") {
		return 0, false
	}
	ms, err := strconv.ParseInt(strings.TrimPrefix(parts[1], "ttl"), 10, 64)
	return time.Duration(ms) * time.Millisecond, err == nil
}

func parseSessionRead(v string) (value string, pttl int64, ok bool) {
	value, p, found := strings.Cut(v, " pttl=")
	if !found {
		return v, 0, false
	}
	n, err := strconv.ParseInt(p, 10, 64)
	return value, n, err == nil
}

// Session checks a session store: FWrite ops (SET key value PX ttl, the
// TTL inside the value, see [SessionValue]; each key written once) and
// FRead ops (GET and PTTL, see [SessionRead]) on each key. Strictly:
//   - a read that starts after the session's deadline (the write's
//     acknowledgement + TTL + Margin) must find it absent: an expired
//     session never reappears, in any region, during the run or after;
//   - a read that finds it must report a PTTL whose expiry (read start +
//     PTTL) is not after the deadline, and not -1 (the TTL was lost);
//   - a read must not find a value never written, or that of a failed
//     write.
//
// Writes with an indeterminate outcome have no certain deadline (the
// command may have been applied late) and only the value checks apply.
// Whether a session is found before it expires is eventual consistency
// across regions, not a rule: reads certainly before the expiry and at
// least Settle after the acknowledgement are counted (present/absent,
// same and other region) in the notes. A history with no read after a
// deadline checked nothing strict and is Unknown.
func Session(h history.History, opts SessionOptions) Result {
	if opts.Margin == 0 {
		opts.Margin = 200 * time.Millisecond
	}
	if opts.Settle == 0 {
		opts.Settle = time.Second
	}
	if opts.MaxListed == 0 {
		opts.MaxListed = 10
	}
	region := opts.Region
	if region == nil {
		region = func(n string) string {
			if n == "" {
				return ""
			}
			return n[:1]
		}
	}
	res := Result{Checker: "session"}
	var (
		late, lateFinal, lateInfo                                  int
		reappeared, extended, noTTL, unwritten, failedSeen         []string
		crossPresent, crossAbsent, samePresent, sameAbsent, writes int
	)
	for key, ops := range h.Filter(func(op history.Op) bool {
		return op.F == history.FWrite || op.F == history.FRead
	}).ByKey() {
		byValue := make(map[string]history.Op)
		for _, op := range ops {
			if op.F == history.FWrite {
				if v, ok := op.Value.(string); ok {
					byValue[v] = op
					writes++
				}
			}
		}
		for _, r := range ops {
			if r.F != history.FRead || r.Type != history.OK {
				continue
			}
			raw, present := r.Value.(string)
			var w history.Op
			var pttl int64
			var hasTTL bool
			if present {
				var v string
				v, pttl, hasTTL = parseSessionRead(raw)
				var ok bool
				if w, ok = byValue[v]; !ok {
					unwritten = append(unwritten, fmt.Sprintf("%q: read #%d on %s got %q, never written", key, r.Index, r.Node, raw))
					continue
				}
				if w.Type == history.Fail {
					failedSeen = append(failedSeen, fmt.Sprintf("%q: read #%d on %s got the value of failed write #%d", key, r.Index, r.Node, w.Index))
					continue
				}
			} else {
				// An absent read: judge it against the key's only
				// write (by the workload's design, one per key).
				for _, op := range byValue {
					w = op
				}
				if w.F == "" {
					continue
				}
			}
			ttl, ok := parseSessionTTL(w.Value.(string))
			if !ok {
				unwritten = append(unwritten, fmt.Sprintf("%q: write #%d has no TTL in its value %q", key, w.Index, w.Value))
				continue
			}
			if w.Type != history.OK {
				if r.Start > w.Start+int64(ttl) {
					lateInfo++
				}
				continue
			}
			deadline := w.End + int64(ttl+opts.Margin)
			if r.Start > deadline {
				late++
				if r.Final {
					lateFinal++
				}
				if present {
					reappeared = append(reappeared, fmt.Sprintf("%q: read #%d on %s at %s found %q, %s after its deadline %s (write #%d on %s acked at %s, ttl %s)",
						key, r.Index, r.Node, time.Duration(r.Start), raw, time.Duration(r.Start-deadline).Round(time.Millisecond),
						time.Duration(deadline), w.Index, w.Node, time.Duration(w.End), ttl))
				}
				continue
			}
			if present && hasTTL {
				switch {
				case pttl == -1:
					noTTL = append(noTTL, fmt.Sprintf("%q: read #%d on %s found %q with no TTL (write #%d, ttl %s)", key, r.Index, r.Node, raw, w.Index, ttl))
				case pttl >= 0 && r.Start+pttl*int64(time.Millisecond) > deadline:
					extended = append(extended, fmt.Sprintf("%q: read #%d on %s at %s found pttl %dms: expires %s after its deadline (write #%d acked at %s, ttl %s)",
						key, r.Index, r.Node, time.Duration(r.Start), pttl, time.Duration(r.Start+pttl*int64(time.Millisecond)-deadline).Round(time.Millisecond),
						w.Index, time.Duration(w.End), ttl))
				}
			}
			// Presence: certainly before the earliest expiry, and the
			// write had time to cross.
			if r.Final || r.Start < w.End+int64(opts.Settle) || r.End >= w.Start+int64(ttl-opts.Margin) {
				continue
			}
			same := region(r.Node) == region(w.Node)
			switch {
			case same && present:
				samePresent++
			case same:
				sameAbsent++
			case present:
				crossPresent++
			default:
				crossAbsent++
			}
		}
	}
	add := func(what string, s []string) {
		if len(s) == 0 {
			return
		}
		sort.Strings(s)
		if len(s) > opts.MaxListed {
			s = append(s[:opts.MaxListed:opts.MaxListed], fmt.Sprintf("... and %d more", len(s)-opts.MaxListed))
		}
		for _, a := range s {
			res.Anomalies = append(res.Anomalies, what+": "+a)
		}
	}
	add("expired session reappeared", reappeared)
	add("TTL extended past the deadline", extended)
	add("session lost its TTL", noTTL)
	add("value never written", unwritten)
	add("failed write visible", failedSeen)
	res.Notes = append(res.Notes,
		fmt.Sprintf("%d session writes; %d reads after an acknowledged session's deadline (+%s margin), %d of them final reads; %d reads after an indeterminate write's ttl (not checked)",
			writes, late, opts.Margin, lateFinal, lateInfo),
		fmt.Sprintf("reads certainly before expiry, >= %s after the ack: other region %d present / %d absent, same region %d present / %d absent",
			opts.Settle, crossPresent, crossAbsent, samePresent, sameAbsent))
	if late == 0 && len(res.Anomalies) == 0 {
		res.Valid = Unknown
		res.Notes = append(res.Notes, "no read came after a deadline: the expiry rule was not exercised")
	}
	res.finish()
	return res
}
