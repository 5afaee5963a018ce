package ops

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-kv/meridian/protocol"
)

// ErrUsage is returned by LoadConfig when the command line, the
// environment or the config file holds a setting it cannot parse; the
// wrapped message names it.
var ErrUsage = errors.New("ops: bad usage")

// setting is one configuration knob, known by one name everywhere: the
// flag --name, the environment variable MERIDIAN_NAME (upper case, '-'
// as '_') and the config-file directive "name value".
type setting struct {
	name  string
	usage string
	bool  bool // a flag that needs no value
	get   func(c *Config) string
	set   func(c *Config, v string) error
}

// settings is the table of every setting, in the order help lists them.
var settings = []setting{
	{
		name:  "bind",
		usage: "`host` or IP address the RESP listener binds to",
		get:   func(c *Config) string { return c.Bind },
		set:   func(c *Config, v string) error { c.Bind = v; return nil },
	},
	{
		name:  "port",
		usage: "RESP TCP `port` (0 picks a free one)",
		get:   func(c *Config) string { return strconv.Itoa(c.Port) },
		set: func(c *Config, v string) error {
			n, err := parseIntSetting(v, 0, 65535)
			c.Port = int(n)
			return err
		},
	},
	{
		name:  "http",
		usage: "`host:port` of /metrics, /health and the admin API /v1/ (empty disables it)",
		get:   func(c *Config) string { return c.HTTP },
		set:   func(c *Config, v string) error { c.HTTP = v; return nil },
	},
	{
		name:  "requirepass",
		usage: "`password` clients must AUTH with (empty: no authentication)",
		get:   func(c *Config) string { return c.RequirePass },
		set:   func(c *Config, v string) error { c.RequirePass = v; return nil },
	},
	{
		name:  "maxclients",
		usage: "most concurrent client connections (`n`)",
		get:   func(c *Config) string { return strconv.Itoa(c.MaxClients) },
		set: func(c *Config, v string) error {
			n, err := parseIntSetting(v, 1, math.MaxInt32)
			c.MaxClients = int(n)
			return err
		},
	},
	{
		name:  "proto-max-bulk-len",
		usage: "longest string argument: bytes, or a `size` with a unit (k, kb, m, mb, g, gb)",
		get:   func(c *Config) string { return formatMemory(c.ProtoMaxBulkLen) },
		set: func(c *Config, v string) error {
			n, err := parseMemory(v)
			c.ProtoMaxBulkLen = n
			return err
		},
	},
	{
		name:  "raft",
		usage: "`host:port` of the Raft port; setting it runs the node in a region (empty: single node, no Raft)",
		get:   func(c *Config) string { return c.Raft },
		set:   func(c *Config, v string) error { c.Raft = v; return nil },
	},
	{
		name:  "advertise-raft",
		usage: "`host:port` other nodes dial to reach the Raft port (empty: the raft address)",
		get:   func(c *Config) string { return c.AdvertiseRaft },
		set:   func(c *Config, v string) error { c.AdvertiseRaft = v; return nil },
	},
	{
		name:  "node-id",
		usage: "node `id` in its region, e.g. n1: letters, digits, '-', '_', '.'; never reused",
		get:   func(c *Config) string { return c.NodeID },
		set:   func(c *Config, v string) error { c.NodeID = v; return nil },
	},
	{
		name:  "node-num",
		usage: "numeric node id `n` stamped into HLC timestamps (0: node-id's trailing number, else a hash of it)",
		get:   func(c *Config) string { return strconv.FormatUint(uint64(c.NodeNum), 10) },
		set: func(c *Config, v string) error {
			n, err := parseIntSetting(v, 0, math.MaxUint32)
			c.NodeNum = uint32(n)
			return err
		},
	},
	{
		name:  "region",
		usage: "region `name` (reported in status and INFO)",
		get:   func(c *Config) string { return c.Region },
		set:   func(c *Config, v string) error { c.Region = v; return nil },
	},
	{
		name:  "region-id",
		usage: "numeric region `id` stamped into HLC timestamps (>= 1)",
		get:   func(c *Config) string { return strconv.FormatUint(uint64(c.RegionID), 10) },
		set: func(c *Config, v string) error {
			n, err := parseIntSetting(v, 1, math.MaxUint32)
			c.RegionID = uint32(n)
			return err
		},
	},
	{
		name:  "data-dir",
		usage: "`directory` for the Raft log (raft.db) and snapshots; required with --raft",
		get:   func(c *Config) string { return c.DataDir },
		set:   func(c *Config, v string) error { c.DataDir = v; return nil },
	},
	{
		name:  "bootstrap-single",
		usage: "form a one-node region at start if this node has no Raft state (development)",
		bool:  true,
		get:   func(c *Config) string { return strconv.FormatBool(c.BootstrapSingle) },
		set: func(c *Config, v string) error {
			b, err := parseBool(v)
			c.BootstrapSingle = b
			return err
		},
	},
	{
		name:  "link",
		usage: "`host:port` of the link port peer regions dial (gRPC); setting it lets the region be linked (needs --raft and --link-token)",
		get:   func(c *Config) string { return c.Link },
		set:   func(c *Config, v string) error { c.Link = v; return nil },
	},
	{
		name:  "link-token",
		usage: "the region set's shared `secret`, the same in every linked region; required with --link (prefer the environment variable)",
		get:   func(c *Config) string { return c.LinkToken },
		set:   func(c *Config, v string) error { c.LinkToken = v; return nil },
	},
	{
		name:  "link-tls-cert",
		usage: "PEM `file` of this region's link certificate (mutual TLS, with --link-tls-key and --link-tls-ca)",
		get:   func(c *Config) string { return c.LinkTLSCert },
		set:   func(c *Config, v string) error { c.LinkTLSCert = v; return nil },
	},
	{
		name:  "link-tls-key",
		usage: "PEM `file` of the key of --link-tls-cert",
		get:   func(c *Config) string { return c.LinkTLSKey },
		set:   func(c *Config, v string) error { c.LinkTLSKey = v; return nil },
	},
	{
		name:  "link-tls-ca",
		usage: "PEM `file` of the CA certificates that sign every linked region's certificate",
		get:   func(c *Config) string { return c.LinkTLSCA },
		set:   func(c *Config, v string) error { c.LinkTLSCA = v; return nil },
	},
	{
		name:  "max-clock-offset",
		usage: "how far ahead of local time a peer region's stamps may be before they are counted and logged (merged anyway); a `duration` such as 500ms",
		get:   func(c *Config) string { return c.MaxClockOffset.String() },
		set: func(c *Config, v string) error {
			d, err := parseDuration(v)
			c.MaxClockOffset = d
			return err
		},
	},
	{
		name:  "link-retain-entries",
		usage: "most Raft log entries (`n`) kept for peer regions that have not applied them; a peer further behind catches up by state transfer (0: 1000000)",
		get:   func(c *Config) string { return strconv.FormatUint(c.LinkRetainEntries, 10) },
		set: func(c *Config, v string) error {
			n, err := parseIntSetting(v, 0, math.MaxInt64)
			c.LinkRetainEntries = uint64(n)
			return err
		},
	},
	{
		name:  "log-level",
		usage: "`level`: debug, info, warn or error (Valkey's verbose, notice, warning too)",
		get:   func(c *Config) string { return strings.ToLower(c.LogLevel.String()) },
		set: func(c *Config, v string) error {
			l, err := parseLogLevel(v)
			c.LogLevel = l
			return err
		},
	},
	{
		name:  "pprof",
		usage: "serve net/http/pprof under /debug/pprof/ on the http endpoint",
		bool:  true,
		get:   func(c *Config) string { return strconv.FormatBool(c.Pprof) },
		set: func(c *Config, v string) error {
			b, err := parseBool(v)
			c.Pprof = b
			return err
		},
	},
}

