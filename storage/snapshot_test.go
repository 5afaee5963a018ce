package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
	"github.com/meridian-kv/meridian/storage/storagetest"
)

// at returns the stamp of a write at wall ms in a region.
func at(wall int64, region uint32) hlc.Timestamp {
	return hlc.Timestamp{Wall: wall, Region: region, Node: 1}
}

// fx builds effects for tests: every effect of one call shares key, db
// and stamp, as one command's effects do.
type fx struct {
	db  int
	key string
	ts  hlc.Timestamp
}

func (f fx) e(op storage.Op) storage.Effect {
	return storage.Effect{Op: op, DB: f.db, Key: f.key, TS: f.ts}
}
func (f fx) del() storage.Effect { return f.e(storage.OpDel) }
func (f fx) set(v string) storage.Effect {
	e := f.e(storage.OpSet)
	e.Value = []byte(v)
	return e
}
func (f fx) incr(n int64) storage.Effect { e := f.e(storage.OpIncr); e.Int = n; return e }
func (f fx) incrFloat(x float64) storage.Effect {
	e := f.e(storage.OpIncrFloat)
	e.Float = x
	return e
}
func (f fx) expire(ms int64) storage.Effect { e := f.e(storage.OpExpire); e.Int = ms; return e }
func (f fx) field(op storage.Op, field string) storage.Effect {
	e := f.e(op)
	e.Field = field
	return e
}
func (f fx) hset(field, v string) storage.Effect {
	e := f.field(storage.OpHSet, field)
	e.Value = []byte(v)
	return e
}
func (f fx) hincr(field string, n int64) storage.Effect {
	e := f.field(storage.OpHIncr, field)
	e.Int = n
	return e
}
func (f fx) hincrFloat(field string, x float64) storage.Effect {
	e := f.field(storage.OpHIncrFloat, field)
	e.Float = x
	return e
}
func (f fx) zadd(m string, score float64) storage.Effect {
	e := f.field(storage.OpZAdd, m)
	e.Float = score
	return e
}
func (f fx) zincr(m string, by float64) storage.Effect {
	e := f.field(storage.OpZIncr, m)
	e.Float = by
	return e
}
func (f fx) item(seq uint32) storage.ItemID { return storage.ItemID{TS: f.ts, Seq: seq} }
func (f fx) linsert(seq uint32, ref storage.ItemID, v string) storage.Effect {
	e := f.e(storage.OpLInsert)
	e.ID, e.Ref, e.Value = f.item(seq), ref, []byte(v)
	return e
}
func (f fx) lrem(id storage.ItemID) storage.Effect { e := f.e(storage.OpLRem); e.ID = id; return e }
func (f fx) lset(id storage.ItemID, v string) storage.Effect {
	e := f.e(storage.OpLSet)
	e.ID, e.Value = id, []byte(v)
	return e
}

// batches applies each batch with the next log index. With compact, the
// stable frontier follows every batch, as on a single-region node.
func apply(s *storage.Store, compact bool, batches ...[]storage.Effect) {
	for _, b := range batches {
		if compact {
			for _, e := range b {
				s.SetStable(e.TS)
			}
		}
		s.Apply(s.Index()+1, b)
	}
}

