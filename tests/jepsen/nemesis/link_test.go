package nemesis_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
)

func TestNewLinkPlan(t *testing.T) {
	east, west := []string{"e1", "e2", "e3"}, []string{"w1", "w2", "w3"}
	cfg := nemesis.LinkPlanConfig{Kinds: nemesis.LinkKinds, Regions: [2][]string{east, west}, Duration: 2 * time.Minute}
	a, b := nemesis.NewLinkPlan(7, cfg), nemesis.NewLinkPlan(7, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different plans:\n%s\n%s", a, b)
	}
	if got := a.Kinds(); got[nemesis.LinkCut] == 0 || got[nemesis.KillRegionLeader] == 0 {
		t.Errorf("a 2-minute plan lacks a kind: %v\n%s", got, a)
	}
	killed := map[string]bool{}
	for _, s := range a.Steps {
		if s.At+s.Hold > cfg.Duration {
			t.Errorf("step %v ends after the run", s)
		}
		switch s.Kind {
		case nemesis.LinkCut:
			if !slices.Equal(s.A, east) || !slices.Equal(s.B, west) {
				t.Errorf("link cut %v | %v, want the two regions", s.A, s.B)
			}
		case nemesis.KillRegionLeader:
			if !slices.Equal(s.A, east) && !slices.Equal(s.A, west) {
				t.Errorf("kill the leader of %v: not a region", s.A)
			}
			killed[s.A[0]] = true
		}
	}
	if len(killed) != 2 {
		t.Errorf("the leader of only %v is ever killed:\n%s", killed, a)
	}
	for _, k := range []string{"all", "link-cut,kill-region-leader", "none"} {
		if _, err := nemesis.ParseLinkKinds(k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if _, err := nemesis.ParseLinkKinds("kill"); err == nil {
		t.Error("a one-region kind accepted as a link kind")
	}
}

func TestLinkStepsApplyAndHeal(t *testing.T) {
	east, west := []string{"e1", "e2", "e3"}, []string{"w1", "w2", "w3"}
	f := &fakeEnv{}
	env := nemesis.Env{Network: f, Processes: f, Nodes: append(slices.Clone(east), west...),
		LeaderOf: func(_ context.Context, nodes []string) (string, error) { return nodes[1], nil }}
	ms := time.Millisecond
	plan := nemesis.Plan{Steps: []nemesis.Step{
		{At: 0, Hold: ms, Kind: nemesis.LinkCut, A: east, B: west},
		{At: 5 * ms, Hold: ms, Kind: nemesis.KillRegionLeader, A: west},
	}}
	n := nemesis.New(env, time.Now())
	n.Run(t.Context(), plan)
	want := []string{"partition [e1 e2 e3] [w1 w2 w3]", "heal", "kill w2", "start w2"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n%q\nwant\n%q", f.calls, want)
	}
	if n.Faults() != 2 {
		t.Errorf("Faults = %d, want 2", n.Faults())
	}
	for _, e := range n.Timeline() {
		if e.Err != "" {
			t.Errorf("event error: %v", e)
		}
	}
}
