package nemesis_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
)

// regionEnv is a fakeEnv that can also change membership and stall
// disks; leader is the node Leader returns, and a stalled leader hands
// over to next when asked leaderAfterStall times.
type regionEnv struct {
	fakeEnv
	mu     sync.Mutex
	leader string
	next   string // "" : the stalled leader never steps down
}

func (f *regionEnv) Leave(_ context.Context, via, n string) error {
	return f.log("leave %s via %s", n, via)
}
func (f *regionEnv) Join(_ context.Context, via, n string) error {
	return f.log("join %s via %s", n, via)
}
func (f *regionEnv) SetDiskStall(n string, on bool) error {
	f.mu.Lock()
	if on && n == f.leader && f.next != "" {
		f.leader = f.next
	}
	f.mu.Unlock()
	return f.log("stall %s %v", n, on)
}
func (f *regionEnv) Leader(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader, nil
}

var (
	_ nemesis.Membership = (*regionEnv)(nil)
	_ nemesis.Disks      = (*regionEnv)(nil)
)

func TestPlanChurnUsesEachSpareOnce(t *testing.T) {
	cfg := nemesis.PlanConfig{Kinds: []nemesis.Kind{nemesis.MembershipChurn, nemesis.Kill}, Nodes: []string{"n1", "n2", "n3"},
		Spares: []string{"n4", "n5"}, Duration: 10 * time.Minute}
	p := nemesis.NewPlan(3, cfg)
	var fresh []string
	for _, s := range p.Steps {
		if s.Kind == nemesis.MembershipChurn {
			fresh = append(fresh, s.B...)
		}
	}
	if !slices.Equal(fresh, []string{"n4", "n5"}) {
		t.Errorf("churn steps add %v, want n4 then n5 (each spare once):\n%s", fresh, p)
	}
	if p.Kinds()[nemesis.Kill] < 10 {
		t.Errorf("after the spares ran out, other kinds must still be drawn:\n%s", p)
	}
	stall := nemesis.NewPlan(3, nemesis.PlanConfig{Kinds: []nemesis.Kind{nemesis.DiskStall}, Nodes: cfg.Nodes,
		Duration: time.Minute, Hold: time.Second})
	for _, s := range stall.Steps {
		if s.Hold < nemesis.DiskStallHold || s.At+s.Hold > time.Minute {
			t.Errorf("disk stall step %v: want a hold of at least %s, within the run", s, nemesis.DiskStallHold)
		}
	}
	if len(stall.Steps) < 2 || stall.Steps[0].A[0] != nemesis.Leader || stall.Steps[1].A[0] == nemesis.Leader {
		t.Errorf("disk stalls must hit the leader first, then a follower:\n%s", stall)
	}
}

// TestChurnReplacesAFollower: the leader is never removed, the fresh
// node takes the victim's place in Members and Route, and later steps
// aimed at the victim act on its replacement.
func TestChurnReplacesAFollower(t *testing.T) {
	f := &regionEnv{leader: "n1"}
	env := nemesis.Env{Network: f, Processes: f, Nodes: []string{"n1", "n2", "n3"}, Leader: f.Leader}
	n := nemesis.New(env, time.Now())
	ms := time.Millisecond
	n.Run(t.Context(), nemesis.Plan{Steps: []nemesis.Step{
		{At: 0, Hold: ms, Kind: nemesis.MembershipChurn, A: []string{"n1", "n3", "n2"}, B: []string{"n4"}},
		{At: 5 * ms, Hold: ms, Kind: nemesis.Kill, A: []string{"n3"}},
		{At: 10 * ms, Hold: ms, Kind: nemesis.IsolateLeader, A: []string{nemesis.Leader}},
	}})
	want := []string{"leave n3 via n1", "join n4 via n1", "kill n4", "start n4", "partition [n1] [n2 n4]", "heal"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n%q\nwant\n%q", f.calls, want)
	}
	if got := n.Members(); !slices.Equal(got, []string{"n1", "n2", "n4"}) {
		t.Errorf("members %v", got)
	}
	if n.Route("n3") != "n4" || n.Route("n2") != "n2" {
		t.Errorf("route n3 -> %s, n2 -> %s", n.Route("n3"), n.Route("n2"))
	}
	for _, e := range n.Timeline() {
		if e.Err != "" || e.Anomaly != "" {
			t.Errorf("event %v", e)
		}
	}
}

// TestStallNeedsLeaderToStepDown: a stalled leader that hands over is
// fine; one that keeps leading is an anomaly. Both are released.
func TestStallNeedsLeaderToStepDown(t *testing.T) {
	for _, next := range []string{"n2", ""} {
		f := &regionEnv{leader: "n1", next: next}
		env := nemesis.Env{Network: f, Processes: f, Nodes: []string{"n1", "n2", "n3"}, Leader: f.Leader}
		n := nemesis.New(env, time.Now())
		n.Run(t.Context(), nemesis.Plan{Steps: []nemesis.Step{
			{Hold: 300 * time.Millisecond, Kind: nemesis.DiskStall, A: []string{nemesis.Leader}},
		}})
		if want := []string{"stall n1 true", "stall n1 false"}; !slices.Equal(f.calls, want) {
			t.Errorf("calls %q, want %q", f.calls, want)
		}
		an := n.Anomalies()
		switch {
		case next != "" && len(an) != 0:
			t.Errorf("leader handed over to %s, yet anomalies %q", next, an)
		case next == "" && (len(an) != 1 || !strings.Contains(an[0], "still leading")):
			t.Errorf("leader kept leading, anomalies %q", an)
		}
		if err := n.HealAll(t.Context()); err != nil || slices.Contains(f.calls[2:], "stall n1 false") {
			t.Errorf("HealAll released an unstalled disk again: %v %q", err, f.calls)
		}
	}
}
