package interregion_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/interregion/interregiontest"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

var seedFlag = flag.Uint64("seed", 0, "run the randomized replication tests with this one seed")

func seeds(n int) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	if testing.Short() || raceEnabled {
		n /= 4
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// chaos is one shape of faults for TestReplicasConverge.
type chaos struct {
	name string
	// drop, dup: message loss and duplication rates; delay: most ticks a
	// message may take.
	drop, dup float64
	delay     int
	// cuts: chance per round of cutting or healing a random link.
	cuts float64
	// applyFaults: rate of Applier failures (half of them after applying).
	applyFaults float64
	// compact: chance per round that a region compacts its log, so that
	// cut-off peers need a state transfer.
	compact float64
	// gc: regions compact tombstones at every frontier (then states are
	// compared by reads, since compaction is lazy per key). The gc shapes
	// leave lists out: an insert may name a list tombstone that another
	// region has compacted (doc.go, HAZARD), which no frontier of this
	// package alone prevents.
	gc bool
	// kinds written; nil means every kind.
	kinds []storage.Kind
}

var chaosShapes = []chaos{
	{name: "reliable"},
	{name: "lossy", drop: 0.2, dup: 0.2, delay: 4},
	{name: "partitions", drop: 0.05, dup: 0.05, delay: 2, cuts: 0.05},
	{name: "apply_faults", drop: 0.05, delay: 2, applyFaults: 0.2},
	{name: "compaction", drop: 0.05, dup: 0.05, delay: 2, cuts: 0.05, compact: 0.05},
	{name: "gc", drop: 0.1, dup: 0.1, delay: 3, cuts: 0.03, gc: true,
		kinds: []storage.Kind{storage.KindString, storage.KindHash, storage.KindSet, storage.KindZSet}},
	{name: "gc_compaction", drop: 0.1, dup: 0.1, delay: 3, cuts: 0.05, compact: 0.05, gc: true,
		kinds: []storage.Kind{storage.KindString, storage.KindHash, storage.KindSet, storage.KindZSet}},
}

// written is a local entry some region wrote.
type written struct {
	region uint32
	index  uint64
	stamp  hlc.Timestamp
	batch  storagetest.Batch
}

// writer turns a generator's batches into local writes of the regions
// that stamped them, in each region's stamp order, holding a batch back
// until its region has the list items it names, as an evaluator only names
// items it has.
type writer struct {
	gen     *storagetest.Gen
	pending map[uint32][]storagetest.Batch
	at      map[int]written // by batch index
	log     []written
	// byRegion holds each region's writes in log order.
	byRegion map[uint32][]written
}

func (w *writer) generate(n int) {
	for range n {
		b := w.gen.Next()
		w.pending[b.TS.Region] = append(w.pending[b.TS.Region], b)
	}
}

// flush writes every batch whose dependencies its region has applied.
func (w *writer) flush(net *interregiontest.Network) {
	for _, id := range net.IDs() {
		g := net.Node(id).Region
		wrote := false
		for len(w.pending[id]) > 0 {
			b := w.pending[id][0]
			ok := true
			for _, d := range b.Deps {
				at, done := w.at[d]
				ok = ok && done && (at.region == id || g.Applied(at.region).Index >= at.index)
			}
			if !ok {
				break
			}
			idx := g.Write(b.Effects)
			wr := written{region: id, index: idx, stamp: b.TS, batch: b}
			w.at[b.Index] = wr
			w.log = append(w.log, wr)
			w.byRegion[id] = append(w.byRegion[id], wr)
			w.pending[id] = w.pending[id][1:]
			wrote = true
		}
		if wrote {
			net.Committed(id)
		}
	}
}

func (w *writer) pendingCount() int {
	n := 0
	for _, p := range w.pending {
		n += len(p)
	}
	return n
}

// newNetwork builds three regions on a Network.
func newNetwork(t *testing.T, seed uint64, c chaos) *interregiontest.Network {
	t.Helper()
	net := interregiontest.NewNetwork(seed)
	net.DropRate, net.DupRate, net.MaxDelay = c.drop, c.dup, c.delay
	ids := []uint32{1, 2, 3}
	for _, id := range ids {
		// The writer stamps the regions' writes ahead of time: heartbeats
		// repeat the last local stamp, so that stamps grow along each log.
		g := interregiontest.NewRegion(id, nil)
		if c.applyFaults > 0 {
			g.InjectFaults(seed*10+uint64(id), c.applyFaults)
		}
		g.AutoStable(c.gc)
		cfg := interregion.Config{
			Region: id, Log: g,
			MaxBatchEntries: 4, MaxInflight: 16, RetryTicks: 6, KeepaliveTicks: 3, HeartbeatTicks: 15,
		}
		for _, p := range ids {
			if p != id {
				cfg.Peers = append(cfg.Peers, interregion.Peer{ID: p})
			}
		}
		rep, err := interregion.NewReplica(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		net.Add(rep, g)
	}
	net.Connect()
	return net
}

// TestReplicasConverge drives three regions' replicas over a lossy,
// duplicating, reordering, partitioning network, with Applier failures and
// log compaction, while every region writes. Throughout, no replica's
// acknowledged index runs ahead of what its peer applied, and no GC
// frontier passes an effect some region has not applied; once links heal,
// every region holds every write (the state of one store that applied
// them all).
func TestReplicasConverge(t *testing.T) {
	for _, c := range chaosShapes {
		t.Run(c.name, func(t *testing.T) {
			for _, seed := range seeds(60) {
				runConverge(t, seed, c)
			}
		})
	}
}

func runConverge(t *testing.T, seed uint64, c chaos) {
	t.Helper()
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		tail := trace
		if len(tail) > 200 {
			tail = tail[len(tail)-60:]
		}
		t.Fatalf("seed %d (replay with -run 'TestReplicasConverge/%s' -seed=%d for a trace): %s\n--- last actions:\n%s",
			seed, c.name, seed, fmt.Sprintf(format, args...), strings.Join(tail, "\n"))
	}
	net := newNetwork(t, seed, c)
	if *seedFlag != 0 { // replaying one seed: keep a trace for the failure message
		net.Trace = func(l string) { trace = append(trace, l) }
	}
	w := &writer{
		gen:      storagetest.NewGen(seed, storagetest.GenConfig{Regions: 3, Kinds: c.kinds, Conflicts: true}),
		pending:  map[uint32][]storagetest.Batch{},
		at:       map[int]written{},
		byRegion: map[uint32][]written{},
	}
	ids := net.IDs()
	// The frontier invariant, checked whenever a frontier moves: every
	// region has applied every write stamped at or before it. A region's
	// writes grow in stamp along its log, so the last one at or before the
	// frontier says it all.
	for _, id := range ids {
		net.Node(id).OnStable = func(f hlc.Timestamp) {
			for _, y := range ids {
				ws := w.byRegion[y]
				i := sort.Search(len(ws), func(i int) bool { return f.Less(ws[i].stamp) })
				if i == 0 {
					continue
				}
				e := ws[i-1]
				for _, x := range ids {
					if x != y && net.Node(x).Region.Applied(y).Index < e.index {
						fail("region %d's frontier %v passes entry %d of region %d (stamped %v), which region %d has not applied",
							id, f, e.index, y, e.stamp, x)
					}
				}
			}
		}
	}
	// Nothing acknowledged is lost: every write at or below what a peer
	// acknowledged is durably applied there.
	checkAcks := func() {
		for _, id := range ids {
			ws := w.byRegion[id]
			for _, st := range net.Node(id).Replica.Status() {
				got := net.Node(st.ID).Region.Applied(id).Index
				i := sort.Search(len(ws), func(i int) bool { return ws[i].index > st.Acked })
				if i > 0 && ws[i-1].index > got {
					fail("region %d counts %d of its log acknowledged by %d, which has applied %d, not write %d", id, st.Acked, st.ID, got, ws[i-1].index)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(seed, 99))

	const rounds = 300
	for round := range rounds {
		if round < rounds*3/4 && r.IntN(2) == 0 {
			w.generate(1)
		}
		w.flush(net)
		if c.cuts > 0 && r.Float64() < c.cuts {
			a, b := ids[r.IntN(3)], ids[r.IntN(3)]
			if a != b {
				if r.IntN(2) == 0 {
					net.Cut(a, b)
					trace = append(trace, fmt.Sprintf("cut %d %d", a, b))
				} else {
					net.Heal(a, b)
					trace = append(trace, fmt.Sprintf("heal %d %d", a, b))
				}
			}
		}
		if c.compact > 0 && r.Float64() < c.compact {
			g := net.Node(ids[r.IntN(3)]).Region
			if last := g.LastIndex(); last > 3 {
				g.Compact(last - 3)
				trace = append(trace, fmt.Sprintf("compact %d up to %d", g.ID, last-3))
			}
		}
		for range 1 + r.IntN(6) {
			net.Step()
		}
		if round%3 == 0 {
			net.Tick()
		}
		checkAcks()
	}

	// Heal, stop losing messages, and let everything through.
	net.HealAll()
	net.DropRate, net.DupRate = 0, 0
	healSteps := 0
	for i := 0; ; i++ {
		w.flush(net)
		if w.pendingCount() == 0 && caughtUp(net, w) {
			healSteps = i
			break
		}
		if i > 20000 {
			fail("no convergence after healing: %d writes pending, status %+v", w.pendingCount(), statuses(net))
		}
		if !net.Step() || i%8 == 0 {
			net.Tick()
		}
		checkAcks()
	}

	if testing.Verbose() {
		t.Logf("seed %d: converged after %d heal steps, stats %+v", seed, healSteps, net.Stats)
	}
	// Let rows and acknowledgements settle (the GC frontier moves with
	// them), then compare.
	for i := range 400 {
		if !net.Step() || i%8 == 0 {
			net.Tick()
		}
		checkAcks()
	}

	// Every region holds every write: the state of one store that applied
	// them all, in the order they were written.
	ref := storage.NewStore()
	for _, e := range w.log {
		ref.Apply(ref.Index()+1, e.batch.Effects)
	}
	want := storagetest.Dump(ref.At(0))
	for _, id := range ids {
		g := net.Node(id).Region
		if c.gc {
			var got string
			g.Read(func(s *storage.Store) { got = storagetest.Dump(s.At(0)) })
			if got != want {
				fail("region %d differs from the reference\n--- got:\n%s--- want:\n%s", id, got, want)
			}
			continue
		}
		if g.Digest() != ref.Digest() {
			var got string
			g.Read(func(s *storage.Store) { got = storagetest.Dump(s.At(0)) })
			fail("region %d's digest differs from the reference\n--- got:\n%s--- want:\n%s", id, got, want)
		}
	}
	if c.gc {
		// The frontier must have moved, or the test checked nothing.
		for _, id := range ids {
			if net.Node(id).Stable.IsZero() {
				fail("region %d never moved its GC frontier%s", id, statuses(net))
			}
		}
	}
}

// caughtUp reports whether every region has applied every other region's
// writes.
func caughtUp(net *interregiontest.Network, w *writer) bool {
	last := map[uint32]uint64{}
	for _, e := range w.log {
		last[e.region] = max(last[e.region], e.index)
	}
	for _, x := range net.IDs() {
		for _, y := range net.IDs() {
			if x != y && net.Node(x).Region.Applied(y).Index < last[y] {
				return false
			}
		}
	}
	return true
}

func statuses(net *interregiontest.Network) string {
	var sb strings.Builder
	for _, id := range net.IDs() {
		r := net.Node(id).Replica
		fmt.Fprintf(&sb, "\n%d: %+v\n%s%s", id, r.Status(), interregion.DebugHeld(r), interregion.DebugRows(r))
	}
	return sb.String()
}
