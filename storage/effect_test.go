package storage_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"testing"

	"github.com/meridian-kv/meridian/storage"
	"github.com/meridian-kv/meridian/storage/hlc"
)

var effectTS = hlc.Timestamp{Wall: 1_700_000_000_123, Logical: 7, Region: 2, Node: 3}

// effectRows has one effect per Op, with every field that Op carries set.
var effectRows = []struct {
	name string
	e    storage.Effect
}{
	// DEL: only the key and stamp.
	{"del", storage.Effect{Op: storage.OpDel, DB: 3, Key: "k", TS: effectTS}},
	// FLUSHDB: the database and stamp; the key is empty.
	{"flushdb", storage.Effect{Op: storage.OpFlushDB, DB: 15, TS: effectTS}},
	// FLUSHALL.
	{"flushall", storage.Effect{Op: storage.OpFlushAll, TS: effectTS}},
	// The smallest encoding: empty key, zero stamp (7 bytes; DecodeEffects
	// once wanted 12 per effect and refused small stamps).
	{"smallest", storage.Effect{Op: storage.OpDel}},
	// A small stamp, as a test clock makes.
	{"small_stamp", storage.Effect{Op: storage.OpDel, Key: "k", TS: hlc.Timestamp{Wall: 5, Region: 1, Node: 1}}},
	// SET with binary data in key and value.
	{"set", storage.Effect{Op: storage.OpSet, Key: "k\x00\xff", TS: effectTS, Value: []byte("v\x00\r\n")}},
	// SET of the empty string.
	{"set_empty", storage.Effect{Op: storage.OpSet, Key: "k", TS: effectTS, Value: []byte{}}},
	// INCRBY with the most negative delta.
	{"incr", storage.Effect{Op: storage.OpIncr, Key: "k", TS: effectTS, Int: math.MinInt64}},
	// INCRBYFLOAT with a fraction.
	{"incrfloat", storage.Effect{Op: storage.OpIncrFloat, Key: "k", TS: effectTS, Float: -0.1}},
	// EXPIRE: an absolute deadline in Unix ms.
	{"expire", storage.Effect{Op: storage.OpExpire, Key: "k", TS: effectTS, Int: 1_700_000_060_000}},
	// PERSIST: deadline 0.
	{"persist", storage.Effect{Op: storage.OpExpire, Key: "k", TS: effectTS}},
	// HSET field value.
	{"hset", storage.Effect{Op: storage.OpHSet, Key: "h", TS: effectTS, Field: "f", Value: []byte("v")}},
	// HDEL field.
	{"hdel", storage.Effect{Op: storage.OpHDel, Key: "h", TS: effectTS, Field: "f"}},
	// HINCRBY field delta.
	{"hincr", storage.Effect{Op: storage.OpHIncr, Key: "h", TS: effectTS, Field: "f", Int: math.MaxInt64}},
	// HINCRBYFLOAT field delta.
	{"hincrfloat", storage.Effect{Op: storage.OpHIncrFloat, Key: "h", TS: effectTS, Field: "f", Float: 1e300}},
	// SADD member.
	{"sadd", storage.Effect{Op: storage.OpSAdd, Key: "s", TS: effectTS, Field: "m"}},
	// SREM member.
	{"srem", storage.Effect{Op: storage.OpSRem, Key: "s", TS: effectTS, Field: "m"}},
	// ZADD member score, an infinite score included.
	{"zadd", storage.Effect{Op: storage.OpZAdd, Key: "z", TS: effectTS, Field: "m", Float: math.Inf(-1)}},
	// ZREM member.
	{"zrem", storage.Effect{Op: storage.OpZRem, Key: "z", TS: effectTS, Field: "m"}},
	// ZINCRBY member delta.
	{"zincr", storage.Effect{Op: storage.OpZIncr, Key: "z", TS: effectTS, Field: "m", Float: 2.5}},
	// LINSERT after an item.
	{"linsert", storage.Effect{Op: storage.OpLInsert, Key: "l", TS: effectTS,
		ID:  storage.ItemID{TS: effectTS, Seq: 2},
		Ref: storage.ItemID{TS: hlc.Timestamp{Wall: 5, Region: 1, Node: 1}, Seq: 9}, Value: []byte("x")}},
	// LPUSH: the zero reference is the head.
	{"linsert_head", storage.Effect{Op: storage.OpLInsert, Key: "l", TS: effectTS, ID: storage.ItemID{TS: effectTS}, Value: []byte("x")}},
	// LPOP: remove one item.
	{"lrem", storage.Effect{Op: storage.OpLRem, Key: "l", TS: effectTS, ID: storage.ItemID{TS: effectTS, Seq: math.MaxUint32}}},
	// LSET item value.
	{"lset", storage.Effect{Op: storage.OpLSet, Key: "l", TS: effectTS, ID: storage.ItemID{TS: effectTS, Seq: 1}, Value: []byte("y")}},
}

