package checker

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// RegisterOptions configures [Register].
type RegisterOptions struct {
	// Dir is where the porcupine visualisation of each non-linearizable
	// key is written, as register-<key>.html. Empty means write nothing.
	Dir string
	// Timeout bounds porcupine's search per key; a key whose search times
	// out makes the verdict Unknown. Zero means no limit.
	Timeout time.Duration
}

// regState is the model's state: the register's value, or absent.
type regState struct {
	present bool
	value   string
}

// regInput is an op as the model sees it.
type regInput struct {
	f        history.F
	arg      string // FWrite: value; FCAS: new
	old      string // FCAS: expected
	unknown  bool   // outcome indeterminate
	readSeen regState
}

// Register checks that the FRead, FWrite and FCAS ops of h on each key are
// linearizable as a single register (absent at first), using porcupine.
// Reads that saw nothing (Fail, Info) and failed writes are left out;
// indeterminate writes and CASes may take effect at any point after their
// invocation, or not at all. For each key that is not linearizable the
// visualisation of that key's history is written to opts.Dir.
func Register(h history.History, opts RegisterOptions) Result {
	res := Result{Checker: "register"}
	byKey := h.Filter(func(op history.Op) bool {
		return op.F == history.FRead || op.F == history.FWrite || op.F == history.FCAS
	}).ByKey()
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	checked, ops := 0, 0
	for _, key := range keys {
		pops := registerOps(byKey[key])
		if len(pops) == 0 {
			continue
		}
		checked++
		ops += len(pops)
		result, info := porcupine.CheckOperationsVerbose(registerModel, pops, opts.Timeout)
		switch result {
		case porcupine.Ok:
			continue
		case porcupine.Unknown:
			res.Valid = Unknown
			res.Notes = append(res.Notes, fmt.Sprintf("key %q: porcupine timed out after %s on %d ops", key, opts.Timeout, len(pops)))
			continue
		}
		line := fmt.Sprintf("key %q: not linearizable (%d ops)", key, len(pops))
		if opts.Dir != "" {
			path := filepath.Join(opts.Dir, "register-"+safeName(key)+".html")
			if err := writeVisualization(path, info); err != nil {
				line += fmt.Sprintf("; visualisation failed: %v", err)
			} else {
				res.Files = append(res.Files, path)
				line += "; see " + filepath.Base(path)
			}
		}
		res.Anomalies = append(res.Anomalies, line)
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d keys, %d ops checked for linearizability", checked, ops))
	res.finish()
	return res
}

func writeVisualization(path string, info porcupine.LinearizationInfo) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return porcupine.VisualizePath(registerModel, info, path)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func safeName(s string) string { return unsafeName.ReplaceAllString(s, "_") }

// registerOps turns one key's ops into porcupine operations.
func registerOps(h history.History) []porcupine.Operation {
	var end int64
	for _, op := range h {
		end = max(end, op.End, op.Start)
	}
	never := end + 1 // an indeterminate op "returns" after everything
	if never <= 0 {
		never = math.MaxInt64
	}
	clients := make(map[int]int) // process -> dense client id (visualisation rows)
	var out []porcupine.Operation
	for _, op := range h {
		in := regInput{f: op.F}
		unknown := op.Type == history.Info || op.Type == history.Invoke
		switch {
		case op.Type == history.Fail:
			continue // did not happen
		case op.F == history.FRead && unknown:
			continue // observed nothing
		case op.F == history.FRead:
			if s, ok := op.Value.(string); ok {
				in.readSeen = regState{present: true, value: s}
			}
		case op.F == history.FWrite:
			in.arg, _ = op.Value.(string)
		case op.F == history.FCAS:
			pair, _ := op.Value.([]string)
			if len(pair) != 2 {
				continue
			}
			in.old, in.arg = pair[0], pair[1]
		}
		in.unknown = unknown
		ret := op.End
		if unknown {
			ret = never
		}
		id, ok := clients[op.Process]
		if !ok {
			id = len(clients)
			clients[op.Process] = id
		}
		out = append(out, porcupine.Operation{ClientId: id, Input: in, Call: op.Start, Output: nil, Return: ret, Metadata: op.String()})
	}
	return out
}

// registerModel is a register with read, write and compare-and-set.
var registerModel = porcupine.Model{
	Init: func() any { return regState{} },
	Step: func(state, input, _ any) (bool, any) {
		s := state.(regState)
		in := input.(regInput)
		switch in.f {
		case history.FRead:
			return s == in.readSeen, s
		case history.FWrite:
			return true, regState{present: true, value: in.arg}
		case history.FCAS:
			match := s.present && s.value == in.old
			if in.unknown {
				// It took effect here only if it could have succeeded here.
				if match {
					return true, regState{present: true, value: in.arg}
				}
				return true, s
			}
			if match {
				return true, regState{present: true, value: in.arg}
			}
			return false, s
		}
		return false, s
	},
	DescribeOperation: func(input, _ any) string {
		in := input.(regInput)
		suffix := ""
		if in.unknown {
			suffix = " (info)"
		}
		switch in.f {
		case history.FRead:
			return "read() -> " + in.readSeen.String()
		case history.FWrite:
			return fmt.Sprintf("write(%q)%s", in.arg, suffix)
		default:
			return fmt.Sprintf("cas(%q, %q)%s", in.old, in.arg, suffix)
		}
	},
	DescribeState: func(state any) string { return state.(regState).String() },
	DescribeOperationMetadata: func(m any) string {
		s, _ := m.(string)
		return s
	},
}

func (s regState) String() string {
	if !s.present {
		return "nil"
	}
	return fmt.Sprintf("%q", s.value)
}
