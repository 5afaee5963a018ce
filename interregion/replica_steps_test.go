package interregion_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/interregion"
	"github.com/meridian-kv/meridian/interregion/interregiontest"
	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

func TestConfigValidate(t *testing.T) {
	g := interregiontest.NewRegion(1, nil)
	ok := interregion.Config{Region: 1, Log: g, Peers: []interregion.Peer{{ID: 2}}}
	for _, tc := range []struct {
		name string
		mod  func(c *interregion.Config)
		want string // substring of the error; empty: valid
	}{
		{"valid", func(*interregion.Config) {}, ""},
		// Region 0 is no region: stamps carry ids from 1.
		{"zero_region", func(c *interregion.Config) { c.Region = 0 }, "Region must be > 0"},
		{"zero_peer", func(c *interregion.Config) { c.Peers = []interregion.Peer{{ID: 0}} }, "ID must be > 0"},
		// A peer with the local id, or two peers with one id.
		{"self_peer", func(c *interregion.Config) { c.Peers = []interregion.Peer{{ID: 1}} }, "appears twice"},
		{"dup_peer", func(c *interregion.Config) { c.Peers = []interregion.Peer{{ID: 2}, {ID: 2}} }, "appears twice"},
		{"no_log", func(c *interregion.Config) { c.Log = nil }, "Log is required"},
		{"negative", func(c *interregion.Config) { c.RetryTicks = -1 }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// NewLink needs more: the local region and a token.
	c := ok
	c.Peers = []interregion.Peer{{ID: 2, Addrs: []string{"x"}}}
	if _, err := interregion.NewLink(c); err == nil || !strings.Contains(err.Error(), "Applier") {
		t.Fatalf("NewLink without an Applier = %v", err)
	}
}

// stepper drives one replica by hand.
type stepper struct {
	t   *testing.T
	rep *interregion.Replica
}

func newStepper(t *testing.T, self uint32, log interregion.Log, peers ...uint32) *stepper {
	t.Helper()
	cfg := interregion.Config{Region: self, Log: log, RetryTicks: 3, KeepaliveTicks: 100}
	for _, p := range peers {
		cfg.Peers = append(cfg.Peers, interregion.Peer{ID: p})
	}
	rep, err := interregion.NewReplica(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &stepper{t: t, rep: rep}
}

func (s *stepper) step(m interregion.Message) interregion.Ready {
	m.To = s.rep.Region()
	return s.rep.Step(m)
}

func ts(wall int64, region uint32) hlc.Timestamp {
	return hlc.Timestamp{Wall: wall, Region: region, Node: 1}
}

func entry(index uint64, effects ...storage.Effect) interregion.ShipEntry {
	return interregion.ShipEntry{Index: index, Effects: storage.AppendEffects(nil, effects)}
}

func set(key string, at hlc.Timestamp) storage.Effect {
	return storage.Effect{Op: storage.OpSet, Key: key, Value: []byte("v"), TS: at}
}

func onlyAck(t *testing.T, rd interregion.Ready) interregion.Message {
	t.Helper()
	if len(rd.Messages) != 1 || rd.Messages[0].Type != interregion.MsgAck {
		t.Fatalf("want one ack, got %v", rd.Messages)
	}
	return rd.Messages[0]
}

// TestReplicaReceive walks the receiving side through its cases.
func TestReplicaReceive(t *testing.T) {
	s := newStepper(t, 1, interregiontest.NewRegion(1, nil), 2, 3)
	ship := func(first, last uint64, es ...interregion.ShipEntry) interregion.Ready {
		return s.step(interregion.Message{Type: interregion.MsgShip, From: 2, First: first, Last: last, Entries: es, Closed: ts(int64(last), 2)})
	}
	applied := func(index uint64) interregion.Ready {
		return s.step(interregion.Message{Type: interregion.MsgApplied, From: 2,
			Row: []interregion.Progress{{Region: 2, Index: index, Closed: ts(int64(index), 2)}}})
	}

	// A batch that continues the log goes to the Applier; nothing is
	// acknowledged before it is applied.
	rd := ship(1, 3, entry(2, set("a", ts(2, 2))))
	if len(rd.Apply) != 1 || rd.Apply[0].First != 1 || rd.Apply[0].Last != 3 || len(rd.Messages) != 0 {
		t.Fatalf("first batch: %+v", rd)
	}
	// The same batch again while the first is applying: a duplicate.
	if rd := ship(1, 3, entry(2, set("a", ts(2, 2)))); len(rd.Apply) != 0 || onlyAck(t, rd).Index != 0 {
		t.Fatalf("duplicate: %+v", rd)
	}
	// A batch after a gap: rejected, resend after what is queued.
	if a := onlyAck(t, ship(9, 10)); !a.Reject || a.Hint != 3 {
		t.Fatalf("gap: %+v", a)
	}
	// Queued while the first batch applies, released when it is done.
	if rd := ship(4, 6, entry(5, set("b", ts(5, 2)))); len(rd.Apply) != 0 {
		t.Fatalf("second batch went to the Applier while the first was there: %+v", rd)
	}
	rd = applied(3)
	if a := rd.Messages[0]; a.Type != interregion.MsgAck || a.Index != 3 || a.Reject {
		t.Fatalf("ack after apply: %+v", rd.Messages)
	}
	if len(rd.Apply) != 1 || rd.Apply[0].First != 4 || rd.Apply[0].Last != 6 {
		t.Fatalf("second batch: %+v", rd.Apply)
	}
	// The Applier reports the batch not applied (fate unknown, then
	// lost): drop what is held and have the peer resend.
	if a := onlyAck(t, applied(3)); !a.Reject || a.Hint != 3 {
		t.Fatalf("failed apply: %+v", a)
	}
	// A span with no effects (the peer's log merged other regions there)
	// needs no Applier call: it is applied at once.
	rd = ship(4, 8)
	if len(rd.Apply) != 0 || onlyAck(t, rd).Index != 8 {
		t.Fatalf("effect-free span: %+v", rd)
	}
	// The next batch covers it, from what the Applier durably applied.
	rd = ship(9, 9, entry(9, set("c", ts(9, 2))))
	if len(rd.Apply) != 1 || rd.Apply[0].First != 4 || rd.Apply[0].Last != 9 {
		t.Fatalf("batch after an effect-free span: %+v", rd.Apply)
	}
}

// TestReplicaHoldsListEffects: an entry naming a list item of a third
// region waits until that region's insert is applied.
func TestReplicaHoldsListEffects(t *testing.T) {
	s := newStepper(t, 1, interregiontest.NewRegion(1, nil), 2, 3)
	item := storage.ItemID{TS: ts(10, 3)} // inserted by region 3
	push := storage.Effect{Op: storage.OpLInsert, Key: "l", ID: storage.ItemID{TS: ts(11, 2)}, Ref: item, TS: ts(11, 2)}
	rd := s.step(interregion.Message{Type: interregion.MsgShip, From: 2, First: 1, Last: 2,
		Entries: []interregion.ShipEntry{entry(1, set("x", ts(5, 2))), entry(2, push)}})
	// Entry 1 goes; entry 2 waits for region 3.
	if len(rd.Apply) != 1 || rd.Apply[0].Last != 1 {
		t.Fatalf("want entry 1 released alone, got %+v", rd.Apply)
	}
	s.step(interregion.Message{Type: interregion.MsgApplied, From: 2, Row: []interregion.Progress{{Region: 2, Index: 1}}})
	// Region 3's insert arrives and is applied: entry 2 goes.
	rd = s.step(interregion.Message{Type: interregion.MsgShip, From: 3, First: 1, Last: 1, Closed: ts(10, 3),
		Entries: []interregion.ShipEntry{entry(1, storage.Effect{Op: storage.OpLInsert, Key: "l", ID: item, TS: ts(10, 3)})}})
	if len(rd.Apply) != 1 || rd.Apply[0].Origin != 3 {
		t.Fatalf("region 3's insert: %+v", rd.Apply)
	}
	rd = s.step(interregion.Message{Type: interregion.MsgApplied, From: 3, Row: []interregion.Progress{{Region: 3, Index: 1, Closed: ts(10, 3)}}})
	if len(rd.Apply) != 1 || rd.Apply[0].Origin != 2 || rd.Apply[0].First != 2 || rd.Apply[0].Last != 2 {
		t.Fatalf("held entry not released: %+v", rd.Apply)
	}
}

// TestReplicaCompactedLog: a peer behind the local log is told to fetch a
// state transfer; a receiver that has moved on already just acknowledges.
func TestReplicaCompactedLog(t *testing.T) {
	g := interregiontest.NewRegion(1, nil)
	for i := range 10 {
		g.Write([]storage.Effect{set("k", ts(int64(i+1), 1))})
	}
	g.Compact(5)
	s := newStepper(t, 1, g, 2)
	rd := s.step(interregion.Message{Type: interregion.MsgConnect, From: 2, Index: 2})
	if len(rd.Messages) != 1 || rd.Messages[0].Type != interregion.MsgNeedState || rd.Messages[0].Index != 2 {
		t.Fatalf("connect below the first index: %+v", rd.Messages)
	}
	// The peer's acknowledgement after its state transfer moves shipping
	// on from there.
	rd = s.step(interregion.Message{Type: interregion.MsgAck, From: 2, Index: 7})
	if len(rd.Messages) != 1 || rd.Messages[0].Type != interregion.MsgShip || rd.Messages[0].First != 8 || rd.Messages[0].Last != 10 {
		t.Fatalf("after the state transfer: %+v", rd.Messages)
	}

	r := newStepper(t, 2, interregiontest.NewRegion(2, nil), 1)
	if rd := r.step(interregion.Message{Type: interregion.MsgNeedState, From: 1, Index: 0}); len(rd.FetchState) != 1 {
		t.Fatalf("need-state: %+v", rd)
	}
	// A second request while fetching starts nothing.
	if rd := r.step(interregion.Message{Type: interregion.MsgNeedState, From: 1, Index: 0}); len(rd.FetchState) != 0 {
		t.Fatalf("second need-state: %+v", rd)
	}
	rd = r.step(interregion.Message{Type: interregion.MsgStateDone, From: 1, Row: []interregion.Progress{{Region: 1, Index: 7}}})
	if a := onlyAck(t, rd); a.Index != 7 {
		t.Fatalf("ack after the transfer: %+v", a)
	}
	// A late copy of the request, from before the transfer: acknowledge.
	if rd := r.step(interregion.Message{Type: interregion.MsgNeedState, From: 1, Index: 0}); len(rd.FetchState) != 0 || onlyAck(t, rd).Index != 7 {
		t.Fatalf("stale need-state: %+v", rd)
	}
}

// TestReplicaIgnoresStrangers: messages from regions outside the set, or
// for another region, change nothing.
func TestReplicaIgnoresStrangers(t *testing.T) {
	s := newStepper(t, 1, interregiontest.NewRegion(1, nil), 2)
	for _, m := range []interregion.Message{
		{Type: interregion.MsgShip, From: 9, To: 1, First: 1, Last: 1},
		{Type: interregion.MsgShip, From: 2, To: 7, First: 1, Last: 1},
	} {
		if rd := s.rep.Step(m); !rd.IsEmpty() {
			t.Fatalf("%v: %+v", m, rd)
		}
	}
	// A corrupt entry is refused, reported, and not applied.
	rd := s.step(interregion.Message{Type: interregion.MsgShip, From: 2, First: 1, Last: 1,
		Entries: []interregion.ShipEntry{{Index: 1, Effects: []byte("garbage")}}})
	if len(rd.Apply) != 0 || len(rd.Events) != 1 || rd.Events[0].Kind != interregion.EventCorrupt ||
		!errors.Is(rd.Events[0].Err, storage.ErrCorrupt) {
		t.Fatalf("corrupt entry: %+v", rd)
	}
}
