package ops

import (
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meridian-kv/meridian/server"
)

// Metrics is a node's Prometheus registry. It is its own registry, not
// prometheus.DefaultRegisterer, so that two nodes in one process (tests)
// never share counters.
//
// Metrics implements [server.Observer]: the server calls Command after
// every command, from the connection's goroutine.
type Metrics struct {
	reg      *prometheus.Registry
	commands *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	expired  prometheus.Counter

	// byName caches each command's children of the vectors above, so the
	// per-command path is one map load instead of three label hashes.
	// Command names come from the command table, so it stays small.
	byName sync.Map // string -> *commandMetrics
}

var _ server.Observer = (*Metrics)(nil)

type commandMetrics struct {
	calls   prometheus.Counter
	errors  prometheus.Counter
	latency prometheus.Observer
}

// latencyBuckets span a cached GET (a few µs) to a slow command (1 s).
var latencyBuckets = []float64{
	5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1,
}

// NewMetrics returns a registry holding the command, expiry, build, Go
// runtime and process metrics. Node gauges (clients, keys) are added by
// the node that owns them.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "meridian",
			Name:      "commands_total",
			Help:      "Commands executed, by command name (\"get\", \"client|list\").",
		}, []string{"cmd"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "meridian",
			Name:      "command_errors_total",
			Help:      "Commands that replied with an error, by command name.",
		}, []string{"cmd"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "meridian",
			Name:      "command_duration_seconds",
			Help:      "Time from parsed request to reply buffered, by command name.",
			Buckets:   latencyBuckets,
		}, []string{"cmd"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "meridian",
			Name:      "expired_keys_total",
			Help:      "Keys deleted by the active-expiry cycle.",
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   "meridian",
		Name:        "build_info",
		Help:        "Always 1; the labels name the build.",
		ConstLabels: prometheus.Labels{"version": server.Version, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.reg.MustRegister(
		m.commands, m.errors, m.latency, m.expired, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Command records one command. It implements [server.Observer].
func (m *Metrics) Command(name string, d time.Duration, failed bool) {
	cm := m.command(name)
	cm.calls.Inc()
	if failed {
		cm.errors.Inc()
	}
	cm.latency.Observe(d.Seconds())
}

func (m *Metrics) command(name string) *commandMetrics {
	if v, ok := m.byName.Load(name); ok {
		return v.(*commandMetrics)
	}
	cm := &commandMetrics{
		calls:   m.commands.WithLabelValues(name),
		errors:  m.errors.WithLabelValues(name),
		latency: m.latency.WithLabelValues(name),
	}
	v, _ := m.byName.LoadOrStore(name, cm)
	return v.(*commandMetrics)
}

// AddExpired counts keys deleted by active expiry.
func (m *Metrics) AddExpired(n int) { m.expired.Add(float64(n)) }

// GaugeFunc registers a gauge whose value fn computes at each scrape. fn
// is called from the scraping goroutine and must be safe for that.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "meridian",
		Name:      name,
		Help:      help,
	}, fn))
}

// Registry returns the registry, for collectors of later subsystems
// (regional, interregion).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
