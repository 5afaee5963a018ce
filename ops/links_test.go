package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// linkTestToken is the region-set token of the linked test regions.
const linkTestToken = "ops-test-token"

// linkedNode configures a region node of region name (id) with a link
// port; solo forms a one-node region at start.
func linkedNode(name string, id uint32, solo bool) func(c *Config) {
	return func(c *Config) {
		c.Region, c.RegionID = name, id
		c.Link, c.LinkToken = "127.0.0.1:0", linkTestToken
		c.LinkTick = 20 * time.Millisecond
		c.BootstrapSingle = solo
	}
}

// linksOf runs `meridian region links --json` against url.
func linksOf(t *testing.T, url string) LinkReport {
	t.Helper()
	var lr LinkReport
	if err := json.Unmarshal([]byte(mustCLI(t, "region", "links", "--json", "--http", url)), &lr); err != nil {
		t.Fatal(err)
	}
	return lr
}

// infoLine returns the value of field in an INFO reply, or "".
func infoLine(info, field string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}

// TestLinkRegionsThroughCLI links two one-node regions both ways with the
// CLI, reads a write of each region in the other through RESP, checks
// what links, status and INFO replication report, and unlinks.
func TestLinkRegionsThroughCLI(t *testing.T) {
	ctx := t.Context()
	east := startRegionNode(t, "n1", "", linkedNode("east", 1, true))
	west := startRegionNode(t, "n1", "", linkedNode("west", 2, true))
	leaderOf(t, []*regionNode{east})
	leaderOf(t, []*regionNode{west})

	// Before linking: no peers.
	if out := mustCLI(t, "region", "links", "--http", east.url()); !strings.Contains(out, "region east (id 1) is linked to no other region") {
		t.Errorf("links before linking printed %q", out)
	}

	out := mustCLI(t, "region", "link", "west", west.LinkAddr(), "--id", "2", "--http", east.url())
	if !strings.Contains(out, "linked region west (id 2) at "+west.LinkAddr()) {
		t.Errorf("link printed %q", out)
	}
	// Flags may also come first; --wait returns once the link is up,
	// which needs both sides.
	out = mustCLI(t, "region", "link", "--http", west.url(), "--id", "1", "--wait", "15s", "east", east.LinkAddr())
	if !strings.Contains(out, "linked region east (id 1)") || !strings.Contains(out, "link to region east connected") {
		t.Errorf("link back printed %q", out)
	}
	// Linking again is a no-op.
	if out := mustCLI(t, "region", "link", "west", west.LinkAddr(), "--id", "2", "--http", east.url()); !strings.Contains(out, "already linked") {
		t.Errorf("second link printed %q", out)
	}

	t.Run("a write in one region is read in the other", func(t *testing.T) {
		if err := redisClient(t, east).Set(ctx, "greeting", "hello from east", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := redisClient(t, west).Set(ctx, "reply", "hello from west", 0).Err(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "east's write in west", func() bool {
			v, err := redisClient(t, west).Get(ctx, "greeting").Result()
			return err == nil && v == "hello from east"
		})
		waitFor(t, "west's write in east", func() bool {
			v, err := redisClient(t, east).Get(ctx, "reply").Result()
			return err == nil && v == "hello from west"
		})
	})

	t.Run("links", func(t *testing.T) {
		var lr LinkReport
		waitFor(t, "east's link to west connected and caught up", func() bool {
			lr = linksOf(t, east.url())
			return len(lr.Links) == 1 && lr.Links[0].Connected && lr.Links[0].LagEntries == 0 && lr.Links[0].Applied > 0
		})
		l := lr.Links[0]
		if lr.Region != "east" || lr.RegionID != 1 || lr.Role != "leader" || lr.LinkAddr != east.LinkAddr() || lr.Leader != nil ||
			l.Name != "west" || l.ID != 2 || len(l.Addrs) != 1 || l.Addrs[0] != west.LinkAddr() || !l.Active || l.LagSeconds < 0 {
			t.Errorf("links --json = %+v", lr)
		}
		table := mustCLI(t, "region", "links", "--http", east.url())
		if !strings.Contains(table, "NAME  ID  ADDRS") {
			t.Errorf("links table lacks its header:\n%s", table)
		}
		row := strings.Fields(memberRow(table, "west"))
		if len(row) != 7 || row[1] != "2" || row[2] != west.LinkAddr() || row[3] != "yes" || row[4] != "0" || row[5] == "-" || row[6] == "0" {
			t.Errorf("links row of west = %q:\n%s", row, table)
		}
	})

	t.Run("status", func(t *testing.T) {
		out := mustCLI(t, "status", "--http", west.url())
		if !strings.Contains(out, "link     "+west.LinkAddr()+", peer regions: 1") {
			t.Errorf("status lacks the link port:\n%s", out)
		}
		if row := memberRow(out, "east"); !strings.HasPrefix(row, "east 1 "+east.LinkAddr()+" yes ") {
			t.Errorf("status row of east = %q:\n%s", row, out)
		}
		var rep statusReport
		if err := json.Unmarshal([]byte(mustCLI(t, "status", "--json", "--http", west.url())), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Links == nil || len(rep.Links.Links) != 1 || rep.Links.Links[0].Name != "east" {
			t.Errorf("status --json links = %+v (%s)", rep.Links, rep.LinksError)
		}
	})

	t.Run("INFO replication", func(t *testing.T) {
		info, err := redisClient(t, east).Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		if v := infoLine(info, "linked_regions"); v != "1" {
			t.Errorf("linked_regions = %q:\n%s", v, info)
		}
		peer := infoLine(info, "peer0")
		fields := map[string]string{}
		for _, kv := range strings.Split(peer, ",") {
			k, v, _ := strings.Cut(kv, "=")
			fields[k] = v
		}
		if !strings.HasPrefix(peer, "name=west,id=2,connected=1,lag_entries=") || fields["active"] != "1" ||
			fields["lag_seconds"] == "" || fields["lag_seconds"] == "-1" || fields["applied"] == "" || fields["applied"] == "0" {
			t.Errorf("peer0 = %q:\n%s", peer, info)
		}
		regional, err := redisClient(t, east).Info(ctx, "regional").Result()
		if err != nil {
			t.Fatal(err)
		}
		if v := infoLine(regional, "link_addr"); v != east.LinkAddr() {
			t.Errorf("link_addr = %q, want %s", v, east.LinkAddr())
		}
	})

	t.Run("metrics", func(t *testing.T) {
		m := scrape(t, west.Node)
		if v, ok := m[`meridian_region_link_applied_index{peer="east"}`]; !ok || v < 1 {
			t.Errorf("meridian_region_link_applied_index = %v (present %v)", v, ok)
		}
		if v, ok := m[`meridian_interregion_peer_connected{peer="east"}`]; ok && v != 1 {
			t.Errorf("meridian_interregion_peer_connected = %v", v)
		}
		found := false
		for series := range m {
			found = found || strings.HasPrefix(series, "meridian_interregion_")
		}
		if !found {
			t.Error("the link's metrics (meridian_interregion_*) are not in the node's registry")
		}
	})

	t.Run("bad link requests", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"link", "west", west.LinkAddr()}, 2, "--id is required"},
			{[]string{"link", "west", "--id", "2"}, 2, "needs the peer region's name and its link addresses"},
			{[]string{"link", "west", "a:1", "b:2", "--id", "2"}, 2, "separate addresses with commas"},
			{[]string{"link", "east", "127.0.0.1:1", "--id", "3"}, 1, "this region's own name"},
			{[]string{"link", "south", "127.0.0.1:1", "--id", "1"}, 1, "region id 1 is this region's own"},
			{[]string{"link", "south", "nohost", "--id", "3"}, 1, `"nohost" is not host:port`},
			{[]string{"link", "south", "127.0.0.1:1", "--id", "2"}, 1, "region west (id 2) is linked already: unlink it first"},
			{[]string{"unlink"}, 2, "needs the peer region's name"},
			{[]string{"unlink", "south"}, 1, `no link to that region "south"`},
		} {
			args := append([]string{"region"}, tt.args...)
			args = append(args, "--http", east.url())
			code, _, errs := cliRun(t, args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("meridian %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), code, errs, tt.code, tt.want)
			}
		}
	})

	t.Run("unlink", func(t *testing.T) {
		out := mustCLI(t, "region", "unlink", "west", "--http", east.url())
		if !strings.Contains(out, "unlinked region west") {
			t.Errorf("unlink printed %q", out)
		}
		if lr := linksOf(t, east.url()); len(lr.Links) != 0 {
			t.Errorf("links after unlink = %+v", lr.Links)
		}
		info, err := redisClient(t, east).Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		if v := infoLine(info, "linked_regions"); v != "0" || infoLine(info, "peer0") != "" {
			t.Errorf("INFO replication after unlink:\n%s", info)
		}
		code, _, errs := cliRun(t, "region", "unlink", "west", "--http", east.url())
		if code != 1 || !strings.Contains(errs, `no link to that region "west"`) {
			t.Errorf("second unlink: exit %d, %q", code, errs)
		}
	})
}

