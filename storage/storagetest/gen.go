package storagetest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// GenConfig shapes the batches a Gen makes. The zero value of each field
// picks the default named in its comment.
type GenConfig struct {
	// Regions is the number of regions writing; their ids are 1..Regions.
	// Zero means 3.
	Regions int
	// DBs is the number of databases written, from 0. Zero means 1.
	DBs int
	// Keys is the number of keys per kind. Zero means 2.
	Keys int
	// Fields is the number of distinct fields, members or values per key.
	// Zero means 3.
	Fields int
	// Kinds are the kinds written. Nil means every kind.
	Kinds []storage.Kind
	// Conflicts makes every kind write the same keys ("k0", "k1", ...), so
	// that regions disagree on a key's type. Without it each kind has its
	// own keys ("string:0", "hash:0", ...). Lists keep keys of their own
	// unless ListConflicts is set too.
	Conflicts bool
	// ListConflicts puts lists on the shared keys of Conflicts too.
	ListConflicts bool
	// Flush adds rare FLUSHDB and FLUSHALL batches.
	Flush bool
	// Lag is the chance, in [0, 1], that a region has not yet seen the
	// other regions' latest stamps when it writes, so that its stamp is
	// concurrent with theirs. Zero means 0.5.
	Lag float64
}

// Batch is the effects of one command, as one region's evaluator emits
// them: every effect carries the same stamp.
type Batch struct {
	// Index is the batch's position in generation order.
	Index int
	// Effects all carry the stamp TS.
	Effects []storage.Effect
	TS      hlc.Timestamp
	// Deps are the indexes of the batches that inserted the list items
	// this batch names (as a reference, or to remove or set). A list
	// effect is meaningful only after the insert it names.
	Deps []int
}

// Gen makes random effect batches from several regions, each stamping
// with its own hybrid logical clock over one shared manual wall clock. It
// is deterministic for a given seed.
type Gen struct {
	cfg    GenConfig
	r      *rand.Rand
	wall   *hlc.ManualClock
	clocks []*hlc.Clock
	// last is the largest stamp handed out so far.
	last hlc.Timestamp
	// items are the list items inserted so far, per database and key.
	items   map[string][]genItem
	batches int
}

type genItem struct {
	id    storage.ItemID
	batch int
}

// NewGen returns a Gen seeded with seed.
func NewGen(seed uint64, cfg GenConfig) *Gen {
	if cfg.Regions <= 0 {
		cfg.Regions = 3
	}
	if cfg.DBs <= 0 {
		cfg.DBs = 1
	}
	if cfg.Keys <= 0 {
		cfg.Keys = 2
	}
	if cfg.Fields <= 0 {
		cfg.Fields = 3
	}
	if cfg.Kinds == nil {
		cfg.Kinds = []storage.Kind{storage.KindString, storage.KindHash, storage.KindSet, storage.KindZSet, storage.KindList}
	}
	if cfg.Lag == 0 {
		cfg.Lag = 0.5
	}
	g := &Gen{
		cfg:   cfg,
		r:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wall:  hlc.NewManualClock(1_000_000),
		items: map[string][]genItem{},
	}
	for i := range cfg.Regions {
		g.clocks = append(g.clocks, hlc.NewClock(g.wall, uint32(i+1), 1))
	}
	return g
}

// Batches returns n new batches.
func (g *Gen) Batches(n int) []Batch {
	out := make([]Batch, 0, n)
	for range n {
		out = append(out, g.Next())
	}
	return out
}

// Next returns one new batch from a random region.
func (g *Gen) Next() Batch {
	g.wall.Advance(time.Duration(g.r.IntN(3)) * time.Millisecond)
	c := g.clocks[g.r.IntN(len(g.clocks))]
	if g.r.Float64() >= g.cfg.Lag {
		c.Update(g.last) // this region has seen every write so far
	}
	b := Batch{Index: g.batches}
	g.batches++
	db := g.r.IntN(g.cfg.DBs)
	kind := g.cfg.Kinds[g.r.IntN(len(g.cfg.Kinds))]
	key := g.key(kind)
	if g.cfg.Flush && g.r.IntN(60) == 0 {
		b.TS = g.stamp(c)
		op := storage.OpFlushDB
		if g.r.IntN(2) == 0 {
			op = storage.OpFlushAll
		}
		b.Effects = []storage.Effect{{Op: op, DB: db, TS: b.TS}}
		return b
	}
	if kind == storage.KindList {
		g.listBatch(&b, c, db, key)
		return b
	}
	b.TS = g.stamp(c)
	emit := func(e storage.Effect) {
		e.DB, e.Key, e.TS = db, key, b.TS
		b.Effects = append(b.Effects, e)
	}
	switch g.r.IntN(10) {
	case 0:
		emit(storage.Effect{Op: storage.OpDel}) // DEL
		return b
	case 1:
		emit(storage.Effect{Op: storage.OpExpire, Int: g.deadline()}) // EXPIRE or PERSIST
		return b
	}
	switch kind {
	case storage.KindString:
		switch g.r.IntN(4) {
		case 0, 1: // SET, over an old value (DEL then SET) or not
			if g.r.IntN(2) == 0 {
				emit(storage.Effect{Op: storage.OpDel})
			}
			emit(storage.Effect{Op: storage.OpSet, Value: g.value()})
			if g.r.IntN(4) == 0 {
				emit(storage.Effect{Op: storage.OpExpire, Int: g.deadline()})
			}
		case 2: // INCRBY
			emit(storage.Effect{Op: storage.OpIncr, Int: int64(g.r.IntN(11) - 5)})
		case 3: // INCRBYFLOAT
			emit(storage.Effect{Op: storage.OpIncrFloat, Float: g.float()})
		}
	case storage.KindHash:
		for _, f := range g.fields() {
			switch g.r.IntN(5) {
			case 0, 1:
				emit(storage.Effect{Op: storage.OpHSet, Field: f, Value: g.value()})
			case 2:
				emit(storage.Effect{Op: storage.OpHDel, Field: f})
			case 3:
				emit(storage.Effect{Op: storage.OpHIncr, Field: f, Int: int64(g.r.IntN(11) - 5)})
			case 4:
				emit(storage.Effect{Op: storage.OpHIncrFloat, Field: f, Float: g.float()})
			}
		}
	case storage.KindSet:
		for _, f := range g.fields() {
			if g.r.IntN(3) == 0 {
				emit(storage.Effect{Op: storage.OpSRem, Field: f})
			} else {
				emit(storage.Effect{Op: storage.OpSAdd, Field: f})
			}
		}
	case storage.KindZSet:
		for _, f := range g.fields() {
			switch g.r.IntN(3) {
			case 0:
				emit(storage.Effect{Op: storage.OpZAdd, Field: f, Float: float64(g.r.IntN(7)) - 3})
			case 1:
				emit(storage.Effect{Op: storage.OpZRem, Field: f})
			case 2:
				emit(storage.Effect{Op: storage.OpZIncr, Field: f, Float: g.float()})
			}
		}
	}
	if g.r.IntN(8) == 0 {
		emit(storage.Effect{Op: storage.OpDel}) // the command emptied the key
	}
	return b
}

