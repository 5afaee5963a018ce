package ops

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Config is the configuration of `meridian server`. Every field but the
// last two is a setting (see [LoadConfig]): a command-line flag, a
// MERIDIAN_* environment variable and a config-file directive of the same
// name.
type Config struct {
	// Bind is the host or IP address the RESP listener binds to
	// ("bind"). It must not be empty; "0.0.0.0" listens everywhere.
	Bind string
	// Port is the RESP TCP port ("port"). Zero picks a free port, which
	// [Node.Addr] then reports (tests).
	Port int
	// HTTP is the host:port of the metrics and health endpoint ("http").
	// Empty disables the endpoint.
	HTTP string
	// RequirePass, if not empty, makes clients AUTH with it before
	// anything else ("requirepass").
	RequirePass string
	// MaxClients bounds concurrent client connections ("maxclients").
	MaxClients int
	// ProtoMaxBulkLen is the longest string argument a client may send
	// and the longest string a command may build ("proto-max-bulk-len").
	ProtoMaxBulkLen int64
	// DataDir is where a Raft node will keep its log and snapshots
	// ("data-dir"). A single node keeps its data in memory only: the
	// directory is created if missing, and nothing is written to it yet.
	// Empty means none.
	DataDir string
	// Region and NodeID are the numeric ids stamped into every HLC
	// timestamp this node makes ("region", "node-id"). Both must be at
	// least 1, and NodeID unique within its region.
	Region uint32
	NodeID uint32
	// LogLevel is the least severe level logged ("log-level").
	LogLevel slog.Level
	// Pprof mounts net/http/pprof under /debug/pprof/ on the HTTP
	// endpoint ("pprof").
	Pprof bool

	// Wall is the physical clock of the node's HLC and of expiry; nil
	// means the system clock. Not a setting: tests inject it.
	Wall hlc.WallClock
	// ExpireInterval is how often the active-expiry cycle runs; zero
	// means 100 ms (Valkey's hz 10). Not a setting.
	ExpireInterval time.Duration
}

// Valkey's lower bound of proto-max-bulk-len (config.c).
const minProtoMaxBulkLen = 1 << 20

// DefaultConfig returns the configuration of `meridian server` without
// flags, environment or config file.
func DefaultConfig() Config {
	return Config{
		Bind:            "127.0.0.1",
		Port:            6379,
		HTTP:            "127.0.0.1:9121",
		MaxClients:      10000,
		ProtoMaxBulkLen: protocol.DefaultMaxBulk,
		Region:          1,
		NodeID:          1,
		LogLevel:        slog.LevelInfo,
	}
}

// Addr returns the RESP listener's host:port.
func (c *Config) Addr() string { return net.JoinHostPort(c.Bind, strconv.Itoa(c.Port)) }

// Validate reports a configuration that cannot work. Its errors name the
// setting at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("ops: "+format, args...)) }
	if c.Bind == "" {
		bad("bind must not be empty (0.0.0.0 listens on every interface)")
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("port must be between 0 and 65535 (got %d)", c.Port)
	}
	if c.HTTP != "" {
		if _, port, err := net.SplitHostPort(c.HTTP); err != nil {
			bad("http must be host:port (got %q)", c.HTTP)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			bad("http port must be between 0 and 65535 (got %q)", port)
		}
	}
	if c.Pprof && c.HTTP == "" {
		bad("pprof needs the http endpoint")
	}
	if c.MaxClients < 1 {
		bad("maxclients must be at least 1 (got %d)", c.MaxClients)
	}
	if c.ProtoMaxBulkLen < minProtoMaxBulkLen {
		bad("proto-max-bulk-len must be at least 1mb (got %d)", c.ProtoMaxBulkLen)
	}
	if c.Region < 1 {
		bad("region must be at least 1")
	}
	if c.NodeID < 1 {
		bad("node-id must be at least 1")
	}
	if c.ExpireInterval < 0 {
		bad("expire interval must not be negative")
	}
	return errors.Join(errs...)
}
