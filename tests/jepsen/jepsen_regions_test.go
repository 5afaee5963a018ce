package jepsen_test

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen"
	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
	"github.com/meridian-kv/meridian/tests/jepsen/workload"
)

var (
	flagRegionsNemesis = flag.String("jepsen.regions-nemesis", "link-cut", `TestJepsenRegions' faults: "link-cut", "kill-region-leader", "region-kill", a list of them, "all" or "none"`)
)

// TestJepsenRegions runs the counter, set, session and list workloads against
// two linked 3-node regions (east and west, each node in its own network
// namespace) with clients in both, while the nemesis cuts and heals the
// link between the regions (-jepsen.regions-nemesis adds kill -9 of a
// region's leader, and kill -9 of a whole region then its restart).
// After healing it checks that every node of both regions reads the
// same values (convergence, timed), that every region's final counter
// lies between the acknowledged increments of both regions and that
// plus the indeterminate ones, that no acknowledged set element is lost
// and no removed one comes back, that no session (SET PX in one
// region, GET and PTTL in both) is found after its expiry, and that
// every acknowledged list push (RPUSH and LPUSH in both regions) is in
// every node's final list exactly once, the same list on every node.
// Last, it runs two regions that were never linked, where the checkers
// must find the missing writes.
func TestJepsenRegions(t *testing.T) {
	bin := matrixBinary(t)
	kinds, err := nemesis.ParseLinkKinds(*flagRegionsNemesis)
	if err != nil {
		t.Fatal(err)
	}
	d := *flagTime
	for _, wl := range []string{"counter", "set", "session", "list"} {
		t.Run(wl, func(t *testing.T) {
			skipNearDeadline(t, d+40*time.Second)
			cfg := jepsen.Config{Binary: bin, Workload: wl, Nemesis: kinds, Duration: d,
				Hold: *flagHold, Concurrency: *flagConcurrency, Seed: *flagSeed,
				ResultsDir: resultsDir(t), DataDir: t.TempDir(),
				Policy: workload.Policy{TryAgainFails: *flagTryAgain}, Logger: tlog(t),
				RunPattern: "TestJepsenRegions/" + wl + "' -jepsen.regions-nemesis='" + strings.Join(kindNames(kinds), ",")}
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
			}
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
