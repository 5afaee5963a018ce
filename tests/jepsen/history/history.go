// Package history records what Jepsen-style clients did: one [Op] per
// operation, with the time it was invoked and the time its outcome was
// known, and writes or reads the record as JSON lines.
//
// Usage:
//
//	rec := history.NewRecorder(time.Now())
//	p := rec.Process()                                  // a fresh client process id
//	op := rec.Invoke(p, history.FWrite, "k1", "v7", "n1")
//	err := rdb.Set(ctx, "k1", "v7", 0).Err()
//	rec.Complete(op, history.OK, nil, err)              // or history.Fail / history.Info
//	h := rec.History()                                  // every op, by invocation order
//	err = h.WriteJSONL(w)                               // history.jsonl
//
// Outcomes follow Jepsen: OK means the operation took effect (for reads: it
// observed Value), Fail means it certainly did not, and Info means the
// client cannot know (timeout, lost connection, UNCERTAIN): checkers must
// allow both. A process whose op ended in Info is never reused, because
// that op may still be in flight; take a new one with [Recorder.Process].
package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Type is an op's outcome (or, in a JSON-lines event, "invoke").
type Type string

// The outcomes of an op.
const (
	Invoke Type = "invoke" // only in history.jsonl events: the op started
	OK     Type = "ok"     // it took effect; a read observed Value
	Fail   Type = "fail"   // it certainly did not take effect
	Info   Type = "info"   // indeterminate: it may or may not have taken effect
)

// F is the function an op performed. Its Value's Go type depends on F:
//
//	FRead     nil (key absent) or string: the value read (nil at invocation)
//	FWrite    string: the value written
//	FCAS      []string{old, new}
//	FIncr     int64: the increment
//	FCount    nil (absent) or int64: the counter read
//	FAdd      string: the set element added
//	FRemove   string: the set element removed
//	FMembers  []string: the members read (nil at invocation)
//	FAppend   string: the list element appended (RPUSH)
//	FList     []string: the list read (LRANGE 0 -1; nil at invocation)
//	FHSet     []string{field, value}: HSET key field value
//	FHDel     string: the field (HDEL key field)
//	FHGetAll  map[string]string: the hash read (HGETALL; nil at invocation)
//	FLPop     nil (list empty, and at invocation) or string: the element LPOP returned
//	FRPop     the same for RPOP
type F string

// The functions of the workloads.
const (
	FRead    F = "read"
	FWrite   F = "write"
	FCAS     F = "cas"
	FIncr    F = "incr"
	FCount   F = "count"
	FAdd     F = "add"
	FRemove  F = "remove"
	FMembers F = "members"
	FAppend  F = "append"
	FList    F = "list"
	FHSet    F = "hset"
	FHDel    F = "hdel"
	FHGetAll F = "hgetall"
	FLPop    F = "lpop"
	FRPop    F = "rpop"
)

// Op is one client operation, invocation and outcome together.
type Op struct {
	// Index is the op's position in invocation order, from 0.
	Index int `json:"index"`
	// Process is the logical client that ran it (Jepsen's :process).
	Process int `json:"process"`
	// Type is OK, Fail or Info once complete; Invoke while in flight.
	Type Type   `json:"type"`
	F    F      `json:"f"`
	Key  string `json:"key"`
	// Value is the argument, or for reads the result; see [F].
	Value any `json:"value"`
	// Start and End are nanoseconds since the recorder's origin. An op
	// still in flight when the history was taken has End == -1.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Node is the node the client talked to.
	Node string `json:"node,omitempty"`
	// Error is the error text of a Fail or Info op.
	Error string `json:"error,omitempty"`
	// Final marks a read made after the faults were healed and the
	// workload quiesced: it must show the converged state.
	Final bool `json:"final,omitempty"`
}

// String renders op on one line, for reports.
func (op Op) String() string {
	s := fmt.Sprintf("#%d p%d %s %s %s %v [%s..%s]", op.Index, op.Process, op.Type, op.F, op.Key,
		fmtValue(op.Value), time.Duration(op.Start), time.Duration(op.End))
	if op.Node != "" {
		s += " @" + op.Node
	}
	if op.Error != "" {
		s += " err=" + op.Error
	}
	if op.Final {
		s += " final"
	}
	return s
}

func fmtValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return fmt.Sprintf("%q", v)
	default:
		return fmt.Sprint(v)
	}
}

