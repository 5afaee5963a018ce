package jepsen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
)

// Recheck runs the history checkers again on a run folder's
// history.jsonl (for example after changing a checker), writing any new
// visualisation into dir. Each checker whose operations appear in the
// history runs, with realtime reads checked (one region), except in the
// folder of a [RunRegions] run ("-regions-" in its name), whose reads
// during the run may legally miss the other region's writes: there only
// final reads are checked.
func Recheck(dir string) ([]checker.Result, error) {
	f, err := os.Open(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("jepsen: %w", err)
	}
	defer f.Close()
	h, err := history.ReadJSONL(f)
	if err != nil {
		return nil, err
	}
	has := make(map[history.F]bool)
	for _, op := range h {
		has[op.F] = true
	}
	realtime := !strings.Contains(filepath.Base(dir), "-regions-")
	var out []checker.Result
	base := filepath.Base(dir)
	switch {
	case strings.Contains(base, "-regions-register-lww-"):
		// Registers written in two regions: last writer wins, not
		// linearizable.
		out = append(out, checker.LWW(h, checker.RegionOptions{}))
	case strings.Contains(base, "-regions-session-"):
		// Session runs use reads and writes too, of keys with a TTL: not
		// registers.
		// A skewed clock moves expiries by up to the skew, as in the run.
		plan, err := readPlan(dir)
		if err != nil {
			return nil, err
		}
		var margin time.Duration
		if skew := plan.MaxSkew(); skew > 0 {
			margin = sessionMargin + skew
		}
		out = append(out, checker.Session(h, checker.SessionOptions{Margin: margin}))
	case has[history.FRead] || has[history.FWrite] || has[history.FCAS]:
		out = append(out, checker.Register(h, checker.RegisterOptions{Dir: dir}))
	}
	if has[history.FIncr] || has[history.FCount] {
		out = append(out, checker.Counter(h, checker.CounterOptions{Realtime: realtime}))
	}
	if has[history.FAdd] || has[history.FMembers] {
		out = append(out, checker.Set(h, checker.SetOptions{Realtime: realtime}))
	}
	if has[history.FHSet] || has[history.FHDel] || has[history.FHGetAll] {
		out = append(out, checker.Hash(h, checker.RegionOptions{}))
	}
	switch {
	case has[history.FLPop] || has[history.FRPop]:
		out = append(out, checker.ListPops(h, checker.RegionOptions{}))
	case has[history.FAppend] || has[history.FList]:
		// Regions runs push at both ends and check final reads only,
		// which must all be the same list.
		out = append(out, checker.List(h, checker.ListOptions{Realtime: realtime, SameFinal: !realtime}))
	}
	return out, nil
}

// readPlan reads a run folder's plan.json; a folder without one (runs
// before it was written) has no faults on record.
func readPlan(dir string) (nemesis.Plan, error) {
	var p nemesis.Plan
	b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("jepsen: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("jepsen: %s: %w", filepath.Join(dir, "plan.json"), err)
	}
	return p, nil
}
