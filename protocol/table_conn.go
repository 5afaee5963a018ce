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

	const subFlags = Conn | PubSub | NoScript | Loading | Stale
	ps := func(name string, arity int, flags Flags, since, summary string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Group: "pubsub", Summary: summary, Since: since, Categories: []string{"pubsub"}}
	}
	shard := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step = 1, -1, 1
		return c
	}
	Register(
		ps("subscribe", -2, subFlags, "2.0.0", "Listens for messages published to channels."),
		ps("unsubscribe", -1, subFlags, "2.0.0", "Stops listening to messages posted to channels."),
		ps("psubscribe", -2, subFlags, "2.0.0", "Listens for messages published to channels that match one or more patterns."),
		ps("punsubscribe", -1, subFlags, "2.0.0", "Stops listening to messages published to channels that match one or more patterns."),
		shard(ps("ssubscribe", -2, subFlags, "7.0.0", "Listens for messages published to shard channels.")),
		shard(ps("sunsubscribe", -1, subFlags, "7.0.0", "Stops listening to messages posted to shard channels.")),
		ps("publish", 3, Conn|PubSub|Loading|Stale|Fast, "2.0.0", "Posts a message to a channel."),
		&Command{Name: "spublish", Arity: 3, Flags: Conn | PubSub | Loading | Stale | Fast, FirstKey: 1, LastKey: 1, Step: 1, Group: "pubsub", Summary: "Post a message to a shard channel", Since: "7.0.0", Categories: []string{"pubsub"}},
		&Command{Name: "pubsub", Arity: -2, Flags: Conn, Group: "pubsub", Summary: "A container for Pub/Sub commands.", Since: "2.8.0", Subcommands: []*Command{
			ps("channels", -2, Conn|PubSub|Loading|Stale, "2.8.0", "Returns the active channels."),
			ps("numpat", 2, Conn|PubSub|Loading|Stale, "2.8.0", "Returns a count of unique pattern subscriptions."),
			ps("numsub", -2, Conn|PubSub|Loading|Stale, "2.8.0", "Returns a count of subscribers to channels."),
			ps("shardchannels", -2, Conn|PubSub|Loading|Stale, "7.0.0", "Returns the active shard channels."),
			ps("shardnumsub", -2, Conn|PubSub|Loading|Stale, "7.0.0", "Returns the count of subscribers of shard channels."),
			ps("help", 2, Conn|Loading|Stale, "6.2.0", "Returns helpful text about the different subcommands."),
		}},
	)
}

// READONLY and READWRITE: in a region, READONLY lets a connection read a
// follower's applied state (stale reads) instead of going through the
// leader's linearizable read fence.
func init() {
	Register(
		&Command{Name: "readonly", Arity: 1, Flags: Conn | Fast | Loading | Stale, Group: "cluster", Summary: "Enables read-only queries for a connection to a replica node.", Since: "3.0.0", Categories: []string{"fast", "connection"}},
		&Command{Name: "readwrite", Arity: 1, Flags: Conn | Fast | Loading | Stale, Group: "cluster", Summary: "Enables read-write queries for a connection to a replica node.", Since: "3.0.0", Categories: []string{"fast", "connection"}},
	)
}
