package interregion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the replication core ([NewReplica]) and the gRPC
// driver ([NewLink]). The core reads the identity and tuning fields only.
type Config struct {
	// Region is the local region's id, the Region of its HLC stamps; > 0.
	Region uint32
	// Name is the local region's name, for Hello and logs.
	Name string
	// Peers are the other regions of the set, each with a distinct id.
	Peers []Peer

	// MaxBatchEntries bounds the entries read from the log for one
	// shipped batch; zero means 256.
	MaxBatchEntries int
	// MaxBatchBytes bounds the effect bytes of one shipped batch (a single
	// larger entry still goes alone); zero means 1 MiB.
	MaxBatchBytes int
	// MaxInflight bounds how far, in log indexes, shipping runs ahead of
	// what a peer has acknowledged; zero means 4096.
	MaxInflight uint64
	// RetryTicks is how many ticks without progress on an acknowledgement
	// make the replica resend from the last acknowledged index (and resend
	// a state-transfer request); zero means 10.
	RetryTicks int
	// KeepaliveTicks is how many ticks may pass without a message to a
	// connected peer before a keepalive (the applied vector, for tombstone
	// GC) goes; zero means 5.
	KeepaliveTicks int
	// HeartbeatTicks is how many ticks without a new local entry make the
	// replica ask for a heartbeat entry (see [Heartbeater]); zero means
	// never.
	HeartbeatTicks int
	// MaxClockOffset is how far ahead of local time a remote stamp may be
	// before it is reported (it is merged anyway); zero means 500 ms.
	MaxClockOffset time.Duration

	// Log is the local region's committed log; the core reads it.
	// Applier and Exporter are the rest of the local region, for the
	// driver (NewLink requires them).
	Log      Log
	Applier  Applier
	Exporter Exporter
	// Token is the region set's shared secret: every call carries it and
	// the server refuses calls without it. Required by NewLink.
	Token string
	// TLS, if not nil, turns on mutual TLS: every region presents a
	// certificate that the set's CA signed and checks its peer's.
	TLS *TLSFiles
	// TickInterval is the driver's tick; zero means 100 ms.
	TickInterval time.Duration
	// ApplyTimeout bounds one Applier.ApplyRemote call; zero means 30 s.
	ApplyTimeout time.Duration
	// MaxMessageBytes bounds one gRPC message either way: a batch holds
	// whole entries, so it must exceed the largest log entry (and export
	// batch) the region makes. Zero means 64 MiB.
	MaxMessageBytes int
	// Registry receives the link's metrics (gRPC interceptor metrics and
	// the replication counters); nil means none are exported.
	Registry prometheus.Registerer
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Dialer, if set, makes the driver's connections to peers (tests dial
	// bufconn listeners with it); nil means TCP.
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
}

// Peer is another region of the set.
type Peer struct {
	// ID is the region's id (the Region of its stamps).
	ID uint32
	// Name is the region's name, for logs and metrics.
	Name string
	// Addrs are addresses of the region's link servers, tried in turn.
	Addrs []string
	// ServerName, if set, is the name the peer's certificate must bear;
	// empty means the host of the address dialled.
	ServerName string
}

// TLSFiles names the PEM files of mutual TLS.
type TLSFiles struct {
	// CertFile and KeyFile are this region's certificate and key, used as
	// server and as client certificate.
	CertFile, KeyFile string
	// CAFile holds the CA certificates that sign every region's
	// certificate of the set.
	CAFile string
}

// DefaultConfig returns a Config with every tuning field at its default;
// the caller sets the identity and the local region.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.MaxBatchEntries == 0 {
		c.MaxBatchEntries = 256
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = 1 << 20
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = 4096
	}
	if c.RetryTicks == 0 {
		c.RetryTicks = 10
	}
	if c.KeepaliveTicks == 0 {
		c.KeepaliveTicks = 5
	}
	if c.MaxClockOffset == 0 {
		c.MaxClockOffset = 500 * time.Millisecond
	}
	if c.TickInterval == 0 {
		c.TickInterval = 100 * time.Millisecond
	}
	if c.ApplyTimeout == 0 {
		c.ApplyTimeout = 30 * time.Second
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a configuration the replication core cannot work with.
// [NewLink] checks more: see validateLink.
func (c *Config) Validate() error {
	if c.Region == 0 {
		return errors.New("interregion: Region must be > 0")
	}
	seen := map[uint32]bool{c.Region: true}
	for _, p := range c.Peers {
		if p.ID == 0 {
			return fmt.Errorf("interregion: peer %q: ID must be > 0", p.Name)
		}
		if seen[p.ID] {
			return fmt.Errorf("interregion: region id %d appears twice", p.ID)
		}
		seen[p.ID] = true
	}
	if c.Log == nil {
		return errors.New("interregion: Log is required")
	}
	if c.MaxBatchEntries < 0 || c.MaxBatchBytes < 0 || c.RetryTicks < 0 || c.KeepaliveTicks < 0 ||
		c.HeartbeatTicks < 0 || c.MaxClockOffset < 0 || c.MaxMessageBytes < 0 {
		return errors.New("interregion: negative tuning value")
	}
	return nil
}

// validateLink checks what the gRPC driver needs on top of Validate.
func (c *Config) validateLink() error {
	if err := c.Validate(); err != nil {
		return err
	}
	switch {
	case c.Applier == nil:
		return errors.New("interregion: Applier is required")
	case c.Exporter == nil:
		return errors.New("interregion: Exporter is required")
	case c.Token == "":
		return errors.New("interregion: Token is required")
	}
	for _, p := range c.Peers {
		if len(p.Addrs) == 0 {
			return fmt.Errorf("interregion: peer %d (%s) has no address", p.ID, p.Name)
		}
	}
	if t := c.TLS; t != nil && (t.CertFile == "" || t.KeyFile == "" || t.CAFile == "") {
		return errors.New("interregion: TLS needs CertFile, KeyFile and CAFile")
	}
	return nil
}
