package interregion

import (
	"errors"
	"slices"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Replica is the deterministic replication core of one region, in the
// manner of etcd-io/raft's RawNode: it ships the local log to every peer
// region, takes in and orders what peers ship, and computes the tombstone
// GC frontier. It does no I/O besides reading the local [Log], reads no
// clock (time comes in with MsgTick), and is not safe for concurrent use:
// one goroutine owns it and calls [Replica.Step], then does what the
// returned [Ready] says. The same messages in the same order give the same
// Readys.
type Replica struct {
	cfg   Config
	log   Log
	ids   []uint32 // every region of the set, the local one included, ascending
	peers map[uint32]*peer
	order []*peer // peers by ascending id

	ticks int64 // MsgTicks seen
	now   int64 // latest wall clock seen, Unix ms

	// ownIndex and ownClosed are the local region's own Progress: the
	// highest local index read for shipping, and the largest stamp of a
	// local entry read. ownClosed only grows, and since local stamps grow
	// along the log it is never above the true closed stamp at ownIndex.
	ownIndex  uint64
	ownClosed hlc.Timestamp
	idleTicks int

	// applied is what the local region holds of each peer's log: what the
	// Applier durably applied (peer.durable), and past it the spans that
	// hold no effects, which need no Applier call (see release).
	// Invariant: applied[id].Index only grows, and applied[id].Index >=
	// peers[id].durable.
	applied map[uint32]Progress
	// stable is the last GC frontier handed out.
	stable hlc.Timestamp

	rd Ready
}

// peer is the state of one peer region, both as a destination of the local
// log and as an origin of entries to merge.
type peer struct {
	id uint32

	// Shipping the local log to the peer.
	connected bool
	// next is the next local index to ship; acked is what the peer has
	// durably applied of the local log.
	// Invariant: acked < next.
	next, acked uint64
	// lastProgress is the tick at which acked last moved or shipping last
	// went back; lastSent the tick of the last message to the peer.
	lastProgress, lastSent int64
	// closed is the largest closed stamp shipped to the peer.
	closed hlc.Timestamp
	// needState: the peer's next index is compacted away; it was told to
	// fetch a state transfer at tick needStateAt.
	needState   bool
	needStateAt int64
	// row is the peer's applied vector as it last reported it (each field
	// the largest ever reported: messages may come out of order).
	row map[uint32]Progress

	// Merging the peer's log.
	// durable is what the Applier reports it has applied of the peer's
	// log: the next batch starts right after it.
	durable uint64
	// queued is the highest index of the peer's log accepted: applied,
	// being applied, or held.
	// Invariant: applied[id].Index <= queued.
	queued uint64
	// held are accepted spans not yet handed to the Applier, contiguous
	// from the end of what is applied or being applied up to queued.
	held []span
	// applying: a batch up to applyingLast is with the Applier.
	applying     bool
	applyingLast uint64
	// frontier is the largest evaluation frontier (Entry.Frontier) of the
	// peer's entries the region holds: applied by the Applier, or counted
	// as applied with no effects while no batch was with it.
	// applyingFrontier is that of the batch with the Applier.
	frontier, applyingFrontier hlc.Timestamp
	// fetching: a state transfer from the peer is under way.
	fetching bool
}

// span is an accepted part of a peer's log, from the end of the span
// before it up to last.
type span struct {
	last     uint64
	closed   hlc.Timestamp
	frontier hlc.Timestamp
	entries  []rentry
}

// rentry is an accepted entry, decoded.
type rentry struct {
	index   uint64
	stamp   hlc.Timestamp
	effects []storage.Effect
}

// NewReplica returns the core of region cfg.Region. applied is what the
// region has durably applied of each peer's log (Applier.Applied); peers
// absent from it count as nothing applied. Every peer starts disconnected:
// the driver steps MsgConnect when a link is up.
func NewReplica(cfg Config, applied []Progress) (*Replica, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Replica{
		cfg:     cfg,
		log:     cfg.Log,
		peers:   map[uint32]*peer{},
		applied: map[uint32]Progress{},
		ids:     []uint32{cfg.Region},
	}
	for _, p := range cfg.Peers {
		r.ids = append(r.ids, p.ID)
		r.applied[p.ID] = Progress{Region: p.ID}
	}
	slices.Sort(r.ids)
	for _, pr := range applied {
		if _, ok := r.applied[pr.Region]; ok {
			r.applied[pr.Region] = pr
		}
	}
	for _, id := range r.ids {
		if id == cfg.Region {
			continue
		}
		a := r.applied[id].Index
		p := &peer{id: id, next: 1, row: map[uint32]Progress{}, queued: a, durable: a}
		r.peers[id] = p
		r.order = append(r.order, p)
	}
	return r, nil
}

// Region returns the local region's id.
func (r *Replica) Region() uint32 { return r.cfg.Region }

// Stable returns the last tombstone GC frontier handed out.
func (r *Replica) Stable() hlc.Timestamp { return r.stable }

// PeerStatus is what a Replica knows of one peer, for status and metrics.
type PeerStatus struct {
	ID        uint32
	Connected bool
	// Acked is what the peer has durably applied of the local log; Sent
	// the last local index shipped to it.
	Acked, Sent uint64
	// Applied is what the local region has durably applied of the peer's
	// log; Queued what it has accepted.
	Applied Progress
	Queued  uint64
	// NeedState: the peer is told to fetch a state transfer.
	NeedState bool
	// Settled is Applied's closed stamp while no batch of the peer is with
	// the Applier (zero otherwise): the region holds every effect the
	// peer stamped at or before it. Frontier is the largest evaluation
	// frontier (Entry.Frontier) of the peer's entries the region holds.
	// A Stabilizer records both through the log (list tombstone GC).
	Settled, Frontier hlc.Timestamp
}

// Status returns the state of every peer, by ascending id.
func (r *Replica) Status() []PeerStatus {
	out := make([]PeerStatus, 0, len(r.order))
	for _, p := range r.order {
		st := PeerStatus{
			ID: p.id, Connected: p.connected, Acked: p.acked, Sent: p.next - 1,
			Applied: r.applied[p.id], Queued: p.queued, NeedState: p.needState, Frontier: p.frontier,
		}
		if !p.applying {
			st.Settled = st.Applied.Closed
		}
		out = append(out, st)
	}
	return out
}

// Row returns the local region's applied vector: its own Progress and what
// it has durably applied of every peer, by ascending region id.
func (r *Replica) Row() []Progress {
	out := make([]Progress, 0, len(r.ids))
	for _, id := range r.ids {
		if id == r.cfg.Region {
			out = append(out, Progress{Region: id, Index: r.ownIndex, Closed: r.ownClosed})
		} else {
			out = append(out, r.applied[id])
		}
	}
	return out
}

// Step processes one message and returns what the driver must do.
// Messages from regions outside the set, or addressed to another region,
// are ignored.
func (r *Replica) Step(m Message) Ready {
	switch m.Type {
	case MsgTick:
		r.tick(m.Now)
	case MsgCommitted:
		for _, p := range r.order {
			r.send(p, false)
		}
	default:
		p := r.peers[m.From]
		if p == nil || (m.To != 0 && m.To != r.cfg.Region) {
			break
		}
		switch m.Type {
		case MsgConnect:
			r.connect(p, m)
		case MsgDisconnect:
			p.connected = false
			p.next = p.acked + 1
		case MsgShip:
			r.recvShip(p, m)
		case MsgNeedState:
			switch {
			case r.applied[p.id].Index > m.Index:
				// The peer's news is stale: a state transfer (whose
				// acknowledgement it has not got) moved us on already.
				r.ack(p, false, 0)
			case !p.fetching:
				p.fetching = true
				r.rd.FetchState = append(r.rd.FetchState, p.id)
			}
		case MsgAck:
			r.recvAck(p, m)
		case MsgApplied:
			r.recvApplied(p, m)
		case MsgStateDone:
			r.raise(m.Row)
			p.fetching = false
			r.ack(p, false, 0)
			r.releaseAll()
		}
	}
	r.maybeStable()
	rd := r.rd
	r.rd = Ready{}
	return rd
}

func (r *Replica) tick(now int64) {
	r.ticks++
	r.now = max(r.now, now)
	// An idle region proposes heartbeats only while some peer listens:
	// they are for the peers' GC frontier, and would only fill the log
	// otherwise.
	if r.cfg.HeartbeatTicks > 0 && slices.ContainsFunc(r.order, func(p *peer) bool { return p.connected }) {
		if r.idleTicks++; r.idleTicks >= r.cfg.HeartbeatTicks {
			r.idleTicks = 0
			r.rd.Heartbeat = true
		}
	}
	retry := int64(r.cfg.RetryTicks)
	for _, p := range r.order {
		if !p.connected {
			continue
		}
		switch {
		case p.needState:
			if r.ticks-p.needStateAt >= retry {
				r.needState(p)
			}
		case p.next-1 > p.acked && r.ticks-p.lastProgress >= retry:
			// No acknowledgement for a while: what is in flight is lost.
			p.next = p.acked + 1
			p.lastProgress = r.ticks
		}
		r.send(p, false)
		if r.ticks-p.lastSent >= int64(r.cfg.KeepaliveTicks) && !r.send(p, true) {
			r.keepalive(p)
		}
	}
}

func (r *Replica) connect(p *peer, m Message) {
	p.connected = true
	r.mergeRow(p, m.Row)
	if m.Index < p.acked {
		r.event(Event{Kind: EventRegressed, Peer: p.id})
	}
	p.acked, p.next = m.Index, m.Index+1
	p.needState = false
	p.lastProgress = r.ticks
	if !r.send(p, true) {
		r.keepalive(p)
	}
}

// send ships what the peer has not got yet, as far as the window allows.
// A batch that would hold no entry and move no closed stamp (it covers
// entries merged from other regions only) waits until it is full or force
// is set (a keepalive is due): the peer needs it only to move its cursor,
// and sending each at once would answer every merge with a message to
// every peer. It reports whether it sent anything.
func (r *Replica) send(p *peer, force bool) bool {
	if !p.connected || p.needState {
		return false
	}
	sent := false
	for p.next-1-p.acked < r.cfg.MaxInflight {
		ents, err := r.log.ReadCommitted(p.next, r.cfg.MaxBatchEntries)
		if errors.Is(err, ErrCompacted) {
			r.event(Event{Kind: EventCompacted, Peer: p.id})
			r.needState(p)
			return true
		}
		if err != nil {
			r.event(Event{Kind: EventLogError, Peer: p.id, Err: err})
			return sent
		}
		m := Message{Type: MsgShip, From: r.cfg.Region, To: p.id, First: p.next, Last: p.next - 1}
		size := 0
		for _, e := range ents {
			if e.Index <= m.Last {
				continue // the log broke its contract; skip rather than ship twice
			}
			if e.Origin == r.cfg.Region {
				if len(m.Entries) > 0 && size+len(e.Effects) > r.cfg.MaxBatchBytes {
					break
				}
				if len(e.Effects) > 0 {
					m.Entries = append(m.Entries, ShipEntry{Index: e.Index, Effects: e.Effects})
					size += len(e.Effects)
				}
				m.Closed = hlc.Max(m.Closed, e.Stamp)
				m.Frontier = hlc.Max(m.Frontier, e.Frontier)
				if r.ownClosed.Less(e.Stamp) {
					r.ownClosed = e.Stamp
					r.idleTicks = 0
				}
			}
			m.Last = e.Index
		}
		if m.Last < m.First {
			return sent // nothing new
		}
		r.ownIndex = max(r.ownIndex, m.Last)
		urgent := len(m.Entries) > 0 || p.closed.Less(m.Closed) || len(ents) >= r.cfg.MaxBatchEntries
		if !urgent && !force {
			return sent
		}
		m.Row = r.Row()
		p.next = m.Last + 1
		p.closed = hlc.Max(p.closed, m.Closed)
		r.out(p, m)
		sent = true
		if n := len(m.Entries); n > 0 {
			r.event(Event{Kind: EventShipped, Peer: p.id, Count: n})
		}
	}
	return sent
}

func (r *Replica) needState(p *peer) {
	p.needState = true
	p.needStateAt = r.ticks
	r.out(p, Message{Type: MsgNeedState, From: r.cfg.Region, To: p.id, Index: p.acked})
}

// keepalive sends the row, covering no entries: it keeps the GC frontier
// moving, and the peer's reply tells what it has applied.
func (r *Replica) keepalive(p *peer) {
	r.out(p, Message{Type: MsgShip, From: r.cfg.Region, To: p.id, First: p.next, Last: p.next - 1, Row: r.Row()})
}

func (r *Replica) out(p *peer, m Message) {
	p.lastSent = r.ticks
	r.rd.Messages = append(r.rd.Messages, m)
}

func (r *Replica) event(e Event) { r.rd.Events = append(r.rd.Events, e) }

func (r *Replica) recvAck(p *peer, m Message) {
	r.mergeRow(p, m.Row)
	if m.Index > p.acked {
		p.acked = m.Index
		p.lastProgress = r.ticks
		p.needState = false // a state transfer (or shipping) moved the peer on
	}
	if p.next <= p.acked {
		p.next = p.acked + 1
	}
	if m.Reject {
		if h := max(m.Hint, p.acked); h+1 < p.next {
			p.next = h + 1
			p.lastProgress = r.ticks
		}
	}
	r.send(p, false)
}

// recvShip accepts what continues the peer's log as far as it is queued.
func (r *Replica) recvShip(p *peer, m Message) {
	r.mergeRow(p, m.Row)
	switch {
	case m.First > p.queued+1:
		r.ack(p, true, p.queued) // a gap: something before it was lost
		return
	case m.Last <= p.queued:
		r.ack(p, false, 0) // a keepalive, or a duplicate
		return
	}
	sp := span{last: m.Last, closed: m.Closed, frontier: m.Frontier}
	prev := p.queued
	for _, e := range m.Entries {
		if e.Index <= p.queued {
			continue // already queued: the batch overlaps
		}
		if e.Index <= prev || e.Index > m.Last {
			r.event(Event{Kind: EventCorrupt, Peer: p.id, Err: errors.New("interregion: entries out of order")})
			r.ack(p, true, p.queued)
			return
		}
		prev = e.Index
		effects, err := storage.DecodeEffects(e.Effects)
		if err != nil {
			r.event(Event{Kind: EventCorrupt, Peer: p.id, Err: err})
			r.ack(p, true, p.queued)
			return
		}
		re := rentry{index: e.Index, effects: effects}
		for i := range effects {
			re.stamp = hlc.Max(re.stamp, effects[i].TS)
		}
		if ahead := re.stamp.Wall - r.now; r.now > 0 && ahead > r.cfg.MaxClockOffset.Milliseconds() {
			r.event(Event{Kind: EventClockAhead, Peer: p.id, Ahead: ahead})
		}
		sp.entries = append(sp.entries, re)
	}
	p.held = append(p.held, sp)
	p.queued = m.Last
	if r.release(p) {
		r.releaseAll()
	}
}

// ack tells the peer what the local region has durably applied of its log;
// with reject, to resend from hint+1.
func (r *Replica) ack(p *peer, reject bool, hint uint64) {
	r.out(p, Message{Type: MsgAck, From: r.cfg.Region, To: p.id, Index: r.applied[p.id].Index,
		Reject: reject, Hint: hint, Row: r.Row()})
}

// release hands the Applier the longest run of held entries whose
// dependencies are met, if no batch of the peer is with it already. A run
// with no effects at all (entries merged from other regions, heartbeats)
// needs no Applier call: it counts as applied at once. Proposing it would
// add an entry to the local log, which the peer would cover with another
// entry of its own, and so on for ever.
//
// A batch starts right after what the Applier has durably applied, so it
// also covers the effect-free spans before it: the region's record of
// what it applied moves over them with the batch.
func (r *Replica) release(p *peer) bool {
	if p.applying || len(p.held) == 0 {
		return false
	}
	b := Batch{Origin: p.id, First: p.durable + 1, Last: r.applied[p.id].Index, Closed: r.applied[p.id].Closed}
	// The frontier of a span is known only as a whole: a span released in
	// part does not move it.
	var frontier hlc.Timestamp
	for len(p.held) > 0 {
		sp := &p.held[0]
		blocked := slices.IndexFunc(sp.entries, func(e rentry) bool { return !r.depsMet(p.id, e) })
		if blocked < 0 {
			for _, e := range sp.entries {
				b.Effects = append(b.Effects, e.effects...)
			}
			b.Last, b.Closed = sp.last, hlc.Max(b.Closed, sp.closed)
			frontier = hlc.Max(frontier, sp.frontier)
			p.held = p.held[1:]
			continue
		}
		for _, e := range sp.entries[:blocked] {
			b.Effects = append(b.Effects, e.effects...)
			b.Closed = hlc.Max(b.Closed, e.stamp)
		}
		b.Last = max(b.Last, sp.entries[blocked].index-1)
		sp.entries = sp.entries[blocked:]
		break
	}
	if len(p.held) == 0 {
		p.held = nil
	}
	a := r.applied[p.id]
	if b.Last <= a.Index {
		return false
	}
	if len(b.Effects) == 0 {
		a.Index, a.Closed = b.Last, hlc.Max(a.Closed, b.Closed)
		r.applied[p.id] = a
		p.frontier = hlc.Max(p.frontier, frontier)
		r.ack(p, false, 0)
		return true
	}
	p.applying, p.applyingLast, p.applyingFrontier = true, b.Last, frontier
	r.rd.Apply = append(r.rd.Apply, b)
	return false
}

// releaseAll releases what every peer holds, again while an effect-free
// run moves a closed stamp (which may meet other entries' dependencies).
func (r *Replica) releaseAll() {
	for again := true; again; {
		again = false
		for _, p := range r.order {
			again = r.release(p) || again
		}
	}
}

// depsMet reports whether every list item that an entry of origin names
// has been applied locally: the list CRDT needs an item's insert before
// any effect that names it (storage package doc, HAZARD). An item is
// stamped by the region that inserted it, and a region's stamps grow along
// its log, so the item is applied once what is applied of its region's log
// is closed at or after the item's stamp. Items of the origin itself come
// earlier in the same log, and items of the local region are applied
// already.
func (r *Replica) depsMet(origin uint32, e rentry) bool {
	for i := range e.effects {
		f := &e.effects[i]
		var id storage.ItemID
		switch f.Op {
		case storage.OpLInsert:
			id = f.Ref
		case storage.OpLRem, storage.OpLSet:
			id = f.ID
		default:
			continue
		}
		reg := id.TS.Region
		if id.IsZero() || reg == origin || reg == r.cfg.Region || r.peers[reg] == nil {
			continue
		}
		if r.applied[reg].Closed.Less(id.TS) {
			return false
		}
	}
	return true
}

func (r *Replica) recvApplied(p *peer, m Message) {
	before := r.applied[p.id].Index
	r.raise(m.Row)
	if p.applying {
		p.applying = false
		a := r.applied[p.id]
		if p.durable >= p.applyingLast {
			p.frontier = hlc.Max(p.frontier, p.applyingFrontier)
			r.event(Event{Kind: EventApplied, Peer: p.id, Count: int(min(a.Index-before, 1<<30))})
			r.ack(p, false, 0)
		} else {
			// The batch was not applied (its fate was unknown, or it did
			// not continue what the region had applied): drop what is held
			// and have the peer resend after what the region holds.
			p.held, p.queued = nil, a.Index
			r.ack(p, true, a.Index)
		}
	}
	r.releaseAll()
}

// raise records fresh Applier progress.
func (r *Replica) raise(row []Progress) {
	for _, pr := range row {
		p := r.peers[pr.Region]
		if p == nil {
			continue
		}
		p.durable = max(p.durable, pr.Index)
		a := r.applied[pr.Region]
		a.Index = max(a.Index, pr.Index)
		a.Closed = hlc.Max(a.Closed, pr.Closed)
		r.applied[pr.Region] = a
		if p.queued < a.Index {
			p.queued = a.Index
		}
		trimHeld(p, a.Index)
	}
}

// trimHeld drops held entries at or below upto (applied some other way: a
// state transfer, or an earlier leader's proposal).
func trimHeld(p *peer, upto uint64) {
	for len(p.held) > 0 && p.held[0].last <= upto {
		p.held = p.held[1:]
	}
	if len(p.held) > 0 {
		sp := &p.held[0]
		i := 0
		for i < len(sp.entries) && sp.entries[i].index <= upto {
			i++
		}
		sp.entries = sp.entries[i:]
	}
}

// mergeRow records a peer's applied vector, field by field the largest.
func (r *Replica) mergeRow(p *peer, row []Progress) {
	for _, pr := range row {
		if !slices.Contains(r.ids, pr.Region) {
			continue
		}
		c := p.row[pr.Region]
		c.Region = pr.Region
		c.Index = max(c.Index, pr.Index)
		c.Closed = hlc.Max(c.Closed, pr.Closed)
		p.row[pr.Region] = c
	}
}

// maybeStable computes the tombstone GC frontier: the smallest closed stamp
// in every region's row, for every region's log. Every region has applied
// every effect stamped at or before it. A region not heard from holds it at
// zero.
func (r *Replica) maybeStable() {
	f := r.ownClosed
	for _, id := range r.ids {
		if id != r.cfg.Region {
			f = minTS(f, r.applied[id].Closed)
		}
	}
	for _, p := range r.order {
		for _, id := range r.ids {
			f = minTS(f, p.row[id].Closed)
		}
	}
	if r.stable.Less(f) {
		r.stable = f
		r.rd.Stable = f
	}
}

func minTS(a, b hlc.Timestamp) hlc.Timestamp {
	if b.Less(a) {
		return b
	}
	return a
}
