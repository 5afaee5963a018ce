package workload_test

import (
	"testing"
	"time"

	"github.com/meridian-kv/meridian/server/servertest"
	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
	"github.com/meridian-kv/meridian/tests/jepsen/workload"
)

// regionWorkloads returns the workloads of linked regions that
// TestJepsenRegionsMore runs, with region as their node-to-region map,
// and the functions each must exercise.
func regionWorkloads(region func(string) string) []struct {
	w  workload.Workload
	fs []history.F
} {
	return []struct {
		w  workload.Workload
		fs []history.F
	}{
		{workload.NewRegisterLWW(workload.RegisterLWWOptions{Region: region}), []history.F{history.FWrite, history.FRead}},
		{workload.NewHash(workload.HashOptions{Region: region}), []history.F{history.FHSet, history.FHDel, history.FHGetAll}},
		{workload.NewListPops(workload.ListPopsOptions{Region: region}), []history.F{history.FAppend, history.FLPop, history.FRPop, history.FList}},
	}
}

// TestRegionWorkloadsOnOneNode: one correct server (one region) must
// pass the checkers of the last-writer-wins register, hash and
// push-and-pop list workloads, every op kind succeeding.
func TestRegionWorkloadsOnOneNode(t *testing.T) {
	for _, tt := range regionWorkloads(nil) {
		t.Run(tt.w.Name(), func(t *testing.T) {
			srv := servertest.Start(t)
			res, h := run(t, tt.w, []string{srv.Addr}, 500*time.Millisecond)
			if c := h.Counts(); c.OK < 100 || c.Info != 0 || c.Pending != 0 {
				t.Errorf("counts %+v: want many OK ops and no indeterminate ones", c)
			}
			for _, f := range tt.fs {
				// A pop or read that found something, a write that applied.
				if len(h.Filter(func(op history.Op) bool { return op.F == f && op.Type == history.OK && op.Value != nil })) == 0 {
					t.Errorf("no successful %s with a value", f)
				}
			}
			for _, r := range res {
				if r.Valid != checker.Valid {
					t.Errorf("%s: %s: %q %q", r.Checker, r.Valid, r.Anomalies, r.Notes)
				}
			}
		})
	}
}

// TestRegionWorkloadsFindUnlinkedRegions: two servers never linked,
// posing as two regions, diverge; every checker must say so.
func TestRegionWorkloadsFindUnlinkedRegions(t *testing.T) {
	for _, tt := range regionWorkloads(func(node string) string { return node }) {
		t.Run(tt.w.Name(), func(t *testing.T) {
			a, b := servertest.Start(t), servertest.Start(t)
			res, _ := run(t, tt.w, []string{a.Addr, b.Addr}, 300*time.Millisecond)
			for _, r := range res {
				if r.Valid != checker.Invalid {
					t.Errorf("%s: %s, want invalid; notes %q", r.Checker, r.Valid, r.Notes)
				} else {
					t.Logf("%s found: %s", r.Checker, r.Anomalies[0])
				}
			}
		})
	}
}
