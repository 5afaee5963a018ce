package interregion

import "fmt"

// Internals for the failure messages of package interregion_test.

// DebugHeld describes what a replica holds of each peer.
var DebugHeld = func(r *Replica) string {
	s := ""
	for _, p := range r.order {
		s += fmt.Sprintf("peer %d durable=%d applying=%v last=%d fetching=%v held:", p.id, p.durable, p.applying, p.applyingLast, p.fetching)
		for _, sp := range p.held {
			s += fmt.Sprintf(" [last=%d", sp.last)
			for _, e := range sp.entries {
				s += fmt.Sprintf(" %d:deps=%v", e.index, r.depsMet(p.id, e))
			}
			s += "]"
		}
		s += "\n"
	}
	return s
}

// DebugRows describes a replica's own progress and its peers' rows.
var DebugRows = func(r *Replica) string {
	s := fmt.Sprintf("own=%d/%v applied=%v stable=%v\n", r.ownIndex, r.ownClosed, r.applied, r.stable)
	for _, p := range r.order {
		s += fmt.Sprintf("row of %d: %v\n", p.id, p.row)
	}
	return s
}