func lookupSetting(name string) *setting {
	for i := range settings {
		if settings[i].name == name {
			return &settings[i]
		}
	}
	return nil
}

// envName returns the environment variable of a setting:
// "proto-max-bulk-len" -> "MERIDIAN_PROTO_MAX_BULK_LEN".
func envName(name string) string {
	return "MERIDIAN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// configEnv names the environment variable holding the config file path,
// the counterpart of --config.
const configEnv = "MERIDIAN_CONFIG"

// flagValue records a setting given on the command line; it is applied
// after the config file and the environment, which it overrides.
type flagValue struct {
	s     *setting
	def   string
	val   string
	isSet bool
}

func (f *flagValue) String() string { return f.def }

// Set checks v by applying it to a scratch configuration, and records it.
func (f *flagValue) Set(v string) error {
	scratch := DefaultConfig()
	if err := f.s.set(&scratch, v); err != nil {
		return err
	}
	f.val, f.isSet = v, true
	return nil
}

func (f *flagValue) IsBoolFlag() bool { return f.s != nil && f.s.bool }

// LoadConfig builds the configuration of `meridian server` from its
// arguments, the environment (lookupEnv, usually os.LookupEnv) and an optional
// config file named by --config or MERIDIAN_CONFIG. Later sources win:
// defaults, then the file, then MERIDIAN_* variables, then flags. Only
// the help text (-h) is written to out; errors are returned.
//
// It returns flag.ErrHelp for -h/--help, an error wrapping ErrUsage for a
// value it cannot parse, and the error of [Config.Validate] otherwise.
func LoadConfig(args []string, lookupEnv func(string) (string, bool), out io.Writer) (Config, error) {
	def := DefaultConfig()
	fs := flag.NewFlagSet("meridian server", flag.ContinueOnError)
	// The caller reports errors; only help is printed here.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	configPath := fs.String("config", "", "`path` of a config file of \"name value\" lines ("+configEnv+")")
	values := make([]*flagValue, len(settings))
	for i := range settings {
		s := &settings[i]
		values[i] = &flagValue{s: s, def: s.get(&def)}
		if s.bool && values[i].def == "false" {
			values[i].def = "" // flag prints no default for a false bool
		}
		fs.Var(values[i], s.name, s.usage+" ("+envName(s.name)+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(out, serverUsage)
			fs.SetOutput(out)
			fs.PrintDefaults()
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}

	cfg := def
	path := *configPath
	if path == "" {
		path, _ = lookupEnv(configEnv)
	}
	if path != "" {
		if err := loadConfigFile(&cfg, path); err != nil {
			return Config{}, err
		}
	}
	for i := range settings {
		s := &settings[i]
		if v, ok := lookupEnv(envName(s.name)); ok {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%w: %s: %v", ErrUsage, envName(s.name), err)
			}
		}
	}
	for _, f := range values {
		if f.isSet {
			// Set already checked the value.
			_ = f.s.set(&cfg, f.val)
		}
	}
	return cfg, cfg.Validate()
}

// loadConfigFile applies a config file to cfg. Its format is Valkey's:
// one "name value" directive a line, split as Valkey splits arguments
// ("double" or 'single' quotes around values with spaces, "" for empty),
// blank lines and lines starting with '#' ignored. Names are those of
// the flags; an unknown name is an error, as in Valkey.
func loadConfigFile(cfg *Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %v", ErrUsage, err)
	}
	defer f.Close()
	return parseConfig(cfg, f, path)
}

