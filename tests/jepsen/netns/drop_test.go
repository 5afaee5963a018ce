package netns

import "testing"

func TestParseDropCounters(t *testing.T) {
	out := `-N MJ-WAN
-A MJ-WAN -s 10.77.4.21/32 -c 120 9000
-A MJ-WAN -s 10.77.4.21/32 -m statistic --mode random --probability 0.02000000019 -c 3 180 -j DROP
-A MJ-WAN -s 10.77.4.22/32 -c 80 6000
-A MJ-WAN -s 10.77.4.22/32 -m statistic --mode random --probability 0.02000000019 -c 1 60 -j DROP
`
	c, err := parseDropCounters(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := (DropCount{Packets: 200, Dropped: 4}); c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if _, err := parseDropCounters("-A MJ-WAN -s 10.77.4.21/32\n"); err == nil {
		t.Error("a rule without counters (iptables -S without -v) accepted")
	}
}

func TestParseNetemCounters(t *testing.T) {
	out := `qdisc htb 1: root refcnt 2 r2q 10 default 0x1 direct_packets_stat 0 direct_qlen 1000
 Sent 500000 bytes 4000 pkt (dropped 0, overlimits 0 requeues 0)
 backlog 0b 0p requeues 0
qdisc netem 20: parent 1:2 limit 1000 delay 25ms  5ms loss 2%
 Sent 123456 bytes 980 pkt (dropped 20, overlimits 0 requeues 0)
 backlog 0b 0p requeues 0
`
	c, err := parseNetemCounters(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := (DropCount{Packets: 1000, Dropped: 20}); c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if _, err := parseNetemCounters("qdisc noqueue 0: root refcnt 2\n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0)\n"); err == nil {
		t.Error("counters found without a netem qdisc")
	}
}

func TestSNMPField(t *testing.T) {
	out := `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 100
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 5 4 0 0 2 900 950 17 0 1 0
`
	v, err := snmpField(out, "Tcp", "RetransSegs")
	if err != nil || v != 17 {
		t.Errorf("RetransSegs = %d, %v; want 17", v, err)
	}
	if _, err := snmpField(out, "Tcp", "Nope"); err == nil {
		t.Error("a missing field found")
	}
}