// effectEqual compares effects field by field, floats by their bits and
// an empty value like a nil one.
func effectEqual(a, b storage.Effect) bool {
	return a.Op == b.Op && a.DB == b.DB && a.Key == b.Key && a.TS == b.TS && a.Field == b.Field &&
		bytes.Equal(a.Value, b.Value) && a.Int == b.Int &&
		math.Float64bits(a.Float) == math.Float64bits(b.Float) && a.ID == b.ID && a.Ref == b.Ref
}

func TestEffectsRoundTrip(t *testing.T) {
	var all []storage.Effect
	for _, row := range effectRows {
		t.Run(row.name, func(t *testing.T) {
			b := storage.AppendEffects(nil, []storage.Effect{row.e})
			got, err := storage.DecodeEffects(b)
			if err != nil {
				t.Fatalf("DecodeEffects: %v", err)
			}
			if len(got) != 1 || !effectEqual(got[0], row.e) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, row.e)
			}
			if got[0].Op.String() != row.e.Op.String() || got[0].Op.String() == "" {
				t.Fatalf("Op.String() = %q", got[0].Op.String())
			}
		})
		all = append(all, row.e)
	}
	// Every op in one batch, appended after a prefix the encoding must
	// leave alone.
	prefix := []byte("prefix")
	b := storage.AppendEffects(bytes.Clone(prefix), all)
	if !bytes.HasPrefix(b, prefix) {
		t.Fatal("AppendEffects changed dst's prefix")
	}
	got, err := storage.DecodeEffects(b[len(prefix):])
	if err != nil {
		t.Fatalf("DecodeEffects(all): %v", err)
	}
	if len(got) != len(all) {
		t.Fatalf("decoded %d effects, want %d", len(got), len(all))
	}
	for i := range all {
		if !effectEqual(got[i], all[i]) {
			t.Errorf("effect %d:\n got %+v\nwant %+v", i, got[i], all[i])
		}
	}
	// An empty batch is a valid encoding too.
	if got, err := storage.DecodeEffects(storage.AppendEffects(nil, nil)); err != nil || len(got) != 0 {
		t.Fatalf("empty batch: %v, %v", got, err)
	}
}

// TestOpNames checks that every op has a name and unknown ones print
// their number.
func TestOpNames(t *testing.T) {
	names := map[string]storage.Op{}
	for _, row := range effectRows {
		op := row.e.Op
		n := op.String()
		if other, ok := names[n]; ok && other != op {
			t.Errorf("ops %d and %d are both named %q", other, op, n)
		}
		names[n] = op
	}
	if got := storage.Op(99).String(); got != "op(99)" {
		t.Errorf("Op(99).String() = %q", got)
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// reseal replaces the checksum of an encoding (the last four bytes) with
// the right one for what precedes it, so that a test reaches the checks
// behind the checksum.
func reseal(b []byte) []byte {
	body := bytes.Clone(b[:len(b)-4])
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

// unseal returns the encoding without its checksum.
func unseal(b []byte) []byte { return bytes.Clone(b[:len(b)-4]) }

func seal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli))
}

// wantCorrupt fails unless err wraps ErrCorrupt.
func wantCorrupt(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("%s: error %v does not wrap ErrCorrupt", what, err)
	}
}

