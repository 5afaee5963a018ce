package ops

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/storage/hlc"
)

// Config is the configuration of `meridian server`. Every field but the
// last three is a setting (see [LoadConfig]): a command-line flag, a
// MERIDIAN_* environment variable and a config-file directive of the same
// name.
type Config struct {
	// Bind is the host or IP address the RESP listener binds to
	// ("bind"). It must not be empty; "0.0.0.0" listens everywhere.
	Bind string
	// Port is the RESP TCP port ("port"). Zero picks a free port, which
	// [Node.Addr] then reports (tests).
	Port int
	// HTTP is the host:port of the metrics, health and admin endpoint
	// ("http"). Empty disables the endpoint (the admin API stays
	// reachable through the Raft port, see [Node]).
	HTTP string
	// RequirePass, if not empty, makes clients AUTH with it before
	// anything else ("requirepass").
	RequirePass string
	// MaxClients bounds concurrent client connections ("maxclients").
	MaxClients int
	// ProtoMaxBulkLen is the longest string argument a client may send
	// and the longest string a command may build ("proto-max-bulk-len").
	ProtoMaxBulkLen int64

	// Raft is the host:port of the Raft port ("raft"): Raft RPCs,
	// requests forwarded between nodes and the admin API of other nodes.
	// Setting it turns on region mode; empty means a single node with no
	// Raft (data in memory). Port 0 picks a free port (tests).
	Raft string
	// AdvertiseRaft is the host:port other nodes dial to reach Raft
	// ("advertise-raft"); empty means Raft's listening address, which
	// must then not be an unspecified address such as 0.0.0.0.
	AdvertiseRaft string
	// NodeID names the node in its region ("node-id"), e.g. "n1": its
	// Raft server id. It is never reused once the node has left.
	NodeID string
	// NodeNum is the numeric node id stamped into every HLC timestamp
	// ("node-num"). Zero derives it from NodeID: see [Config.NodeNumber].
	NodeNum uint32
	// Region names the region ("region"); it is reported, not
	// interpreted.
	Region string
	// RegionID is the numeric region id stamped into every HLC timestamp
	// ("region-id"), at least 1 and unique among linked regions.
	RegionID uint32
	// DataDir holds the Raft log (raft.db) and snapshots ("data-dir").
	// Required in region mode; a single node keeps its data in memory and
	// only creates the directory.
	DataDir string
	// BootstrapSingle forms a one-node region at start when the node has
	// no Raft state yet ("bootstrap-single"): development. It needs Raft.
	BootstrapSingle bool
	// LogLevel is the least severe level logged ("log-level").
	LogLevel slog.Level
	// Pprof mounts net/http/pprof under /debug/pprof/ on the HTTP
	// endpoint ("pprof").
	Pprof bool

	// Link is the host:port of the link port ("link"): the gRPC port
	// that peer regions dial (package interregion). Setting it lets the
	// region be linked to others (`meridian region link`); every node of
	// a region needs one, since whichever node leads runs the links.
	// It needs Raft. Port 0 picks a free port (tests).
	Link string
	// LinkToken is the region set's shared secret ("link-token",
	// best given as MERIDIAN_LINK_TOKEN so that it stays out of process
	// listings): every region of the set uses the same one, and a peer
	// presenting another is refused. Required with Link.
	LinkToken string
	// LinkTLSCert, LinkTLSKey and LinkTLSCA are PEM files that turn on
	// mutual TLS on the links ("link-tls-cert", "link-tls-key",
	// "link-tls-ca"): this region's certificate and key (used as server
	// and as client) and the CA certificates that sign every region's
	// certificate. All three or none.
	LinkTLSCert, LinkTLSKey, LinkTLSCA string
	// MaxClockOffset is how far ahead of local time a peer region's
	// stamps may be before they are counted and logged as clock-offset
	// violations ("max-clock-offset"); they are merged anyway.
	MaxClockOffset time.Duration
	// LinkRetainEntries bounds how many Raft log entries a node keeps,
	// beyond its usual trailing entries, for peer regions that have not
	// applied them yet ("link-retain-entries"); a peer further behind
	// catches up by state transfer. Zero means 1,000,000.
	LinkRetainEntries uint64

	// Wall is the physical clock of the node's HLC and of expiry; nil
	// means the system clock. Not a setting: tests inject it.
	Wall hlc.WallClock
	// ExpireInterval is how often the active-expiry cycle of a single
	// node runs; zero means 100 ms (Valkey's hz 10). In a region the
	// leader expires keys. Not a setting.
	ExpireInterval time.Duration
	// RaftTimeout, if positive, sets Raft's heartbeat, election and
	// leader-lease timeouts; zero keeps regional's defaults (1 s, 1 s,
	// 500 ms). Not a setting: tests shorten it.
	RaftTimeout time.Duration
	// LinkTick, if positive, is the links' tick (regional.LinkConfig's
	// TickInterval); zero keeps the default (100 ms). Not a setting:
	// tests shorten it.
	LinkTick time.Duration
}

