package nemesis_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
)

// TestRegionKillKillsAllThenStartsAll checks that a region-kill step
// kills every node of the region, starts them all before waiting for
// any to rejoin (one node alone has no quorum), and that the other
// region is untouched.
func TestRegionKillKillsAllThenStartsAll(t *testing.T) {
	east, west := []string{"e1", "e2", "e3"}, []string{"w1", "w2", "w3"}
	f := &fakeEnv{}
	ready := func(_ context.Context, node string) error {
		// Ready is asked only once every node of the region runs again.
		return f.log("ready %s", node)
	}
	env := nemesis.Env{Network: f, Processes: f, Nodes: append(slices.Clone(east), west...), Ready: ready}
	n := nemesis.New(env, time.Now())
	n.Run(t.Context(), nemesis.Plan{Steps: []nemesis.Step{{Hold: time.Millisecond, Kind: nemesis.RegionKill, A: west}}})
	want := []string{"kill w1", "kill w2", "kill w3", "start w1", "start w2", "start w3", "ready w1", "ready w2", "ready w3"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n%q\nwant\n%q", f.calls, want)
	}
	if n.Faults() != 1 {
		t.Errorf("Faults = %d, want 1", n.Faults())
	}
	for _, e := range n.Timeline() {
		if e.Err != "" {
			t.Errorf("event error: %v", e)
		}
	}
	// Nothing is left to heal: HealAll restarts no node.
	f.calls = nil
	if err := n.HealAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(f.calls, ";"), "start") {
		t.Errorf("HealAll restarted nodes the step had restarted: %q", f.calls)
	}
}

func TestLinkPlanDrawsRegionKill(t *testing.T) {
	east, west := []string{"e1", "e2", "e3"}, []string{"w1", "w2", "w3"}
	p := nemesis.NewLinkPlan(3, nemesis.LinkPlanConfig{Kinds: []nemesis.Kind{nemesis.RegionKill},
		Regions: [2][]string{east, west}, Duration: 2 * time.Minute})
	seen := map[string]bool{}
	for _, s := range p.Steps {
		if s.Kind != nemesis.RegionKill || (!slices.Equal(s.A, east) && !slices.Equal(s.A, west)) {
			t.Fatalf("step %v: want a region-kill of one whole region", s)
		}
		seen[s.A[0]] = true
	}
	if len(seen) != 2 {
		t.Errorf("only %v is ever killed:\n%s", seen, p)
	}
	ks, err := nemesis.ParseLinkKinds("all")
	if err != nil || !slices.Contains(ks, nemesis.RegionKill) {
		t.Errorf("ParseLinkKinds(all) = %v, %v: want region-kill in it", ks, err)
	}
}
