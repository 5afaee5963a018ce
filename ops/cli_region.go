package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The region CLI talks to nodes' admin API over HTTP (their --http
// address). Any member can be named: a follower forwards join and leave
// to the leader through the Raft port, and answers members with every
// member's own status, so the CLI never needs the leader's address.

const regionUsage = `Usage: meridian region <command> [flags]

Commands:

	bootstrap --nodes URL,URL,...    form a new region from nodes without state
	join      --http URL --node URL  add a node (joins as a non-voter, promoted once caught up)
	leave     --http URL --node-id ID
	                                 remove a node for good (its id can never join again)
	members   --http URL [--json]    list the members and their health

	link NAME ADDR[,ADDR...] --id ID [--http URL] [--wait 30s]
	                                 link a peer region: ship this region's writes
	                                 to it and merge its writes (run it in both
	                                 regions); ADDR is a peer node's --link address
	unlink NAME [--http URL]         stop shipping to a peer region
	links [--http URL] [--json]      list the peer regions, their connection and lag

URL is a node's --http address, e.g. http://127.0.0.1:9121 (the scheme may
be left out). --http may name any member: followers forward to the leader.
Exit status: 0 done, 1 failed (the reason on stderr), 2 bad usage.
`

const statusUsage = `Usage: meridian status [--http URL] [--json]

Prints a node's role, its region's leader, term, commit and applied index,
every member's health and, for a linked region, each peer region's
connection and lag. --json prints the node's /v1/status,
/v1/region/members and /v1/region/links answers as one JSON object.

Flags:
`

// cliRequestTimeout bounds one admin API request of the CLI (a join
// forwarded to the leader takes the longest).
const cliRequestTimeout = 45 * time.Second

// cliError is a failure the CLI reports on one line and exits 1 with.
type cliError struct{ msg string }

func (e *cliError) Error() string { return e.msg }

func failf(format string, args ...any) error { return &cliError{fmt.Sprintf(format, args...)} }

// cliUsageError is a bad command line: exit 2.
type cliUsageError struct{ msg string }

func (e *cliUsageError) Error() string { return e.msg }

// cli runs one command against the admin API.
type cli struct {
	name   string // "meridian region join"
	stdout io.Writer
	hc     *http.Client
}

// newFlags returns a flag set for a subcommand; errors are reported by
// the caller, help goes to stdout.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args; help prints the usage and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return &cliUsageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &cliUsageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// exitCode reports err on stderr as one line and returns the exit code.
func exitCode(name string, err error, stderr io.Writer) int {
	var ue *cliUsageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", name, ue.msg, name)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "%s: %s\n", name, strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitError
	}
}

// runRegion is `meridian region <command>`.
func runRegion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, regionUsage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	c := &cli{name: "meridian region " + cmd, stdout: stdout, hc: &http.Client{Timeout: cliRequestTimeout}}
	var err error
	switch cmd {
	case "bootstrap":
		err = c.bootstrap(ctx, rest)
	case "join":
		err = c.join(ctx, rest)
	case "leave":
		err = c.leave(ctx, rest)
	case "members":
		err = c.members(ctx, rest)
	case "link":
		err = c.link(ctx, rest)
	case "unlink":
		err = c.unlink(ctx, rest)
	case "links":
		err = c.links(ctx, rest)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, regionUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "meridian region: unknown command %q\n\n%s", cmd, regionUsage)
		return exitUsage
	}
	return exitCode(c.name, err, stderr)
}

// runStatus is `meridian status`.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{name: "meridian status", stdout: stdout, hc: &http.Client{Timeout: cliRequestTimeout}}
	return exitCode(c.name, c.status(ctx, args), stderr)
}

// nodeURL normalises a node's HTTP address: "127.0.0.1:9121" and
// "http://127.0.0.1:9121/" are both "http://127.0.0.1:9121".
func nodeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &cliUsageError{"empty node URL"}
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", &cliUsageError{fmt.Sprintf("%q is not a node URL (http://host:port)", s)}
	}
	return u.Scheme + "://" + u.Host, nil
}

// call makes one admin API request and decodes the answer into out.
func (c *cli) call(ctx context.Context, method, base, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", base, err)
	}
	defer resp.Body.Close()
	if err := decodeAnswer(resp, out); err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
	return nil
}

