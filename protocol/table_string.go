package protocol

// String and counter commands.
func init() {
	Register(
		&Command{Name: "get", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Summary: "Returns the string value of a key.", Since: "1.0.0", Categories: []string{"read", "string", "fast"}},
		&Command{Name: "set", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", Since: "1.0.0", Categories: []string{"write", "string", "slow"}},
	)
}
