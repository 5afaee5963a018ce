package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/server"
)

// The admin API, served as JSON on the --http endpoint and, for other
// nodes, on the Raft port (raftport.go):
//
//	GET  /health                 Health
//	GET  /v1/status              NodeStatus
//	GET  /v1/region/members      MemberList: every member, asked for its status
//	POST /v1/region/bootstrap    BootstrapRequest -> BootstrapRequest
//	POST /v1/region/join         JoinRequest -> APIResult
//	POST /v1/region/leave        LeaveRequest -> APIResult
//	GET  /v1/region/links        LinkReport: the links to peer regions
//	POST /v1/region/link         LinkRequest -> APIResult
//	POST /v1/region/unlink       UnlinkRequest -> APIResult
//
// Errors are an APIError body with a 4xx or 5xx code. Join, leave, link
// and unlink run on the leader: a follower forwards them to the leader
// through its Raft port and relays the answer; 421 Misdirected Request
// means the request reached a node that does not lead and could not be
// forwarded (the body names the leader when known), 503 that the region
// has no leader.

// forwardedHeader marks a request a follower forwarded to the leader, so
// that it is never forwarded twice.
const forwardedHeader = "Meridian-Forwarded-By"

// Timeouts of calls between nodes.
const (
	probeTimeout   = 2 * time.Second  // GET /v1/status of a member
	forwardTimeout = 30 * time.Second // a forwarded join or leave
)

// NodeStatus is the body of GET /v1/status: this node's identity and its
// view of the region (the fields of regional.Status: role, leader, term,
// commit and applied index, members, ...).
type NodeStatus struct {
	regional.Status
	// Mode is "region", or "standalone" for a node without Raft.
	Mode     string `json:"mode"`
	Version  string `json:"version"`
	Region   string `json:"region"`
	RegionID uint32 `json:"region_id"`
	NodeNum  uint32 `json:"node_num"`
	// RaftAddr is the address other nodes dial for this node's Raft port.
	RaftAddr string `json:"raft_addr,omitempty"`
	RESPAddr string `json:"resp_addr"`
	HTTPAddr string `json:"http_addr,omitempty"`
	// HasState is set once the node was bootstrapped or joined: it can
	// no longer be part of a new region's bootstrap.
	HasState bool `json:"has_state"`
	// Removed is set once the node knows it was removed from the region.
	Removed bool `json:"removed,omitempty"`
}

// MemberStatus is one member in GET /v1/region/members: its place in the
// Raft configuration, and what it says of itself when it answers.
type MemberStatus struct {
	regional.Member
	// Reachable is set when the member answered; Error says why not.
	Reachable    bool   `json:"reachable"`
	Error        string `json:"error,omitempty"`
	Role         string `json:"role,omitempty"`
	Term         uint64 `json:"term,omitempty"`
	CommitIndex  uint64 `json:"commit_index,omitempty"`
	AppliedIndex uint64 `json:"applied_index,omitempty"`
	RESPAddr     string `json:"resp_addr,omitempty"`
	HTTPAddr     string `json:"http_addr,omitempty"`
}

// MemberList is the body of GET /v1/region/members.
type MemberList struct {
	// Leader is the leader's id as the answering node knows it.
	Leader string `json:"leader"`
	// CommitIndex is the leader's commit index when it answered, else
	// the answering node's: members' applied indexes are compared to it.
	CommitIndex uint64         `json:"commit_index"`
	Members     []MemberStatus `json:"members"`
}

// Server is one member of a bootstrap request.
type Server struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// BootstrapRequest is the body of POST /v1/region/bootstrap: the members
// of the new region, this node among them. The answer echoes it.
type BootstrapRequest struct {
	Servers []Server `json:"servers"`
}

// JoinRequest is the body of POST /v1/region/join: the new node's id and
// Raft address (from its own /v1/status).
type JoinRequest struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// LeaveRequest is the body of POST /v1/region/leave.
type LeaveRequest struct {
	ID string `json:"id"`
}

