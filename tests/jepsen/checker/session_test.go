package checker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/checker"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

func TestSession(t *testing.T) {
	v := checker.SessionValue(1, time.Second, "e1")
	found := func(pttl int64) string { return checker.SessionRead(v, pttl) }
	on := func(o history.Op, node string) history.Op { o.Node = node; return o }
	// The write is acknowledged at 100 ms with a 1 s TTL: its deadline,
	// with the 200 ms margin, is 1300 ms.
	w := on(op(0, ok, history.FWrite, "sess:1", v, 0, 100), "e1")
	read := func(val any, start int64) history.Op {
		return on(op(1, ok, history.FRead, "sess:1", val, start, start+5), "w1")
	}
	tests := []struct {
		name string
		h    history.History
		want checker.Validity
		has  string
	}{
		{"present then gone", build(w, read(found(700), 400), read(nil, 1400), final(read(nil, 5000))), checker.Valid, ""},
		{"reappears after expiry", build(w, read(nil, 1400), read(found(10), 1500)), checker.Invalid, "expired session reappeared"},
		{"final read finds it", build(w, final(read(found(10), 5000))), checker.Invalid, "expired session reappeared"},
		{"ttl extended", build(w, read(found(5000), 400)), checker.Invalid, "TTL extended"},
		{"ttl lost", build(w, read(found(-1), 400), read(nil, 1400)), checker.Invalid, "lost its TTL"},
		{"never written", build(w, read(checker.SessionRead("s9.ttl1000.e1", 10), 400), read(nil, 1400)), checker.Invalid, "never written"},
		{"failed write seen", build(on(op(0, fail, history.FWrite, "sess:1", v, 0, 100), "e1"), read(found(10), 400)), checker.Invalid, "failed write"},
		// An indeterminate write may apply late: no deadline is certain.
		{"indeterminate write", build(on(op(0, info, history.FWrite, "sess:1", v, 0, 3000), "e1"), read(found(10), 3500)), checker.Unknown, ""},
		{"nothing read late", build(w, read(found(700), 400)), checker.Unknown, ""},
		// A failed read observed nothing.
		{"failed read", build(w, on(op(1, info, history.FRead, "sess:1", nil, 1400, 1500), "w1"), read(nil, 1600)), checker.Valid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := checker.Session(tt.h, checker.SessionOptions{})
			if r.Valid != tt.want {
				t.Fatalf("valid = %s, want %s: %v %v", r.Valid, tt.want, r.Anomalies, r.Notes)
			}
			if tt.has != "" && !strings.Contains(strings.Join(r.Anomalies, "\n"), tt.has) {
				t.Errorf("anomalies %q lack %q", r.Anomalies, tt.has)
			}
		})
	}
	// Presence is a statistic: a read in the other region, after the
	// settle time and before the expiry, that misses the session is
	// counted, not an anomaly.
	h := build(w, read(nil, 1150), read(nil, 2000))
	r := checker.Session(h, checker.SessionOptions{Settle: 50 * time.Millisecond, Margin: 100 * time.Millisecond})
	if r.Valid != checker.Valid || !strings.Contains(strings.Join(r.Notes, "\n"), "other region 0 present / 0 absent") {
		// 1150 ms is after the earliest expiry (0 + 1 s - margin): not counted.
		t.Errorf("got %s %v", r.Valid, r.Notes)
	}
	h = build(w, read(nil, 500), read(nil, 2000))
	r = checker.Session(h, checker.SessionOptions{Settle: 50 * time.Millisecond})
	if r.Valid != checker.Valid || !strings.Contains(strings.Join(r.Notes, "\n"), "other region 0 present / 1 absent") {
		t.Errorf("got %s %v", r.Valid, r.Notes)
	}
}
