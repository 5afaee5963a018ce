package ops

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/servertest"
)

// startNode starts a node on free loopback ports, logging to t.Log, and
// shuts it down when the test ends.
func startNode(t *testing.T, change func(c *Config)) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port = 0
	cfg.HTTP = "127.0.0.1:0"
	if change != nil {
		change(&cfg)
	}
	n, err := Start(cfg, slog.New(slog.NewTextHandler(tLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return n
}

type tLog struct{ t *testing.T }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// client returns a one-connection RESP2 client of n.
func client(t *testing.T, n *Node, password string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr:            n.Addr().String(),
		Password:        password,
		Protocol:        2,
		PoolSize:        1,
		MaxRetries:      -1,
		DisableIdentity: true,
	})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// get fetches path from the node's HTTP endpoint.
func get(t *testing.T, n *Node, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + n.HTTPAddr().String() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape returns every sample of /metrics by its series name as printed,
// e.g. `meridian_commands_total{cmd="get"}`.
func scrape(t *testing.T, n *Node) map[string]float64 {
	t.Helper()
	code, body := get(t, n, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestNodeServesAndCountsCommands(t *testing.T) {
	n := startNode(t, nil)
	rdb := client(t, n, "")
	ctx := t.Context()

	before := scrape(t, n)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET k = %q, %v", v, err)
	}
	if err := rdb.Get(ctx, "missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing = %v, want nil reply", err)
	}
	// A wrong number of arguments is a failed SET.
	if err := rdb.Do(ctx, "set", "k").Err(); err == nil || !strings.Contains(err.Error(), "wrong number of arguments") {
		t.Fatalf("SET k = %v, want an arity error", err)
	}

	after := scrape(t, n)
	tests := []struct {
		series string
		delta  float64
	}{
		{`meridian_commands_total{cmd="set"}`, 2},
		{`meridian_command_errors_total{cmd="set"}`, 1},
		{`meridian_commands_total{cmd="get"}`, 2},
		{`meridian_command_errors_total{cmd="get"}`, 0}, // a nil reply is not an error
		{`meridian_command_duration_seconds_count{cmd="get"}`, 2},
		{`meridian_command_duration_seconds_bucket{cmd="get",le="+Inf"}`, 2},
	}
	for _, tt := range tests {
		got, ok := after[tt.series]
		if !ok {
			t.Errorf("%s missing from /metrics", tt.series)
			continue
		}
		if d := got - before[tt.series]; d != tt.delta {
			t.Errorf("%s moved by %v, want %v", tt.series, d, tt.delta)
		}
	}
	gauges := []struct {
		series string
		want   float64
	}{
		{"meridian_connected_clients", 1},
		{"meridian_keys", 1},
		{`meridian_build_info{goversion="` + runtime.Version() + `",version="` + server.Version + `"}`, 1},
	}
	for _, g := range gauges {
		if got, ok := after[g.series]; !ok || got != g.want {
			t.Errorf("%s = %v (present %v), want %v", g.series, got, ok, g.want)
		}
	}
	// The Go runtime and process collectors are registered.
	for _, s := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
		if _, ok := after[s]; !ok {
			t.Errorf("%s missing from /metrics", s)
		}
	}
}

func TestNodeInfoRegional(t *testing.T) {
	n := startNode(t, func(c *Config) { c.Region, c.RegionID, c.NodeID = "east", 3, "n7" })
	got, err := client(t, n, "").Info(t.Context(), "regional").Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := "# Regional\r\nmode:standalone\r\nregion:east\r\nregion_id:3\r\nnode_id:n7\r\nnode_num:7\r\n"; got != want {
		t.Errorf("INFO regional = %q, want %q", got, want)
	}
}

func TestNodeActiveExpiry(t *testing.T) {
	clock := &servertest.ShiftClock{}
	n := startNode(t, func(c *Config) {
		c.Wall = clock
		c.ExpireInterval = 5 * time.Millisecond
	})
	rdb := client(t, n, "")
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c"} {
		if err := rdb.Set(ctx, k, "v", time.Second).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Set(ctx, "forever", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)

	// The expiry loop runs on its own; wait for it to count the keys
	// (bounded, not a sleep standing in for expiry).
	deadline := time.Now().Add(10 * time.Second)
	var m map[string]float64
	for {
		m = scrape(t, n)
		if m["meridian_expired_keys_total"] >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := m["meridian_expired_keys_total"]; got != 3 {
		t.Errorf("meridian_expired_keys_total = %v, want 3", got)
	}
	if got := m["meridian_keys"]; got != 1 {
		t.Errorf("meridian_keys = %v, want 1 (only the key without a TTL)", got)
	}
}

func TestNodeHealth(t *testing.T) {
	n := startNode(t, func(c *Config) { c.Region, c.RegionID, c.NodeID = "west", 2, "node-5" })
	tests := []struct {
		name     string
		draining bool
		code     int
		status   string
	}{
		{name: "serving", code: http.StatusOK, status: "ok"},
		// Once Shutdown begins, load balancers are told to go away.
		{name: "draining", draining: true, code: http.StatusServiceUnavailable, status: "shutting down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.draining.Store(tt.draining)
			code, body := get(t, n, "/health")
			if code != tt.code {
				t.Errorf("code = %d, want %d", code, tt.code)
			}
			var h Health
			if err := json.Unmarshal([]byte(body), &h); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			want := Health{Status: tt.status, Role: "standalone", Version: server.Version, Region: "west", RegionID: 2, NodeID: "node-5", NodeNum: 5}
			if h != want {
				t.Errorf("health = %+v, want %+v", h, want)
			}
		})
	}
	n.draining.Store(false)
}

func TestNodePprof(t *testing.T) {
	tests := []struct {
		name  string
		pprof bool
		code  int
	}{
		{name: "off by default", pprof: false, code: http.StatusNotFound},
		{name: "on", pprof: true, code: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, func(c *Config) { c.Pprof = tt.pprof })
			if code, _ := get(t, n, "/debug/pprof/goroutine?debug=1"); code != tt.code {
				t.Errorf("GET /debug/pprof/goroutine = %d, want %d", code, tt.code)
			}
		})
	}
}

