package nemesis_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
)

func TestNewPlanIsSeeded(t *testing.T) {
	cfg := nemesis.PlanConfig{Kinds: nemesis.AllKinds, Nodes: []string{"n1", "n2", "n3", "n4", "n5"}, Duration: 5 * time.Minute}
	a, b := nemesis.NewPlan(7, cfg), nemesis.NewPlan(7, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different plans:\n%s\n%s", a, b)
	}
	if c := nemesis.NewPlan(8, cfg); reflect.DeepEqual(a.Steps, c.Steps) {
		t.Error("different seeds gave the same plan")
	}
	if got := len(a.Kinds()); got != len(nemesis.AllKinds) {
		t.Errorf("a 5-minute plan uses %d kinds, want all %d:\n%s", got, len(nemesis.AllKinds), a)
	}
	for _, s := range a.Steps {
		if s.At+s.Hold > cfg.Duration {
			t.Errorf("step %v ends after the run", s)
		}
		switch s.Kind {
		case nemesis.PartitionHalves:
			if len(s.A) != 2 || len(s.B) != 3 {
				t.Errorf("halves of 5 nodes: %v | %v", s.A, s.B)
			}
		case nemesis.PartitionOneWay:
			if len(s.A) == 0 || len(s.B) == 0 || len(s.A)+len(s.B) != 5 {
				t.Errorf("one-way groups: %v -> %v", s.A, s.B)
			}
		case nemesis.ClockSkew:
			if s.Skew < -5*time.Second || s.Skew > 5*time.Second {
				t.Errorf("skew %s out of bounds", s.Skew)
			}
		}
	}
	if !strings.Contains(a.String(), "nemesis seed 7") {
		t.Errorf("plan does not print its seed:\n%s", a)
	}
	if p := nemesis.NewPlan(1, nemesis.PlanConfig{Nodes: cfg.Nodes, Duration: time.Minute}); len(p.Steps) != 0 {
		t.Errorf("no kinds, yet %d steps", len(p.Steps))
	}
}

func TestParseKinds(t *testing.T) {
	if k, err := nemesis.ParseKinds("all"); err != nil || len(k) != len(nemesis.AllKinds) {
		t.Errorf("all: %v %v", k, err)
	}
	if k, err := nemesis.ParseKinds("kill,pause"); err != nil || !slices.Equal(k, []nemesis.Kind{nemesis.Kill, nemesis.Pause}) {
		t.Errorf("kill,pause: %v %v", k, err)
	}
	if k, err := nemesis.ParseKinds("none"); err != nil || k != nil {
		t.Errorf("none: %v %v", k, err)
	}
	if _, err := nemesis.ParseKinds("kill,meteor"); err == nil {
		t.Error("unknown kind accepted")
	}
}

// fakeEnv records every call.
type fakeEnv struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeEnv) log(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return nil
}

func (f *fakeEnv) Partition(_ context.Context, a, b []string) error {
	return f.log("partition %v %v", a, b)
}
func (f *fakeEnv) PartitionOneWay(_ context.Context, a, b []string) error {
	return f.log("oneway %v %v", a, b)
}
func (f *fakeEnv) Heal(context.Context) error                     { return f.log("heal") }
func (f *fakeEnv) Kill(n string) error                            { return f.log("kill %s", n) }
func (f *fakeEnv) Start(_ context.Context, n string) error        { return f.log("start %s", n) }
func (f *fakeEnv) Stop(_ context.Context, n string) error         { return f.log("stop %s", n) }
func (f *fakeEnv) Pause(n string) error                           { return f.log("pause %s", n) }
func (f *fakeEnv) Resume(n string) error                          { return f.log("resume %s", n) }
func (f *fakeEnv) SetClockOffset(n string, d time.Duration) error { return f.log("clock %s %s", n, d) }

var (
	_ nemesis.Network   = (*fakeEnv)(nil)
	_ nemesis.Processes = (*fakeEnv)(nil)
)

func TestRunAppliesAndHeals(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	f := &fakeEnv{}
	env := nemesis.Env{Network: f, Processes: f, Nodes: nodes,
		Leader: func(context.Context) (string, error) { return "n2", nil }}
	ms := time.Millisecond
	plan := nemesis.Plan{Seed: 1, Steps: []nemesis.Step{
		{At: 0, Hold: ms, Kind: nemesis.IsolateLeader, A: []string{nemesis.Leader}},
		{At: 5 * ms, Hold: ms, Kind: nemesis.Kill, A: []string{nemesis.Leader}},
		{At: 10 * ms, Hold: ms, Kind: nemesis.Pause, A: []string{"n3"}},
		{At: 15 * ms, Hold: ms, Kind: nemesis.ClockSkew, A: []string{"n1"}, Skew: -2 * time.Second},
		{At: 20 * ms, Hold: ms, Kind: nemesis.PartitionOneWay, A: []string{"n1"}, B: []string{"n2", "n3"}},
		{At: 25 * ms, Kind: nemesis.RollingRestart, A: nodes},
	}}
	n := nemesis.New(env, time.Now())
	n.Run(t.Context(), plan)
	want := []string{
		"partition [n2] [n1 n3]", "heal",
		"kill n2", "start n2",
		"pause n3", "resume n3",
		"clock n1 -2s", "clock n1 0s",
		"oneway [n1] [n2 n3]", "heal",
		"stop n1", "start n1", "stop n2", "start n2", "stop n3", "start n3",
	}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n%q\nwant\n%q", f.calls, want)
	}
	if n.Faults() != 6 {
		t.Errorf("Faults = %d, want 6", n.Faults())
	}
	for _, e := range n.Timeline() {
		if e.Err != "" {
			t.Errorf("event error: %v", e)
		}
	}
}

func TestHealAllAfterCutShortRun(t *testing.T) {
	f := &fakeEnv{}
	env := nemesis.Env{Network: f, Processes: f, Nodes: []string{"n1", "n2", "n3"}}
	n := nemesis.New(env, time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	plan := nemesis.Plan{Steps: []nemesis.Step{
		{At: 0, Hold: time.Hour, Kind: nemesis.Pause, A: []string{"n1"}},
	}}
	done := make(chan struct{})
	go func() { n.Run(ctx, plan); close(done) }()
	for n.Faults() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	// The run was cut short while n1 was paused... and its heal ran
	// anyway (windows always heal); HealAll must then leave it alone.
	if err := n.HealAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	resumes := 0
	for _, c := range f.calls {
		if c == "resume n1" {
			resumes++
		}
	}
	if resumes != 1 {
		t.Errorf("n1 resumed %d times, want once: %q", resumes, f.calls)
	}
	if last := n.Timeline()[len(n.Timeline())-1]; last.Phase != "heal-all" {
		t.Errorf("last event %v, want heal-all", last)
	}
}
