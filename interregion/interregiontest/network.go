package interregiontest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Network drives replicas of several regions in one goroutine, without
// channels, in the manner of etcd-io/raft's rafttest network: it plays
// each region's driver (messages, Applier calls, state transfers, GC
// frontiers) and delivers messages late, twice or never, as a seeded
// generator decides. The same seed and the same calls give the same run.
type Network struct {
	// DropRate is the chance that a message is lost; DupRate that it is
	// delivered twice. MaxDelay is the most ticks a message may take.
	DropRate, DupRate float64
	MaxDelay          int

	r     *rand.Rand
	ticks int64
	now   int64 // wall clock, Unix ms: Tick advances it by TickMillis
	// TickMillis is how much wall time one Tick is; zero means 10.
	TickMillis int64

	nodes map[uint32]*Node
	ids   []uint32
	cut   map[[2]uint32]bool

	queue   []*envelope
	applies []applyJob
	fetches []fetchJob
	seq     uint64

	// Stats counts what happened, for tests that check a run did work.
	Stats Stats
	// Trace, if set, is called with a line for every action (debugging a
	// failing seed).
	Trace func(line string)
}

// Stats counts a Network's actions and the replicas' events.
type Stats struct {
	Sent, Dropped, Duplicated, Delivered int
	Applies, ApplyErrors                 int
	StateTransfers, StateFailures        int
	Events                               map[interregion.EventKind]int
}

// Node is one region in a Network: its replication core and its region.
type Node struct {
	Replica *interregion.Replica
	Region  *Region
	// Stable is the largest GC frontier the replica handed out.
	Stable hlc.Timestamp
	// OnStable, if set, is called with each new frontier before it goes to
	// the region.
	OnStable func(ts hlc.Timestamp)
}

type envelope struct {
	at  int64
	seq uint64
	msg interregion.Message
}

type applyJob struct {
	region uint32
	batch  interregion.Batch
}

type fetchJob struct {
	region, from uint32
}

// NewNetwork returns an empty network whose choices come from seed.
func NewNetwork(seed uint64) *Network {
	return &Network{
		r:     rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)),
		nodes: map[uint32]*Node{},
		cut:   map[[2]uint32]bool{},
		now:   1_000_000,
		Stats: Stats{Events: map[interregion.EventKind]int{}},
	}
}

// Add puts a region in the network.
func (n *Network) Add(rep *interregion.Replica, g *Region) *Node {
	nd := &Node{Replica: rep, Region: g}
	n.nodes[rep.Region()] = nd
	n.ids = append(n.ids, rep.Region())
	slices.Sort(n.ids)
	return nd
}

// Node returns the region with the given id.
func (n *Network) Node(id uint32) *Node { return n.nodes[id] }

// IDs returns the regions' ids, ascending.
func (n *Network) IDs() []uint32 { return n.ids }

// Now returns the network's wall clock, Unix ms.
func (n *Network) Now() int64 { return n.now }

// Connect steps MsgConnect between every pair of regions not cut apart,
// with what each has applied of the other: the outcome of Hello.
func (n *Network) Connect() {
	for _, a := range n.ids {
		for _, b := range n.ids {
			if a != b && !n.isCut(a, b) {
				n.connect(a, b)
			}
		}
	}
}

// connect tells a that its link to b is up.
func (n *Network) connect(a, b uint32) {
	to := n.nodes[b]
	m := interregion.Message{Type: interregion.MsgConnect, From: b, To: a,
		Index: to.Region.Applied(a).Index, Row: to.Replica.Row()}
	n.step(a, m)
}

// Cut stops messages between a and b, both ways; Heal restores them and
// reconnects.
func (n *Network) Cut(a, b uint32) { n.cut[pair(a, b)] = true }

// Heal undoes Cut and steps MsgConnect both ways.
func (n *Network) Heal(a, b uint32) {
	delete(n.cut, pair(a, b))
	n.connect(a, b)
	n.connect(b, a)
}

// Isolate cuts a from every other region.
func (n *Network) Isolate(a uint32) {
	for _, b := range n.ids {
		if b != a {
			n.Cut(a, b)
		}
	}
}

// HealAll undoes every cut.
func (n *Network) HealAll() {
	for k := range n.cut {
		n.Heal(k[0], k[1])
	}
}

func pair(a, b uint32) [2]uint32 {
	if a > b {
		a, b = b, a
	}
	return [2]uint32{a, b}
}

func (n *Network) isCut(a, b uint32) bool { return n.cut[pair(a, b)] }

// Tick advances time by one tick for every region.
func (n *Network) Tick() {
	n.ticks++
	ms := n.TickMillis
	if ms == 0 {
		ms = 10
	}
	n.now += ms
	for _, id := range n.ids {
		n.step(id, interregion.Message{Type: interregion.MsgTick, Now: n.now})
	}
}

// Committed tells region id's replica that its log has new entries.
func (n *Network) Committed(id uint32) {
	n.step(id, interregion.Message{Type: interregion.MsgCommitted})
}

// Pending reports how many messages, Applier calls and state transfers
// wait.
func (n *Network) Pending() int { return len(n.queue) + len(n.applies) + len(n.fetches) }