// APIResult is the body of a successful join or leave.
type APIResult struct {
	Message string `json:"message"`
	// Leader is the id of the node that made the change.
	Leader string `json:"leader,omitempty"`
}

// APIError is the body of every error answer of the admin API.
type APIError struct {
	Error string `json:"error"`
	// LeaderID and LeaderAddr name the leader (Raft address) when the
	// request needs it and this node knows it.
	LeaderID   string `json:"leader_id,omitempty"`
	LeaderAddr string `json:"leader_addr,omitempty"`
}

func (n *Node) routeAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /health", n.serveHealth)
	mux.HandleFunc("GET /v1/status", n.serveStatus)
	mux.HandleFunc("GET /v1/region/members", n.region(n.serveMembers))
	mux.HandleFunc("POST /v1/region/bootstrap", n.region(n.serveBootstrap))
	mux.HandleFunc("POST /v1/region/join", n.region(n.serveJoin))
	mux.HandleFunc("POST /v1/region/leave", n.region(n.serveLeave))
	mux.HandleFunc("GET /v1/region/links", n.region(n.serveLinks))
	mux.HandleFunc("POST /v1/region/link", n.region(n.serveLink))
	mux.HandleFunc("POST /v1/region/unlink", n.region(n.serveUnlink))
}

// region refuses region requests on a node without Raft.
func (n *Node) region(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n.group == nil {
			writeJSON(w, http.StatusConflict, APIError{Error: fmt.Sprintf(
				"node %s runs without Raft (single-node mode): start it with --raft to use regions", n.cfg.NodeID)})
			return
		}
		h(w, r)
	}
}

// Status returns what GET /v1/status reports.
func (n *Node) Status() NodeStatus {
	st := NodeStatus{
		Mode: "standalone", Version: server.Version, Region: n.cfg.Region, RegionID: n.cfg.RegionID,
		NodeNum: n.cfg.NodeNumber(), RESPAddr: n.Addr().String(),
	}
	if a := n.HTTPAddr(); a != nil {
		st.HTTPAddr = a.String()
	}
	if n.group == nil {
		st.Status = regional.Status{NodeID: n.cfg.NodeID, Role: "standalone", Leader: n.cfg.NodeID, Ready: true}
		return st
	}
	st.Status = n.group.Status()
	st.Mode = "region"
	st.RaftAddr = n.group.RaftAddr()
	st.HasState = n.group.HasState()
	st.Removed = n.group.Removed()
	return st
}

func (n *Node) serveStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, n.Status())
}

// serveMembers asks every member for its status, at once, each within
// probeTimeout.
func (n *Node) serveMembers(w http.ResponseWriter, r *http.Request) {
	st := n.group.Status()
	out := MemberList{Leader: st.Leader, CommitIndex: st.CommitIndex, Members: make([]MemberStatus, len(st.Members))}
	var wg sync.WaitGroup
	for i, m := range st.Members {
		out.Members[i].Member = m
		wg.Go(func() {
			ms := &out.Members[i]
			var ns NodeStatus
			if m.ID == n.cfg.NodeID {
				ns = n.Status()
			} else {
				ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
				defer cancel()
				if err := n.adminCall(ctx, m.Address, http.MethodGet, "/v1/status", nil, &ns); err != nil {
					ms.Error = err.Error()
					return
				}
			}
			ms.Reachable = true
			ms.Role, ms.Term, ms.CommitIndex, ms.AppliedIndex = ns.Role, ns.Term, ns.CommitIndex, ns.AppliedIndex
			ms.RESPAddr, ms.HTTPAddr = ns.RESPAddr, ns.HTTPAddr
			if ns.NodeID != m.ID {
				ms.Reachable = false
				ms.Error = fmt.Sprintf("node %q answers at %s", ns.NodeID, m.Address)
			}
		})
	}
	wg.Wait()
	// Members' lag is best measured against the leader's commit index:
	// a follower learns of commits only with the next entries it gets.
	for _, m := range out.Members {
		if m.Reachable && m.Leader && m.CommitIndex > out.CommitIndex {
			out.CommitIndex = m.CommitIndex
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// adminCall makes a request to another node's admin API through its Raft
// port and decodes its JSON answer into out. An error answer becomes an
// error with the APIError's text.
func (n *Node) adminCall(ctx context.Context, raftAddr, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+raftAddr+path, rd)
	if err != nil {
		return err
	}
	resp, err := n.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, out)
}

// decodeAnswer decodes a JSON answer of the admin API into out, or turns
// an error answer into an error.
func decodeAnswer(resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var ae APIError
		if json.Unmarshal(data, &ae) == nil && ae.Error != "" {
			return &answerError{code: resp.StatusCode, APIError: ae}
		}
		return &answerError{code: resp.StatusCode, APIError: APIError{Error: strings.TrimSpace(resp.Status + " " + string(data))}}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("bad answer (%v): %.200s", err, data)
	}
	return nil
}

