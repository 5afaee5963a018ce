package ops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/meridian-kv/meridian/regional"
)

// LinkRequest is the body of POST /v1/region/link: a peer region, its id
// and the link (gRPC) addresses of its nodes. Linking a region already
// linked under the same name and id replaces its addresses.
type LinkRequest struct {
	Name  string   `json:"name"`
	ID    uint32   `json:"id"`
	Addrs []string `json:"addrs"`
}

// UnlinkRequest is the body of POST /v1/region/unlink.
type UnlinkRequest struct {
	Name string `json:"name"`
}

// LinkReport is the body of GET /v1/region/links: the links to peer
// regions as the answering node knows them. Every node knows the peers
// and what its region merged from each (Applied, LagSeconds); only the
// leader, which runs the links, knows whether each is connected and how
// far behind the peer is (Active, Connected, LagEntries). A follower
// therefore adds the leader's report, asked through its Raft port.
type LinkReport struct {
	NodeID   string `json:"node_id"`
	Role     string `json:"role"`
	Region   string `json:"region"`
	RegionID uint32 `json:"region_id"`
	// LinkAddr is the node's link port; empty when it has none (started
	// without --link: the region cannot be linked while it leads).
	LinkAddr string                `json:"link_addr,omitempty"`
	Links    []regional.LinkStatus `json:"links"`
	// Leader is the leader's report, on a follower that could reach it;
	// LeaderError says why it is missing.
	Leader      *LinkReport `json:"leader,omitempty"`
	LeaderError string      `json:"leader_error,omitempty"`
}

// Effective returns the report that knows the links' connections: the
// leader's when this one carries it, else this one.
func (r *LinkReport) Effective() *LinkReport {
	if r.Leader != nil {
		return r.Leader
	}
	return r
}

// linkReport returns this node's own LinkReport.
func (n *Node) linkReport() LinkReport {
	st := n.group.Status()
	links := n.group.LinkStatus()
	if links == nil {
		links = []regional.LinkStatus{}
	}
	return LinkReport{
		NodeID: n.cfg.NodeID, Role: st.Role, Region: n.cfg.Region, RegionID: n.cfg.RegionID,
		LinkAddr: n.group.LinkAddr(), Links: links,
	}
}

func (n *Node) serveLinks(w http.ResponseWriter, r *http.Request) {
	rep := n.linkReport()
	st := n.group.Status()
	// A forwarded request (from a follower) gets this node's view alone,
	// so that two nodes that each take the other for the leader never
	// ask each other in turn.
	if st.Role != "leader" && r.Header.Get(forwardedHeader) == "" && len(rep.Links) > 0 {
		if st.LeaderAddr == "" {
			rep.LeaderError = "no leader known"
		} else {
			var lr LinkReport
			ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
			err := n.adminGetForwarded(ctx, st.LeaderAddr, "/v1/region/links", &lr)
			cancel()
			switch {
			case err != nil:
				rep.LeaderError = fmt.Sprintf("leader %s at %s: %v", st.Leader, st.LeaderAddr, err)
			case lr.Role != "leader":
				rep.LeaderError = fmt.Sprintf("%s at %s answers as %s, not as the leader", lr.NodeID, st.LeaderAddr, lr.Role)
			default:
				rep.Leader = &lr
			}
		}
	}
	writeJSON(w, http.StatusOK, rep)
}

// adminGetForwarded is adminCall for a GET marked as forwarded.
func (n *Node) adminGetForwarded(ctx context.Context, raftAddr, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+raftAddr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set(forwardedHeader, n.cfg.NodeID)
	resp, err := n.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, out)
}

