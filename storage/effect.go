package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// Op names what an Effect does. Values are part of the log format: never
// renumber them.
type Op uint8

// The effects a command can have. Each changes one element (or, for the
// delete and flush ops, raises a floor below which elements are dead) and
// carries the stamp of the write that made it.
const (
	OpDel        Op = 1  // delete key: elements stamped before TS die
	OpFlushDB    Op = 2  // delete every key of DB stamped before TS
	OpFlushAll   Op = 3  // OpFlushDB for every database
	OpSet        Op = 4  // string base value = Value
	OpIncr       Op = 5  // string counter += Int, contributed by TS.Region
	OpIncrFloat  Op = 6  // string counter += Float
	OpExpire     Op = 7  // TTL register = Int (absolute Unix ms; 0 = no expiry)
	OpHSet       Op = 10 // hash field Field = Value
	OpHDel       Op = 11 // remove hash field Field
	OpHIncr      Op = 12 // hash field Field += Int
	OpHIncrFloat Op = 13 // hash field Field += Float
	OpSAdd       Op = 20 // add set member Field
	OpSRem       Op = 21 // remove set member Field
	OpZAdd       Op = 30 // sorted-set member Field with score Float
	OpZRem       Op = 31 // remove sorted-set member Field
	OpZIncr      Op = 32 // sorted-set member Field's score += Float
	OpLInsert    Op = 40 // list item ID = Value, placed right after item Ref (zero Ref: at the head)
	OpLRem       Op = 41 // remove list item ID
	OpLSet       Op = 42 // list item ID's value = Value
)

var opNames = map[Op]string{
	OpDel: "del", OpFlushDB: "flushdb", OpFlushAll: "flushall", OpSet: "set",
	OpIncr: "incr", OpIncrFloat: "incrfloat", OpExpire: "expire",
	OpHSet: "hset", OpHDel: "hdel", OpHIncr: "hincr", OpHIncrFloat: "hincrfloat",
	OpSAdd: "sadd", OpSRem: "srem", OpZAdd: "zadd", OpZRem: "zrem", OpZIncr: "zincr",
	OpLInsert: "linsert", OpLRem: "lrem", OpLSet: "lset",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// ItemID names one list item, everywhere and for ever: the stamp of the
// command that pushed it and its position among that command's items.
type ItemID struct {
	TS  hlc.Timestamp
	Seq uint32
}

// Compare orders item ids by stamp, then sequence.
func (a ItemID) Compare(b ItemID) int {
	if c := a.TS.Compare(b.TS); c != 0 {
		return c
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// IsZero reports whether id is the zero ItemID, which stands for "the head
// of the list" as an insertion reference.
func (a ItemID) IsZero() bool { return a == ItemID{} }

// Effect is one merge operation: plain data, encoded into Raft log entries
// and shipped between regions. Which fields matter depends on Op.
type Effect struct {
	Op    Op
	DB    int
	Key   string
	TS    hlc.Timestamp
	Field string  // hash field, set member or sorted-set member
	Value []byte  // string, hash field or list item value
	Int   int64   // integer increment, or expiry time in Unix ms
	Float float64 // float increment or sorted-set score
	ID    ItemID  // list item
	Ref   ItemID  // list item to insert after
}

func (e Effect) String() string {
	return fmt.Sprintf("%s db=%d key=%q @%v", e.Op, e.DB, e.Key, e.TS)
}

// Effects-encoding versions. A reader accepts every version up to its own.
const (
	effectsMagic   = 'E'
	effectsVersion = 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// AppendEffects appends the stable binary encoding of effects to dst:
// a magic byte, a version, a count, the effects, and a CRC-32C of it all.
func AppendEffects(dst []byte, effects []Effect) []byte {
	start := len(dst)
	e := encoder{b: dst}
	e.byte(effectsMagic)
	e.byte(effectsVersion)
	e.uvarint(uint64(len(effects)))
	for i := range effects {
		encodeEffect(&e, &effects[i])
	}
	return binary.LittleEndian.AppendUint32(e.b, crc32.Checksum(e.b[start:], crcTable))
}

func encodeEffect(e *encoder, f *Effect) {
	e.byte(byte(f.Op))
	e.uvarint(uint64(f.DB))
	e.string(f.Key)
	e.ts(f.TS)
	switch f.Op {
	case OpSet:
		e.bytes(f.Value)
	case OpIncr, OpExpire:
		e.varint(f.Int)
	case OpIncrFloat:
		e.float(f.Float)
	case OpHSet:
		e.string(f.Field)
		e.bytes(f.Value)
	case OpHDel, OpSAdd, OpSRem, OpZRem:
		e.string(f.Field)
	case OpHIncr:
		e.string(f.Field)
		e.varint(f.Int)
	case OpHIncrFloat, OpZAdd, OpZIncr:
		e.string(f.Field)
		e.float(f.Float)
	case OpLInsert:
		e.itemID(f.ID)
		e.itemID(f.Ref)
		e.bytes(f.Value)
	case OpLRem:
		e.itemID(f.ID)
	case OpLSet:
		e.itemID(f.ID)
		e.bytes(f.Value)
	}
}

// DecodeEffects decodes what AppendEffects wrote. Corrupt input (bad
// checksum, truncation, unknown op or version) returns an error wrapping
// ErrCorrupt; it never panics.
func DecodeEffects(b []byte) ([]Effect, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: effects too short", ErrCorrupt)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, fmt.Errorf("%w: effects checksum mismatch", ErrCorrupt)
	}
	d := decoder{b: body}
	if d.byte() != effectsMagic {
		return nil, fmt.Errorf("%w: not an effects encoding", ErrCorrupt)
	}
	if v := d.byte(); v == 0 || v > effectsVersion {
		return nil, fmt.Errorf("%w: unknown effects version %d", ErrCorrupt, v)
	}
	// The smallest effect is 7 bytes: op, database, empty key, zero stamp.
	n := d.count(7)
	out := make([]Effect, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var f Effect
		decodeEffect(&d, &f)
		out = append(out, f)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after effects", ErrCorrupt, len(d.b))
	}
	return out, nil
}

func decodeEffect(d *decoder, f *Effect) {
	f.Op = Op(d.byte())
	db := d.uvarint()
	if db >= NumDBs {
		d.fail("database index out of range")
		return
	}
	f.DB = int(db)
	f.Key = d.string()
	f.TS = d.ts()
	switch f.Op {
	case OpDel, OpFlushDB, OpFlushAll:
	case OpSet:
		f.Value = d.bytes()
	case OpIncr, OpExpire:
		f.Int = d.varint()
	case OpIncrFloat:
		f.Float = d.float()
	case OpHSet:
		f.Field = d.string()
		f.Value = d.bytes()
	case OpHDel, OpSAdd, OpSRem, OpZRem:
		f.Field = d.string()
	case OpHIncr:
		f.Field = d.string()
		f.Int = d.varint()
	case OpHIncrFloat, OpZAdd, OpZIncr:
		f.Field = d.string()
		f.Float = d.float()
	case OpLInsert:
		f.ID = d.itemID()
		f.Ref = d.itemID()
		f.Value = d.bytes()
	case OpLRem:
		f.ID = d.itemID()
	case OpLSet:
		f.ID = d.itemID()
		f.Value = d.bytes()
	default:
		d.fail(fmt.Sprintf("unknown op %d", f.Op))
	}
}