// snapshotFixture returns the batches of a store holding every type with
// its merge metadata: counters with pending increments, hash fields and
// set members removed, sorted-set members incremented and removed, list
// items removed and set, TTLs, key floors, a database floor and all 16
// databases in use.
func snapshotFixture() [][]storage.Effect {
	var out [][]storage.Effect
	add := func(b ...storage.Effect) { out = append(out, b) }
	// A plain string.
	add(fx{0, "str", at(100, 1)}.set("hello"))
	// A counter with a base and increments from two other regions.
	add(fx{0, "ctr", at(100, 1)}.set("10"))
	add(fx{0, "ctr", at(200, 2)}.incr(5))
	add(fx{0, "ctr", at(300, 3)}.incr(-3))
	// A float counter without a base.
	add(fx{0, "fctr", at(200, 1)}.incrFloat(0.5))
	add(fx{0, "fctr", at(300, 2)}.incrFloat(0.25))
	// A hash with a counter field, a removed field and a live one.
	h := fx{0, "h", at(100, 1)}
	add(h.hset("a", "1"), h.hset("b", "x"))
	add(fx{0, "h", at(200, 2)}.hincr("a", 2))
	add(fx{0, "h", at(300, 1)}.field(storage.OpHDel, "b"))
	add(fx{0, "h", at(400, 3)}.hset("c", "y"), fx{0, "h", at(400, 3)}.hincrFloat("d", 1.5))
	// A set with a removed member.
	s := fx{0, "s", at(100, 1)}
	add(s.field(storage.OpSAdd, "m1"), s.field(storage.OpSAdd, "m2"), s.field(storage.OpSAdd, "m3"))
	add(fx{0, "s", at(200, 2)}.field(storage.OpSRem, "m2"))
	// A sorted set with an increment and a removal.
	z := fx{0, "z", at(100, 1)}
	add(z.zadd("a", 1), z.zadd("b", 2), z.zadd("c", 3))
	add(fx{0, "z", at(200, 2)}.zincr("a", 5))
	add(fx{0, "z", at(300, 3)}.field(storage.OpZRem, "b"))
	// A list with a popped item and an LSET.
	l := fx{0, "l", at(100, 1)}
	add(l.linsert(0, storage.ItemID{}, "a"), l.linsert(1, l.item(0), "b"), l.linsert(2, l.item(1), "c"))
	add(fx{0, "l", at(200, 2)}.lrem(l.item(1)))
	add(fx{0, "l", at(300, 3)}.lset(l.item(2), "C"))
	// A key with a deadline (Unix ms 5000).
	add(fx{0, "ttl", at(100, 1)}.set("v"), fx{0, "ttl", at(100, 1)}.expire(5000))
	// A deleted key, and a key written again after its delete.
	add(fx{0, "gone", at(100, 1)}.set("v"))
	add(fx{0, "gone", at(200, 1)}.del())
	add(fx{0, "again", at(100, 1)}.hset("f", "old"))
	add(fx{0, "again", at(200, 2)}.del())
	add(fx{0, "again", at(300, 1)}.hset("g", "new"))
	// Database 1 flushed, with one key written after the flush.
	add(fx{1, "before", at(100, 1)}.set("v"))
	add(storage.Effect{Op: storage.OpFlushDB, DB: 1, TS: at(200, 2)})
	add(fx{1, "after", at(300, 1)}.set("v"))
	// One key in every other database.
	for db := 2; db < storage.NumDBs; db++ {
		add(fx{db, fmt.Sprintf("k%d", db), at(int64(100+db), 1)}.set(fmt.Sprint(db)))
	}
	return out
}

