package jepsen_test

import (
	"flag"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen"
	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
	"github.com/meridian-kv/meridian/tests/jepsen/wan"
	"github.com/meridian-kv/meridian/tests/jepsen/workload"
)

var (
	flagRegionsNemesis = flag.String("jepsen.regions-nemesis", "link-cut", `two-region faults of every workload: "link-cut", "kill-region-leader", "region-kill", "clock-skew", a list of them, "all" (make jepsen) or "none". Unset, with -jepsen.nemesis=short, TestJepsenRegions gives each workload two of nemesis.LinkKinds in turn instead, a different pair per workload, so that every kind runs (make test)`)
	flagWANDelay       = flag.Duration("jepsen.wan-delay", 25*time.Millisecond, "TestJepsenRegions: one-way delay between the regions, each way (0 and no jitter or loss: direct links)")
	flagWANJitter      = flag.Duration("jepsen.wan-jitter", 5*time.Millisecond, "TestJepsenRegions: spread of the one-way delay (± this)")
	flagWANLoss        = flag.Float64("jepsen.wan-loss", 0.02, "TestJepsenRegions: probability that a packet between the regions is dropped, each way")
	flagWANMethod      = flag.String("jepsen.wan-method", "", `TestJepsenRegions: "netem" or "proxy" (user-space delay + iptables loss); empty: netem where the kernel has it, else proxy`)
)