func TestNodeWithoutHTTP(t *testing.T) {
	n := startNode(t, func(c *Config) { c.HTTP = "" })
	if a := n.HTTPAddr(); a != nil {
		t.Errorf("HTTPAddr = %v, want nil", a)
	}
	if err := client(t, n, "").Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestNodePassesServerSettings(t *testing.T) {
	n := startNode(t, func(c *Config) {
		c.RequirePass = "pw"
		c.ProtoMaxBulkLen = 1 << 20
	})
	ctx := t.Context()
	if err := client(t, n, "").Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Errorf("PING without AUTH = %v, want NOAUTH", err)
	}
	rdb := client(t, n, "pw")
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING with AUTH: %v", err)
	}
	// proto-max-bulk-len reaches the reader: one byte too many is refused,
	// the limit itself is not.
	if err := rdb.Set(ctx, "big", strings.Repeat("x", 1<<20), 0).Err(); err != nil {
		t.Errorf("SET of 1mb = %v", err)
	}
	// The length line alone is refused, before the payload is sent (a
	// client still sending would see its connection reset instead).
	c, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("AUTH pw\r\n*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048577\r\n")); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	for _, want := range []string{"+OK\r\n", "-ERR Protocol error: invalid bulk length\r\n"} {
		if line, err := rd.ReadString('\n'); line != want {
			t.Errorf("read %q, %v; want %q", line, err, want)
		}
	}
}

func TestNodeMaxClients(t *testing.T) {
	n := startNode(t, func(c *Config) { c.MaxClients = 1 })
	ctx := t.Context()
	if err := client(t, n, "").Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// The server refuses the next connection with an error and closes it,
	// before the client sends anything.
	c, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if line != "-ERR max number of clients reached\r\n" {
		t.Errorf("second connection read %q, %v; want the maxclients error", line, err)
	}
}

func TestNodeServeStopsOnCancel(t *testing.T) {
	n := startNode(t, nil)
	// An idle client must not hold the shutdown up.
	rdb := client(t, n, "")
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx) }()
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(ShutdownTimeout):
		t.Fatal("Serve did not return after cancel")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v with only idle clients", d)
	}
	for _, a := range []net.Addr{n.Addr(), n.HTTPAddr()} {
		if c, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
			c.Close()
			t.Errorf("%v still accepts connections after Serve returned", a)
		}
	}
	// Shutdown is idempotent.
	if err := n.Shutdown(t.Context()); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	n := startNode(t, nil)
	cfg := DefaultConfig()
	cfg.Port = n.Addr().(*net.TCPAddr).Port
	cfg.HTTP = ""
	if other, err := Start(cfg, nil); err == nil {
		other.Shutdown(t.Context())
		t.Fatal("Start on a port in use succeeded")
	}
	cfg.Port = 0
	cfg.HTTP = n.HTTPAddr().String()
	if other, err := Start(cfg, nil); err == nil {
		other.Shutdown(t.Context())
		t.Fatal("Start on an http port in use succeeded")
	}
}
