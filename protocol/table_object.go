package protocol

// OBJECT: introspection of one key's value.
func init() {
	sub := func(name string, arity int, summary string) *Command {
		return &Command{Name: name, Arity: arity, Flags: ReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Group: "generic", Summary: summary, Since: "2.2.3", Categories: []string{"keyspace", "read", "slow"}}
	}
	Register(&Command{Name: "object", Arity: -2, Flags: ReadOnly, Group: "generic", Summary: "A container for object introspection commands.", Since: "2.2.3", Categories: []string{"slow"}, Subcommands: []*Command{
		sub("encoding", 3, "Returns the internal encoding of an object."),
		sub("refcount", 3, "Returns the reference count of a value of a key."),
		sub("idletime", 3, "Returns the time since the last access to an object."),
		sub("freq", 3, "Returns the logarithmic access frequency counter of an object."),
		{Name: "help", Arity: 2, Flags: Loading | Stale, Group: "generic", Summary: "Returns helpful text about the different subcommands.", Since: "6.2.0", Categories: []string{"keyspace", "slow"}},
	}})
}
