package server

import (
	"slices"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
)

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){"command": (*Conn).cmdCommand})
}

var commandHelp = []string{
	"(no subcommand)",
	"    Return details about all commands.",
	"COUNT",
	"    Return the total number of commands in this server.",
	"LIST",
	"    Return a list of all commands in this server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full command.",
}

// aclCategories is Valkey's order of ACL categories (ACLCommandCategories).
var aclCategories = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
}

func (c *Conn) cmdCommand(args [][]byte) {
	if len(args) == 1 {
		c.commandInfos(protocol.All())
		return
	}
	switch lower(args[1]) {
	case "count":
		c.w.Int(int64(len(protocol.All())))
	case "info":
		if len(args) == 2 {
			c.commandInfos(protocol.All())
			return
		}
		c.w.Array(len(args) - 2)
		for _, name := range args[2:] {
			c.commandInfo(lookupCommandName(name))
		}
	case "docs":
		c.commandDocsCommand(args[2:])
	case "list":
		c.commandList(args)
	case "getkeys":
		c.commandGetKeys(args[2:])
	case "help":
		c.help("COMMAND", commandHelp)
	}
}

// lookupCommandName finds "get" or "client|list", case-insensitively.
func lookupCommandName(name []byte) *protocol.Command {
	parts := strings.Split(string(name), "|")
	if len(parts) > 2 {
		return nil
	}
	cmd := protocol.Lookup([]byte(parts[0]))
	if cmd == nil || len(parts) == 1 {
		return cmd
	}
	return cmd.Subcommand([]byte(parts[1]))
}

func sortedSubcommands(cmd *protocol.Command) []*protocol.Command {
	subs := slices.Clone(cmd.Subcommands)
	slices.SortFunc(subs, func(a, b *protocol.Command) int { return strings.Compare(a.Name, b.Name) })
	return subs
}

// commandFlags returns the flag names COMMAND INFO reports.
func commandFlags(cmd *protocol.Command) []string {
	flags := cmd.Flags.Names()
	if cmd.Keys != nil && !slices.Contains(flags, "movablekeys") {
		flags = append(flags, "movablekeys")
	}
	return flags
}

// commandCategories returns the command's ACL categories with those its
// flags imply (setImplicitACLCategories), in Valkey's order.
func commandCategories(cmd *protocol.Command) []string {
	set := map[string]bool{}
	for _, cat := range cmd.Categories {
		set[strings.TrimPrefix(strings.ToLower(cat), "@")] = true
	}
	f := cmd.Flags
	set["write"] = set["write"] || f&protocol.Write != 0
	set["read"] = set["read"] || f&protocol.ReadOnly != 0
	set["admin"] = set["admin"] || f&protocol.Admin != 0
	set["dangerous"] = set["dangerous"] || f&protocol.Admin != 0
	set["pubsub"] = set["pubsub"] || f&protocol.PubSub != 0
	set["fast"] = set["fast"] || f&protocol.Fast != 0
	if !set["fast"] {
		set["slow"] = true
	}
	var out []string
	for _, cat := range aclCategories {
		if set[cat] {
			out = append(out, cat)
			delete(set, cat)
		}
	}
	for _, cat := range slices.Sorted(mapKeys(set)) {
		if set[cat] {
			out = append(out, cat)
		}
	}
	return out
}

func (c *Conn) commandInfos(cmds []*protocol.Command) {
	c.w.Array(len(cmds))
	for _, cmd := range cmds {
		c.commandInfo(cmd)
	}
}

// commandInfo writes Valkey 7's ten-element COMMAND INFO entry: name,
// arity, flags, first key, last key, step, ACL categories, tips, key specs
// and subcommands. Tips and key specs are not tracked and reply empty.
func (c *Conn) commandInfo(cmd *protocol.Command) {
	if cmd == nil {
		c.w.Null()
		return
	}
	c.w.Array(10)
	c.w.BulkString(cmd.FullName())
	c.w.Int(int64(cmd.Arity))
	flags := commandFlags(cmd)
	c.w.SetHeader(len(flags))
	for _, f := range flags {
		c.w.Simple(f)
	}
	first, last, step := cmd.FirstKey, cmd.LastKey, cmd.Step
	if first <= 0 {
		first, last, step = 0, 0, 0
	} else if step <= 0 {
		step = 1
	}
	c.w.Int(int64(first))
	c.w.Int(int64(last))
	c.w.Int(int64(step))
	cats := commandCategories(cmd)
	c.w.SetHeader(len(cats))
	for _, cat := range cats {
		c.w.Simple("@" + cat)
	}
	c.w.SetHeader(0) // tips
	c.w.Array(0)     // key specs
	if len(cmd.Subcommands) == 0 {
		c.w.SetHeader(0)
		return
	}
	subs := sortedSubcommands(cmd)
	c.w.Array(len(subs))
	for _, s := range subs {
		c.commandInfo(s)
	}
}