func TestDecodeEffectsCorrupt(t *testing.T) {
	var all []storage.Effect
	for _, row := range effectRows {
		all = append(all, row.e)
	}
	good := storage.AppendEffects(nil, all)
	body := unseal(good)

	// Every truncation, and every truncation of the body resealed (so the
	// decoder itself, not the checksum, meets the short input).
	for n := range len(good) {
		_, err := storage.DecodeEffects(good[:n])
		wantCorrupt(t, "truncated", err)
		if n < len(body) {
			_, err = storage.DecodeEffects(seal(body[:n]))
			wantCorrupt(t, "truncated body", err)
		}
	}
	// Every single-bit flip: CRC-32C catches them all.
	for i := range len(good) * 8 {
		b := bytes.Clone(good)
		b[i/8] ^= 1 << (i % 8)
		_, err := storage.DecodeEffects(b)
		wantCorrupt(t, "bit flip", err)
	}
	// Every single-bit flip behind a valid checksum must not panic; it may
	// decode (a flipped value byte is still an encoding), but then
	// re-encoding gives the same bytes.
	for i := range len(body) * 8 {
		b := bytes.Clone(body)
		b[i/8] ^= 1 << (i % 8)
		effects, err := storage.DecodeEffects(seal(b))
		if err != nil {
			wantCorrupt(t, "resealed bit flip", err)
			continue
		}
		again, err := storage.DecodeEffects(storage.AppendEffects(nil, effects))
		if err != nil || len(again) != len(effects) {
			t.Fatalf("re-encoding an accepted flip: %v", err)
		}
	}

	cases := []struct {
		name string
		b    []byte
	}{
		// Nothing at all.
		{"empty", nil},
		// Shorter than a checksum.
		{"three_bytes", []byte{1, 2, 3}},
		// A valid checksum over nothing.
		{"only_checksum", seal(nil)},
		// A wrong magic byte.
		{"magic", seal(append([]byte{'X'}, body[1:]...))},
		// Version 0 was never written.
		{"version_zero", seal(append([]byte{body[0], 0}, body[2:]...))},
		// A version from the future.
		{"version_future", seal(append([]byte{body[0], 2}, body[2:]...))},
		// An op number no encoder produces.
		{"unknown_op", seal([]byte{'E', 1, 1, 99, 0, 0, 0, 0, 0, 0})},
		// A database index past NumDBs.
		{"db_out_of_range", seal([]byte{'E', 1, 1, byte(storage.OpDel), storage.NumDBs, 0, 0, 0, 0, 0})},
		// A count larger than the input could hold.
		{"huge_count", seal([]byte{'E', 1, 0xff, 0xff, 0xff, 0xff, 0x0f})},
		// A key length past the end of the input.
		{"long_key", seal([]byte{'E', 1, 1, byte(storage.OpDel), 0, 100, 'k'})},
		// Trailing bytes after the last effect.
		{"trailing", seal(append(bytes.Clone(body), 0))},
		// A varint that never ends.
		{"endless_varint", seal([]byte{'E', 1, 1, byte(storage.OpIncr), 0, 1, 'k', 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})},
		// A stamp's logical counter beyond 32 bits.
		{"logical_overflow", seal([]byte{'E', 1, 1, byte(storage.OpDel), 0, 1, 'k', 0, 0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			effects, err := storage.DecodeEffects(c.b)
			wantCorrupt(t, c.name, err)
			if effects != nil {
				t.Fatalf("returned effects with an error: %v", effects)
			}
		})
	}
}

// FuzzDecodeEffects feeds DecodeEffects arbitrary bytes, both as they are
// (the checksum rejects nearly all) and resealed with a valid checksum (so
// the decoder proper sees them). It must never panic, must wrap ErrCorrupt
// in every error, and what it accepts must re-encode to something that
// decodes to the same effects.
func FuzzDecodeEffects(f *testing.F) {
	var all []storage.Effect
	for _, row := range effectRows {
		f.Add(storage.AppendEffects(nil, []storage.Effect{row.e}))
		all = append(all, row.e)
	}
	f.Add(storage.AppendEffects(nil, all))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(b []byte) {
			effects, err := storage.DecodeEffects(b)
			if err != nil {
				if !errors.Is(err, storage.ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				return
			}
			enc := storage.AppendEffects(nil, effects)
			again, err := storage.DecodeEffects(enc)
			if err != nil {
				t.Fatalf("re-encoded effects do not decode: %v", err)
			}
			if !bytes.Equal(storage.AppendEffects(nil, again), enc) {
				t.Fatal("decode(encode(x)) != x")
			}
			// Whatever decodes applies without panicking.
			storage.NewStore().Apply(1, effects)
		}
		check(b)
		if len(b) >= 4 {
			check(reseal(b))
		}
	})
}