// listBatch makes a push (items chained after a reference), a pop or an
// LSET. A region only names items stamped before its own stamp: it has
// seen them.
func (g *Gen) listBatch(b *Batch, c *hlc.Clock, db int, key string) {
	ik := strconv.Itoa(db) + "/" + key
	known := g.items[ik]
	pick := func() genItem {
		it := known[g.r.IntN(len(known))]
		c.Update(it.id.TS)
		b.Deps = append(b.Deps, it.batch)
		return it
	}
	op := g.r.IntN(6)
	if len(known) == 0 {
		op = 0
	}
	emit := func(e storage.Effect) {
		e.DB, e.Key, e.TS = db, key, b.TS
		b.Effects = append(b.Effects, e)
	}
	switch op {
	case 0, 1, 2: // LPUSH, RPUSH, LINSERT: a chain of items after a reference
		var ref storage.ItemID
		if len(known) > 0 && g.r.IntN(3) != 0 {
			ref = pick().id
		}
		b.TS = g.stamp(c)
		for seq := range uint32(1 + g.r.IntN(3)) {
			id := storage.ItemID{TS: b.TS, Seq: seq}
			emit(storage.Effect{Op: storage.OpLInsert, ID: id, Ref: ref, Value: g.value()})
			g.items[ik] = append(g.items[ik], genItem{id: id, batch: b.Index})
			if g.r.IntN(2) == 0 {
				ref = id // RPUSH chains; LPUSH keeps inserting at the head
			}
		}
	case 3, 4: // LPOP, LREM
		it := pick()
		b.TS = g.stamp(c)
		emit(storage.Effect{Op: storage.OpLRem, ID: it.id})
	case 5: // LSET
		it := pick()
		b.TS = g.stamp(c)
		emit(storage.Effect{Op: storage.OpLSet, ID: it.id, Value: g.value()})
	}
	if g.r.IntN(10) == 0 {
		emit(storage.Effect{Op: storage.OpDel})
	}
}

func (g *Gen) stamp(c *hlc.Clock) hlc.Timestamp {
	ts := c.Now()
	g.last = hlc.Max(g.last, ts)
	return ts
}

func (g *Gen) key(k storage.Kind) string {
	i := g.r.IntN(g.cfg.Keys)
	if g.cfg.Conflicts && (k != storage.KindList || g.cfg.ListConflicts) {
		return "k" + strconv.Itoa(i)
	}
	return k.String() + ":" + strconv.Itoa(i)
}

// fields returns one or two distinct fields: a command never names the
// same element twice.
func (g *Gen) fields() []string {
	a := g.r.IntN(g.cfg.Fields)
	if g.r.IntN(3) != 0 || g.cfg.Fields == 1 {
		return []string{fmt.Sprintf("f%d", a)}
	}
	b := (a + 1 + g.r.IntN(g.cfg.Fields-1)) % g.cfg.Fields
	return []string{fmt.Sprintf("f%d", a), fmt.Sprintf("f%d", b)}
}

func (g *Gen) value() []byte {
	switch g.r.IntN(4) {
	case 0:
		return []byte(strconv.Itoa(g.r.IntN(100))) // a counter's base
	case 1:
		return []byte(strconv.FormatFloat(g.float(), 'f', -1, 64))
	}
	return []byte(fmt.Sprintf("v%d", g.r.IntN(g.cfg.Fields)))
}

func (g *Gen) float() float64 {
	return []float64{0.5, -1.25, 0.1, 3, 1e-3, -0.3}[g.r.IntN(6)]
}

// deadline returns an absolute expiry time around the wall clock, or 0
// (PERSIST).
func (g *Gen) deadline() int64 {
	if g.r.IntN(4) == 0 {
		return 0
	}
	return g.wall.Now().UnixMilli() + int64(g.r.IntN(200)) - 50
}
