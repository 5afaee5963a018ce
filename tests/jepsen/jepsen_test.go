package jepsen_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/tests/jepsen"
	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/cluster"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
	"github.com/meridian-kv/meridian/tests/jepsen/netns"
	"github.com/meridian-kv/meridian/tests/jepsen/workload"
)

var (
	flagTime        = flag.Duration("jepsen.time", 10*time.Second, "how long clients run in each run of -jepsen.nemesis=each or of a mix (make jepsen: 60s); unused by -jepsen.nemesis=short")
	flagWorkloads   = flag.String("jepsen.workloads", "register,counter,set", "comma-separated workloads")
	flagNemesis     = flag.String("jepsen.nemesis", "short", `"short" runs each workload once under every fault kind in turn, one -jepsen.hold window each (make test); "each" runs every fault kind alone plus "none" (make jepsen); otherwise one mix: "all", "none" or a list such as "kill,pause"`)
	flagParallel    = flag.Int("jepsen.parallel", 2, "one-region runs at once, each in its own namespaces and subnet (at most 3; the -parallel flag bounds it too)")
	flagNodes       = flag.Int("jepsen.nodes", 3, "nodes in the region")
	flagConcurrency = flag.Int("jepsen.concurrency", 0, "clients (0: 2 per node)")
	flagSeed        = flag.Uint64("jepsen.seed", 0, "seed of the nemesis and the clients (0: time-based, printed)")
	flagHold        = flag.Duration("jepsen.hold", 0, "length of each fault (0: derived from -jepsen.time; 3s with -jepsen.nemesis=short)")
	flagResults     = flag.String("jepsen.results", "", "results folder (default: <repo>/tests/results)")
	flagBin         = flag.String("jepsen.bin", os.Getenv("MERIDIAN_JEPSEN_BIN"), "prebuilt meridian binary (default: $MERIDIAN_JEPSEN_BIN, else go build -tags faultinject)")
	flagRecheck     = flag.String("jepsen.recheck", "", "a run folder whose history.jsonl TestRecheck checks again")
	flagTryAgain    = flag.Bool("jepsen.tryagain-fails", false, "record writes answered TRYAGAIN as failed (tests the server's 'not executed' promise) instead of indeterminate")
)

// TestMain silences go-redis's own logging (dial failures during kills
// and partitions are expected; the history records them).
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// repoRoot walks up from the working directory to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

var build struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

