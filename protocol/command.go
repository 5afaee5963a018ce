package protocol

import (
	"fmt"
	"sort"
	"strings"
)

// Flags describe a command, as Valkey's command table does.
type Flags uint32

// Command flags. Their names are what COMMAND INFO reports.
const (
	Write Flags = 1 << iota
	ReadOnly
	Admin
	PubSub
	NoScript
	Loading
	Stale
	Fast
	DenyOOM
	SkipSlowlog
	NoAuth
	NoMulti
	AllowBusy
	// Conn marks commands the connection handles itself (its own state:
	// AUTH, HELLO, CLIENT, MULTI, SUBSCRIBE, ...); they never reach the
	// evaluator. Not reported by COMMAND.
	Conn
	// Movable marks commands whose key positions depend on their arguments
	// (numkeys); Keys finds them.
	Movable
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{Write, "write"}, {ReadOnly, "readonly"}, {DenyOOM, "denyoom"}, {Admin, "admin"},
	{PubSub, "pubsub"}, {NoScript, "noscript"}, {Loading, "loading"}, {Stale, "stale"},
	{SkipSlowlog, "skip_slowlog"}, {Fast, "fast"}, {NoAuth, "no_auth"}, {NoMulti, "no_multi"},
	{AllowBusy, "allow_busy"}, {Movable, "movablekeys"},
}

// Names returns the flag names COMMAND INFO reports.
func (f Flags) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// Command is one row of the command table: the facts Valkey keeps in
// src/commands/*.json.
type Command struct {
	// Name is the lower-case command name ("get"); for a subcommand, the
	// subcommand alone ("info" of "client info").
	Name string
	// Arity is the argument count including the name; negative means "at
	// least -Arity".
	Arity int
	Flags Flags
	// FirstKey, LastKey and Step locate the keys (1-based; LastKey -1 means
	// the last argument; 0 means no keys).
	FirstKey, LastKey, Step int
	// Keys, for Movable commands, returns the key positions.
	Keys func(args [][]byte) []int
	// Group is the documentation group ("string", "hash", "connection", ...).
	Group string
	// Summary and Since feed COMMAND DOCS.
	Summary string
	Since   string
	// ACL categories without the '@'.
	Categories []string
	// Subcommands, for container commands (CLIENT, CONFIG, COMMAND, ...).
	Subcommands []*Command
	// Parent is set on subcommands.
	Parent *Command
}

// FullName returns "get" or "client|info".
func (c *Command) FullName() string {
	if c.Parent != nil {
		return c.Parent.Name + "|" + c.Name
	}
	return c.Name
}

// CheckArity reports whether a request of n arguments (name included) fits.
func (c *Command) CheckArity(n int) bool {
	if c.Arity >= 0 {
		return n == c.Arity
	}
	return n >= -c.Arity
}

// KeyPositions returns the indexes of the key arguments in args (args[0] is
// the command name).
func (c *Command) KeyPositions(args [][]byte) []int {
	if c.Keys != nil {
		return c.Keys(args)
	}
	if c.FirstKey <= 0 {
		return nil
	}
	last := c.LastKey
	if last < 0 {
		last = len(args) + last
	}
	step := c.Step
	if step <= 0 {
		step = 1
	}
	var out []int
	for i := c.FirstKey; i <= last && i < len(args); i += step {
		out = append(out, i)
	}
	return out
}

// Subcommand finds a subcommand by name, case-insensitively.
func (c *Command) Subcommand(name []byte) *Command {
	for _, s := range c.Subcommands {
		if strings.EqualFold(s.Name, string(name)) {
			return s
		}
	}
	return nil
}

var table = map[string]*Command{}

// Register adds rows to the command table. It panics on a duplicate or
// malformed row, as an http.ServeMux does.
func Register(cmds ...*Command) {
	for _, c := range cmds {
		if c == nil || c.Name == "" || c.Arity == 0 {
			panic(fmt.Sprintf("protocol: malformed command row %+v", c))
		}
		if c.Name != strings.ToLower(c.Name) {
			panic("protocol: command names are lower case: " + c.Name)
		}
		if _, dup := table[c.Name]; dup {
			panic("protocol: duplicate command " + c.Name)
		}
		for _, s := range c.Subcommands {
			s.Parent = c
		}
		table[c.Name] = c
	}
}

// Lookup finds a command by name, case-insensitively; nil if unknown.
func Lookup(name []byte) *Command {
	if c := table[string(name)]; c != nil {
		return c
	}
	var buf [32]byte
	if len(name) <= len(buf) {
		lower := buf[:len(name)]
		for i, ch := range name {
			if ch >= 'A' && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			lower[i] = ch
		}
		return table[string(lower)]
	}
	return table[strings.ToLower(string(name))]
}

// All returns every command, sorted by name.
func All() []*Command {
	out := make([]*Command, 0, len(table))
	for _, c := range table {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NumKeys returns a Keys function for commands of the shape
// "CMD [fixed args...] numkeys key [key ...] ..." where numkeys is at index
// at; extra (>= 0) names one more key right before numkeys (a destination).
func NumKeys(at int, dest bool) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		var out []int
		if dest && at-1 >= 1 && at-1 < len(args) {
			out = append(out, at-1)
		}
		if at >= len(args) {
			return out
		}
		n, ok := parseLen(args[at])
		if !ok || n <= 0 {
			return out
		}
		for i := at + 1; i <= at+int(n) && i < len(args); i++ {
			out = append(out, i)
		}
		return out
	}
}
