package ops

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// parseInterspersed parses args whose flags may come before, between or
// after the positional arguments (`link west 10.0.0.1:8379 --id 2`),
// which flag.FlagSet alone stops at; it returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, &cliUsageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// After "--" every argument is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

const linkUsage = `Usage: meridian region link NAME ADDR[,ADDR...] --id ID [--http URL] [--wait 30s]

Links this region to the peer region NAME: the leader ships this region's
writes to it and merges the writes it receives from it. ADDR are the link
addresses (--link) of the peer's nodes; its leader answers on one of them.
ID is the peer's --region-id. Run it in both regions, each naming the
other: a region accepts only peers it has linked. Every node of both
regions needs --link and the same --link-token. Linking a region again with
other addresses replaces them.

Flags:
`

const unlinkUsage = `Usage: meridian region unlink NAME [--http URL]

Forgets the peer region NAME: shipping to it stops and its writes are no
longer merged; what was merged from it stays.

Flags:
`

const linksUsage = `Usage: meridian region links [--http URL] [--json]

Lists the peer regions: their id and addresses, whether the leader's link
to each is connected, how many of this region's log entries each has not
acknowledged (LAG_ENTRIES), how old the newest write merged from each is
(LAG_SECONDS; the peer writes heartbeats when idle, so on a healthy link
it stays near a round trip plus a tick) and how far its log was merged
(APPLIED). Connection and LAG_ENTRIES are the leader's: a follower asks it.

Flags:
`

func (c *cli) link(ctx context.Context, args []string) error {
	fs := newFlags(c.name)
	member := fs.String("http", "http://127.0.0.1:9121", "`URL` of any member of this region")
	id := fs.Uint("id", 0, "the peer region's numeric `id` (its --region-id)")
	wait := fs.Duration("wait", 0, "how long to wait for the link to connect (0: do not wait); it connects once both regions are linked")
	pos, err := parseInterspersed(fs, args, linkUsage, c.stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) < 2:
		return &cliUsageError{"link needs the peer region's name and its link addresses"}
	case len(pos) > 2:
		return &cliUsageError{fmt.Sprintf("unexpected argument %q (separate addresses with commas)", pos[2])}
	case *id == 0:
		return &cliUsageError{"--id is required (the peer region's --region-id)"}
	case *id > 1<<32-1:
		return &cliUsageError{fmt.Sprintf("--id %d is out of range", *id)}
	}
	req := LinkRequest{Name: pos[0], ID: uint32(*id)}
	for _, a := range strings.Split(pos[1], ",") {
		if a = strings.TrimSpace(a); a != "" {
			req.Addrs = append(req.Addrs, a)
		}
	}
	base, err := nodeURL(*member)
	if err != nil {
		return err
	}
	var res APIResult
	if err := c.call(ctx, http.MethodPost, base, "/v1/region/link", req, &res); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res.Message)
	if *wait <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	for {
		var lr LinkReport
		if err := c.call(wctx, http.MethodGet, base, "/v1/region/links", nil, &lr); err == nil {
			for _, l := range lr.Effective().Links {
				if l.Name == req.Name && l.Connected {
					fmt.Fprintf(c.stdout, "link to region %s connected\n", req.Name)
					return nil
				}
			}
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return failf("the link to region %s did not connect within %v: has %s linked this region too, with the same --link-token, and are its link addresses reachable? (see 'meridian region links' and the leader's log)", req.Name, *wait, req.Name)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *cli) unlink(ctx context.Context, args []string) error {
	fs := newFlags(c.name)
	member := fs.String("http", "http://127.0.0.1:9121", "`URL` of any member of this region")
	pos, err := parseInterspersed(fs, args, unlinkUsage, c.stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return &cliUsageError{"unlink needs the peer region's name"}
	case len(pos) > 1:
		return &cliUsageError{fmt.Sprintf("unexpected argument %q", pos[1])}
	}
	base, err := nodeURL(*member)
	if err != nil {
		return err
	}
	var res APIResult
	if err := c.call(ctx, http.MethodPost, base, "/v1/region/unlink", UnlinkRequest{Name: pos[0]}, &res); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res.Message)
	return nil
}

func (c *cli) links(ctx context.Context, args []string) error {
	var lr LinkReport
	if printed, err := c.getReport(ctx, args, linksUsage, "/v1/region/links", &lr); printed || err != nil {
		return err
	}
	if len(lr.Links) == 0 {
		fmt.Fprintf(c.stdout, "region %s (id %d) is linked to no other region\n", lr.Region, lr.RegionID)
		if lr.LinkAddr == "" {
			fmt.Fprintf(c.stdout, "node %s has no link port: start every node with --link and --link-token to link regions\n", lr.NodeID)
		}
		return nil
	}
	printLinks(c.stdout, &lr)
	return nil
}

// printLinks prints a link table from the leader's view when the report
// has it.
func printLinks(w io.Writer, lr *LinkReport) {
	eff := lr.Effective()
	switch {
	case eff != lr:
		fmt.Fprintf(w, "links of region %s (id %d), as its leader %s reports them:\n", lr.Region, lr.RegionID, eff.NodeID)
	case lr.Role == "leader":
		fmt.Fprintf(w, "links of region %s (id %d), as its leader %s reports them:\n", lr.Region, lr.RegionID, lr.NodeID)
	default:
		fmt.Fprintf(w, "links of region %s (id %d), as follower %s knows them (CONNECTED and LAG_ENTRIES are known on the leader only: %s):\n",
			lr.Region, lr.RegionID, lr.NodeID, lr.LeaderError)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tADDRS\tCONNECTED\tLAG_ENTRIES\tLAG_SECONDS\tAPPLIED")
	for _, l := range eff.Links {
		connected, lag := "-", "-"
		if l.Active {
			connected, lag = "no", strconv.FormatUint(l.LagEntries, 10)
			if l.Connected {
				connected = "yes"
			}
			if l.NeedState {
				connected += " (state transfer)"
			}
		}
		secs := "-"
		if l.LagSeconds >= 0 {
			secs = formatLagSeconds(l.LagSeconds)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\n", l.Name, l.ID, strings.Join(l.Addrs, ","), connected, lag, secs, l.Applied)
	}
	tw.Flush()
}