// answerError is an error answer of the admin API.
type answerError struct {
	code int
	APIError
}

func (e *answerError) Error() string { return e.APIError.Error }

func (n *Node) serveBootstrap(w http.ResponseWriter, r *http.Request) {
	var req BootstrapRequest
	if !decodeBody(w, r, &req) {
		return
	}
	self := n.cfg.NodeID
	if n.group.HasState() {
		writeJSON(w, http.StatusConflict, APIError{Error: fmt.Sprintf(
			"node %s already has Raft state (it was bootstrapped or joined before): a region is formed once, from nodes without state; add nodes with 'meridian region join'", self)})
		return
	}
	if len(req.Servers) == 0 {
		writeJSON(w, http.StatusBadRequest, APIError{Error: "bootstrap needs at least one server"})
		return
	}
	ids, addrs := map[string]bool{}, map[string]bool{}
	var servers []raft.Server
	found := false
	for _, s := range req.Servers {
		if err := checkName(s.ID); err != nil || s.Address == "" {
			writeJSON(w, http.StatusBadRequest, APIError{Error: fmt.Sprintf("bad server %+v: an id (letters, digits, '-', '_', '.') and an address are required", s)})
			return
		}
		if ids[s.ID] || addrs[s.Address] {
			writeJSON(w, http.StatusBadRequest, APIError{Error: fmt.Sprintf("server %s at %s is listed twice (ids and addresses must be unique)", s.ID, s.Address)})
			return
		}
		ids[s.ID], addrs[s.Address] = true, true
		if s.ID == self {
			found = true
			if s.Address != n.group.RaftAddr() {
				writeJSON(w, http.StatusBadRequest, APIError{Error: fmt.Sprintf("node %s's raft address is %s, not %s", self, n.group.RaftAddr(), s.Address)})
				return
			}
		}
		servers = append(servers, raft.Server{ID: raft.ServerID(s.ID), Address: raft.ServerAddress(s.Address), Suffrage: raft.Voter})
	}
	if !found {
		writeJSON(w, http.StatusBadRequest, APIError{Error: fmt.Sprintf("the servers must include this node (%s at %s)", self, n.group.RaftAddr())})
		return
	}
	if err := n.group.Bootstrap(servers); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, regional.ErrExistingState) {
			code = http.StatusConflict
		}
		writeJSON(w, code, APIError{Error: fmt.Sprintf("node %s: %v", self, err)})
		return
	}
	n.log.Info("region bootstrapped", "servers", req.Servers)
	writeJSON(w, http.StatusOK, req)
}