func snapshotBytes(t *testing.T, s *storage.Store) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteSnapshot(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readsEqual fails unless a and b answer every read alike.
func readsEqual(t *testing.T, a, b *storage.Store) {
	t.Helper()
	for _, now := range []int64{0, 4999, 5000, 1 << 50} {
		if da, db := storagetest.Dump(a.At(now)), storagetest.Dump(b.At(now)); da != db {
			t.Fatalf("reads at %d differ:\n--- a:\n%s--- b:\n%s", now, da, db)
		}
	}
	if a.Keys() != b.Keys() || a.Index() != b.Index() || a.LastStamp() != b.LastStamp() || a.Stable() != b.Stable() {
		t.Fatalf("Keys/Index/LastStamp/Stable: %d %d %v %v, and %d %d %v %v",
			a.Keys(), a.Index(), a.LastStamp(), a.Stable(), b.Keys(), b.Index(), b.LastStamp(), b.Stable())
	}
	for db := range storage.NumDBs {
		if a.Expires(db) != b.Expires(db) {
			t.Fatalf("db %d: Expires %d and %d", db, a.Expires(db), b.Expires(db))
		}
		if x, y := fmt.Sprint(a.SampleExpired(db, 5000, 100)), fmt.Sprint(b.SampleExpired(db, 5000, 100)); x != y {
			t.Fatalf("db %d: SampleExpired %s and %s", db, x, y)
		}
	}
	if a.Digest() != b.Digest() {
		t.Fatal("digests differ")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	want := map[string]string{
		"str":  `"hello"`,
		"ctr":  `"12"`,
		"fctr": `"0.75"`,
		"h":    `"a"="3" "c"="y" "d"="1.5"`,
		"s":    `"m1" "m3"`,
		"z":    `"c"=3#4008000000000000 "a"=6#4018000000000000`,
		"l":    `100.0@1.1/0="a" 100.0@1.1/2="C"`,
	}
	var sizes [2]int
	var dumps [2]string
	for i, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			orig := storage.NewStore()
			apply(orig, compact, snapshotFixture()...)
			dump := storagetest.Dump(orig.At(0))
			for key, v := range want {
				if !strings.Contains(dump, fmt.Sprintf("%q", key)) || !strings.Contains(dump, v) {
					t.Fatalf("fixture: key %q should hold %s:\n%s", key, v, dump)
				}
			}
			if orig.At(5000).Get(0, "ttl") != nil || orig.At(4999).Get(0, "ttl") == nil {
				t.Fatal("fixture: ttl should expire at 5000")
			}
			for db := range storage.NumDBs {
				if orig.At(0).Len(db) == 0 {
					t.Fatalf("fixture: database %d is empty", db)
				}
			}

			snap := snapshotBytes(t, orig)
			restored, err := storage.ReadSnapshot(bytes.NewReader(snap))
			if err != nil {
				t.Fatalf("ReadSnapshot: %v", err)
			}
			if again := snapshotBytes(t, restored); !bytes.Equal(again, snap) {
				t.Fatalf("WriteSnapshot(ReadSnapshot(b)) != b (%d and %d bytes)", len(again), len(snap))
			}
			readsEqual(t, orig, restored)
			sizes[i], dumps[i] = len(snap), dump

			if compact {
				return
			}
			// Tombstones and increments travel in the snapshot: late writes
			// from other regions, stamped before them, merge the same way
			// into the original and the restored store.
			late := [][]storage.Effect{
				{fx{0, "h", at(250, 3)}.hset("b", "late")},                                       // before HDEL b@300: stays removed
				{fx{0, "s", at(150, 3)}.field(storage.OpSAdd, "m2")},                             // before SREM m2@200
				{fx{0, "ctr", at(150, 3)}.set("100")},                                            // a new base under both increments
				{fx{0, "z", at(250, 1)}.zadd("b", 9)},                                            // before ZREM b@300
				{fx{0, "again", at(150, 3)}.hset("h", "late")},                                   // before the key's DEL@200
				{fx{1, "before", at(150, 3)}.set("late")},                                        // before FLUSHDB@200
				{fx{0, "l", at(250, 2)}.linsert(0, storage.ItemID{TS: at(100, 1), Seq: 1}, "n")}, // after the popped b
			}
			apply(orig, false, late...)
			apply(restored, false, late...)
			readsEqual(t, orig, restored)
			if !bytes.Equal(snapshotBytes(t, orig), snapshotBytes(t, restored)) {
				t.Fatal("after the same late writes, the snapshots differ")
			}
			got := storagetest.Dump(restored.At(0))
			for _, w := range []string{`"ctr" string n=1: "102"`, `"h" hash n=3: "a"="3" "c"="y" "d"="1.5"`, `"s" set n=2: "m1" "m3"`, `"again" hash n=1: "g"="new"`, `"l" list n=3: 100.0@1.1/0="a" 250.0@2.1/0="n" 100.0@1.1/2="C"`} {
				if !strings.Contains(got, w) {
					t.Fatalf("after late writes, want %s in:\n%s", w, got)
				}
			}
			if restored.At(0).Get(1, "before") != nil {
				t.Fatal("a write stamped before FLUSHDB came back")
			}
		})
	}
	// Compaction drops tombstones and folds increments without changing
	// a single read.
	if dumps[0] != dumps[1] {
		t.Fatalf("compaction changed reads:\n--- kept:\n%s--- compacted:\n%s", dumps[0], dumps[1])
	}
	if sizes[1] >= sizes[0] {
		t.Fatalf("compacted snapshot is %d bytes, kept one %d: nothing compacted", sizes[1], sizes[0])
	}
}

