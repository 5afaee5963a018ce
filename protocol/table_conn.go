package protocol

// Connection, transaction and pub/sub commands: handled by the connection
// itself (flag Conn), never by the evaluator.
func init() {
	const connFlags = Conn | NoScript | Loading | Stale | Fast | AllowBusy
	Register(
		&Command{Name: "ping", Arity: -1, Flags: Conn | Fast, Group: "connection", Summary: "Returns the server's liveliness response.", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		&Command{Name: "echo", Arity: 2, Flags: Conn | Fast, Group: "connection", Summary: "Returns the given string.", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		&Command{Name: "auth", Arity: -2, Flags: connFlags | NoAuth, Group: "connection", Summary: "Authenticates the connection.", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		&Command{Name: "hello", Arity: -1, Flags: connFlags | NoAuth, Group: "connection", Summary: "Handshakes with the server.", Since: "6.0.0", Categories: []string{"fast", "connection"}},
		&Command{Name: "quit", Arity: -1, Flags: connFlags | NoAuth, Group: "connection", Summary: "Closes the connection.", Since: "1.0.0", Categories: []string{"fast", "connection"}},
		&Command{Name: "reset", Arity: 1, Flags: connFlags | NoAuth, Group: "connection", Summary: "Resets the connection.", Since: "6.2.0", Categories: []string{"fast", "connection"}},
		&Command{Name: "multi", Arity: 1, Flags: connFlags, Group: "transactions", Summary: "Starts a transaction.", Since: "1.2.0", Categories: []string{"fast", "transaction"}},
		&Command{Name: "exec", Arity: 1, Flags: Conn | NoScript | Loading | Stale | SkipSlowlog, Group: "transactions", Summary: "Executes all commands in a transaction.", Since: "1.2.0", Categories: []string{"slow", "transaction"}},
		&Command{Name: "discard", Arity: 1, Flags: connFlags, Group: "transactions", Summary: "Discards a transaction.", Since: "2.0.0", Categories: []string{"fast", "transaction"}},
		&Command{Name: "watch", Arity: -2, Flags: connFlags, FirstKey: 1, LastKey: -1, Step: 1, Group: "transactions", Summary: "Monitors changes to keys to determine the execution of a transaction.", Since: "2.2.0", Categories: []string{"fast", "transaction"}},
		&Command{Name: "unwatch", Arity: 1, Flags: connFlags, Group: "transactions", Summary: "Forgets about watched keys of a transaction.", Since: "2.2.0", Categories: []string{"fast", "transaction"}},
	)
}
