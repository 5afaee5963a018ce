package jepsen_test

import (
	"flag"
	"slices"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen"
	"github.com/meridian-kv/meridian/tests/jepsen/cluster"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
	"github.com/meridian-kv/meridian/tests/jepsen/netns"
)

var flagListTime = flag.Duration("jepsen.list-time", 0, "how long clients run in each list-append run of TestJepsenList (0: half of -jepsen.time, at least 5s)")

// matrixBinary is TestJepsen's preamble: root, a binary, a region CLI.
func matrixBinary(t *testing.T) string {
	t.Helper()
	netns.Require(t)
	bin := binary(t)
	if ok, why := cluster.SupportsRegions(t.Context(), bin); !ok {
		t.Skipf("skipping: %s", why)
	}
	return bin
}

func skipNearDeadline(t *testing.T, perRun time.Duration) {
	t.Helper()
	if dl, ok := t.Deadline(); ok && time.Until(dl) < perRun {
		t.Skipf("skipping: less than %s left before the test timeout; raise -timeout", perRun)
	}
}

// TestJepsenList runs the list-append workload (RPUSH/LRANGE, checked
// Elle-style) under each of nemesis.AllKinds and membership churn: by
// default (-jepsen.nemesis=short) in one run that takes them in turn;
// with -jepsen.nemesis=each, one run per kind plus one without faults,
// each shorter than TestJepsen's (see -jepsen.list-time).
func TestJepsenList(t *testing.T) {
	bin := matrixBinary(t)
	t.Parallel()
	kinds := append(slices.Clone(nemesis.AllKinds), nemesis.MembershipChurn)
	if shortMode() {
		cfg := shortConfig(bin, "list", kinds)
		skipNearDeadline(t, cfg.Duration+30*time.Second)
		cfg.RunPattern = "TestJepsenList"
		rep := runOne(t, cfg)
		if rep.Faults < len(kinds) {
			t.Errorf("%d faults, want one of each of %v: see %s", rep.Faults, kinds, rep.Dir)
		}
		return
	}
	d := *flagListTime
	if d == 0 {
		d = max(*flagTime/2, 5*time.Second)
	}
	mixes := [][]nemesis.Kind{nil}
	for _, k := range kinds {
		mixes = append(mixes, []nemesis.Kind{k})
	}
	for _, mix := range mixes {
		name := "none"
		if mix != nil {
			name = string(mix[0])
		}
		t.Run(name, func(t *testing.T) {
			skipNearDeadline(t, d+30*time.Second)
			runOne(t, jepsen.Config{Binary: bin, Workload: "list", Nemesis: mix, Duration: d,
				RunPattern: "TestJepsenList/" + name + "' -jepsen.nemesis='" + *flagNemesis})
		})
	}
}

// TestJepsenRegionFaults runs the register workload under each of
// nemesis.RegionKinds: membership churn (a follower leaves for good, a
// fresh node joins) and disk stalls (a leader whose log writes block must
// step down and the region keep serving). The disk stall needs a binary
// with the faultinject disk hook wired in; without it the run is skipped.
func TestJepsenRegionFaults(t *testing.T) {
	bin := matrixBinary(t)
	t.Parallel()
	for _, k := range nemesis.RegionKinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			d := *flagTime
			if k == nemesis.DiskStall {
				if ok, why := cluster.SupportsDiskStall(bin); !ok {
					t.Skipf("skipping: %s", why)
				}
				d = max(d, nemesis.DiskStallHold+5*time.Second) // warm-up, one stall, quiet
			}
			skipNearDeadline(t, d+30*time.Second)
			rep := runOne(t, jepsen.Config{Binary: bin, Workload: "register", Nemesis: []nemesis.Kind{k}, Duration: d})
			if rep.Faults == 0 {
				t.Errorf("no %s fault was injected: see %s", k, rep.Dir)
			}
		})
	}
}
