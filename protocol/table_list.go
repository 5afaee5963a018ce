package protocol

// List commands, as in Valkey's src/commands/l*.json and r*.json.
func init() {
	Register(
		&Command{Name: "lpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0", Categories: []string{"write", "list", "fast"}},
		&Command{Name: "rpush", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.", Since: "1.0.0", Categories: []string{"write", "list", "fast"}},
		&Command{Name: "lpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Prepends one or more elements to a list only when the list exists.", Since: "2.2.0", Categories: []string{"write", "list", "fast"}},
		&Command{Name: "rpushx", Arity: -3, Flags: Write | DenyOOM | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Appends one or more elements to a list only when the list exists.", Since: "2.2.0", Categories: []string{"write", "list", "fast"}},
		&Command{Name: "lpop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Returns and removes one or more elements from the beginning of a list. Deletes the list if the last element was popped.", Since: "1.0.0", Categories: []string{"write", "list", "fast"}},
		&Command{Name: "rpop", Arity: -2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Returns and removes the last elements of a list or up to count elements if the optional count argument is provided. Deletes the list if the last element was popped.", Since: "1.0.0", Categories: []string{"write", "list", "fast"}},
		&Command{Name: "llen", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Returns the length of a list.", Since: "1.0.0", Categories: []string{"read", "list", "fast"}},
		&Command{Name: "lrange", Arity: 4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Returns a range of elements from a list.", Since: "1.0.0", Categories: []string{"read", "list", "slow"}},
		&Command{Name: "lindex", Arity: 3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Returns an element from a list by its index.", Since: "1.0.0", Categories: []string{"read", "list", "slow"}},
		&Command{Name: "lset", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Sets the value of an element in a list by its index.", Since: "1.0.0", Categories: []string{"write", "list", "slow"}},
		&Command{Name: "lrem", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Removes elements from a list. Deletes the list if the last element was removed.", Since: "1.0.0", Categories: []string{"write", "list", "slow"}},
		&Command{Name: "ltrim", Arity: 4, Flags: Write, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Removes elements from both ends of a list. Deletes the list if all elements were trimmed.", Since: "1.0.0", Categories: []string{"write", "list", "slow"}},
		&Command{Name: "linsert", Arity: 5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Inserts an element before or after another element in a list.", Since: "2.2.0", Categories: []string{"write", "list", "slow"}},
		&Command{Name: "lpos", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Summary: "Returns the index of matching elements in a list.", Since: "6.0.6", Categories: []string{"read", "list", "slow"}},
		&Command{Name: "lmove", Arity: 5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Group: "list", Summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", Since: "6.2.0", Categories: []string{"write", "list", "slow"}},
		&Command{Name: "rpoplpush", Arity: 3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Group: "list", Summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", Since: "1.2.0", Categories: []string{"write", "list", "slow"}},
	)
}
