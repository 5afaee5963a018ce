// Package jepsen runs Meridian the way Jepsen tests databases: real
// `meridian` processes, each in its own network namespace, many clients
// recording every operation, a nemesis injecting faults on a seeded
// schedule, and checkers that decide whether the history is legal.
//
// Sub-packages hold the parts: netns (namespaces, partitions, netem),
// cluster (processes: start, stop, kill -9, pause, clock skew), history
// (operations and history.jsonl), workload (go-redis clients for the
// register, counter, set and list-append workloads), checker (porcupine
// linearizability, counter bounds, set loss, Elle-style list order,
// convergence), nemesis (fault schedules) and wan (a user-space WAN
// delay proxy for kernels without tc netem).
// This package composes them into one run ([Run], one region; [RunRegions],
// two linked regions) and writes its report.
//
// Usage:
//
//	go test ./tests/jepsen -run TestJepsen -v                       # short: every workload x nemesis
//	go test ./tests/jepsen -run TestJepsen -v -timeout 2h \
//	    -jepsen.time=60s -jepsen.nemesis=each                         # what `make jepsen` runs
//	go test ./tests/jepsen -run 'TestJepsen/register/kill' -jepsen.seed=42   # reproduce one run
//	go test ./tests/jepsen -run TestRecheck -jepsen.recheck=tests/results/<run>  # re-check a history
//	go test ./tests/jepsen -run 'TestJepsen$'          # only the register/counter/set matrix
//	go test ./tests/jepsen -run TestJepsenList         # list-append x every nemesis + membership
//	go test ./tests/jepsen -run TestJepsenRegionFaults # register x membership churn, disk stall
//	go test ./tests/jepsen -run TestJepsenRegions      # two linked regions: counter, set, session, list x link cuts
//	go test ./tests/jepsen -run TestJepsenRegions -jepsen.regions-nemesis=all  # + kill -9 of a region's leader
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
// HAZARD: a run uses fixed names (prefix "mjep") and the subnet
// 10.77.0.0/24 on this machine (RunRegions: "mjrg" and 10.77.4.0/24);
// two runs at once collide. A run starts by deleting the leftovers of a
// crashed run with the same prefix.
package jepsen
