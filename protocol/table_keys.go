package protocol

// Generic key-space commands (Valkey's group "generic") and the database
// commands SELECT, DBSIZE, FLUSHDB and FLUSHALL.
func init() {
	// key builds a row whose keys are arguments first..last (step 1);
	// first 0 means the command takes no key.
	key := func(name string, arity int, flags Flags, first, last int, since, summary string, cats ...string) *Command {
		c := &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Group: "generic", Summary: summary, Since: since, Categories: cats}
		if first > 0 {
			c.Step = 1
		}
		return c
	}
	Register(
		key("del", -2, Write, 1, -1, "1.0.0", "Deletes one or more keys.", "keyspace", "write", "slow"),
		key("unlink", -2, Write|Fast, 1, -1, "4.0.0", "Asynchronously deletes one or more keys.", "keyspace", "write", "fast"),
		key("exists", -2, ReadOnly|Fast, 1, -1, "1.0.0", "Determines whether one or more keys exist.", "keyspace", "read", "fast"),
		key("touch", -2, ReadOnly|Fast, 1, -1, "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "keyspace", "read", "fast"),
		key("type", 2, ReadOnly|Fast, 1, 1, "1.0.0", "Determines the type of value stored at a key.", "keyspace", "read", "fast"),
		key("keys", 2, ReadOnly, 0, 0, "1.0.0", "Returns all key names that match a pattern.", "keyspace", "read", "slow", "dangerous"),
		key("scan", -2, ReadOnly, 0, 0, "2.8.0", "Iterates over the key names in the database.", "keyspace", "read", "slow"),
		key("randomkey", 1, ReadOnly, 0, 0, "1.0.0", "Returns a random key name from the database.", "keyspace", "read", "slow"),
		key("rename", 3, Write, 1, 2, "1.0.0", "Renames a key and overwrites the destination.", "keyspace", "write", "slow"),
		key("renamenx", 3, Write|Fast, 1, 2, "1.0.0", "Renames a key only when the target key name doesn't exist.", "keyspace", "write", "fast"),
		key("copy", -3, Write|DenyOOM, 1, 2, "6.2.0", "Copies the value of a key to a new key.", "keyspace", "write", "slow"),
		key("expire", -3, Write|Fast, 1, 1, "1.0.0", "Sets the expiration time of a key in seconds.", "keyspace", "write", "fast"),
		key("pexpire", -3, Write|Fast, 1, 1, "2.6.0", "Sets the expiration time of a key in milliseconds.", "keyspace", "write", "fast"),
		key("expireat", -3, Write|Fast, 1, 1, "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", "keyspace", "write", "fast"),
		key("pexpireat", -3, Write|Fast, 1, 1, "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "keyspace", "write", "fast"),
		key("ttl", 2, ReadOnly|Fast, 1, 1, "1.0.0", "Returns the expiration time in seconds of a key.", "keyspace", "read", "fast"),
		key("pttl", 2, ReadOnly|Fast, 1, 1, "2.6.0", "Returns the expiration time in milliseconds of a key.", "keyspace", "read", "fast"),
		key("expiretime", 2, ReadOnly|Fast, 1, 1, "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", "keyspace", "read", "fast"),
		key("pexpiretime", 2, ReadOnly|Fast, 1, 1, "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "keyspace", "read", "fast"),
		key("persist", 2, Write|Fast, 1, 1, "2.2.0", "Removes the expiration time of a key.", "keyspace", "write", "fast"),
		&Command{Name: "dbsize", Arity: 1, Flags: ReadOnly | Fast, Group: "server", Summary: "Returns the number of keys in the database.", Since: "1.0.0", Categories: []string{"keyspace", "read", "fast"}},
		&Command{Name: "flushdb", Arity: -1, Flags: Write, Group: "server", Summary: "Removes all keys from the current database.", Since: "1.0.0", Categories: []string{"keyspace", "write", "slow", "dangerous"}},
		&Command{Name: "flushall", Arity: -1, Flags: Write, Group: "server", Summary: "Removes all keys from all databases.", Since: "1.0.0", Categories: []string{"keyspace", "write", "slow", "dangerous"}},
		&Command{Name: "select", Arity: 2, Flags: Loading | Stale | Fast, Group: "connection", Summary: "Changes the selected database.", Since: "1.0.0", Categories: []string{"fast", "connection"}},
	)
}