func parseConfig(cfg *Config, r io.Reader, path string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), protocol.InlineMax)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%w: %s:%d: %s", ErrUsage, path, line, fmt.Sprintf(format, args...))
		}
		args, ok := protocol.SplitArgs([]byte(text))
		if !ok {
			return fail("unbalanced quotes")
		}
		name := strings.ToLower(string(args[0]))
		s := lookupSetting(name)
		if s == nil {
			return fail("unknown directive %q", args[0])
		}
		if len(args) != 2 {
			return fail("%s takes exactly one value", name)
		}
		if err := s.set(cfg, string(args[1])); err != nil {
			return fail("%s: %v", name, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUsage, path, err)
	}
	return nil
}

func parseIntSetting(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}

// parseMemory parses a size as Valkey's memtoull does: an integer with an
// optional unit, k/m/g for powers of 1000 and kb/mb/gb for powers of
// 1024, case-insensitive ("512mb", "1gb", "1048576").
func parseMemory(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	mul := int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mul = strings.TrimSuffix(s, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mul {
		return 0, fmt.Errorf("%q is not a size (an integer with an optional unit: k, kb, m, mb, g, gb)", v)
	}
	return n * mul, nil
}

// formatMemory prints a size with the largest 1024-based unit that
// divides it.
func formatMemory(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "gb"
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "mb"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "kb"
	}
	return strconv.FormatInt(n, 10)
}

// parseDuration parses a positive Go duration ("500ms", "2s"); a bare
// number is milliseconds, as in Valkey's time settings.
func parseDuration(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/int64(time.Millisecond) {
			return 0, fmt.Errorf("%d is out of range", n)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (e.g. 500ms, 2s; a bare number is milliseconds)", v)
	}
	return d, nil
}

// parseBool accepts Valkey's yes/no as well as Go's true/false and 1/0.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", v)
}

// parseLogLevel accepts slog's level names and Valkey's loglevel values.
func parseLogLevel(v string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "debug", "verbose":
		return slog.LevelDebug, nil
	case "info", "notice":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not a log level (debug, info, warn, error)", v)
}