// regionsMix returns the faults of the i-th two-region workload: those
// of -jepsen.regions-nemesis if it is set or -jepsen.nemesis is not
// "short", else two of nemesis.LinkKinds, a pair further on for each
// workload (counter: link-cut and kill-region-leader; set:
// kill-region-leader and region-kill; session: region-kill and
// clock-skew; list: clock-skew and link-cut), taken in turn (run them
// with Config.Cycle); the workloads after list start again at counter's pair.
func regionsMix(t *testing.T, i int) []nemesis.Kind {
	if shortMode() && !flagSet("jepsen.regions-nemesis") {
		k := nemesis.LinkKinds
		return []nemesis.Kind{k[i%len(k)], k[(i+1)%len(k)]}
	}
	kinds, err := nemesis.ParseLinkKinds(*flagRegionsNemesis)
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// wanFlags returns the WAN between the regions that the flags ask for.
func wanFlags() (wan.Conditions, wan.Method) {
	return wan.Conditions{Delay: *flagWANDelay, Jitter: *flagWANJitter, Loss: *flagWANLoss}, wan.Method(*flagWANMethod)
}

// TestJepsenRegions runs every two-region workload (jepsen.RegionWorkloads) against
// two linked 3-node regions (east and west, each node in its own network
// namespace) with clients in both, across a WAN (by default 25 ms ± 5 ms
// each way and 2% loss each way: tc netem, or a delay proxy in each
// node's namespace and iptables random drop; see -jepsen.wan-*), while
// the nemesis takes link faults in turn: by default two kinds per
// workload so that the four run (link cut, kill -9 of a region's leader,
// kill -9 of a whole region, clock skew of a node within and then beyond
// the links' max-clock-offset); -jepsen.regions-nemesis picks them.
// After healing it checks that every node of both regions reads the
// same values (convergence, timed), that every region's final counter
// lies between the acknowledged increments of both regions and that
// plus the indeterminate ones, that no acknowledged set element is lost
// and no removed one comes back, that no session (SET PX in one
// region, GET and PTTL in both) is found after its expiry (plus the
// largest clock skew), and that
// every acknowledged list push (RPUSH and LPUSH in both regions) is in
// every node's final list exactly once, the same list on every node.
// Registers and hash fields written in both regions (register-lww,
// hash-lww) never read a value no write wrote, and a region never reads
// one older than a write it had certainly applied; with pops in both
// regions (list-pops) no element is popped twice in one region, none
// popped comes back and no acknowledged push is lost (elements popped in
// both regions are legal, docs/CONFLICTS.md, and counted in the notes). It
// also checks that the WAN was in force: inter-region packets met the
// loss rules (and with enough of them, some were dropped), and with
// the proxy, the links' traffic went through it.
// Last, it runs two regions that were never linked, where the checkers
// must find the missing writes.
func TestJepsenRegions(t *testing.T) {
	bin := matrixBinary(t)
	d := *flagTime
	cond, method := wanFlags()
	for i, wl := range jepsen.RegionWorkloads {
		t.Run(wl, func(t *testing.T) {
			kinds := regionsMix(t, i)
			skipNearDeadline(t, d+40*time.Second)
			cfg := jepsen.Config{Binary: bin, Workload: wl, Nemesis: kinds, Duration: d, Cycle: true,
				Hold: *flagHold, Concurrency: *flagConcurrency, Seed: *flagSeed,
				WAN: cond, WANMethod: method,
				ResultsDir: resultsDir(t), DataDir: t.TempDir(),
				Policy: workload.Policy{TryAgainFails: *flagTryAgain}, Logger: tlog(t),
				RunPattern: "TestJepsenRegions/" + wl + "' -jepsen.regions-nemesis='" + strings.Join(kindNames(kinds), ",") +
					"' -jepsen.wan-delay='" + cond.Delay.String() + "' -jepsen.wan-jitter='" + cond.Jitter.String() +
					"' -jepsen.wan-loss='" + strconv.FormatFloat(cond.Loss, 'g', -1, 64)}
			rep, err := jepsen.RunRegions(t.Context(), cfg)
			if err != nil {
				t.Fatalf("harness: %v", err)
			}
			t.Logf("\n%s", rep.Summary)
			if len(kinds) > 0 && rep.Faults == 0 {
				t.Errorf("no fault was injected: see %s", rep.Dir)
			}
			for _, r := range rep.Results {
				if r.Valid != checker.Valid {
					t.Errorf("%s: %s: see %s", r.Checker, r.Valid, rep.Dir)
				}
				if len(r.Notes) > 0 && r.Checker != "convergence" {
					t.Logf("%s notes:\n\t%s", r.Checker, strings.Join(r.Notes, "\n\t"))
				}
			}
			checkWAN(t, cond, rep)
		})
	}
	// The harness itself: with the regions never linked, each region
	// misses the other's increments, which the counter and convergence
	// checkers must both report.
	t.Run("unlinked_is_caught", func(t *testing.T) {
		skipNearDeadline(t, 30*time.Second)
		rep, err := jepsen.RunRegions(t.Context(), jepsen.Config{Binary: bin, Workload: "counter", Unlinked: true,
			Duration: 3 * time.Second, ConvergeTimeout: 2 * time.Second, Seed: 1,
			ResultsDir: t.TempDir(), DataDir: t.TempDir(), Logger: tlog(t)})
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		t.Logf("\n%s", rep.Summary)
		for _, r := range rep.Results {
			if (r.Checker == "counter" || r.Checker == "convergence") && r.Valid != checker.Invalid {
				t.Errorf("%s: %s, want invalid: two unlinked regions cannot agree (see %s)", r.Checker, r.Valid, rep.Dir)
			}
		}
	})
}

// lossSample is how many inter-region packets make a run without a
// single drop at the configured loss a failure: at 2% loss, the chance
// that none of 2000 packets is dropped is below 1e-17.
const lossSample = 2000

// checkWAN fails t unless rep shows the WAN cond in force: a report of
// it, packets across the loss rules, drops if enough packets crossed,
// and with the proxy, link traffic through it.
func checkWAN(t *testing.T, cond wan.Conditions, rep *jepsen.Report) {
	t.Helper()
	if cond.IsZero() {
		return
	}
	if rep.WAN == nil {
		t.Errorf("WAN %s asked for, none reported: see %s", cond, rep.Dir)
		return
	}
	s := rep.WAN.Stats
	if s.Packets == 0 {
		t.Errorf("no inter-region packet met the WAN rules (%s): see %s", rep.WAN.How, rep.Dir)
	}
	if cond.Loss > 0 && s.Packets >= lossSample && s.Dropped == 0 {
		t.Errorf("%d inter-region packets and none dropped at %.1f%% loss: the loss is not in force (see %s)", s.Packets, 100*cond.Loss, rep.Dir)
	}
	if rep.WAN.Method == wan.ProxyMethod && (s.Proxy.Conns == 0 || s.Proxy.BytesTo == 0 || s.Proxy.BytesFrom == 0) {
		t.Errorf("the WAN proxies carried %+v: the links bypass them (see %s)", s.Proxy, rep.Dir)
	}
}

func kindNames(ks []nemesis.Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
