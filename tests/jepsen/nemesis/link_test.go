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
	if got := a.Kinds(); got[nemesis.LinkCut] == 0 || got[nemesis.KillRegionLeader] == 0 || got[nemesis.ClockSkew] == 0 {
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
		{At: 10 * ms, Hold: 2 * ms, Kind: nemesis.ClockSkew, A: east, B: []string{nemesis.Leader},
			Skew: 300 * time.Millisecond, Beyond: 1400 * time.Millisecond},
		{At: 15 * ms, Hold: ms, Kind: nemesis.ClockSkew, A: west, B: []string{"w3"}, Skew: -200 * time.Millisecond},
	}}
	n := nemesis.New(env, time.Now())
	n.Run(t.Context(), plan)
	want := []string{"partition [e1 e2 e3] [w1 w2 w3]", "heal", "kill w2", "start w2",
		"clock e2 300ms", "clock e2 1.4s", "clock e2 0s", "clock w3 -200ms", "clock w3 0s"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n%q\nwant\n%q", f.calls, want)
	}
	if n.Faults() != 4 {
		t.Errorf("Faults = %d, want 4", n.Faults())
	}
	// A one-region clock-skew step (no B) still skews its node alone.
	f.calls = nil
	nemesis.New(env, time.Now()).Run(t.Context(), nemesis.Plan{Steps: []nemesis.Step{
		{Hold: ms, Kind: nemesis.ClockSkew, A: []string{"e3"}, Skew: time.Second}}})
	if want := []string{"clock e3 1s", "clock e3 0s"}; !slices.Equal(f.calls, want) {
		t.Errorf("one-region clock skew: calls %q, want %q", f.calls, want)
	}
	for _, e := range n.Timeline() {
		if e.Err != "" {
			t.Errorf("event error: %v", e)
		}
	}
}

// TestLinkClockSkewPlan: two-region clock-skew steps target a region's
// leader or one of its nodes, in both regions; every step's first
// offset is within the links' max-clock-offset, and the first step and
// every other one after it then go beyond it, the same way.
func TestLinkClockSkewPlan(t *testing.T) {
	east, west := []string{"e1", "e2", "e3"}, []string{"w1", "w2", "w3"}
	const maxOff = time.Second
	p := nemesis.NewLinkPlan(3, nemesis.LinkPlanConfig{Kinds: []nemesis.Kind{nemesis.ClockSkew},
		Regions: [2][]string{east, west}, Duration: 3 * time.Minute, MaxClockOffset: maxOff})
	if len(p.Steps) < 10 {
		t.Fatalf("%d steps in 3 minutes:\n%s", len(p.Steps), p)
	}
	leader, node, regions, signs := 0, 0, map[string]bool{}, map[bool]bool{}
	for i, s := range p.Steps {
		if s.Kind != nemesis.ClockSkew || len(s.B) != 1 {
			t.Fatalf("step %v: want a clock skew with one target", s)
		}
		if !slices.Equal(s.A, east) && !slices.Equal(s.A, west) {
			t.Errorf("step %v: A is not a region", s)
		}
		regions[s.A[0]] = true
		switch {
		case s.B[0] == nemesis.Leader:
			leader++
		case slices.Contains(s.A, s.B[0]):
			node++
		default:
			t.Errorf("step %v: target %s not in its region", s, s.B[0])
		}
		if a := s.Skew.Abs(); a < maxOff/4 || a >= maxOff*4/5 {
			t.Errorf("step %v: skew %v not within [%v, %v)", s, s.Skew, maxOff/4, maxOff*4/5)
		}
		signs[s.Skew > 0] = true
		if i%2 == 0 {
			if a := s.Beyond.Abs(); a < 2*maxOff || a >= 4*maxOff || (s.Beyond > 0) != (s.Skew > 0) {
				t.Errorf("step %d %v: beyond %v, want 2-4 x %v the same way as the skew", i, s, s.Beyond, maxOff)
			}
		} else if s.Beyond != 0 {
			t.Errorf("step %d %v: goes beyond, want only every other step to", i, s)
		}
	}
	if leader == 0 || node == 0 || len(regions) != 2 || len(signs) != 2 {
		t.Errorf("targets: %d leaders, %d nodes, regions %v, signs %v: want both of each\n%s", leader, node, regions, signs, p)
	}
	if got := p.MaxSkew(); got < 2*maxOff {
		t.Errorf("MaxSkew = %v, want the largest beyond offset", got)
	}
	if _, err := nemesis.ParseLinkKinds("clock-skew,link-cut"); err != nil {
		t.Error(err)
	}
}

// TestCyclePlans: with Cycle, kinds come in turn, so a plan with as
// many steps as kinds has each once, one-region and two-region alike.
func TestCyclePlans(t *testing.T) {
	for seed := range uint64(5) {
		p := nemesis.NewPlan(seed, nemesis.PlanConfig{Kinds: nemesis.AllKinds, Nodes: []string{"n1", "n2", "n3"},
			Duration: 2*time.Second + 7*(3*time.Second+2*time.Second), Hold: 3 * time.Second, Quiet: 2 * time.Second, Cycle: true})
		if got := p.Kinds(); len(p.Steps) != len(nemesis.AllKinds) || len(got) != len(nemesis.AllKinds) {
			t.Errorf("seed %d: %d steps of kinds %v, want each of %v once\n%s", seed, len(p.Steps), got, nemesis.AllKinds, p)
		}
		lp := nemesis.NewLinkPlan(seed, nemesis.LinkPlanConfig{Kinds: nemesis.LinkKinds, Regions: [2][]string{{"e1"}, {"w1"}},
			Duration: 2*time.Second + 4*(3*time.Second+2*time.Second), Hold: 3 * time.Second, Quiet: 2 * time.Second, Cycle: true})
		if got := lp.Kinds(); len(lp.Steps) != len(nemesis.LinkKinds) || len(got) != len(nemesis.LinkKinds) {
			t.Errorf("seed %d: link plan of %d steps, kinds %v, want each of %v once\n%s", seed, len(lp.Steps), got, nemesis.LinkKinds, lp)
		}
	}
}
