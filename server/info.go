package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){"info": (*Conn).cmdInfo})
}

// infoSections are the built-in sections in Valkey's order, and whether
// INFO without arguments ("default") shows them.
var infoSections = []struct {
	name        string
	inDefault   bool
	gen         func(c *Conn, b *infoBuilder)
	displayName string
}{
	{"server", true, (*Conn).infoServer, "Server"},
	{"clients", true, (*Conn).infoClients, "Clients"},
	{"memory", true, (*Conn).infoMemory, "Memory"},
	{"persistence", true, (*Conn).infoPersistence, "Persistence"},
	{"stats", true, (*Conn).infoStats, "Stats"},
	{"replication", true, (*Conn).infoReplication, "Replication"},
	{"cpu", true, (*Conn).infoCPU, "CPU"},
	{"modules", false, func(*Conn, *infoBuilder) {}, "Modules"},
	{"commandstats", false, (*Conn).infoCommandStats, "Commandstats"},
	{"errorstats", true, (*Conn).infoErrorStats, "Errorstats"},
	{"cluster", true, (*Conn).infoCluster, "Cluster"},
	{"keyspace", true, (*Conn).infoKeyspace, "Keyspace"},
}

type infoBuilder struct{ strings.Builder }

func (b *infoBuilder) kv(k string, v any) {
	b.WriteString(k)
	b.WriteByte(':')
	fmt.Fprint(b, v)
	b.WriteString("\r\n")
}

// cmdInfo is INFO [section ...]: Valkey's text, "# Name" headers and
// "key:value" lines separated by CRLF, with a blank line between sections.
// Section names are case-insensitive; unknown ones are ignored.
func (c *Conn) cmdInfo(args [][]byte) {
	want := map[string]bool{}
	all, everything := false, false
	if len(args) == 1 {
		want["default"] = true
	}
	for _, a := range args[1:] {
		switch s := lower(a); s {
		case "all":
			all = true
		case "everything":
			everything = true
		default:
			want[s] = true
		}
	}
	var extra []InfoSection
	if fn := c.srv.config().Info; fn != nil {
		extra = fn()
	}
	// An extra section named like a built-in one replaces it (a region
	// node's "replication" says role:slave on followers).
	replace := map[string][]string{}
	for _, s := range extra {
		if isBuiltinInfo(s.Name) {
			replace[strings.ToLower(s.Name)] = s.Lines
		}
	}
	var b infoBuilder
	sections := 0
	header := func(name string) {
		if sections > 0 {
			b.WriteString("\r\n")
		}
		sections++
		b.WriteString("# " + name + "\r\n")
	}
	for _, s := range infoSections {
		show := everything || want[s.name] ||
			(all && s.name != "modules") ||
			(want["default"] && s.inDefault)
		if !show {
			continue
		}
		header(s.displayName)
		if lines, ok := replace[s.name]; ok {
			for _, l := range lines {
				b.WriteString(l + "\r\n")
			}
			continue
		}
		s.gen(c, &b)
	}
	for _, s := range extra {
		if s.Name == "" || isBuiltinInfo(s.Name) || !(everything || all || want["default"] || want[strings.ToLower(s.Name)]) {
			continue
		}
		header(strings.ToUpper(s.Name[:1]) + s.Name[1:])
		for _, l := range s.Lines {
			b.WriteString(l + "\r\n")
		}
	}
	c.w.Verbatim(b.String())
}

// isBuiltinInfo reports whether name is a built-in INFO section.
func isBuiltinInfo(name string) bool {
	for _, s := range infoSections {
		if strings.EqualFold(s.name, name) {
			return true
		}
	}
	return false
}

