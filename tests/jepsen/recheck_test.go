package jepsen_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meridian-kv/meridian/tests/jepsen"
	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
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
	f, err := os.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.WriteJSONL(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
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