// checkLinkRequest returns why req cannot name a peer region of this
// one, or "".
func (n *Node) checkLinkRequest(req *LinkRequest) string {
	if err := checkName(req.Name); err != nil {
		return fmt.Sprintf("the peer region's name %v", err)
	}
	if req.Name == n.cfg.Region {
		return fmt.Sprintf("%q is this region's own name: a region links to others", req.Name)
	}
	if req.ID == 0 {
		return "the peer region's id is required (its --region-id, >= 1)"
	}
	if req.ID == n.cfg.RegionID {
		return fmt.Sprintf("region id %d is this region's own: linked regions need distinct ids", req.ID)
	}
	if len(req.Addrs) == 0 {
		return "at least one link address of the peer region is required (its nodes' --link host:port)"
	}
	seen := map[string]bool{}
	for _, a := range req.Addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return fmt.Sprintf("link address %q is not host:port", a)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return fmt.Sprintf("link address %q: port must be between 1 and 65535", a)
		}
		if unspecified(host) {
			return fmt.Sprintf("link address %q: give an address the leader can dial, not an unspecified one", a)
		}
		if seen[a] {
			return fmt.Sprintf("link address %q is listed twice", a)
		}
		seen[a] = true
	}
	return ""
}

func (n *Node) serveLink(w http.ResponseWriter, r *http.Request) {
	var req LinkRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if msg := n.checkLinkRequest(&req); msg != "" {
		writeJSON(w, http.StatusBadRequest, APIError{Error: msg})
		return
	}
	n.onLeader(w, r, req, func() (int, any) {
		spec := regional.LinkSpec{Name: req.Name, ID: req.ID, Addrs: req.Addrs}
		verb := "linked"
		for _, l := range n.group.Links() {
			switch {
			case l.Name == req.Name && l.ID == req.ID && slices.Equal(l.Addrs, req.Addrs):
				return http.StatusOK, APIResult{Message: fmt.Sprintf("region %s (id %d) is already linked at %s", req.Name, req.ID, strings.Join(req.Addrs, ",")), Leader: n.cfg.NodeID}
			case l.Name == req.Name && l.ID == req.ID:
				verb = "changed the addresses of"
			case l.Name == req.Name || l.ID == req.ID:
				return http.StatusConflict, APIError{Error: fmt.Sprintf("region %s (id %d) is linked already: unlink it first", l.Name, l.ID)}
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
		defer cancel()
		if err := n.group.AddLink(ctx, spec); err != nil {
			return n.linkError(err)
		}
		n.log.Info("region linked", "peer", req.Name, "peer_id", req.ID, "addrs", req.Addrs)
		return http.StatusOK, APIResult{Message: fmt.Sprintf("%s region %s (id %d) at %s; the leader %s ships this region's writes to it once it links this region (%s) too",
			verb, req.Name, req.ID, strings.Join(req.Addrs, ","), n.cfg.NodeID, n.cfg.Region), Leader: n.cfg.NodeID}
	})
}

func (n *Node) serveUnlink(w http.ResponseWriter, r *http.Request) {
	var req UnlinkRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Name == "" {
		writeJSON(w, http.StatusBadRequest, APIError{Error: "unlink needs the peer region's name"})
		return
	}
	n.onLeader(w, r, req, func() (int, any) {
		ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
		defer cancel()
		if err := n.group.RemoveLink(ctx, req.Name); err != nil {
			return n.linkError(err)
		}
		n.log.Info("region unlinked", "peer", req.Name)
		return http.StatusOK, APIResult{Message: fmt.Sprintf("unlinked region %s: shipping to it stopped; what was merged from it stays", req.Name), Leader: n.cfg.NodeID}
	})
}

// linkError maps an error of a link change to an answer.
func (n *Node) linkError(err error) (int, any) {
	switch {
	case errors.Is(err, regional.ErrNoLinks):
		return http.StatusConflict, APIError{Error: fmt.Sprintf(
			"node %s (the leader) has no link port: start every node of the region with --link and --link-token", n.cfg.NodeID)}
	case errors.Is(err, regional.ErrUnknownLink):
		return http.StatusNotFound, APIError{Error: fmt.Sprintf("%v (see 'meridian region links')", strings.TrimPrefix(err.Error(), "regional: "))}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, APIError{Error: "the link change was not applied in time: is a quorum of the region up?"}
	}
	return errorCode(err), APIError{Error: err.Error()}
}