func (c *Conn) infoServer(b *infoBuilder) {
	s := c.srv
	cfg := s.config()
	_, port := s.listenHostPort(&cfg)
	exe, _ := os.Executable()
	now := time.Now()
	up := now.Sub(s.start)
	b.kv("redis_version", RedisVersion)
	b.kv("server_name", "valkey")
	b.kv("valkey_version", RedisVersion)
	b.kv("meridian_version", Version)
	b.kv("redis_git_sha1", "00000000")
	b.kv("redis_git_dirty", 0)
	b.kv("redis_build_id", "0")
	b.kv("redis_mode", "standalone")
	b.kv("os", runtime.GOOS+" "+runtime.GOARCH)
	b.kv("arch_bits", strconv.Itoa(strconv.IntSize))
	b.kv("monotonic_clock", "POSIX clock_gettime")
	b.kv("multiplexing_api", "go")
	b.kv("atomicvar_api", "go")
	b.kv("go_version", runtime.Version())
	b.kv("process_id", os.Getpid())
	b.kv("process_supervised", "no")
	b.kv("run_id", s.runID)
	b.kv("tcp_port", port)
	b.kv("server_time_usec", now.UnixMicro())
	b.kv("uptime_in_seconds", int64(up/time.Second))
	b.kv("uptime_in_days", int64(up/(24*time.Hour)))
	b.kv("hz", 10)
	b.kv("configured_hz", 10)
	b.kv("lru_clock", now.Unix()&(1<<24-1))
	b.kv("executable", exe)
	b.kv("config_file", "")
	b.kv("io_threads_active", 0)
}

func (c *Conn) infoClients(b *infoBuilder) {
	s := c.srv
	conns := s.clients()
	pubsub, watching, watchedKeys := 0, 0, 0
	for _, o := range conns {
		o.shared.Lock()
		if o.shared.subs+o.shared.psubs+o.shared.ssubs > 0 {
			pubsub++
		}
		if o.shared.watching > 0 {
			watching++
			watchedKeys += o.shared.watching
		}
		o.shared.Unlock()
	}
	b.kv("connected_clients", len(conns))
	b.kv("cluster_connections", 0)
	b.kv("maxclients", s.config().MaxClients)
	b.kv("client_recent_max_input_buffer", 0)
	b.kv("client_recent_max_output_buffer", 0)
	b.kv("blocked_clients", 0)
	b.kv("tracking_clients", 0)
	b.kv("pubsub_clients", pubsub)
	b.kv("watching_clients", watching)
	b.kv("clients_in_timeout_table", 0)
	b.kv("total_watched_keys", watchedKeys)
	b.kv("total_blocking_keys", 0)
	b.kv("total_blocking_keys_on_nokey", 0)
}

// heapInUse reads the Go heap in use without stopping the world.
func heapInUse() (inUse, total uint64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	metrics.Read(samples)
	for i, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			continue
		}
		if i == 0 {
			inUse = s.Value.Uint64()
		} else {
			total = s.Value.Uint64()
		}
	}
	return inUse, total
}

// bytesToHuman formats n as Valkey's bytesToHuman does.
func bytesToHuman(n uint64) string {
	const k = 1024.0
	d := float64(n)
	switch {
	case d < k:
		return strconv.FormatUint(n, 10) + "B"
	case d < k*k:
		return fmt.Sprintf("%.2fK", d/k)
	case d < k*k*k:
		return fmt.Sprintf("%.2fM", d/(k*k))
	case d < k*k*k*k:
		return fmt.Sprintf("%.2fG", d/(k*k*k))
	case d < k*k*k*k*k:
		return fmt.Sprintf("%.2fT", d/(k*k*k*k))
	case d < k*k*k*k*k*k:
		return fmt.Sprintf("%.2fP", d/(k*k*k*k*k))
	}
	return strconv.FormatUint(n, 10) + "B"
}

func (c *Conn) infoMemory(b *infoBuilder) {
	used := c.srv.dataStats().UsedMemory
	heap, rss := heapInUse()
	if used == 0 {
		used = heap
	}
	b.kv("used_memory", used)
	b.kv("used_memory_human", bytesToHuman(used))
	b.kv("used_memory_rss", rss)
	b.kv("used_memory_rss_human", bytesToHuman(rss))
	b.kv("used_memory_peak", used)
	b.kv("used_memory_peak_human", bytesToHuman(used))
	b.kv("maxmemory", 0)
	b.kv("maxmemory_human", "0B")
	b.kv("maxmemory_policy", "noeviction")
	ratio := 0.0
	if used > 0 {
		ratio = float64(rss) / float64(used)
	}
	b.kv("mem_fragmentation_ratio", strconv.FormatFloat(ratio, 'f', 2, 64))
	b.kv("mem_allocator", "go")
	b.kv("lazyfree_pending_objects", 0)
}

func (c *Conn) infoPersistence(b *infoBuilder) {
	b.kv("loading", 0)
	b.kv("async_loading", 0)
	b.kv("rdb_changes_since_last_save", 0)
	b.kv("rdb_bgsave_in_progress", 0)
	b.kv("rdb_last_save_time", c.srv.start.Unix())
	b.kv("rdb_last_bgsave_status", "ok")
	b.kv("aof_enabled", 0)
	b.kv("aof_rewrite_in_progress", 0)
	b.kv("aof_rewrite_scheduled", 0)
	b.kv("aof_last_bgrewrite_status", "ok")
	b.kv("aof_last_write_status", "ok")
}

