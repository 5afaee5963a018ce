package storage

// OpKind returns the type of value an effect writes (KindNone for key-level
// effects: deletes, flushes, TTLs).
func OpKind(op Op) Kind { return opKind(op) }