// defaultMaxClockOffset is max-clock-offset's default.
const defaultMaxClockOffset = 500 * time.Millisecond

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
		NodeID:          "n1",
		Region:          "default",
		RegionID:        1,
		LogLevel:        slog.LevelInfo,
		MaxClockOffset:  defaultMaxClockOffset,
	}
}

// Addr returns the RESP listener's host:port.
func (c *Config) Addr() string { return net.JoinHostPort(c.Bind, strconv.Itoa(c.Port)) }

// RegionMode reports whether the node runs a Raft group (Raft is set).
func (c *Config) RegionMode() bool { return c.Raft != "" }

// NodeNumber returns the numeric node id stamped into HLC timestamps:
// NodeNum when set, else the decimal number NodeID ends with ("n3" is 3),
// else a 32-bit FNV-1a hash of NodeID (never 0). Two nodes of a region
// sharing a number is harmless: only the leader stamps, and a new leader's
// clock starts past every stamp in the log, so stamps stay distinct and
// ordered; set node-num to choose.
func (c *Config) NodeNumber() uint32 {
	if c.NodeNum != 0 {
		return c.NodeNum
	}
	i := len(c.NodeID)
	for i > 0 && c.NodeID[i-1] >= '0' && c.NodeID[i-1] <= '9' {
		i--
	}
	if i < len(c.NodeID) {
		if n, err := strconv.ParseUint(c.NodeID[i:], 10, 32); err == nil && n > 0 {
			return uint32(n)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(c.NodeID))
	if n := h.Sum32(); n != 0 {
		return n
	}
	return 1
}

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
	checkHostPort := func(name, v string) (host string, ok bool) {
		h, port, err := net.SplitHostPort(v)
		if err != nil {
			bad("%s must be host:port (got %q)", name, v)
			return "", false
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			bad("%s port must be between 0 and 65535 (got %q)", name, port)
			return "", false
		}
		return h, true
	}
	if c.HTTP != "" {
		checkHostPort("http", c.HTTP)
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
	if c.RegionID < 1 {
		bad("region-id must be at least 1")
	}
	if err := checkName(c.NodeID); err != nil {
		bad("node-id %v", err)
	}
	if err := checkName(c.Region); err != nil {
		bad("region %v", err)
	}
	if c.Raft != "" {
		if host, ok := checkHostPort("raft", c.Raft); ok && c.AdvertiseRaft == "" && unspecified(host) {
			bad("advertise-raft is required when raft listens on every interface (%q)", c.Raft)
		}
		if c.DataDir == "" {
			bad("data-dir is required with raft (it holds the Raft log and snapshots)")
		}
	} else {
		if c.BootstrapSingle {
			bad("bootstrap-single needs raft (region mode)")
		}
		if c.AdvertiseRaft != "" {
			bad("advertise-raft needs raft")
		}
	}
	if c.AdvertiseRaft != "" {
		if host, ok := checkHostPort("advertise-raft", c.AdvertiseRaft); ok && unspecified(host) {
			bad("advertise-raft must name an address other nodes can dial (got %q)", c.AdvertiseRaft)
		}
	}
	if c.Link != "" {
		// An unspecified host (0.0.0.0) is fine: peers dial the
		// addresses the operator gives `meridian region link`.
		checkHostPort("link", c.Link)
		if c.Raft == "" {
			bad("link needs raft (region mode): only a region can be linked to others")
		}
		if c.LinkToken == "" {
			bad("link-token is required with link: the region set's shared secret, the same in every region (set MERIDIAN_LINK_TOKEN)")
		}
	}
	tlsSet := 0
	for _, f := range []string{c.LinkTLSCert, c.LinkTLSKey, c.LinkTLSCA} {
		if f != "" {
			tlsSet++
		}
	}
	if tlsSet > 0 && tlsSet < 3 {
		bad("link-tls-cert, link-tls-key and link-tls-ca go together (mutual TLS needs all three)")
	}
	if tlsSet > 0 && c.Link == "" {
		bad("link-tls-cert, link-tls-key and link-tls-ca need link")
	}
	if c.MaxClockOffset <= 0 {
		bad("max-clock-offset must be positive (got %v)", c.MaxClockOffset)
	}
	if c.ExpireInterval < 0 {
		bad("expire interval must not be negative")
	}
	if c.RaftTimeout < 0 {
		bad("raft timeout must not be negative")
	}
	if c.LinkTick < 0 {
		bad("link tick must not be negative")
	}
	return errors.Join(errs...)
}

// checkName checks a node id or region name: 1 to 64 letters, digits,
// '-', '_' or '.'.
func checkName(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > 64 {
		return fmt.Errorf("is longer than 64 bytes (%q)", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("may hold only letters, digits, '-', '_' and '.' (got %q)", s)
		}
	}
	return nil
}

func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}
