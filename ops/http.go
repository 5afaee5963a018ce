package ops

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"

	"github.com/meridian-kv/meridian/server"
)

// Health is the JSON body of GET /health.
type Health struct {
	// Status is "ok", or "shutting down" (with HTTP 503) once a graceful
	// shutdown has begun.
	Status string `json:"status"`
	// Role is "standalone" for a single node; Raft nodes will report
	// "leader" or "follower".
	Role    string `json:"role"`
	Version string `json:"version"`
	Region  uint32 `json:"region"`
	NodeID  uint32 `json:"node_id"`
}

// httpHandler routes the node's HTTP endpoint: /metrics, /health and,
// with cfg.Pprof, /debug/pprof/.
func (n *Node) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.metrics.Handler())
	mux.HandleFunc("GET /health", n.serveHealth)
	if n.cfg.Pprof {
		// Registered on this mux explicitly: the package's init also
		// registers on http.DefaultServeMux, which is never served.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func (n *Node) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "ok", Role: "standalone", Version: server.Version, Region: n.cfg.Region, NodeID: n.cfg.NodeID}
	code := http.StatusOK
	if n.draining.Load() {
		h.Status, code = "shutting down", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(h)
}
