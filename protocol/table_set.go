package protocol

// Set commands, as in Valkey's src/commands/s*.json.
func init() {
	Register(
		&Command{Name: "sadd", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Adds one or more members to a set. Creates the key if it doesn't exist.", Since: "1.0.0", Categories: []string{"write", "set", "fast"}},
		&Command{Name: "srem", Arity: -3, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Removes one or more members from a set. Deletes the set if the last member was removed.", Since: "1.0.0", Categories: []string{"write", "set", "fast"}},
		&Command{Name: "sismember", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Determines whether a member belongs to a set.", Since: "1.0.0", Categories: []string{"read", "set", "fast"}},
		&Command{Name: "smismember", Arity: -3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Determines whether multiple members belong to a set.", Since: "6.2.0", Categories: []string{"read", "set", "fast"}},
		&Command{Name: "smembers", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Returns all members of a set.", Since: "1.0.0", Categories: []string{"read", "set", "slow"}},
		&Command{Name: "scard", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Returns the number of members in a set.", Since: "1.0.0", Categories: []string{"read", "set", "fast"}},
		&Command{Name: "spop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", Since: "1.0.0", Categories: []string{"write", "set", "fast"}},
		&Command{Name: "srandmember", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Get one or multiple random members from a set", Since: "1.0.0", Categories: []string{"read", "set", "slow"}},
		&Command{Name: "smove", Arity: 4, Flags: Write | Fast, FirstKey: 1, LastKey: 2, Step: 1, Group: "set", Summary: "Moves a member from one set to another.", Since: "1.0.0", Categories: []string{"write", "set", "fast"}},
		&Command{Name: "sinter", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Summary: "Returns the intersect of multiple sets.", Since: "1.0.0", Categories: []string{"read", "set", "slow"}},
		&Command{Name: "sunion", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Summary: "Returns the union of multiple sets.", Since: "1.0.0", Categories: []string{"read", "set", "slow"}},
		&Command{Name: "sdiff", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Summary: "Returns the difference of multiple sets.", Since: "1.0.0", Categories: []string{"read", "set", "slow"}},
		&Command{Name: "sinterstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Summary: "Stores the intersect of multiple sets in a key.", Since: "1.0.0", Categories: []string{"write", "set", "slow"}},
		&Command{Name: "sunionstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Summary: "Stores the union of multiple sets in a key.", Since: "1.0.0", Categories: []string{"write", "set", "slow"}},
		&Command{Name: "sdiffstore", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Summary: "Stores the difference of multiple sets in a key.", Since: "1.0.0", Categories: []string{"write", "set", "slow"}},
		&Command{Name: "sintercard", Arity: -3, Flags: ReadOnly | Movable, Keys: NumKeys(1, false), Group: "set", Summary: "Returns the number of members of the intersect of multiple sets.", Since: "7.0.0", Categories: []string{"read", "set", "slow"}},
		&Command{Name: "sscan", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Summary: "Iterates over members of a set.", Since: "2.0.0", Categories: []string{"read", "set", "slow"}},
	)
}