func (c *cli) nodeStatus(ctx context.Context, base string) (NodeStatus, error) {
	var st NodeStatus
	err := c.call(ctx, http.MethodGet, base, "/v1/status", nil, &st)
	return st, err
}

// waitStatus fetches a node's status, retrying while the node does not
// answer (it may be starting) until ctx ends.
func (c *cli) waitStatus(ctx context.Context, base string) (NodeStatus, error) {
	for {
		st, err := c.nodeStatus(ctx, base)
		var ae *answerError
		if err == nil || errors.As(err, &ae) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *cli) bootstrap(ctx context.Context, args []string) error {
	fs := newFlags(c.name)
	nodes := fs.String("nodes", "", "comma-separated `URLs` of the new region's nodes; the first is bootstrapped with all of them")
	ifNew := fs.Bool("if-new", false, "succeed without doing anything when the nodes already form a region")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the nodes to answer and for a leader")
	usage := "Usage: meridian region bootstrap --nodes URL,URL,... [--if-new]\n\n" +
		"Forms a new region from nodes started with --raft and no state (never\n" +
		"bootstrapped or joined). Refuses if any node already has state.\n\nFlags:\n"
	if err := parseFlags(fs, args, usage, c.stdout); err != nil {
		return err
	}
	if *nodes == "" {
		return &cliUsageError{"--nodes is required"}
	}
	var bases []string
	for _, s := range strings.Split(*nodes, ",") {
		b, err := nodeURL(s)
		if err != nil {
			return err
		}
		bases = append(bases, b)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	sts := make([]NodeStatus, len(bases))
	ids, addrs := map[string]string{}, map[string]string{}
	var withState []string
	for i, b := range bases {
		st, err := c.waitStatus(ctx, b)
		if err != nil {
			return err
		}
		if st.Mode != "region" {
			return failf("%s (node %s) runs without Raft: start it with --raft", b, st.NodeID)
		}
		if other, ok := ids[st.NodeID]; ok {
			return failf("%s and %s are both node %s: node ids must be unique", other, b, st.NodeID)
		}
		if other, ok := addrs[st.RaftAddr]; ok {
			return failf("%s and %s both advertise raft address %s", other, b, st.RaftAddr)
		}
		if i > 0 && st.RegionID != sts[0].RegionID {
			return failf("%s is in region id %d, %s in region id %d: a region's nodes share one region-id", bases[0], sts[0].RegionID, b, st.RegionID)
		}
		ids[st.NodeID], addrs[st.RaftAddr] = b, b
		sts[i] = st
		if st.HasState {
			withState = append(withState, st.NodeID)
		}
	}
	if len(withState) > 0 {
		if *ifNew && formed(sts) {
			fmt.Fprintf(c.stdout, "region already formed (%s have state): nothing to do\n", strings.Join(withState, ", "))
			return nil
		}
		return failf("refusing to bootstrap: %s already %s Raft state; a region is formed once, from nodes without state (add a node with 'meridian region join')",
			strings.Join(withState, ", "), map[bool]string{true: "has", false: "have"}[len(withState) == 1])
	}

	req := BootstrapRequest{}
	for _, st := range sts {
		req.Servers = append(req.Servers, Server{ID: st.NodeID, Address: st.RaftAddr})
	}
	if err := c.call(ctx, http.MethodPost, bases[0], "/v1/region/bootstrap", req, nil); err != nil {
		return err
	}
	// Wait for a leader, so that the region is usable when we return.
	for {
		st, err := c.nodeStatus(ctx, bases[0])
		if err == nil && st.Leader != "" {
			fmt.Fprintf(c.stdout, "region %s formed: %s; leader %s\n", sts[0].Region, strings.Join(serverIDs(req.Servers), ", "), st.Leader)
			return nil
		}
		select {
		case <-ctx.Done():
			return failf("bootstrapped %s, but no leader was elected within %v: are a majority of the nodes up and reachable on their raft addresses?", bases[0], *timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// formed reports whether nodes with and without state already make one
// region: every node without state is a member in the configuration of a
// node with state (it will catch up once it reaches the leader).
func formed(sts []NodeStatus) bool {
	members := map[string]bool{}
	for _, st := range sts {
		if st.HasState {
			for _, m := range st.Members {
				members[m.ID] = true
			}
		}
	}
	for _, st := range sts {
		if !members[st.NodeID] {
			return false
		}
	}
	return true
}

func serverIDs(ss []Server) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func (c *cli) join(ctx context.Context, args []string) error {
	fs := newFlags(c.name)
	member := fs.String("http", "http://127.0.0.1:9121", "`URL` of any member of the region")
	node := fs.String("node", "", "`URL` of the node to add (started with --raft, no state)")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the node's promotion to voter (0: do not wait)")
	usage := "Usage: meridian region join --http URL --node URL [--wait 1m]\n\n" +
		"Adds a node to the region as a non-voter; the leader promotes it to voter\n" +
		"once it has caught up. Node ids are never reused.\n\nFlags:\n"
	if err := parseFlags(fs, args, usage, c.stdout); err != nil {
		return err
	}
	if *node == "" {
		return &cliUsageError{"--node is required"}
	}
	mbase, err := nodeURL(*member)
	if err != nil {
		return err
	}
	nbase, err := nodeURL(*node)
	if err != nil {
		return err
	}
	ns, err := c.nodeStatus(ctx, nbase)
	if err != nil {
		return err
	}
	if ns.Mode != "region" {
		return failf("%s (node %s) runs without Raft: start it with --raft", nbase, ns.NodeID)
	}
	ms, err := c.nodeStatus(ctx, mbase)
	if err != nil {
		return err
	}
	if ms.RegionID != ns.RegionID {
		return failf("node %s is in region id %d, the region of %s has id %d", ns.NodeID, ns.RegionID, mbase, ms.RegionID)
	}
	if ns.HasState && !isMember(ms, ns.NodeID, ns.RaftAddr) {
		return failf("node %s already has Raft state but is not a member of this region: wipe its data dir and give it a new --node-id (ids are never reused)", ns.NodeID)
	}
	var res APIResult
	if err := c.call(ctx, http.MethodPost, mbase, "/v1/region/join", JoinRequest{ID: ns.NodeID, Address: ns.RaftAddr}, &res); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res.Message)
	if *wait <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	for {
		st, err := c.nodeStatus(wctx, mbase)
		if err == nil {
			for _, m := range st.Members {
				if m.ID == ns.NodeID && m.Voter {
					fmt.Fprintf(c.stdout, "node %s promoted to voter\n", ns.NodeID)
					return nil
				}
			}
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(c.stdout, "node %s not promoted yet after %v: it is still catching up (see 'meridian region members')\n", ns.NodeID, *wait)
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func isMember(st NodeStatus, id, addr string) bool {
	for _, m := range st.Members {
		if m.ID == id && m.Address == addr {
			return true
		}
	}
	return false
}

func (c *cli) leave(ctx context.Context, args []string) error {
	fs := newFlags(c.name)
	member := fs.String("http", "http://127.0.0.1:9121", "`URL` of any member of the region")
	id := fs.String("node-id", "", "`id` of the node to remove")
	usage := "Usage: meridian region leave --http URL --node-id ID\n\n" +
		"Removes a node from the region for good: it stops serving, and its id\n" +
		"can never join again.\n\nFlags:\n"
	if err := parseFlags(fs, args, usage, c.stdout); err != nil {
		return err
	}
	if *id == "" {
		return &cliUsageError{"--node-id is required"}
	}
	base, err := nodeURL(*member)
	if err != nil {
		return err
	}
	var res APIResult
	if err := c.call(ctx, http.MethodPost, base, "/v1/region/leave", LeaveRequest{ID: *id}, &res); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res.Message)
	return nil
}

func (c *cli) members(ctx context.Context, args []string) error {
	usage := "Usage: meridian region members [--http URL] [--json]\n\nFlags:\n"
	var ml MemberList
	if printed, err := c.getReport(ctx, args, usage, "/v1/region/members", &ml); printed || err != nil {
		return err
	}
	printMembers(c.stdout, ml)
	return nil
}

// getReport parses --http (any member) and --json, GETs path from that
// member into out, and prints it as JSON if --json is set; it reports
// whether it printed (else the caller prints out its own way).
func (c *cli) getReport(ctx context.Context, args []string, usage, path string, out any) (bool, error) {
	fs := newFlags(c.name)
	member := fs.String("http", "http://127.0.0.1:9121", "`URL` of any member of the region")
	asJSON := fs.Bool("json", false, "print the answer (GET "+path+") as JSON")
	if err := parseFlags(fs, args, usage, c.stdout); err != nil {
		return false, err
	}
	base, err := nodeURL(*member)
	if err != nil {
		return false, err
	}
	if err := c.call(ctx, http.MethodGet, base, path, nil, out); err != nil {
		return false, err
	}
	if *asJSON {
		return true, printJSON(c.stdout, out)
	}
	return false, nil
}

// statusReport is what `meridian status --json` prints.
type statusReport struct {
	Node    NodeStatus  `json:"node"`
	Members *MemberList `json:"members,omitempty"`
	// MembersError says why Members is missing.
	MembersError string `json:"members_error,omitempty"`
	// Links are the region's links to peer regions; LinksError says why
	// they are missing.
	Links      *LinkReport `json:"links,omitempty"`
	LinksError string      `json:"links_error,omitempty"`
}

func (c *cli) status(ctx context.Context, args []string) error {
	fs := newFlags(c.name)
	base := fs.String("http", "http://127.0.0.1:9121", "`URL` of the node")
	asJSON := fs.Bool("json", false, "print the answers as JSON")
	if err := parseFlags(fs, args, statusUsage, c.stdout); err != nil {
		return err
	}
	b, err := nodeURL(*base)
	if err != nil {
		return err
	}
	st, err := c.nodeStatus(ctx, b)
	if err != nil {
		return err
	}
	rep := statusReport{Node: st}
	if st.Mode == "region" {
		var ml MemberList
		if err := c.call(ctx, http.MethodGet, b, "/v1/region/members", nil, &ml); err != nil {
			rep.MembersError = err.Error()
		} else {
			rep.Members = &ml
		}
		var lr LinkReport
		if err := c.call(ctx, http.MethodGet, b, "/v1/region/links", nil, &lr); err != nil {
			rep.LinksError = err.Error()
		} else {
			rep.Links = &lr
		}
	}
	if *asJSON {
		return printJSON(c.stdout, rep)
	}
	w := c.stdout
	if st.Mode != "region" {
		fmt.Fprintf(w, "node     %s (standalone: no Raft)\nregion   %s (id %d)\nresp     %s\n", st.NodeID, st.Region, st.RegionID, st.RESPAddr)
		return nil
	}
	role := st.Role
	if st.Role == "leader" && !st.Ready {
		role += ", not ready yet"
	}
	leader := "none"
	if st.Leader != "" {
		leader = st.Leader + " at " + st.LeaderAddr
	}
	fmt.Fprintf(w, "node     %s (%s)\n", st.NodeID, role)
	fmt.Fprintf(w, "region   %s (id %d)\n", st.Region, st.RegionID)
	fmt.Fprintf(w, "leader   %s\n", leader)
	fmt.Fprintf(w, "term     %d\n", st.Term)
	fmt.Fprintf(w, "index    commit %d, applied %d, last %d\n", st.CommitIndex, st.AppliedIndex, st.LastIndex)
	if rep.Links != nil && rep.Links.LinkAddr != "" {
		fmt.Fprintf(w, "link     %s, peer regions: %d\n", rep.Links.LinkAddr, len(rep.Links.Links))
	}
	if !st.HasState {
		fmt.Fprintln(w, "state    none: bootstrap the region or join this node to one")
	}
	if st.Removed {
		fmt.Fprintln(w, "removed  yes: this node was removed from the region")
	}
	fmt.Fprintln(w)
	if rep.Members == nil {
		fmt.Fprintf(w, "members  unknown: %s\n", rep.MembersError)
	} else {
		printMembers(w, *rep.Members)
	}
	switch {
	case rep.Links == nil:
		fmt.Fprintf(w, "\nlinks    unknown: %s\n", rep.LinksError)
	case len(rep.Links.Links) > 0:
		fmt.Fprintln(w)
		printLinks(w, rep.Links)
	}
	return nil
}

// printMembers prints a member table.
func printMembers(w io.Writer, ml MemberList) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tVOTER\tROLE\tTERM\tAPPLIED\tLAG\tHEALTH")
	for _, m := range ml.Members {
		voter := "no"
		if m.Voter {
			voter = "yes"
		}
		if !m.Reachable {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\tunreachable: %s\n", m.ID, m.Address, voter, m.Error)
			continue
		}
		lag := "0"
		if ml.CommitIndex > m.AppliedIndex {
			lag = strconv.FormatUint(ml.CommitIndex-m.AppliedIndex, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\tok\n", m.ID, m.Address, voter, m.Role, m.Term, m.AppliedIndex, lag)
	}
	tw.Flush()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
