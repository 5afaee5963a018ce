package server

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage"
)

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){"config": (*Conn).cmdConfig})
}

// configParam is one parameter CONFIG GET shows. set validates v and
// returns an apply function or Valkey's error text; when it is nil, CONFIG
// SET accepts only the current value (a no-op), unless immutable.
type configParam struct {
	name      string
	get       func(s *Server, cfg *Config) string
	set       func(v []byte) (apply func(cfg *Config), err string)
	immutable bool // as in Valkey: never settable
}

// configParams are the parameters Meridian honours, sorted by name. The
// fixed ones (port, maxmemory, save, ...) describe what Meridian does;
// setting them to their current value succeeds, so that tools that
// re-apply a configuration work.
var configParams = []configParam{
	{name: "appendonly", get: fixed("no")},
	{name: "bind", get: func(s *Server, cfg *Config) string { h, _ := s.listenHostPort(cfg); return h }},
	{name: "databases", get: fixed(strconv.Itoa(storage.NumDBs)), immutable: true},
	{name: "maxclients", get: func(_ *Server, cfg *Config) string { return strconv.Itoa(cfg.MaxClients) },
		set: func(v []byte) (func(*Config), string) {
			n, ok := protocol.String2ll(v)
			if !ok {
				return nil, "argument couldn't be parsed into an integer"
			}
			if n < 1 || n > 1<<32-1 {
				return nil, "argument must be between 1 and 4294967295 inclusive"
			}
			return func(cfg *Config) { cfg.MaxClients = int(n) }, ""
		}},
	{name: "maxmemory", get: fixed("0")},
	{name: "maxmemory-policy", get: fixed("noeviction")},
	{name: "port", get: func(s *Server, cfg *Config) string { _, p := s.listenHostPort(cfg); return p }},
	{name: "proto-max-bulk-len", get: func(_ *Server, cfg *Config) string { return strconv.FormatInt(cfg.MaxBulk, 10) },
		set: func(v []byte) (func(*Config), string) {
			n, ok := parseMemory(v)
			if !ok {
				return nil, "argument must be a memory value"
			}
			if n < 1<<20 || n > 1<<63-1 {
				return nil, "argument must be between 1048576 and 9223372036854775807 inclusive"
			}
			return func(cfg *Config) { cfg.MaxBulk = int64(n) }, ""
		}},
	{name: "requirepass", get: func(_ *Server, cfg *Config) string { return cfg.RequirePass },
		set: func(v []byte) (func(*Config), string) {
			p := string(v)
			return func(cfg *Config) { cfg.RequirePass = p }, ""
		}},
	{name: "save", get: fixed("")},
}

func fixed(v string) func(*Server, *Config) string {
	return func(*Server, *Config) string { return v }
}

func lookupConfigParam(name []byte) *configParam {
	for i := range configParams {
		if strings.EqualFold(configParams[i].name, string(name)) {
			return &configParams[i]
		}
	}
	return nil
}

// listenHostPort returns the host and port the server listens on: the
// first listener's, else those of Config.Addr.
func (s *Server) listenHostPort(cfg *Config) (string, string) {
	addr := cfg.Addr
	if as := s.Addrs(); len(as) > 0 {
		addr = as[0].String()
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, "0"
	}
	return h, p
}

// parseMemory parses a memory size as Valkey's memtoull does: digits with
// an optional unit b, k, kb, m, mb, g or gb (k = 1000, kb = 1024), any case.
func parseMemory(v []byte) (uint64, bool) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	var mul uint64
	switch strings.ToLower(string(v[i:])) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	n, err := strconv.ParseUint(string(v[:i]), 10, 64)
	if err != nil || n > (1<<64-1)/mul {
		return 0, false
	}
	return n * mul, true
}

var configHelp = []string{
	"GET <pattern>",
	"    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>",
	"    Set the configuration <directive> to <value>.",
	"RESETSTAT",
	"    Reset statistics reported by the INFO command.",
	"REWRITE",
	"    Rewrite the configuration file.",
}

func (c *Conn) cmdConfig(args [][]byte) {
	switch lower(args[1]) {
	case "get":
		c.configGet(args[2:])
	case "set":
		c.configSet(args)
	case "resetstat":
		c.srv.resetStats()
		c.w.OK()
	case "rewrite":
		c.w.Error("ERR The server is running without a config file")
	case "help":
		c.help("CONFIG", configHelp)
	}
}

// configGet replies with a map of the parameters matching any of the
// patterns. A name without glob characters is looked up as given and
// shown as given, as Valkey does.
func (c *Conn) configGet(patterns [][]byte) {
	s := c.srv
	cfg := s.config()
	type kv struct{ k, v string }
	var out []kv
	seen := map[string]bool{}
	for _, pat := range patterns {
		if !strings.ContainsAny(string(pat), "[*?") {
			p := lookupConfigParam(pat)
			if p != nil && !seen[p.name] {
				seen[p.name] = true
				out = append(out, kv{string(pat), p.get(s, &cfg)})
			}
			continue
		}
		for i := range configParams {
			p := &configParams[i]
			if !seen[p.name] && protocol.GlobMatch(pat, []byte(p.name), true) {
				seen[p.name] = true
				out = append(out, kv{p.name, p.get(s, &cfg)})
			}
		}
	}
	c.w.Map(len(out))
	for _, e := range out {
		c.w.BulkString(e.k)
		c.w.BulkString(e.v)
	}
}

// configSet sets every pair or none.
func (c *Conn) configSet(args [][]byte) {
	if len(args)%2 != 0 {
		c.w.Error(protocol.ErrArity("config|set"))
		return
	}
	var applies []func(*Config)
	var names []string
	for i := 2; i+1 < len(args); i += 2 {
		p := lookupConfigParam(args[i])
		if p == nil {
			c.w.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(args[i]) + "'")
			return
		}
		failed := func(msg string) {
			c.w.Error("ERR CONFIG SET failed (possibly related to argument '" + string(args[i]) + "') - " + msg)
		}
		if p.immutable {
			failed("can't set immutable config")
			return
		}
		if slices.Contains(names, p.name) {
			failed("duplicate parameter")
			return
		}
		names = append(names, p.name)
		if p.set == nil {
			cfg := c.srv.config()
			if !strings.EqualFold(string(args[i+1]), p.get(c.srv, &cfg)) {
				failed("can't set immutable config")
				return
			}
			continue
		}
		apply, msg := p.set(args[i+1])
		if msg != "" {
			failed(msg)
			return
		}
		applies = append(applies, apply)
	}
	s := c.srv
	s.cfgMu.Lock()
	for _, apply := range applies {
		apply(&s.cfg)
	}
	s.maxBulk.Store(s.cfg.MaxBulk)
	s.passSet.Store(s.cfg.RequirePass != "")
	s.cfgMu.Unlock()
	c.w.OK()
}
