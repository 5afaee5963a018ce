// Package jepsen runs Meridian the way Jepsen tests databases: real
// `meridian` processes, each in its own network namespace, many clients
// recording every operation, a nemesis injecting faults on a seeded
// schedule, and checkers that decide whether the history is legal.
//
// Sub-packages hold the parts: netns (namespaces, partitions, netem,
// random packet drop), cluster (processes: start, stop, kill -9, pause,
// clock skew), history (operations and history.jsonl), workload
// (go-redis clients for the register, counter, set, list-append,
// session, last-writer-wins register and hash, and list-pop workloads),
// checker (porcupine linearizability, counter bounds, set loss,
// Elle-style list order, session expiry, last-writer-wins order, pops,
// convergence), nemesis (fault schedules) and wan (a WAN between two
// regions: tc netem where the kernel has it, else a user-space delay
// proxy in each node's namespace plus iptables random drop).
// This package composes them into one run ([Run], one region; [RunRegions],
// two linked regions) and writes its report.
//
// Usage:
//
//	go test ./tests/jepsen -v                                        # short (make test): every workload under every fault kind in turn
//	go test ./tests/jepsen -run TestJepsen -v -timeout 4h \
//	    -jepsen.time=60s -jepsen.nemesis=each -jepsen.regions-nemesis=all   # what `make jepsen` runs
//	go test ./tests/jepsen -run 'TestJepsen/register/kill' -jepsen.nemesis=each -jepsen.seed=42   # reproduce one run
//	go test ./tests/jepsen -run TestRecheck -jepsen.recheck=tests/results/<run>  # re-check a history
//	go test ./tests/jepsen -run 'TestJepsen$'          # only the register/counter/set matrix
//	go test ./tests/jepsen -run TestJepsenList         # list-append x every nemesis + membership
//	go test ./tests/jepsen -run TestJepsenRegionFaults # register x membership churn, disk stall
//	go test ./tests/jepsen -run TestJepsenRegions      # two linked regions across a WAN: every
//	                                                   # RegionWorkloads entry x two link faults each
//	go test ./tests/jepsen -run TestJepsenRegions -jepsen.regions-nemesis=all -jepsen.wan-loss=0.05
//
// Every run's summary prints the line that reproduces it.
//
// From Go:
//
//	rep, err := jepsen.Run(ctx, jepsen.Config{Binary: bin, Workload: "register",
//		Nemesis: []nemesis.Kind{nemesis.Kill}, Duration: time.Minute, Seed: 42,
//		ResultsDir: "tests/results"})
//	fmt.Print(rep.Summary) // also in <rep.Dir>/summary.txt
//
// Each run writes tests/results/<run>/: summary.txt (one screen), verdict.json,
// history.jsonl, plan.txt, nemesis.txt and nemesis.jsonl (timeline),
// register-<key>.html (porcupine's view of each non-linearizable key),
// logs/<node>.log and netns.txt (fault rules at the end).
//
// It needs root (namespaces, veth, iptables). Without it the tests skip,
// except when the environment variable CI is set: then they fail.
//
// HAZARD: runs use fixed names and subnets on this machine: one-region
// runs the prefixes "mjep", "mjeq", "mjes" (10.77.0, .2, .3.0/24; up to
// -jepsen.parallel at once), RunRegions "mjrg" (10.77.4.0/24). A run
// takes a lock file per prefix (/tmp/meridian-jepsen-<prefix>.lock), so
// two test processes wait for each other instead of colliding, then
// deletes the leftovers of a crashed run with its prefix.
package jepsen