// binary builds meridian once per test binary (or returns -jepsen.bin).
func binary(t *testing.T) string {
	t.Helper()
	if *flagBin != "" {
		return *flagBin
	}
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "meridian-jepsen-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		build.bin, build.err = cluster.Build(ctx, repoRoot(t), dir)
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

func resultsDir(t *testing.T) string {
	if *flagResults != "" {
		return *flagResults
	}
	return filepath.Join(repoRoot(t), "tests", "results")
}

// tlog sends the harness's progress to t.Log.
func tlog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// shortMode reports whether -jepsen.nemesis is "short".
func shortMode() bool { return *flagNemesis == "short" }

// shortConfig is a run of the short matrix: wl under every one of kinds
// in turn (Cycle), one -jepsen.hold window (3 s) each, with the usual
// quiet gap (3/5 of the window) between them, after a 2 s warm-up.
func shortConfig(bin, wl string, kinds []nemesis.Kind) jepsen.Config {
	hold := *flagHold
	if hold == 0 {
		hold = 3 * time.Second
	}
	quiet := hold * 3 / 5
	d := 2*time.Second + time.Duration(len(kinds))*(hold+quiet) - quiet
	return jepsen.Config{Binary: bin, Workload: wl, Nemesis: kinds, Duration: d, Hold: hold, Quiet: quiet, Cycle: true}
}

// runSlots are the namespace prefixes and subnets of one-region runs
// that may run at once (the first -jepsen.parallel of them); a run
// takes one for its life (see acquireSlot).
var runSlots = []struct{ prefix, subnet string }{{"mjep", "10.77.0"}, {"mjeq", "10.77.2"}, {"mjes", "10.77.3"}}

var slotPool struct {
	once sync.Once
	free chan int
}

// acquireSlot waits for a free run slot and holds it until t ends.
func acquireSlot(t *testing.T) (prefix, subnet string) {
	slotPool.once.Do(func() {
		n := min(max(*flagParallel, 1), len(runSlots))
		slotPool.free = make(chan int, n)
		for i := range n {
			slotPool.free <- i
		}
	})
	select {
	case i := <-slotPool.free:
		t.Cleanup(func() { slotPool.free <- i })
		return runSlots[i].prefix, runSlots[i].subnet
	case <-t.Context().Done():
		t.Fatal("no run slot before the test ended")
		return "", ""
	}
}

// mixes returns the nemesis mixes to run, by name.
func mixes(t *testing.T) map[string][]nemesis.Kind {
	if *flagNemesis == "each" {
		m := map[string][]nemesis.Kind{"none": nil}
		for _, k := range nemesis.AllKinds {
			m[string(k)] = []nemesis.Kind{k}
		}
		return m
	}
	kinds, err := nemesis.ParseKinds(*flagNemesis)
	if err != nil {
		t.Fatal(err)
	}
	name := *flagNemesis
	if len(kinds) > 1 && *flagNemesis != "all" {
		name = strings.ReplaceAll(name, ",", "+")
	}
	return map[string][]nemesis.Kind{name: kinds}
}

// TestJepsen runs every workload against a 3-node region in network
// namespaces, and fails on any anomaly: by default (-jepsen.nemesis=short,
// what `make test` runs) once under every kind of nemesis.AllKinds in
// turn; with -jepsen.nemesis=each (`make jepsen`) under every kind alone
// and none. Workloads run in parallel (-jepsen.parallel). Each run's
// report is under tests/results/.
func TestJepsen(t *testing.T) {
	bin := matrixBinary(t)
	t.Parallel()
	if shortMode() {
		for _, wl := range strings.Split(*flagWorkloads, ",") {
			t.Run(wl, func(t *testing.T) {
				t.Parallel()
				cfg := shortConfig(bin, wl, nemesis.AllKinds)
				skipNearDeadline(t, cfg.Duration+30*time.Second)
				cfg.RunPattern = "TestJepsen/" + wl
				runOne(t, cfg)
			})
		}
		return
	}
	ms := mixes(t)
	names := make([]string, 0, len(ms))
	for n := range ms {
		names = append(names, n)
	}
	// A stable order, "none" first: a failure without faults is the
	// simplest to read.
	sortNone(names)
	perRun := *flagTime + 30*time.Second // clients + setup, heal, checks
	for _, wl := range strings.Split(*flagWorkloads, ",") {
		t.Run(wl, func(t *testing.T) {
			t.Parallel()
			for _, mix := range names {
				t.Run(mix, func(t *testing.T) {
					if dl, ok := t.Deadline(); ok && time.Until(dl) < perRun {
						t.Skipf("skipping: less than %s left before the test timeout; raise -timeout", perRun)
					}
					runOne(t, jepsen.Config{Binary: bin, Workload: wl, Nemesis: ms[mix],
						RunPattern: "TestJepsen/" + wl + "/" + mix + "' -jepsen.nemesis='" + *flagNemesis})
				})
			}
		})
	}
}

func sortNone(names []string) {
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if names[j] == "none" || (names[i] != "none" && names[j] < names[i]) {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
}

// runOne runs cfg in a free run slot (see acquireSlot) and fails t on
// any anomaly. Zero Duration and Hold come from the flags.
func runOne(t *testing.T, cfg jepsen.Config) *jepsen.Report {
	t.Helper()
	cfg.Nodes = *flagNodes
	if cfg.Duration == 0 {
		cfg.Duration = *flagTime
	}
	if cfg.Hold == 0 {
		cfg.Hold = *flagHold
	}
	cfg.Prefix, cfg.Subnet = acquireSlot(t)
	cfg.Concurrency = *flagConcurrency
	cfg.Seed = *flagSeed
	cfg.ResultsDir = resultsDir(t)
	cfg.DataDir = t.TempDir()
	cfg.Policy = workload.Policy{TryAgainFails: *flagTryAgain}
	cfg.Logger = tlog(t)
	rep, err := jepsen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Logf("\n%s", rep.Summary)
	for _, r := range rep.Results {
		switch {
		case r.Valid == checker.Valid:
		case r.Checker == "convergence" && r.Valid == checker.Unknown && jepsen.DigestUnsupported(r):
			t.Logf("convergence not checked: the nodes have no DEBUG DIGEST yet")
		default:
			t.Errorf("%s: %s: see %s", r.Checker, r.Valid, rep.Dir)
		}
	}
	return rep
}

// TestHarnessFindsBugs runs the harness end to end — namespaces, real
// processes, signals, clients, checkers, report — against today's
// single-node servers (no Raft), where the truth is known: pausing a node
// loses nothing, so the run must be valid; kill -9 of an in-memory node
// loses acknowledged increments, so the run must be invalid.
func TestHarnessFindsBugs(t *testing.T) {
	netns.Require(t)
	bin := binary(t)
	base := jepsen.Config{Binary: bin, Mode: jepsen.Standalone, Workload: "counter", Nodes: 1,
		Duration: 6 * time.Second, Hold: 2 * time.Second, Quiet: time.Second, OpTimeout: 500 * time.Millisecond,
		Prefix: "mjhs", Subnet: "10.77.1",
		ResultsDir: t.TempDir(), DataDir: t.TempDir(), Seed: 1, Logger: tlog(t)}
	t.Run("pause_is_harmless", func(t *testing.T) {
		cfg := base
		cfg.Nemesis = []nemesis.Kind{nemesis.Pause}
		rep, err := jepsen.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("\n%s", rep.Summary)
		if rep.Faults == 0 || rep.Counts.Info == 0 {
			t.Errorf("%d faults, %d indeterminate ops: the pause did not bite", rep.Faults, rep.Counts.Info)
		}
		for _, r := range rep.Results {
			if r.Checker != "convergence" && r.Valid != checker.Valid {
				t.Errorf("%s: %s %q", r.Checker, r.Valid, r.Anomalies)
			}
		}
		for _, f := range []string{"summary.txt", "verdict.json", "history.jsonl", "nemesis.txt", "plan.txt", "logs/n1.log"} {
			if _, err := os.Stat(filepath.Join(rep.Dir, f)); err != nil {
				t.Errorf("report lacks %s: %v", f, err)
			}
		}
	})
	t.Run("kill_loses_memory", func(t *testing.T) {
		cfg := base
		cfg.Nemesis = []nemesis.Kind{nemesis.Kill}
		rep, err := jepsen.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("\n%s", rep.Summary)
		if rep.Valid != checker.Invalid {
			t.Errorf("verdict %s: kill -9 of an in-memory node must lose acknowledged increments", rep.Valid)
		}
	})
}

// TestRecheck checks a saved history again: -jepsen.recheck=tests/results/<run>.
func TestRecheck(t *testing.T) {
	if *flagRecheck == "" {
		t.Skip("set -jepsen.recheck=<run folder> to check a saved history again")
	}
	res, err := jepsen.Recheck(*flagRecheck)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("%s: %s %q %q %v", r.Checker, r.Valid, r.Anomalies, r.Notes, r.Files)
		if r.Valid != checker.Valid {
			t.Errorf("%s: %s", r.Checker, r.Valid)
		}
	}
}
