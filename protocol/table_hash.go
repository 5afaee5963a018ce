package protocol

// Hash commands, as in Valkey's src/commands/h*.json.
func init() {
	Register(
		&Command{Name: "hset", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Creates or modifies the value of a field in a hash.", Since: "2.0.0", Categories: []string{"write", "hash", "fast"}},
		&Command{Name: "hsetnx", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Sets the value of a field in a hash only when the field doesn't exist.", Since: "2.0.0", Categories: []string{"write", "hash", "fast"}},
		&Command{Name: "hmset", Arity: -4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Sets the values of multiple fields.", Since: "2.0.0", Categories: []string{"write", "hash", "fast"}},
		&Command{Name: "hget", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns the value of a field in a hash.", Since: "2.0.0", Categories: []string{"read", "hash", "fast"}},
		&Command{Name: "hmget", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns the values of all fields in a hash.", Since: "2.0.0", Categories: []string{"read", "hash", "fast"}},
		&Command{Name: "hdel", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", Since: "2.0.0", Categories: []string{"write", "hash", "fast"}},
		&Command{Name: "hexists", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Determines whether a field exists in a hash.", Since: "2.0.0", Categories: []string{"read", "hash", "fast"}},
		&Command{Name: "hgetall", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns all fields and values in a hash.", Since: "2.0.0", Categories: []string{"read", "hash", "slow"}},
		&Command{Name: "hkeys", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns all fields in a hash.", Since: "2.0.0", Categories: []string{"read", "hash", "slow"}},
		&Command{Name: "hvals", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns all values in a hash.", Since: "2.0.0", Categories: []string{"read", "hash", "slow"}},
		&Command{Name: "hlen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns the number of fields in a hash.", Since: "2.0.0", Categories: []string{"read", "hash", "fast"}},
		&Command{Name: "hstrlen", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns the length of the value of a field.", Since: "3.2.0", Categories: []string{"read", "hash", "fast"}},
		&Command{Name: "hincrby", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", Since: "2.0.0", Categories: []string{"write", "hash", "fast"}},
		&Command{Name: "hincrbyfloat", Arity: 4, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", Since: "2.6.0", Categories: []string{"write", "hash", "fast"}},
		&Command{Name: "hscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Iterates over fields and values of a hash.", Since: "2.8.0", Categories: []string{"read", "hash", "slow"}},
		&Command{Name: "hrandfield", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Summary: "Returns one or more random fields from a hash.", Since: "6.2.0", Categories: []string{"read", "hash", "slow"}},
	)
}
