package interregion

import (
	"strconv"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a Link's Prometheus metrics, registered in Config.Registry
// (never the global registry).
type metrics struct {
	server *grpcprom.ServerMetrics
	client *grpcprom.ClientMetrics

	refused     *prometheus.CounterVec // reason: token, tls, region
	panics      prometheus.Counter
	shipped     *prometheus.CounterVec // peer
	applied     *prometheus.CounterVec // peer
	states      *prometheus.CounterVec // peer, role (sent, received), result (ok, error)
	clockAhead  *prometheus.CounterVec // peer
	corrupt     *prometheus.CounterVec // peer
	logErrors   prometheus.Counter
	lag         *prometheus.GaugeVec // peer: local entries shipped but not acknowledged
	frontier    prometheus.Gauge     // tombstone GC frontier, Unix ms
	connections *prometheus.GaugeVec // peer: 1 while the link to it is up
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry() // counted, never exported
	}
	const ns, sub = "meridian", "interregion"
	m := &metrics{
		server: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		client: grpcprom.NewClientMetrics(),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_total",
			Help: "Calls and connections refused: wrong token, failed TLS handshake, unknown region."}, []string{"reason"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "panics_total",
			Help: "Panics recovered in link handlers."}),
		shipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "shipped_entries_total",
			Help: "Local log entries shipped to a peer region (resends included)."}, []string{"peer"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "applied_indexes_total",
			Help: "Indexes of a peer region's log durably applied here."}, []string{"peer"}),
		states: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "state_transfers_total",
			Help: "State transfers sent to or received from a peer region."}, []string{"peer", "role", "result"}),
		clockAhead: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "clock_offset_violations_total",
			Help: "Entries from a peer stamped further ahead of local time than max-clock-offset (merged anyway)."}, []string{"peer"}),
		corrupt: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "corrupt_batches_total",
			Help: "Batches from a peer refused because an entry did not decode."}, []string{"peer"}),
		logErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "log_errors_total",
			Help: "Failed reads of the local log."}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "peer_lag_entries",
			Help: "Local log indexes read for a peer region that it has not acknowledged."}, []string{"peer"}),
		frontier: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "gc_frontier_ms",
			Help: "Wall time of the tombstone GC frontier, Unix ms."}),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "peer_connected",
			Help: "1 while the link to a peer region is up."}, []string{"peer"}),
	}
	for _, c := range []prometheus.Collector{m.server, m.client, m.refused, m.panics, m.shipped, m.applied,
		m.states, m.clockAhead, m.corrupt, m.logErrors, m.lag, m.frontier, m.connections} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func peerLabel(id uint32) string { return strconv.FormatUint(uint64(id), 10) }
