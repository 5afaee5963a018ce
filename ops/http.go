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
	// Role is "standalone" for a single node; in a region it is the Raft
	// role: "leader", "follower", "candidate" or "shutdown".
	Role string `json:"role"`
	// Leader is the id of the region's leader as this node knows it;
	// empty for a single node or while there is none.
	Leader   string `json:"leader,omitempty"`
	Version  string `json:"version"`
	Region   string `json:"region"`
	RegionID uint32 `json:"region_id"`
	NodeID   string `json:"node_id"`
	NodeNum  uint32 `json:"node_num"`
}

// httpHandler routes the node's HTTP endpoint: /metrics, /health, the
// admin API under /v1/ and, with cfg.Pprof, /debug/pprof/.
func (n *Node) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.metrics.Handler())
	n.routeAPI(mux)
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

// apiHandler serves /health and the admin API alone: what other nodes
// reach through the Raft port.
func (n *Node) apiHandler() http.Handler {
	mux := http.NewServeMux()
	n.routeAPI(mux)
	return mux
}

func (n *Node) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "ok", Role: "standalone", Version: server.Version, Region: n.cfg.Region,
		RegionID: n.cfg.RegionID, NodeID: n.cfg.NodeID, NodeNum: n.cfg.NodeNumber()}
	if n.group != nil {
		st := n.group.Status()
		h.Role, h.Leader = st.Role, st.Leader
	}
	code := http.StatusOK
	if n.draining.Load() {
		h.Status, code = "shutting down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// writeJSON writes v as the JSON body of a response with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
