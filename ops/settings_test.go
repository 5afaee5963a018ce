package ops

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env returns a lookup function over a fixed environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// writeConfig writes a config file into a temporary directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meridian.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigSources(t *testing.T) {
	tests := []struct {
		name string
		file string // config file text; empty means no file
		env  map[string]string
		args []string
		want func(c *Config)
	}{
		{
			name: "defaults",
			want: func(c *Config) {},
		},
		{
			name: "every flag",
			args: []string{
				"--bind", "0.0.0.0", "--port", "7000", "--http", "127.0.0.1:9999",
				"--requirepass", "s3cret", "--maxclients", "50", "--proto-max-bulk-len", "2mb",
				"--raft", "0.0.0.0:7379", "--advertise-raft", "10.0.0.4:7379",
				"--node-id", "db-4", "--node-num", "40", "--region", "east", "--region-id", "3",
				"--data-dir", "/tmp/d", "--bootstrap-single",
				"--log-level", "debug", "--pprof",
				"--link", "0.0.0.0:8379", "--link-token", "t0ken", "--link-tls-cert", "/c.pem",
				"--link-tls-key", "/k.pem", "--link-tls-ca", "/ca.pem", "--max-clock-offset", "250ms",
				"--link-retain-entries", "5000",
			},
			want: func(c *Config) {
				c.Bind, c.Port, c.HTTP = "0.0.0.0", 7000, "127.0.0.1:9999"
				c.RequirePass, c.MaxClients, c.ProtoMaxBulkLen = "s3cret", 50, 2<<20
				c.Raft, c.AdvertiseRaft = "0.0.0.0:7379", "10.0.0.4:7379"
				c.NodeID, c.NodeNum, c.Region, c.RegionID = "db-4", 40, "east", 3
				c.DataDir, c.BootstrapSingle = "/tmp/d", true
				c.LogLevel, c.Pprof = slog.LevelDebug, true
				c.Link, c.LinkToken = "0.0.0.0:8379", "t0ken"
				c.LinkTLSCert, c.LinkTLSKey, c.LinkTLSCA = "/c.pem", "/k.pem", "/ca.pem"
				c.MaxClockOffset, c.LinkRetainEntries = 250*time.Millisecond, 5000
			},
		},
		{
			// Single dash and name=value work as with any Go flag.
			name: "flag spellings",
			args: []string{"-port=7001", "--maxclients=9"},
			want: func(c *Config) { c.Port, c.MaxClients = 7001, 9 },
		},
		{
			name: "config file",
			// Names are case-insensitive, quotes as in valkey.conf.
			file: "port 7002\nrequirepass \"with space\"\nPROTO-MAX-BULK-LEN 1gb\nhttp \"\"\nlog-level warning\npprof no\n",
			want: func(c *Config) {
				c.Port, c.RequirePass, c.ProtoMaxBulkLen = 7002, "with space", 1<<30
				c.HTTP, c.LogLevel = "", slog.LevelWarn
			},
		},
		{
			name: "environment overrides the file",
			file: "port 7003\nmaxclients 10\n",
			env:  map[string]string{"MERIDIAN_PORT": "7004", "MERIDIAN_PROTO_MAX_BULK_LEN": "1048576"},
			want: func(c *Config) { c.Port, c.MaxClients, c.ProtoMaxBulkLen = 7004, 10, 1<<20 },
		},
		{
			name: "flags override the environment",
			env:  map[string]string{"MERIDIAN_PORT": "7005", "MERIDIAN_REGION_ID": "2"},
			args: []string{"--port", "7006"},
			want: func(c *Config) { c.Port, c.RegionID = 7006, 2 },
		},
		{
			// The token is best kept out of the command line.
			name: "link token from the environment",
			file: "raft 127.0.0.1:7379\ndata-dir /tmp/d\nlink 127.0.0.1:8379\nmax-clock-offset 2000\n",
			env:  map[string]string{"MERIDIAN_LINK_TOKEN": "from-env"},
			want: func(c *Config) {
				c.Raft, c.DataDir, c.Link, c.LinkToken = "127.0.0.1:7379", "/tmp/d", "127.0.0.1:8379", "from-env"
				c.MaxClockOffset = 2 * time.Second // a bare number is milliseconds
			},
		},
		{
			// An empty variable set on purpose clears a setting.
			name: "empty environment variable",
			env:  map[string]string{"MERIDIAN_HTTP": ""},
			want: func(c *Config) { c.HTTP = "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range tt.env {
				vars[k] = v
			}
			if tt.file != "" {
				vars["MERIDIAN_CONFIG"] = writeConfig(t, tt.file)
			}
			got, err := LoadConfig(tt.args, env(vars), io.Discard)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			want := DefaultConfig()
			tt.want(&want)
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadConfigConfigFlag(t *testing.T) {
	// --config wins over MERIDIAN_CONFIG.
	path := writeConfig(t, "port 7010\n")
	other := writeConfig(t, "port 7011\n")
	got, err := LoadConfig([]string{"--config", path}, env(map[string]string{"MERIDIAN_CONFIG": other}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != 7010 {
		t.Errorf("port = %d, want 7010 from --config", got.Port)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		args  []string
		usage bool   // errors.Is(err, ErrUsage)
		want  string // in the message
	}{
		{name: "unknown flag", args: []string{"--nope"}, usage: true, want: "nope"},
		{name: "not a number", args: []string{"--port", "x"}, usage: true, want: `"x" is not an integer`},
		{name: "port out of range", args: []string{"--port", "70000"}, usage: true, want: "out of range"},
		{name: "stray argument", args: []string{"extra"}, usage: true, want: `unexpected argument "extra"`},
		{name: "bad environment", env: map[string]string{"MERIDIAN_MAXCLIENTS": "-1"}, usage: true, want: "MERIDIAN_MAXCLIENTS"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, usage: true, want: "not a log level"},
		{name: "bad size", args: []string{"--proto-max-bulk-len", "5tb"}, usage: true, want: "not a size"},
		// Valkey refuses unknown directives; so do we, with the line.
		{name: "unknown directive", file: "port 1\nsave 60 1\n", usage: true, want: `:2: unknown directive "save"`},
		{name: "two values", file: "port 1 2\n", usage: true, want: ":1: port takes exactly one value"},
		{name: "bad quotes", file: "requirepass \"abc\n", usage: true, want: ":1: unbalanced quotes"},
		{name: "bad value in file", file: "\n\nregion-id zero\n", usage: true, want: ":3: region-id:"},
		{name: "bad node-num", args: []string{"--node-num", "-1"}, usage: true, want: "out of range"},
		{name: "missing file", env: map[string]string{"MERIDIAN_CONFIG": "/nonexistent/meridian.conf"}, usage: true, want: "no such file"},
		// Values that parse but do not make a working configuration.
		{name: "small bulk", args: []string{"--proto-max-bulk-len", "1k"}, want: "proto-max-bulk-len must be at least 1mb"},
		{name: "empty bind", args: []string{"--bind", ""}, want: "bind must not be empty"},
		{name: "pprof without http", args: []string{"--pprof", "--http", ""}, want: "pprof needs the http endpoint"},
		{name: "http without port", args: []string{"--http", "localhost"}, want: "http must be host:port"},
		{name: "raft without data-dir", args: []string{"--raft", "127.0.0.1:7379"}, want: "data-dir is required with raft"},
		{name: "raft everywhere", args: []string{"--raft", ":7379", "--data-dir", "/tmp/d"}, want: "advertise-raft is required"},
		{name: "bootstrap-single alone", args: []string{"--bootstrap-single"}, want: "bootstrap-single needs raft"},
		{name: "bad node id", args: []string{"--node-id", "n 1"}, want: "node-id may hold only"},
		{name: "link without token", args: []string{"--raft", "127.0.0.1:7379", "--data-dir", "/tmp/d", "--link", "127.0.0.1:8379"}, want: "link-token is required with link"},
		{name: "link without raft", args: []string{"--link", "127.0.0.1:8379", "--link-token", "t"}, want: "link needs raft"},
		{name: "link not host:port", args: []string{"--raft", "127.0.0.1:7379", "--data-dir", "/tmp/d", "--link", "8379", "--link-token", "t"}, want: "link must be host:port"},
		{name: "partial link TLS", args: []string{"--raft", "127.0.0.1:7379", "--data-dir", "/tmp/d", "--link", "127.0.0.1:8379", "--link-token", "t", "--link-tls-cert", "/c.pem"}, want: "go together"},
		{name: "link TLS without link", args: []string{"--link-tls-cert", "/c", "--link-tls-key", "/k", "--link-tls-ca", "/ca"}, want: "need link"},
		{name: "bad clock offset", args: []string{"--max-clock-offset", "soon"}, usage: true, want: "not a duration"},
		{name: "zero clock offset", args: []string{"--max-clock-offset", "0"}, want: "max-clock-offset must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range tt.env {
				vars[k] = v
			}
			if tt.file != "" {
				vars["MERIDIAN_CONFIG"] = writeConfig(t, tt.file)
			}
			_, err := LoadConfig(tt.args, env(vars), io.Discard)
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if got := errors.Is(err, ErrUsage); got != tt.usage {
				t.Errorf("errors.Is(err, ErrUsage) = %v, want %v (err: %v)", got, tt.usage, err)
			}
		})
	}
}

func TestLoadConfigHelp(t *testing.T) {
	var out strings.Builder
	_, err := LoadConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	// Every setting is listed with its environment variable.
	for _, s := range settings {
		if !strings.Contains(out.String(), "-"+s.name) || !strings.Contains(out.String(), envName(s.name)) {
			t.Errorf("help lacks %s or %s:\n%s", s.name, envName(s.name), out.String())
		}
	}
}

func TestConfigNodeNumber(t *testing.T) {
	tests := []struct {
		nodeID string
		num    uint32 // node-num
		want   uint32
	}{
		{"n1", 0, 1},
		{"n3", 0, 3},
		{"db-12", 0, 12},
		{"n0", 0, 87416211},             // 0 is not a node number: hashed
		{"alpha", 0, 1569418667},        // no trailing number: FNV-1a
		{"n3", 9, 9},                    // node-num wins
		{"n99999999999", 0, 4056085942}, // overflows uint32: hashed,
	}
	for _, tt := range tests {
		c := Config{NodeID: tt.nodeID, NodeNum: tt.num}
		if got := c.NodeNumber(); got != tt.want {
			t.Errorf("NodeNumber(%q, %d) = %d, want %d", tt.nodeID, tt.num, got, tt.want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"512mb", 512 << 20, true},
		{"1GB", 1 << 30, true},   // units are case-insensitive
		{"1k", 1000, true},       // k is 1000, kb 1024, as in Valkey
		{"1kb", 1024, true},      //
		{"2m", 2000000, true},    //
		{"3g", 3000000000, true}, //
		{"10b", 10, true},
		{"", 0, false},
		{"mb", 0, false},
		{"-1", 0, false},
		{"1.5mb", 0, false},
		{"1tb", 0, false},
		{"99999999999gb", 0, false}, // overflows int64
	}
	for _, tt := range tests {
		got, err := parseMemory(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseMemory(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatMemoryRoundTrips(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1024, 1 << 20, 512 << 20, 3 << 30, 1<<20 + 1} {
		s := formatMemory(n)
		back, err := parseMemory(s)
		if err != nil || back != n {
			t.Errorf("formatMemory(%d) = %q, parses back as %d, %v", n, s, back, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // empty: valid
	}{
		{name: "default", change: func(c *Config) {}},
		{name: "free ports", change: func(c *Config) { c.Port, c.HTTP = 0, "127.0.0.1:0" }},
		{name: "no http", change: func(c *Config) { c.HTTP = "" }},
		{name: "negative port", change: func(c *Config) { c.Port = -1 }, want: "port must be between"},
		{name: "http port", change: func(c *Config) { c.HTTP = "127.0.0.1:http" }, want: "http port must be between"},
		{name: "no clients", change: func(c *Config) { c.MaxClients = 0 }, want: "maxclients must be at least 1"},
		{name: "region mode", change: func(c *Config) { c.Raft, c.DataDir = "127.0.0.1:0", "/tmp/d" }},
		{name: "region zero", change: func(c *Config) { c.RegionID = 0 }, want: "region-id must be at least 1"},
		{name: "no node id", change: func(c *Config) { c.NodeID = "" }, want: "node-id must not be empty"},
		{name: "no region name", change: func(c *Config) { c.Region = "" }, want: "region must not be empty"},
		{name: "unspecified advertise", change: func(c *Config) { c.Raft, c.DataDir, c.AdvertiseRaft = "127.0.0.1:0", "/d", "0.0.0.0:1" }, want: "advertise-raft must name an address"},
		{name: "negative expiry", change: func(c *Config) { c.ExpireInterval = -1 }, want: "expire interval"},
		{
			// Every problem is reported at once.
			name:   "two problems",
			change: func(c *Config) { c.RegionID, c.NodeID = 0, "" },
			want:   "region-id must be at least 1\nops: node-id must not be empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