func (c *Conn) commandDocsCommand(names [][]byte) {
	var cmds []*protocol.Command
	if len(names) == 0 {
		cmds = protocol.All()
	} else {
		for _, n := range names {
			if cmd := lookupCommandName(n); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.w.Map(len(cmds))
	for _, cmd := range cmds {
		c.w.BulkString(cmd.FullName())
		c.commandDocs(cmd)
	}
}

// commandDocs writes a COMMAND DOCS map: summary, since, group and
// subcommands. Complexity and arguments are not tracked and left out, as
// Valkey leaves out fields a command does not have.
func (c *Conn) commandDocs(cmd *protocol.Command) {
	group := cmd.Group
	if group == "" && cmd.Parent != nil {
		group = cmd.Parent.Group
	}
	n := 1
	if cmd.Summary != "" {
		n++
	}
	if cmd.Since != "" {
		n++
	}
	if len(cmd.Subcommands) > 0 {
		n++
	}
	c.w.Map(n)
	if cmd.Summary != "" {
		c.w.BulkString("summary")
		c.w.BulkString(cmd.Summary)
	}
	if cmd.Since != "" {
		c.w.BulkString("since")
		c.w.BulkString(cmd.Since)
	}
	c.w.BulkString("group")
	c.w.BulkString(group)
	if len(cmd.Subcommands) > 0 {
		subs := sortedSubcommands(cmd)
		c.w.BulkString("subcommands")
		c.w.Map(len(subs))
		for _, s := range subs {
			c.w.BulkString(s.FullName())
			c.commandDocs(s)
		}
	}
}

// commandList is COMMAND LIST [FILTERBY MODULE name | ACLCAT cat |
// PATTERN pattern]: full names, subcommands included.
func (c *Conn) commandList(args [][]byte) {
	var keep func(cmd *protocol.Command) bool
	for i := 2; i < len(args); i++ {
		if lower(args[i]) != "filterby" || len(args)-1-i != 2 {
			c.w.Error(protocol.ErrSyntax)
			return
		}
		arg := args[i+2]
		switch lower(args[i+1]) {
		case "module":
			keep = func(*protocol.Command) bool { return false }
		case "aclcat":
			cat := lower(arg)
			keep = func(cmd *protocol.Command) bool { return slices.Contains(commandCategories(cmd), cat) }
		case "pattern":
			keep = func(cmd *protocol.Command) bool { return protocol.GlobMatch(arg, []byte(cmd.FullName()), true) }
		default:
			c.w.Error(protocol.ErrSyntax)
			return
		}
		i += 2
	}
	var out []string
	var walk func(cmds []*protocol.Command)
	walk = func(cmds []*protocol.Command) {
		for _, cmd := range cmds {
			if keep == nil || keep(cmd) {
				out = append(out, cmd.FullName())
			}
			walk(sortedSubcommands(cmd))
		}
	}
	walk(protocol.All())
	c.w.BulkStrings(out)
}

// commandGetKeys is COMMAND GETKEYS: the keys of the command in args.
func (c *Conn) commandGetKeys(args [][]byte) {
	cmd := protocol.Lookup(args[0])
	if cmd != nil && len(cmd.Subcommands) > 0 && len(args) >= 2 {
		cmd = cmd.Subcommand(args[1])
	}
	switch {
	case cmd == nil:
		c.w.Error("ERR Invalid command specified")
		return
	case cmd.FirstKey <= 0 && cmd.Keys == nil:
		c.w.Error("ERR The command has no key arguments")
		return
	case !cmd.CheckArity(len(args)):
		c.w.Error("ERR Invalid number of arguments specified for command")
		return
	}
	pos := cmd.KeyPositions(args)
	if len(pos) == 0 {
		c.w.Error("ERR Invalid arguments specified for command")
		return
	}
	c.w.Array(len(pos))
	for _, p := range pos {
		c.w.Bulk(args[p])
	}
}
