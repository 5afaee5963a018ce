package ops

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/server"
)

// replicationInfo is INFO replication of a region node. Clients read
// role: the leader is the master, every other node a slave (which still
// accepts writes: it forwards them). The raft_* lines give the Raft view.
// master_host and master_port are left out on purpose: the leader's RESP
// address is not known here, and its Raft address would mislead a client.
func (n *Node) replicationInfo(st regional.Status) server.InfoSection {
	var lines []string
	add := func(k, v string) { lines = append(lines, k+":"+v) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	ids := make([]string, 0, len(st.Members))
	voters := 0
	for _, m := range st.Members {
		ids = append(ids, m.ID)
		if m.Voter {
			voters++
		}
	}
	if st.Role == "leader" {
		add("role", "master")
		add("connected_slaves", strconv.Itoa(max(len(st.Members)-1, 0)))
	} else {
		add("role", "slave")
		link := "down"
		if st.Leader != "" {
			link = "up"
		}
		add("master_link_status", link)
		add("slave_read_only", "0") // writes are forwarded to the leader
	}
	add("raft_role", st.Role)
	add("raft_leader", st.Leader)
	add("raft_leader_addr", st.LeaderAddr)
	add("raft_ready", map[bool]string{false: "0", true: "1"}[st.Ready])
	add("raft_term", u(st.Term))
	add("raft_commit_index", u(st.CommitIndex))
	add("raft_applied_index", u(st.AppliedIndex))
	add("raft_last_index", u(st.LastIndex))
	add("raft_members", strings.Join(ids, ","))
	add("raft_voters", strconv.Itoa(voters))
	lines = append(lines, linkInfoLines(n.group.LinkStatus())...)
	return server.InfoSection{Name: "replication", Lines: lines}
}

// linkInfoLines are INFO replication's lines on peer regions, one a peer
// in the style of Valkey's slaveN lines:
//
//	linked_regions:1
//	peer0:name=west,id=2,connected=1,lag_entries=0,lag_seconds=0.120,applied=1234,active=1
//
// connected and lag_entries are known on the leader, which runs the
// links (active=1); a follower reports 0 for both. lag_seconds is how old
// the peer's newest write merged here is (-1: nothing merged yet);
// applied is how far this region has merged the peer's log.
func linkInfoLines(links []regional.LinkStatus) []string {
	lines := []string{"linked_regions:" + strconv.Itoa(len(links))}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	for i, l := range links {
		lines = append(lines, fmt.Sprintf("peer%d:name=%s,id=%d,connected=%s,lag_entries=%d,lag_seconds=%s,applied=%d,active=%s",
			i, l.Name, l.ID, b(l.Connected), l.LagEntries, formatLagSeconds(l.LagSeconds), l.Applied, b(l.Active)))
	}
	return lines
}

// formatLagSeconds prints a LinkStatus.LagSeconds with millisecond
// precision, or -1 when nothing was merged yet.
func formatLagSeconds(v float64) string {
	if v < 0 {
		return "-1"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// linkCollector exports what every node of a region knows of its peer
// regions: how old the newest merged write of each is and how far its
// log was merged. The leader's link exports the rest (meridian_interregion_*).
type linkCollector struct {
	g            *regional.Group
	lag, applied *prometheus.Desc
}

func newLinkCollector(g *regional.Group) *linkCollector {
	return &linkCollector{
		g: g,
		lag: prometheus.NewDesc("meridian_region_link_lag_seconds",
			"Age of the newest write of the peer region merged here (-1 until one is).", []string{"peer"}, nil),
		applied: prometheus.NewDesc("meridian_region_link_applied_index",
			"Highest index of the peer region's log merged here.", []string{"peer"}, nil),
	}
}

func (c *linkCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.lag; ch <- c.applied }

func (c *linkCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.g.LinkStatus() {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, l.LagSeconds, l.Name)
		ch <- prometheus.MustNewConstMetric(c.applied, prometheus.GaugeValue, float64(l.Applied), l.Name)
	}
}

// raftCollector exports a region node's Raft numbers. It reads one
// regional.Status per scrape.
type raftCollector struct {
	g                                       *regional.Group
	state, term, commit, applied, last, lag *prometheus.Desc
	members, batches, batched, perBatch     *prometheus.Desc
	writes, writeSecs, writeAvg, stalls     *prometheus.Desc
}

var _ prometheus.Collector = (*raftCollector)(nil)

// raftStates are the values of meridian_raft_state's state label.
var raftStates = []string{"leader", "follower", "candidate", "shutdown"}

func newRaftCollector(g *regional.Group) *raftCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("meridian_raft_"+name, help, labels, nil)
	}
	return &raftCollector{
		g:         g,
		state:     d("state", "1 for this node's Raft role, 0 for the others.", "state"),
		term:      d("term", "Current Raft term."),
		commit:    d("commit_index", "Highest log index known to be committed."),
		applied:   d("applied_index", "Highest log index applied to the store."),
		last:      d("last_index", "Highest log index in the local log."),
		lag:       d("apply_lag", "Committed entries not yet applied here (commit index - applied index)."),
		members:   d("members", "Members of the region's configuration, by suffrage.", "suffrage"),
		batches:   d("batches_total", "Log entries proposed by this node's evaluator while it led."),
		batched:   d("batched_requests_total", "Requests packed into those entries."),
		perBatch:  d("requests_per_batch", "batched_requests_total / batches_total since start: requests per log entry."),
		writes:    d("fsyncs_total", "Log store writes (each one an fsync)."),
		writeSecs: d("fsync_seconds_total", "Time spent in log store writes."),
		writeAvg:  d("fsync_avg_seconds", "Average log store write time since start."),
		stalls:    d("disk_stalls_total", "Log store writes that exceeded the stall timeout (the leader steps down)."),
	}
}

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.term, c.commit, c.applied, c.last, c.lag,
		c.members, c.batches, c.batched, c.perBatch, c.writes, c.writeSecs, c.writeAvg, c.stalls} {
		ch <- d
	}
}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.g.Status()
	disk := c.g.DiskStats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	for _, s := range raftStates {
		v := 0.0
		if s == st.Role {
			v = 1
		}
		gauge(c.state, v, s)
	}
	gauge(c.term, float64(st.Term))
	gauge(c.commit, float64(st.CommitIndex))
	gauge(c.applied, float64(st.AppliedIndex))
	gauge(c.last, float64(st.LastIndex))
	lag := 0.0
	if st.CommitIndex > st.AppliedIndex {
		lag = float64(st.CommitIndex - st.AppliedIndex)
	}
	gauge(c.lag, lag)
	voters, nonvoters := 0, 0
	for _, m := range st.Members {
		if m.Voter {
			voters++
		} else {
			nonvoters++
		}
	}
	gauge(c.members, float64(voters), "voter")
	gauge(c.members, float64(nonvoters), "nonvoter")
	counter(c.batches, float64(st.Batches))
	counter(c.batched, float64(st.BatchedReqs))
	per := 0.0
	if st.Batches > 0 {
		per = float64(st.BatchedReqs) / float64(st.Batches)
	}
	gauge(c.perBatch, per)
	counter(c.writes, float64(disk.Writes))
	counter(c.writeSecs, disk.WriteTime.Seconds())
	avg := 0.0
	if disk.Writes > 0 {
		avg = disk.WriteTime.Seconds() / float64(disk.Writes)
	}
	gauge(c.writeAvg, avg)
	counter(c.stalls, float64(disk.Stalls))
}