// Step does one pending thing chosen at random: deliver a message whose
// delay is over, run an Applier call, or run a state transfer (first a kind
// among those with something pending, then one of that kind). It reports
// whether there was anything to do.
func (n *Network) Step() bool {
	due := 0
	for _, e := range n.queue {
		if e.at <= n.ticks {
			due++
		}
	}
	var kinds []int
	for k, l := range []int{due, len(n.applies), len(n.fetches)} {
		if l > 0 {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		return false
	}
	switch kinds[n.r.IntN(len(kinds))] {
	case 0:
		k, i := n.r.IntN(due), 0
		for ; ; i++ {
			if n.queue[i].at <= n.ticks {
				if k == 0 {
					break
				}
				k--
			}
		}
		e := n.queue[i]
		last := len(n.queue) - 1
		n.queue[i], n.queue[last] = n.queue[last], nil
		n.queue = n.queue[:last]
		if n.isCut(e.msg.From, e.msg.To) {
			n.Stats.Dropped++
			return true
		}
		n.Stats.Delivered++
		if n.Trace != nil {
			n.trace("deliver %v", e.msg)
		}
		n.step(e.msg.To, e.msg)
	case 1:
		i := n.r.IntN(len(n.applies))
		j := n.applies[i]
		n.applies = slices.Delete(n.applies, i, i+1)
		n.runApply(j)
	default:
		i := n.r.IntN(len(n.fetches))
		j := n.fetches[i]
		n.fetches = slices.Delete(n.fetches, i, i+1)
		n.runFetch(j)
	}
	return true
}

// Run does up to steps Steps and a Tick every tickEvery of them.
func (n *Network) Run(steps, tickEvery int) {
	for i := range steps {
		if tickEvery > 0 && i%tickEvery == 0 {
			n.Tick()
		}
		n.Step()
	}
}

func (n *Network) runApply(j applyJob) {
	nd := n.nodes[j.region]
	n.Stats.Applies++
	err := nd.Region.ApplyRemote(context.Background(), j.batch)
	if err != nil {
		n.Stats.ApplyErrors++
	}
	if n.Trace != nil {
		n.trace("apply %d<-%d [%d,%d] n=%d err=%v", j.region, j.batch.Origin, j.batch.First, j.batch.Last, len(j.batch.Effects), err)
	}
	n.step(j.region, interregion.Message{Type: interregion.MsgApplied, From: j.batch.Origin, To: j.region,
		Row: []interregion.Progress{nd.Region.Applied(j.batch.Origin)}})
}

func (n *Network) runFetch(j fetchJob) {
	nd, src := n.nodes[j.region], n.nodes[j.from]
	ok := !n.isCut(j.region, j.from)
	if ok {
		st, err := src.Region.Export(context.Background(), func(b []storage.Effect) error {
			return nd.Region.ApplyRemote(context.Background(), interregion.Batch{Origin: j.from, State: true, Effects: b})
		})
		if err == nil {
			err = nd.Region.ApplyRemote(context.Background(), interregion.Batch{Origin: j.from, State: true, Raise: st.Applied})
		}
		ok = err == nil
	}
	if ok {
		n.Stats.StateTransfers++
	} else {
		n.Stats.StateFailures++
	}
	n.trace("state %d<-%d ok=%v", j.region, j.from, ok)
	var row []interregion.Progress
	for _, id := range n.ids {
		if id != j.region {
			row = append(row, nd.Region.Applied(id))
		}
	}
	n.step(j.region, interregion.Message{Type: interregion.MsgStateDone, From: j.from, To: j.region, Reject: !ok, Row: row})
}

// step hands a message to a replica and plays its driver.
func (n *Network) step(id uint32, m interregion.Message) {
	nd := n.nodes[id]
	rd := nd.Replica.Step(m)
	for _, out := range rd.Messages {
		n.send(out)
	}
	for _, b := range rd.Apply {
		n.applies = append(n.applies, applyJob{region: id, batch: b})
	}
	for _, from := range rd.FetchState {
		n.fetches = append(n.fetches, fetchJob{region: id, from: from})
	}
	if !rd.Stable.IsZero() {
		if nd.OnStable != nil {
			nd.OnStable(rd.Stable)
		}
		nd.Stable = hlc.Max(nd.Stable, rd.Stable)
		_ = nd.Region.SetStable(context.Background(), rd.Stable)
	}
	if rd.Heartbeat {
		if nd.Region.ProposeHeartbeat(context.Background()) == nil {
			n.Committed(id)
		}
	}
	for _, e := range rd.Events {
		n.Stats.Events[e.Kind]++
	}
}

func (n *Network) send(m interregion.Message) {
	n.Stats.Sent++
	if n.isCut(m.From, m.To) || n.r.Float64() < n.DropRate {
		n.Stats.Dropped++
		return
	}
	copies := 1
	if n.r.Float64() < n.DupRate {
		copies = 2
		n.Stats.Duplicated++
	}
	for range copies {
		n.seq++
		delay := int64(0)
		if n.MaxDelay > 0 {
			delay = int64(n.r.IntN(n.MaxDelay + 1))
		}
		n.queue = append(n.queue, &envelope{at: n.ticks + delay, seq: n.seq, msg: m})
	}
}

func (n *Network) trace(format string, args ...any) {
	if n.Trace != nil {
		n.Trace(fmt.Sprintf(format, args...))
	}
}
