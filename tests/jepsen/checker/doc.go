// Package checker decides whether a recorded [history.History] is legal.
//
// Each checker returns a [Result]: Valid, Invalid (with one line per
// anomaly, naming the ops involved) or Unknown (the check could not finish,
// e.g. porcupine timed out). Unknown is never reported as a pass.
//
// Usage:
//
//	h := rec.History()
//	reg := checker.Register(h, checker.RegisterOptions{Dir: runDir, Timeout: time.Minute})
//	cnt := checker.Counter(h, checker.CounterOptions{Realtime: true})
//	set := checker.Set(h, checker.SetOptions{Realtime: true})
//	lst := checker.List(h, checker.ListOptions{Realtime: true})  // list-append, Elle-style
//	conv := checker.WaitConverged(ctx, nodes, digestOf, 30*time.Second, 200*time.Millisecond)
//	fmt.Println(reg.Valid, reg.Anomalies, reg.Files) // Files: porcupine HTML of failing keys
//
// Outcomes are read as Jepsen reads them: an OK op took effect, a Fail op
// did not (it is left out of the check), and an Info op — or one still in
// flight when the history was taken — may have taken effect at any moment
// after its invocation, or never. A read that is Fail or Info observed
// nothing and is left out.
//
// HAZARD: the checkers are only as honest as the clients' classification.
// A client that records a timed-out write as Fail lets the checkers call a
// correct history invalid (and a buggy server that commits "failed" writes
// look correct on other histories); see workload.Classify.
package checker

// Validity is a checker's verdict.
type Validity string

// The verdicts.
const (
	Valid   Validity = "valid"
	Invalid Validity = "invalid"
	Unknown Validity = "unknown" // the check did not finish; not a pass
)

// Result is one checker's verdict on a history.
type Result struct {
	// Checker names the checker ("register", "counter", "set", "list",
	// "convergence").
	Checker string   `json:"checker"`
	Valid   Validity `json:"valid"`
	// Anomalies has one human-readable line per problem found.
	Anomalies []string `json:"anomalies,omitempty"`
	// Notes has one line per fact worth a report that is not a problem
	// (keys checked, bounds, convergence time).
	Notes []string `json:"notes,omitempty"`
	// Files lists artefacts written, such as porcupine visualisations.
	Files []string `json:"files,omitempty"`
}

// Merge returns the worst of several verdicts: Invalid beats Unknown beats
// Valid.
func Merge(vs ...Validity) Validity {
	out := Valid
	for _, v := range vs {
		switch {
		case v == Invalid:
			return Invalid
		case v == Unknown:
			out = Unknown
		}
	}
	return out
}

// finish sets r.Valid from its anomalies unless already Unknown.
func (r *Result) finish() {
	if len(r.Anomalies) > 0 {
		r.Valid = Invalid
	} else if r.Valid == "" {
		r.Valid = Valid
	}
}