func (n *Node) serveJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := checkName(req.ID); err != nil || req.Address == "" {
		writeJSON(w, http.StatusBadRequest, APIError{Error: "join needs the new node's id and raft address"})
		return
	}
	n.onLeader(w, r, req, func() (int, any) {
		ms, err := n.group.Members()
		if err != nil {
			return http.StatusInternalServerError, APIError{Error: err.Error()}
		}
		for _, m := range ms {
			switch {
			case m.ID == req.ID && m.Address == req.Address:
				return http.StatusOK, APIResult{Message: fmt.Sprintf("node %s at %s is already a member", req.ID, req.Address), Leader: n.cfg.NodeID}
			case m.ID == req.ID:
				return http.StatusConflict, APIError{Error: fmt.Sprintf("node id %s is already a member, at %s", req.ID, m.Address)}
			case m.Address == req.Address:
				return http.StatusConflict, APIError{Error: fmt.Sprintf("address %s already belongs to member %s", req.Address, m.ID)}
			}
		}
		if err := n.group.Join(req.ID, req.Address); err != nil {
			return errorCode(err), APIError{Error: err.Error()}
		}
		return http.StatusOK, APIResult{Message: fmt.Sprintf("node %s at %s joined as a non-voter; the leader promotes it once it has caught up", req.ID, req.Address), Leader: n.cfg.NodeID}
	})
}

func (n *Node) serveLeave(w http.ResponseWriter, r *http.Request) {
	var req LeaveRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.ID == "" {
		writeJSON(w, http.StatusBadRequest, APIError{Error: "leave needs the id of the node to remove"})
		return
	}
	n.onLeader(w, r, req, func() (int, any) {
		ms, err := n.group.Members()
		if err != nil {
			return http.StatusInternalServerError, APIError{Error: err.Error()}
		}
		member := false
		for _, m := range ms {
			member = member || m.ID == req.ID
		}
		if !member {
			return http.StatusNotFound, APIError{Error: fmt.Sprintf("node %s is not a member of this region", req.ID)}
		}
		if err := n.group.Leave(req.ID); err != nil {
			return errorCode(err), APIError{Error: err.Error()}
		}
		return http.StatusOK, APIResult{Message: fmt.Sprintf("node %s removed from the region; it stops serving, and its id can never join again", req.ID), Leader: n.cfg.NodeID}
	})
}

// onLeader runs a membership change: here when this node leads, else
// forwarded to the leader through its Raft port, whose answer is relayed.
func (n *Node) onLeader(w http.ResponseWriter, r *http.Request, body any, local func() (int, any)) {
	st := n.group.Status()
	if st.Role == "leader" {
		code, v := local()
		writeJSON(w, code, v)
		return
	}
	if st.Leader == "" || st.LeaderAddr == "" {
		writeJSON(w, http.StatusServiceUnavailable, APIError{Error: fmt.Sprintf("node %s knows no leader (role %s): is a quorum of the region up?", n.cfg.NodeID, st.Role)})
		return
	}
	notLeader := APIError{LeaderID: st.Leader, LeaderAddr: st.LeaderAddr}
	if by := r.Header.Get(forwardedHeader); by != "" {
		notLeader.Error = fmt.Sprintf("node %s (forwarded to by %s) is not the leader; the leader is %s at %s", n.cfg.NodeID, by, st.Leader, st.LeaderAddr)
		writeJSON(w, http.StatusMisdirectedRequest, notLeader)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, APIError{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+st.LeaderAddr+r.URL.Path, bytes.NewReader(data))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, APIError{Error: err.Error()})
		return
	}
	req.Header.Set(forwardedHeader, n.cfg.NodeID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.admin.Do(req)
	if err != nil {
		notLeader.Error = fmt.Sprintf("node %s is not the leader and cannot reach the leader %s at %s: %v", n.cfg.NodeID, st.Leader, st.LeaderAddr, err)
		writeJSON(w, http.StatusMisdirectedRequest, notLeader)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 16<<20))
}

// errorCode maps an error of a membership change to an HTTP code.
func errorCode(err error) int {
	switch {
	case errors.Is(err, regional.ErrNotLeader), errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost):
		return http.StatusMisdirectedRequest
	case errors.Is(err, regional.ErrIDReused):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// decodeBody decodes a JSON request body into v, or answers 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, APIError{Error: "bad request body: " + err.Error()})
		return false
	}
	return true
}
