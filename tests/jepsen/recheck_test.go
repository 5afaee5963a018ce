package jepsen_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen"
	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
)

// TestRecheckSavedHistory: a history written to history.jsonl is read
// back and checked again; a stale read is found and visualised.
func TestRecheckSavedHistory(t *testing.T) {
	dir := t.TempDir()
	h := history.History{
		{Index: 0, Process: 0, Type: history.OK, F: history.FWrite, Key: "k", Value: "a", Start: 0, End: 10},
		{Index: 1, Process: 1, Type: history.OK, F: history.FWrite, Key: "k", Value: "b", Start: 20, End: 30},
		{Index: 2, Process: 2, Type: history.OK, F: history.FRead, Key: "k", Value: "a", Start: 40, End: 50},
		{Index: 3, Process: 0, Type: history.OK, F: history.FIncr, Key: "c", Value: int64(2), Start: 0, End: 10},
		{Index: 4, Process: 0, Type: history.OK, F: history.FCount, Key: "c", Value: int64(2), Start: 20, End: 30, Final: true},
	}
	writeJSONL(t, dir, h)
	res, err := jepsen.Recheck(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]checker.Validity{}
	for _, r := range res {
		got[r.Checker] = r.Valid
		if r.Checker == "register" && len(r.Files) != 1 {
			t.Errorf("register: files %v, want one visualisation", r.Files)
		}
	}
	if got["register"] != checker.Invalid || got["counter"] != checker.Valid || len(got) != 2 {
		t.Errorf("verdicts %v, want register invalid and counter valid only", got)
	}
}

// TestRecheckRegionsHistories: the folders of two-region register, hash
// and list-pops runs go to their own checkers (not porcupine, not the
// push-only list checker), which still catch what they must.
func TestRecheckRegionsHistories(t *testing.T) {
	write := func(t *testing.T, name string, h history.History) string {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeJSONL(t, dir, h)
		return dir
	}
	for _, tc := range []struct {
		name string
		h    history.History
		want map[string]checker.Validity
	}{
		{
			// A final read of a value no write wrote.
			name: "20261126-120000-regions-register-lww-link-cut-seed1",
			h: history.History{
				{Index: 0, Process: 0, Type: history.OK, F: history.FWrite, Key: "k", Value: "a", Start: 0, End: 10, Node: "e1"},
				{Index: 1, Process: 1, Type: history.OK, F: history.FRead, Key: "k", Value: "zz", Start: 20, End: 30, Node: "w1", Final: true},
			},
			want: map[string]checker.Validity{"register-lww": checker.Invalid},
		},
		{
			// A popped element back in the final list.
			name: "20261126-120000-regions-list-pops-link-cut-seed1",
			h: history.History{
				{Index: 0, Process: 0, Type: history.OK, F: history.FAppend, Key: "l", Value: "1", Start: 0, End: 10, Node: "e1"},
				{Index: 1, Process: 1, Type: history.OK, F: history.FLPop, Key: "l", Value: "1", Start: 20, End: 30, Node: "e1"},
				{Index: 2, Process: 2, Type: history.OK, F: history.FList, Key: "l", Value: []string{"1"}, Start: 40, End: 50, Node: "w1", Final: true},
			},
			want: map[string]checker.Validity{"list-pops": checker.Invalid},
		},
		{
			// A legal hash history: HSET, then the final read of it.
			name: "20261126-120000-regions-hash-lww-link-cut-seed1",
			h: history.History{
				{Index: 0, Process: 0, Type: history.OK, F: history.FHSet, Key: "h", Value: []string{"f", "v1"}, Start: 0, End: 10, Node: "e1"},
				{Index: 1, Process: 1, Type: history.OK, F: history.FHGetAll, Key: "h", Value: map[string]string{"f": "v1"}, Start: 20, End: 30, Node: "w1", Final: true},
			},
			want: map[string]checker.Validity{"hash-lww": checker.Valid},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := jepsen.Recheck(write(t, tc.name, tc.h))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]checker.Validity{}
			for _, r := range res {
				got[r.Checker] = r.Valid
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("verdicts %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRecheckSessionSkew: a session run's clock skew (plan.json) widens
// the expiry margin on a re-check as it did in the run: a session read
// 1 s after its deadline is an anomaly without skew, and legal when a
// node's clock was 2 s off (the final read, absent, is then what shows
// the expiry).
func TestRecheckSessionSkew(t *testing.T) {
	v := checker.SessionValue(1, time.Second, "e1")
	h := history.History{
		{Index: 0, Process: 0, Type: history.OK, F: history.FWrite, Key: "sess:1", Value: v, Start: 0, End: int64(100 * time.Millisecond), Node: "e1"},
		{Index: 1, Process: 1, Type: history.OK, F: history.FRead, Key: "sess:1", Value: checker.SessionRead(v, 10), Start: int64(2100 * time.Millisecond), End: int64(2105 * time.Millisecond), Node: "w1"},
		{Index: 2, Process: 1, Type: history.OK, F: history.FRead, Key: "sess:1", Start: int64(5 * time.Second), End: int64(5005 * time.Millisecond), Node: "w1", Final: true},
	}
	for _, tc := range []struct {
		skew time.Duration
		want checker.Validity
	}{{0, checker.Invalid}, {2 * time.Second, checker.Valid}} {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("20261126-120000-regions-session-clock-skew-seed%d", tc.skew))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeJSONL(t, dir, h)
		plan := nemesis.Plan{Seed: 1}
		if tc.skew > 0 {
			plan.Steps = []nemesis.Step{{At: time.Second, Hold: time.Second, Kind: nemesis.ClockSkew, A: []string{"w1"}, Skew: tc.skew}}
		}
		b, err := json.Marshal(plan)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "plan.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := jepsen.Recheck(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].Checker != "session" || res[0].Valid != tc.want {
			t.Errorf("skew %v: results %+v, want session %s", tc.skew, res, tc.want)
		}
	}
}

// writeJSONL writes h as dir/history.jsonl.
func writeJSONL(t *testing.T, dir string, h history.History) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := h.WriteJSONL(f); err != nil {
		t.Fatal(err)
	}
}
