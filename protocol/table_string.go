package protocol

// String and counter commands, as in Valkey's src/commands/*.json (group
// "string").
func init() {
	const (
		read   = ReadOnly
		rFast  = ReadOnly | Fast
		w      = Write
		wFast  = Write | Fast
		wOOM   = Write | DenyOOM
		wOOMFa = Write | DenyOOM | Fast
	)
	one := func(name string, arity int, flags Flags, since, summary string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Summary: summary, Since: since, Categories: cats}
	}
	Register(
		one("get", 2, rFast, "1.0.0", "Returns the string value of a key.", "read", "string", "fast"),
		one("set", -3, wOOM, "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "write", "string", "slow"),
		one("setnx", 3, wOOMFa, "1.0.0", "Set the string value of a key only when the key doesn't exist.", "write", "string", "fast"),
		one("setex", 4, wOOM, "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "write", "string", "slow"),
		one("psetex", 4, wOOM, "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "write", "string", "slow"),
		one("getset", 3, wOOMFa, "1.0.0", "Returns the previous string value of a key after setting it to a new value.", "write", "string", "fast"),
		one("getdel", 2, wFast, "6.2.0", "Returns the string value of a key after deleting the key.", "write", "string", "fast"),
		one("getex", -2, wFast, "6.2.0", "Returns the string value of a key after setting its expiration time.", "write", "string", "fast"),
		one("delifeq", 3, w, "9.0.0", "Delete key if value matches string.", "write", "string", "slow"),
		&Command{Name: "mget", Arity: -2, Flags: rFast, FirstKey: 1, LastKey: -1, Step: 1, Group: "string", Summary: "Atomically returns the string values of one or more keys.", Since: "1.0.0", Categories: []string{"read", "string", "fast"}},
		&Command{Name: "mset", Arity: -3, Flags: wOOM, FirstKey: 1, LastKey: -1, Step: 2, Group: "string", Summary: "Atomically creates or modifies the string values of one or more keys.", Since: "1.0.1", Categories: []string{"write", "string", "slow"}},
		&Command{Name: "msetnx", Arity: -3, Flags: wOOM, FirstKey: 1, LastKey: -1, Step: 2, Group: "string", Summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", Since: "1.0.1", Categories: []string{"write", "string", "slow"}},
		one("append", 3, wOOMFa, "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "write", "string", "fast"),
		one("strlen", 2, rFast, "2.2.0", "Returns the length of a string value.", "read", "string", "fast"),
		one("getrange", 4, read, "2.4.0", "Returns a substring of the string stored at a key.", "read", "string", "slow"),
		one("substr", 4, read, "1.0.0", "Returns a substring from a string value.", "read", "string", "slow"),
		one("setrange", 4, wOOM, "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "write", "string", "slow"),
		one("incr", 2, wOOMFa, "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "write", "string", "fast"),
		one("decr", 2, wOOMFa, "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "write", "string", "fast"),
		one("incrby", 3, wOOMFa, "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "write", "string", "fast"),
		one("decrby", 3, wOOMFa, "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "write", "string", "fast"),
		one("incrbyfloat", 3, wOOMFa, "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "write", "string", "fast"),
	)
}
