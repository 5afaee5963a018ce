package eval

import (
	"encoding/hex"

	"github.com/meridian-kv/meridian/protocol"
)

func init() {
	Register(map[string]Handler{"debug": cmdDebug})
}

// Digester is implemented by Readers that can hash their whole dataset
// (storage's own Reader does; DEBUG DIGEST uses it).
type Digester interface {
	Digest() [32]byte
}

// cmdDebug implements DEBUG DIGEST: a hex digest of the node's whole
// dataset, element stamps included, equal on every node that applied the
// same effects (the convergence check of the fault tests). Like Valkey it
// is 40 hex digits, all zeros for an empty dataset.
func cmdDebug(c *Ctx, args [][]byte) {
	// >> Args
	if !EqualFold(args[1], "digest") || len(args) != 2 {
		c.W.Error(protocol.ErrUnknownSubcommand("debug", args[1]))
		return
	}

	// >> Operation
	empty := true
	for db := range 16 {
		if c.R.Len(db) > 0 {
			empty = false
			break
		}
	}
	d, ok := c.R.(Digester)

	// >> Response
	switch {
	case empty:
		c.W.Simple("0000000000000000000000000000000000000000")
	case !ok:
		c.W.Error("ERR DEBUG DIGEST is not available on this node")
	default:
		sum := d.Digest()
		c.W.Simple(hex.EncodeToString(sum[:20]))
	}
}