// TestLinkForwardedToLeader: link and unlink sent to a follower of a
// three-node region reach the leader, every member learns the peer, and
// a follower's links report carries the leader's view.
func TestLinkForwardedToLeader(t *testing.T) {
	ctx := t.Context()
	nodes := []*regionNode{
		startRegionNode(t, "n1", "", linkedNode("east", 1, false)),
		startRegionNode(t, "n2", "", linkedNode("east", 1, false)),
		startRegionNode(t, "n3", "", linkedNode("east", 1, false)),
	}
	west := startRegionNode(t, "w1", "", linkedNode("west", 2, true))
	mustCLI(t, "region", "bootstrap", "--nodes", nodes[0].url()+","+nodes[1].url()+","+nodes[2].url())
	li := leaderOf(t, nodes)
	leaderOf(t, []*regionNode{west})
	f := nodes[(li+1)%3]
	waitFor(t, "the follower to know the leader", func() bool { return f.Status().Leader == nodes[li].id })

	var eastAddrs []string
	for _, n := range nodes {
		eastAddrs = append(eastAddrs, n.LinkAddr())
	}
	out := mustCLI(t, "region", "link", "west", west.LinkAddr(), "--id", "2", "--http", f.url())
	if !strings.Contains(out, "the leader "+nodes[li].id+" ships") {
		t.Errorf("link through follower %s printed %q", f.id, out)
	}
	waitFor(t, "every member to know the link", func() bool {
		for _, n := range nodes {
			if ls := n.Group().Links(); len(ls) != 1 || ls[0].Name != "west" {
				return false
			}
		}
		return true
	})
	mustCLI(t, "region", "link", "east", strings.Join(eastAddrs, ","), "--id", "1", "--http", west.url(), "--wait", "15s")

	// The follower answers with its own view and the leader's.
	var lr LinkReport
	waitFor(t, "the follower's report to show the leader's connected link", func() bool {
		lr = linksOf(t, f.url())
		return lr.Leader != nil && len(lr.Leader.Links) == 1 && lr.Leader.Links[0].Connected
	})
	if lr.NodeID != f.id || lr.Role != "follower" || len(lr.Links) != 1 || lr.Links[0].Active || lr.Leader.NodeID != nodes[li].id {
		t.Errorf("follower's links report = %+v", lr)
	}
	if table := mustCLI(t, "region", "links", "--http", f.url()); !strings.Contains(table, "as its leader "+nodes[li].id+" reports them") ||
		!strings.HasPrefix(memberRow(table, "west"), "west 2 "+west.LinkAddr()+" yes ") {
		t.Errorf("links through the follower:\n%s", table)
	}

	// A write through a follower of west's peer reaches west.
	if err := redisClient(t, f).Set(ctx, "k", "via follower", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "east's write in west", func() bool {
		v, err := redisClient(t, west).Get(ctx, "k").Result()
		return err == nil && v == "via follower"
	})

	// A follower's INFO replication lists the peer, not active there.
	info, err := redisClient(t, f).Info(ctx, "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	if peer := infoLine(info, "peer0"); !strings.HasPrefix(peer, "name=west,id=2,connected=0,lag_entries=0,") || !strings.HasSuffix(peer, ",active=0") {
		t.Errorf("follower's peer0 = %q", peer)
	}

	// A follower refuses a request another node forwarded to it.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.url()+"/v1/region/unlink", strings.NewReader(`{"name":"west"}`))
	req.Header.Set(forwardedHeader, "n9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("forwarded unlink on a follower = %d, want 421", resp.StatusCode)
	}

	out = mustCLI(t, "region", "unlink", "west", "--http", f.url())
	if !strings.Contains(out, "unlinked region west") {
		t.Errorf("unlink through follower printed %q", out)
	}
	waitFor(t, "every member to forget the link", func() bool {
		for _, n := range nodes {
			if len(n.Group().Links()) != 0 {
				return false
			}
		}
		return true
	})
}