// UnmarshalJSON decodes an op, giving Value the Go type [F] documents.
func (op *Op) UnmarshalJSON(b []byte) error {
	type plain Op
	var raw struct {
		plain
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*op = Op(raw.plain)
	v, err := decodeValue(raw.F, raw.Value)
	if err != nil {
		return fmt.Errorf("history: op %d (%s): %w", raw.Index, raw.F, err)
	}
	op.Value = v
	return nil
}

func decodeValue(f F, b json.RawMessage) (any, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	switch f {
	case FRead, FWrite, FAdd, FRemove, FAppend, FHDel, FLPop, FRPop:
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case FCAS, FMembers, FList, FHSet:
		var s []string
		err := json.Unmarshal(b, &s)
		return s, err
	case FHGetAll:
		var m map[string]string
		err := json.Unmarshal(b, &m)
		return m, err
	case FIncr, FCount:
		var n int64
		err := json.Unmarshal(b, &n)
		return n, err
	default:
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		err := d.Decode(&v)
		return v, err
	}
}

// History is a list of ops in invocation order.
type History []Op

// Counts is the number of ops by outcome.
type Counts struct {
	Total, OK, Fail, Info, Pending int
}

// Counts counts h's ops by outcome.
func (h History) Counts() Counts {
	c := Counts{Total: len(h)}
	for _, op := range h {
		switch op.Type {
		case OK:
			c.OK++
		case Fail:
			c.Fail++
		case Info:
			c.Info++
		default:
			c.Pending++
		}
	}
	return c
}

// Filter returns the ops of h for which keep is true.
func (h History) Filter(keep func(Op) bool) History {
	var out History
	for _, op := range h {
		if keep(op) {
			out = append(out, op)
		}
	}
	return out
}

// ByKey splits h by key, keeping invocation order inside each key.
func (h History) ByKey() map[string]History {
	m := make(map[string]History)
	for _, op := range h {
		m[op.Key] = append(m[op.Key], op)
	}
	return m
}

// event is one line of history.jsonl.
type event struct {
	Op
	Time int64 `json:"time"`
}

// WriteJSONL writes h as Jepsen-style events, one JSON object a line in
// time order: an "invoke" event at each op's Start (with the argument, or
// a nil value for reads), then its completion at End with the outcome.
// Every event carries the whole op (index, start, end), so [ReadJSONL]
// rebuilds h from the completions alone.
func (h History) WriteJSONL(w io.Writer) error {
	evs := make([]event, 0, 2*len(h))
	for _, op := range h {
		inv := op
		inv.Type = Invoke
		inv.Error = ""
		if isRead(op.F) {
			inv.Value = nil
		}
		evs = append(evs, event{Op: inv, Time: op.Start})
		if op.Type != Invoke {
			evs = append(evs, event{Op: op, Time: op.End})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time < evs[j].Time })
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, ev := range evs {
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadJSONL reads events written by [History.WriteJSONL] back into a
// history. An op with an invoke event and no completion is returned with
// Type Invoke and End -1.
func ReadJSONL(r io.Reader) (History, error) {
	byIndex := make(map[int]Op)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var op Op
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			return nil, fmt.Errorf("history: line %d: %w", line, err)
		}
		if op.Type == Invoke {
			if _, done := byIndex[op.Index]; done {
				continue // its completion was already read
			}
			op.End = -1
		}
		byIndex[op.Index] = op
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	h := make(History, 0, len(byIndex))
	for _, op := range byIndex {
		h = append(h, op)
	}
	sort.Slice(h, func(i, j int) bool { return h[i].Index < h[j].Index })
	return h, nil
}

// isRead reports whether f's Value is known only at completion (a read's
// result, or the element a pop removed).
func isRead(f F) bool {
	switch f {
	case FRead, FCount, FMembers, FList, FHGetAll, FLPop, FRPop:
		return true
	}
	return false
}

// Recorder collects ops from many concurrent clients. Its methods are safe
// for concurrent use.
type Recorder struct {
	origin time.Time

	mu struct {
		sync.Mutex
		ops      []Op // guarded; index = Op.Index
		nextProc int
	}
}

// NewRecorder returns a recorder whose times count from origin.
func NewRecorder(origin time.Time) *Recorder { return &Recorder{origin: origin} }

// Origin returns the time ops' Start and End count from.
func (r *Recorder) Origin() time.Time { return r.origin }

// Since returns t as nanoseconds since the origin (monotonic).
func (r *Recorder) Since(t time.Time) int64 { return int64(t.Sub(r.origin)) }

// Process returns a process id never returned before.
func (r *Recorder) Process() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.mu.nextProc
	r.mu.nextProc++
	return p
}

// Invoke records the start of an op now and returns its index for
// [Recorder.Complete].
func (r *Recorder) Invoke(process int, f F, key string, value any, node string) int {
	now := r.Since(time.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	i := len(r.mu.ops)
	r.mu.ops = append(r.mu.ops, Op{Index: i, Process: process, Type: Invoke, F: f, Key: key,
		Value: value, Start: now, End: -1, Node: node})
	return i
}

// MarkFinal marks op as a final read (see [Op.Final]).
func (r *Recorder) MarkFinal(op int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.ops[op].Final = true
}

// Complete records op's outcome now. For OK reads, value is what was read;
// for other ops a nil value keeps the argument given to Invoke. err, if
// not nil, is kept as the op's error text.
func (r *Recorder) Complete(op int, t Type, value any, err error) {
	now := r.Since(time.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	o := &r.mu.ops[op]
	if o.Type != Invoke {
		panic(fmt.Sprintf("history: op %d completed twice", op))
	}
	o.Type, o.End = t, now
	if isRead(o.F) || value != nil {
		o.Value = value
	}
	if err != nil {
		o.Error = err.Error()
	}
}

// History returns a copy of every op recorded so far, in invocation order.
// Ops still in flight have Type Invoke and End -1.
func (r *Recorder) History() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(History(nil), r.mu.ops...)
}
