package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/server/servertest"
)

// fuzzSeeds are requests of every kind, well and badly formed.
var fuzzSeeds = []string{
	"*1\r\n$4\r\nPING\r\n",
	"PING\r\nset k \"a b\"\r\nget k\r\n",
	"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nget\r\n$1\r\nk\r\n",
	"*x\r\n",
	"*1\r\n$-1\r\n",
	"*2\r\n$4\r\necho\r\n$10\r\nshort\r\n",
	"set k 'unbalanced\r\n",
	"*1\r\n:1\r\n",
	"MULTI\r\nSET a 1\r\nINCR a\r\nPING\r\nEXEC\r\n",
	"MULTI\r\nNOSUCH\r\nEXEC\r\nDISCARD\r\n",
	"WATCH a\r\nMULTI\r\nWATCH b\r\nMULTI\r\nEXEC\r\nUNWATCH\r\n",
	"SUBSCRIBE a b\r\nPSUBSCRIBE *\r\nGET x\r\nPING\r\nUNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nGET x\r\n",
	"HELLO 3\r\nSUBSCRIBE a\r\nPUBLISH a hello\r\nGET x\r\nRESET\r\n",
	"SSUBSCRIBE s\r\nSPUBLISH s m\r\nPUBSUB SHARDNUMSUB s\r\nPUBSUB CHANNELS\r\nPUBSUB NUMPAT\r\n",
	"CLIENT LIST\r\nCLIENT INFO\r\nCLIENT SETNAME x\r\nCLIENT KILL TYPE normal\r\n",
	"CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nCLIENT REPLY SKIP\r\nPING\r\nPING\r\n",
	"CONFIG GET *\r\nCONFIG SET maxclients 1\r\nCONFIG SET proto-max-bulk-len 1mb\r\n",
	"CONFIG SET requirepass p\r\nRESET\r\nGET x\r\nAUTH p\r\nHELLO 3 AUTH default p\r\n",
	"INFO\r\nINFO everything\r\nCOMMAND\r\nCOMMAND DOCS\r\nCOMMAND GETKEYS set a b\r\nCOMMAND LIST FILTERBY PATTERN c*\r\n",
	"SELECT 3\r\nMULTI\r\nSELECT 99\r\nSET k v\r\nEXEC\r\nFLUSHALL\r\n",
	"TIME\r\nECHO x\r\nQUIT\r\nPING\r\n",
	"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$11\r\nunsubscribe\r\n",
	"*2\r\n$4\r\necho\r\n$1\r\na\x00*1\r\n$4\r\nping\r\n",
}

// FuzzServer feeds raw bytes to a real server over TCP while another
// client runs SET and GET. The server must not crash, must stay
// reachable, and the other client's replies must stay correct: the fuzzed
// connection may kill it, flush its keys or change the configuration, but
// never corrupt what it reads.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 256<<10 {
			t.Skip()
		}
		srv := servertest.Start(t)
		var wg sync.WaitGroup
		wg.Go(func() { fuzzFeed(t, srv.Addr, data) })
		wg.Go(func() { fuzzCheck(t, srv.Addr) })
		wg.Wait()
		// Still serving: a new client gets an answer (which the fuzzed
		// configuration may make a refusal).
		nc, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
		if err != nil {
			t.Fatalf("server unreachable: %v", err)
		}
		defer nc.Close()
		nc.Write([]byte(encodeCommand("ping")))
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		r, err := readValue(bufio.NewReader(nc))
		switch {
		case err != nil:
			t.Fatalf("PING on a new connection: %v", err)
		case r == "+PONG\r\n",
			r == "-NOAUTH Authentication required.\r\n",
			r == "-ERR max number of clients reached\r\n":
		default:
			t.Fatalf("PING on a new connection = %q", r)
		}
	})
}

// fuzzFeed sends data on its own connection, then reads whatever comes
// back until the server closes the connection or goes quiet.
func fuzzFeed(t *testing.T, addr string, data []byte) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		nc.Write(data)
		nc.(*net.TCPConn).CloseWrite()
	})
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	io.Copy(io.Discard, nc)
	// Closing ends a write the server stopped reading; data must not be
	// touched after the fuzz target returns.
	nc.Close()
	wg.Wait()
}

// fuzzCheck runs SET and GET with fresh values and checks every reply.
// Losing the connection is allowed (CLIENT KILL); a wrong reply is not.
func fuzzCheck(t *testing.T, addr string) {
	var nc net.Conn
	var rd *bufio.Reader
	defer func() {
		if nc != nil {
			nc.Close()
		}
	}()
	roundTrip := func(args ...string) (string, bool) {
		if nc == nil {
			var err error
			if nc, err = net.Dial("tcp", addr); err != nil {
				t.Errorf("dial: %v", err)
				return "", false
			}
			rd = bufio.NewReader(nc)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write([]byte(encodeCommand(args...))); err != nil {
			nc.Close()
			nc = nil
			return "", false
		}
		r, err := readValue(rd)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("%q: no reply: %v", args, err)
			}
			nc.Close()
			nc = nil
			return "", false
		}
		return r, true
	}
	key := fmt.Sprintf("fuzz:checker:%d", rand.Uint64())
	for i := range 20 {
		val := fmt.Sprintf("v%d-%d", i, rand.Uint64())
		r, ok := roundTrip("set", key, val)
		if !ok {
			continue
		}
		if r != "+OK\r\n" && !allowedRefusal(r) {
			t.Errorf("SET = %q", r)
			return
		}
		if r != "+OK\r\n" {
			continue
		}
		r, ok = roundTrip("get", key)
		// A FLUSHALL or FLUSHDB from the fuzzed client may come between.
		if ok && r != bulk(val) && r != "$-1\r\n" {
			t.Errorf("GET = %q, want %q", r, bulk(val))
			return
		}
	}
}

// allowedRefusal reports replies a reconnected checker may get once the
// fuzzed client changed the configuration.
func allowedRefusal(r string) bool {
	return r == "-NOAUTH Authentication required.\r\n" || strings.HasPrefix(r, "-ERR max number of clients reached")
}