// TestLinkNeedsLinkPort: a region whose nodes run without --link refuses
// link changes with the fix in the message.
func TestLinkNeedsLinkPort(t *testing.T) {
	n := startRegionNode(t, "n1", "", func(c *Config) { c.BootstrapSingle = true })
	leaderOf(t, []*regionNode{n})
	code, _, errs := cliRun(t, "region", "link", "west", "127.0.0.1:1", "--id", "2", "--http", n.url())
	if code != 1 || !strings.Contains(errs, "has no link port: start every node of the region with --link and --link-token") {
		t.Errorf("link without a link port: exit %d, %q", code, errs)
	}
	out := mustCLI(t, "region", "links", "--http", n.url())
	if !strings.Contains(out, "node n1 has no link port") {
		t.Errorf("links without a link port printed %q", out)
	}
}

// TestServerRefusesLinkWithoutToken: `meridian server --link` without a
// token does not start, and says what is missing.
func TestServerRefusesLinkWithoutToken(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{
			name: "no token",
			args: []string{"server", "--port", "0", "--http", "", "--raft", "127.0.0.1:0", "--data-dir", dir, "--link", "127.0.0.1:0"},
			code: exitUsage, want: "link-token is required with link",
		},
		{
			name: "empty token in the environment",
			args: []string{"server", "--port", "0", "--http", "", "--raft", "127.0.0.1:0", "--data-dir", dir, "--link", "127.0.0.1:0"},
			env:  map[string]string{"MERIDIAN_LINK_TOKEN": ""},
			code: exitUsage, want: "MERIDIAN_LINK_TOKEN",
		},
		{
			name: "missing TLS files",
			args: []string{"server", "--port", "0", "--http", "", "--raft", "127.0.0.1:0", "--data-dir", dir, "--link", "127.0.0.1:0",
				"--link-tls-cert", dir + "/none.pem", "--link-tls-key", dir + "/none.key", "--link-tls-ca", dir + "/ca.pem"},
			env:  map[string]string{"MERIDIAN_LINK_TOKEN": "s"},
			code: exitError, want: "link-tls-cert/link-tls-key",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			code := run(ctx, tt.args, env(tt.env), &stdout, &stderr, func(n *Node) {
				t.Error("the node started")
				cancel()
			})
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}
