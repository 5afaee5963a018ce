package eval

import (
	"github.com/meridian-kv/meridian/storage"
)

func init() {
	Register(map[string]Handler{"object": cmdObject})
}

// Encoding thresholds of Valkey's compact encodings (the defaults of
// hash-max-listpack-entries/value and friends). Meridian does not change
// representation with size; OBJECT ENCODING reports what Valkey would use,
// because clients and tests look at it.
const (
	objectListpackEntries = 128
	objectListpackValue   = 64
	objectIntsetEntries   = 512
	objectEmbstrLen       = 44
)

func cmdObject(c *Ctx, args [][]byte) {
	// >> Args
	sub := lowerASCII(args[1])
	if sub == "help" {
		c.W.Array(len(objectHelp))
		for _, l := range objectHelp {
			c.W.Simple(l)
		}
		return
	}

	// >> Operation
	o := c.Get(args[2])
	if o == nil {
		c.W.Null()
		return
	}

	// >> Response
	switch sub {
	case "encoding":
		c.W.BulkString(objectEncoding(o))
	case "refcount":
		c.W.Int(1)
	case "idletime":
		c.W.Int(0)
	case "freq":
		c.W.Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	}
}

var objectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Print this help.",
}

func objectEncoding(o *storage.Object) string {
	small := func(n int, long func() bool) bool { return n <= objectListpackEntries && !long() }
	switch o.Kind() {
	case storage.KindString:
		v := o.Str().Value()
		if _, ok := ParseInt(v); ok && len(v) <= 20 {
			return "int"
		}
		if len(v) <= objectEmbstrLen {
			return "embstr"
		}
		return "raw"
	case storage.KindHash:
		h := o.Hash()
		if small(h.Len(), func() bool {
			long := false
			h.Range(func(f string, v []byte) bool {
				long = len(f) > objectListpackValue || len(v) > objectListpackValue
				return !long
			})
			return long
		}) {
			return "listpack"
		}
		return "hashtable"
	case storage.KindSet:
		s := o.Set()
		allInt := true
		long := false
		s.Range(func(m string) bool {
			if _, ok := ParseInt([]byte(m)); !ok {
				allInt = false
			}
			if len(m) > objectListpackValue {
				long = true
			}
			return true
		})
		switch {
		case allInt && s.Len() <= objectIntsetEntries:
			return "intset"
		case !long && s.Len() <= objectListpackEntries:
			return "listpack"
		}
		return "hashtable"
	case storage.KindZSet:
		z := o.ZSet()
		long := false
		z.Ascend(0, func(it storage.ZItem) bool {
			long = len(it.Member) > objectListpackValue
			return !long
		})
		if small(z.Len(), func() bool { return long }) {
			return "listpack"
		}
		return "skiplist"
	case storage.KindList:
		l := o.List()
		long := false
		l.Range(0, func(_ int, it storage.Item) bool {
			long = len(it.Value) > objectListpackValue
			return !long
		})
		if small(l.Len(), func() bool { return long }) {
			return "listpack"
		}
		return "quicklist"
	}
	return "raw"
}