func TestSnapshotEmptyStore(t *testing.T) {
	s := storage.NewStore()
	snap := snapshotBytes(t, s)
	r, err := storage.DecodeSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snapshotBytes(t, r), snap) || r.Keys() != 0 || r.Digest() != s.Digest() {
		t.Fatal("empty store does not round-trip")
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errWrite = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errWrite
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteSnapshotError(t *testing.T) {
	s := storage.NewStore()
	apply(s, false, snapshotFixture()...)
	size := len(snapshotBytes(t, s))
	for _, n := range []int{0, 10, size - 4, size - 1} {
		if err := s.WriteSnapshot(&failWriter{n: n}); !errors.Is(err, errWrite) {
			t.Errorf("writer failing after %d of %d bytes: err = %v", n, size, err)
		}
	}
}

// errReader fails at once.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errWrite }

func TestSnapshotCorrupt(t *testing.T) {
	s := storage.NewStore()
	apply(s, false, snapshotFixture()...)
	good := snapshotBytes(t, s)
	body := unseal(good)

	if _, err := storage.ReadSnapshot(errReader{}); !errors.Is(err, errWrite) {
		t.Fatalf("ReadSnapshot of a failing reader: %v", err)
	}
	for n := range len(good) {
		_, err := storage.DecodeSnapshot(good[:n])
		wantCorrupt(t, "truncated", err)
		if n >= 4 && n < len(body) {
			_, err = storage.DecodeSnapshot(seal(body[:n]))
			wantCorrupt(t, "truncated body", err)
		}
	}
	for i := range len(good) * 8 {
		b := bytes.Clone(good)
		b[i/8] ^= 1 << (i % 8)
		_, err := storage.DecodeSnapshot(b)
		wantCorrupt(t, "bit flip", err)
	}
	// Behind a valid checksum a flip may still decode (it hit a value);
	// then the store must be usable and re-encode stably.
	for i := 0; i < len(body)*8; i += 3 {
		b := bytes.Clone(body)
		b[i/8] ^= 1 << (i % 8)
		snapshotCheck(t, seal(b))
	}

	cases := []struct {
		name string
		b    []byte
	}{
		// Nothing.
		{"empty", nil},
		// Too short to hold a header and a checksum.
		{"short", []byte("MRDS\x01")},
		// Another file with a valid checksum.
		{"magic", seal(append([]byte("XRDS"), body[4:]...))},
		// Version 0 was never written.
		{"version_zero", seal(append([]byte("MRDS\x00"), body[5:]...))},
		// A version from the future.
		{"version_future", seal(append([]byte("MRDS\x09"), body[5:]...))},
		// Bytes after the last database.
		{"trailing", seal(append(bytes.Clone(body), 0))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := storage.DecodeSnapshot(c.b)
			wantCorrupt(t, c.name, err)
			if st != nil {
				t.Fatal("returned a store with an error")
			}
		})
	}
}

// snapshotCheck decodes b; if it is accepted, the store must answer
// reads, take effects, and re-encode to bytes that decode and re-encode
// to themselves.
func snapshotCheck(t *testing.T, b []byte) {
	t.Helper()
	s, err := storage.DecodeSnapshot(b)
	if err != nil {
		if !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	var enc bytes.Buffer
	if err := s.WriteSnapshot(&enc); err != nil {
		t.Fatal(err)
	}
	s2, err := storage.DecodeSnapshot(enc.Bytes())
	if err != nil {
		t.Fatalf("re-encoded snapshot does not decode: %v", err)
	}
	var enc2 bytes.Buffer
	if err := s2.WriteSnapshot(&enc2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc.Bytes(), enc2.Bytes()) {
		t.Fatal("encode(decode(encode(decode(b)))) != encode(decode(b))")
	}
	for _, now := range []int64{0, 5000} {
		storagetest.Dump(s.At(now))
	}
	last := s.LastStamp()
	next := hlc.Timestamp{Wall: last.Wall + 1, Region: 1}
	for db := range storage.NumDBs {
		s.Apply(s.Index()+1, []storage.Effect{
			fx{db, "str", next}.incr(1),
			fx{db, "h", next}.hincr("a", 1),
			fx{db, "s", next}.field(storage.OpSRem, "m1"),
			fx{db, "z", next}.zincr("a", 1),
			fx{db, "l", next}.linsert(0, storage.ItemID{}, "x"),
			fx{db, "l", next}.lrem(storage.ItemID{TS: at(100, 1)}),
		})
	}
	storagetest.Dump(s.At(0))
}

// FuzzDecodeSnapshot feeds DecodeSnapshot arbitrary bytes, as they are and
// resealed with a valid checksum. It must never panic, and what it accepts
// must work as a store (see snapshotCheck).
func FuzzDecodeSnapshot(f *testing.F) {
	s := storage.NewStore()
	f.Add(snapshotBytesF(s))
	for i, b := range snapshotFixture() {
		s.Apply(uint64(i+1), b)
		if i%8 == 0 {
			f.Add(snapshotBytesF(s))
		}
	}
	f.Add(snapshotBytesF(s))
	f.Fuzz(func(t *testing.T, b []byte) {
		snapshotCheck(t, b)
		if len(b) >= 4 {
			snapshotCheck(t, reseal(b))
		}
	})
}

func snapshotBytesF(s *storage.Store) []byte {
	var b bytes.Buffer
	if err := s.WriteSnapshot(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}