func (c *Conn) infoStats(b *infoBuilder) {
	s := c.srv
	h := s.hub
	h.mu.RLock()
	channels, patterns, shards := len(h.subs[subChannel]), len(h.subs[subPattern]), len(h.subs[subShard])
	h.mu.RUnlock()
	b.kv("total_connections_received", s.stats.connections.Load())
	b.kv("total_commands_processed", s.stats.commands.Load())
	b.kv("instantaneous_ops_per_sec", 0)
	b.kv("total_net_input_bytes", s.stats.netIn.Load())
	b.kv("total_net_output_bytes", s.stats.netOut.Load())
	b.kv("total_net_repl_input_bytes", 0)
	b.kv("total_net_repl_output_bytes", 0)
	b.kv("instantaneous_input_kbps", "0.00")
	b.kv("instantaneous_output_kbps", "0.00")
	b.kv("rejected_connections", s.stats.rejected.Load())
	b.kv("sync_full", 0)
	b.kv("sync_partial_ok", 0)
	b.kv("sync_partial_err", 0)
	b.kv("expired_keys", 0)
	b.kv("evicted_keys", 0)
	b.kv("evicted_clients", 0)
	b.kv("keyspace_hits", 0)
	b.kv("keyspace_misses", 0)
	b.kv("pubsub_channels", channels)
	b.kv("pubsub_patterns", patterns)
	b.kv("pubsubshard_channels", shards)
	b.kv("latest_fork_usec", 0)
	b.kv("total_forks", 0)
	b.kv("total_error_replies", s.stats.errors.Load())
	b.kv("unexpected_error_replies", 0)
}

func (c *Conn) infoReplication(b *infoBuilder) {
	b.kv("role", "master")
	b.kv("connected_slaves", 0)
	b.kv("master_failover_state", "no-failover")
	b.kv("master_replid", c.srv.runID)
	b.kv("master_replid2", strings.Repeat("0", 40))
	b.kv("master_repl_offset", 0)
	b.kv("second_repl_offset", -1)
	b.kv("repl_backlog_active", 0)
	b.kv("repl_backlog_size", 1048576)
	b.kv("repl_backlog_first_byte_offset", 0)
	b.kv("repl_backlog_histlen", 0)
}

func (c *Conn) infoCPU(b *infoBuilder) {
	user, sys := cpuTimes()
	b.kv("used_cpu_sys", strconv.FormatFloat(sys, 'f', 6, 64))
	b.kv("used_cpu_user", strconv.FormatFloat(user, 'f', 6, 64))
	b.kv("used_cpu_sys_children", "0.000000")
	b.kv("used_cpu_user_children", "0.000000")
}

func (c *Conn) infoCommandStats(b *infoBuilder) {
	tables := c.srv.tables.Load()
	stats := map[string]*cmdStat{}
	tables.cmds.Range(func(k, v any) bool {
		stats[k.(string)] = v.(*cmdStat)
		return true
	})
	for _, name := range slices.Sorted(mapKeys(stats)) {
		st := stats[name]
		calls, usec := st.calls.Load(), st.usec.Load()
		perCall := 0.0
		if calls > 0 {
			perCall = float64(usec) / float64(calls)
		}
		fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
			name, calls, usec, perCall, st.rejected.Load(), st.failed.Load())
	}
}

func (c *Conn) infoErrorStats(b *infoBuilder) {
	counts := map[string]int64{}
	c.srv.tables.Load().errs.Range(func(k, v any) bool {
		counts[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	for _, code := range slices.Sorted(mapKeys(counts)) {
		fmt.Fprintf(b, "errorstat_%s:count=%d\r\n", code, counts[code])
	}
}

func (c *Conn) infoCluster(b *infoBuilder) {
	b.kv("cluster_enabled", 0)
}

func (c *Conn) infoKeyspace(b *infoBuilder) {
	for db, st := range c.srv.dataStats().DBs {
		if st.Keys == 0 {
			continue
		}
		fmt.Fprintf(b, "db%d:keys=%d,expires=%d,avg_ttl=0\r\n", db, st.Keys, st.Expires)
	}
}
