package cluster_test

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/cluster"
)

// repoRoot is the module root, three levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// freePort returns a TCP port that is free on every address right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ping sends PING to addr and reports whether PONG came back in time.
func ping(addr string, timeout time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// TestProcessControl drives single-node meridian servers on loopback
// addresses (no root needed): start, pause, resume, kill -9, restart,
// graceful stop, clock offset files, and crash detection.
func TestProcessControl(t *testing.T) {
	if testing.Short() {
		t.Skip("builds meridian")
	}
	ctx := t.Context()
	bin := os.Getenv("MERIDIAN_JEPSEN_BIN") // a prebuilt binary, if set
	if bin == "" {
		var err error
		if bin, err = cluster.Build(ctx, repoRoot(t), t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	if ok, why := cluster.SupportsRegions(ctx, bin); !ok {
		t.Logf("region CLI: %s", why)
	}
	nodes := []string{"a", "b"}
	logs := t.TempDir()
	// Ports nobody uses (other processes on this machine may hold a
	// wildcard listener on any fixed port).
	respPort, httpPort := freePort(t), freePort(t)
	c := cluster.New(cluster.Config{
		Binary:  bin,
		Network: cluster.Loopback{Nodes: nodes, Base: 61},
		Nodes:   nodes,
		LogDir:  logs,
		DataDir: t.TempDir(),
		Ports:   cluster.Ports{RESP: respPort, HTTP: httpPort},
		// Today's single-node server; the default is the region CLI.
		Args: func(c *cluster.Cluster, node string) []string {
			return []string{"server", "--bind", strings.Split(c.RESPAddr(node), ":")[0], "--port", strconv.Itoa(respPort),
				"--http", strings.Replace(c.HTTPURL(node), "http://", "", 1), "--data-dir", c.DataDir(node)}
		},
		StopTimeout: 5 * time.Second,
	})
	t.Cleanup(func() { c.Close() })

	if err := c.StartAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := c.WaitRESP(ctx, n); err != nil {
			t.Fatal(err)
		}
		if !ping(c.RESPAddr(n), time.Second) {
			t.Fatalf("%s does not answer PING", n)
		}
	}
	if err := c.Start(ctx, "a"); err == nil {
		t.Error("Start of a running node succeeded")
	}

	// Pause: connections are accepted by the kernel, but nothing answers.
	if err := c.Pause("a"); err != nil {
		t.Fatal(err)
	}
	if c.State("a") != cluster.Paused {
		t.Errorf("state = %s, want paused", c.State("a"))
	}
	if ping(c.RESPAddr("a"), 300*time.Millisecond) {
		t.Error("paused node answered PING")
	}
	if !ping(c.RESPAddr("b"), time.Second) {
		t.Error("b stopped answering while a was paused")
	}
	if err := c.Resume("a"); err != nil {
		t.Fatal(err)
	}
	if !ping(c.RESPAddr("a"), 2*time.Second) {
		t.Error("resumed node does not answer PING")
	}

	// kill -9, then restart.
	if err := c.Kill("a"); err != nil {
		t.Fatal(err)
	}
	if c.State("a") != cluster.Stopped || ping(c.RESPAddr("a"), 300*time.Millisecond) {
		t.Fatal("killed node still up")
	}
	if err := c.Start(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitRESP(ctx, "a"); err != nil {
		t.Fatal(err)
	}

	// Graceful stop and restart of a paused node.
	if err := c.Pause("b"); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitRESP(ctx, "b"); err != nil {
		t.Fatal(err)
	}

	// Clock offset files are written atomically in milliseconds.
	if err := c.SetClockOffset("b", -1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d, err := c.ClockOffset("b"); err != nil || d != -1500*time.Millisecond {
		t.Errorf("clock offset = %s, %v; want -1.5s", d, err)
	}

	if got := c.Crashes(); len(got) != 0 {
		t.Fatalf("crashes after harness-driven faults only: %+v", got)
	}
	// A death the harness did not cause is a crash.
	killExternally(t, c, "a")
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Crashes()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := c.Crashes(); len(got) != 1 || got[0].Node != "a" || !strings.Contains(got[0].Err, "killed") {
		t.Errorf("crashes = %+v, want a killed", got)
	}

	log, err := os.ReadFile(c.LogFile("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"=== harness:", "pause (SIGSTOP)", "resume (SIGCONT)", "kill -9", "start:"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log of a lacks %q:\n%s", want, log)
		}
	}
}

// killExternally SIGKILLs node's process behind the cluster's back, as an
// OOM killer or a crash would end it.
func killExternally(t *testing.T, c *cluster.Cluster, node string) {
	t.Helper()
	pid := c.PID(node)
	if pid <= 0 {
		t.Fatalf("no pid for %s", node)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s (pid %s): %v", node, strconv.Itoa(pid), err)
	}
}
