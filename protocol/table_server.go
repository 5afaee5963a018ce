package protocol

// Server and introspection commands the connection handles itself (flag
// Conn): CLIENT, CONFIG, INFO, COMMAND and TIME. Facts from Valkey's
// src/commands/*.json; categories implied by flags (@admin, @fast, ...)
// are added by COMMAND INFO.
func init() {
	const cs = Conn | NoScript | Loading | Stale
	sub := func(name string, arity int, flags Flags, since, summary string, cats ...string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Since: since, Summary: summary, Categories: cats}
	}
	client := []*Command{
		sub("id", 2, cs, "5.0.0", "Returns the unique client ID of the connection.", "connection"),
		sub("setname", 3, cs, "2.6.9", "Sets the connection name.", "connection"),
		sub("getname", 2, cs, "2.6.9", "Returns the name of the connection.", "connection"),
		sub("setinfo", 4, cs, "7.2.0", "Sets information specific to the client or connection.", "connection"),
		sub("info", 2, cs, "6.2.0", "Returns information about the connection.", "connection"),
		sub("list", -2, cs|Admin, "2.4.0", "Lists open connections.", "connection"),
		sub("kill", -3, cs|Admin, "2.4.0", "Terminates open connections.", "connection"),
		sub("no-evict", 3, cs|Admin, "7.0.0", "Sets the client eviction mode of the connection.", "connection"),
		sub("no-touch", 3, cs, "7.2.0", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", "connection"),
		sub("reply", 3, cs, "3.2.0", "Instructs the server whether to reply to commands.", "connection"),
		sub("help", 2, Conn|Loading|Stale, "5.0.0", "Returns helpful text about the different subcommands.", "connection"),
	}
	config := []*Command{
		sub("get", -3, cs|Admin, "2.0.0", "Returns the effective values of configuration parameters."),
		sub("set", -4, cs|Admin, "2.0.0", "Sets configuration parameters in-flight."),
		sub("resetstat", 2, cs|Admin, "2.0.0", "Resets the server's statistics."),
		sub("rewrite", 2, cs|Admin, "2.8.0", "Persists the effective configuration to file."),
		sub("help", 2, Conn|Loading|Stale, "5.0.0", "Returns helpful text about the different subcommands."),
	}
	command := []*Command{
		sub("count", 2, Conn|Loading|Stale, "2.8.13", "Returns a count of commands.", "connection"),
		sub("docs", -2, Conn|Loading|Stale, "7.0.0", "Returns documentary information about one, multiple or all commands.", "connection"),
		sub("getkeys", -3, Conn|Loading|Stale, "2.8.13", "Extracts the key names from an arbitrary command.", "connection"),
		sub("info", -2, Conn|Loading|Stale, "2.8.13", "Returns information about one, multiple or all commands.", "connection"),
		sub("list", -2, Conn|Loading|Stale, "7.0.0", "Returns a list of command names.", "connection"),
		sub("help", 2, Conn|Loading|Stale, "5.0.0", "Returns helpful text about the different subcommands.", "connection"),
	}
	for _, c := range client {
		c.Group = "connection"
	}
	for _, c := range config {
		c.Group = "server"
	}
	for _, c := range command {
		c.Group = "server"
	}
	Register(
		&Command{Name: "client", Arity: -2, Flags: Conn, Group: "connection", Summary: "A container for client connection commands.", Since: "2.4.0", Subcommands: client},
		&Command{Name: "config", Arity: -2, Flags: Conn, Group: "server", Summary: "A container for server configuration commands.", Since: "2.0.0", Subcommands: config},
		&Command{Name: "command", Arity: -1, Flags: Conn | Loading | Stale, Group: "server", Summary: "Returns detailed information about all commands.", Since: "2.8.13", Categories: []string{"connection"}, Subcommands: command},
		&Command{Name: "info", Arity: -1, Flags: Conn | Loading | Stale, Group: "server", Summary: "Returns information and statistics about the server.", Since: "1.0.0", Categories: []string{"dangerous"}},
		&Command{Name: "time", Arity: 1, Flags: Conn | Loading | Stale | Fast, Group: "server", Summary: "Returns the server time.", Since: "2.6.0", Categories: []string{"fast"}},
	)
}
