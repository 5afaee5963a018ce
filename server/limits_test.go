package server_test

import (
	"strings"
	"testing"

	"github.com/meridian-kv/meridian/server"
	"github.com/meridian-kv/meridian/server/servertest"
)

// Malformed requests get Valkey's protocol error, after the replies to the
// requests before them, and then only that connection is closed.
func TestProtocolErrors(t *testing.T) {
	srv := servertest.Start(t)
	bystander := dialRaw(t, srv)
	tests := []struct {
		name, in, want string
	}{
		{"multibulk count", "*abc\r\n", "invalid multibulk length"},
		{"multibulk count with plus", "*+1\r\n", "invalid multibulk length"},
		{"multibulk count too big", "*2147483648\r\n", "invalid multibulk length"},
		{"no dollar", "*1\r\nx\r\n", "expected '$', got 'x'"},
		{"negative bulk", "*1\r\n$-1\r\n", "invalid bulk length"},
		{"bulk with leading zero", "*1\r\n$01\r\na\r\n", "invalid bulk length"},
		{"bulk over proto-max-bulk-len", "*1\r\n$536870913\r\n", "invalid bulk length"},
		{"unbalanced double quote", "set k \"abc\r\n", "unbalanced quotes in request"},
		{"quote followed by text", "set k \"a\"b\r\n", "unbalanced quotes in request"},
		{"unbalanced single quote", "set k 'abc\r\n", "unbalanced quotes in request"},
		{"inline too long", strings.Repeat("a", 64<<10+1), "too big inline request"},
		{"count line too long", "*" + strings.Repeat("1", 64<<10+1), "too big mbulk count string"},
		{"bulk line too long", "*1\r\n$" + strings.Repeat("1", 64<<10+1), "too big bulk count string"},
		{"after a good request", "PING\r\n*x\r\n", "invalid multibulk length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, srv)
			c.send(tt.in)
			if strings.HasPrefix(tt.in, "PING") {
				c.expect("+PONG\r\n")
			}
			c.expect("-ERR Protocol error: " + tt.want + "\r\n")
			c.expectClosed()
			bystander.want("+PONG\r\n", "ping")
		})
	}
}

func TestRequestForms(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	// Inline requests, with Valkey's quoting rules; blank lines and empty
	// multibulks are skipped.
	c.send("\r\n*0\r\n  \r\nset k \"a b\\x41\\n\"\r\n")
	c.expect("+OK\r\n")
	c.want(bulk("a bA\n"), "get", "k")
	c.send("echo 'it\\'s'\n")
	c.expect(bulk("it's"))
	c.send("echo \"\"\r\n")
	c.expect(bulk(""))
	// A pipeline split across writes, in the middle of a bulk.
	c.send("*2\r\n$4\r\necho\r\n$5\r\nhel")
	c.send("lo\r\n*1\r\n$4\r\nPING\r\n")
	c.expect(bulk("hello"))
	c.expect("+PONG\r\n")
	// Replies to complete requests are sent without waiting for the rest
	// of an incomplete one.
	c.send("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\necho\r\n$3\r\nab")
	c.expect("+PONG\r\n")
	c.send("c\r\n")
	c.expect(bulk("abc"))
}

func TestCommandErrors(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"nosuch", "a", "b"}, "-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' \r\n"},
		{[]string{"nosuch"}, "-ERR unknown command 'nosuch', with args beginning with: \r\n"},
		{[]string{"GET"}, "-ERR wrong number of arguments for 'get' command\r\n"},
		{[]string{"config", "get"}, "-ERR wrong number of arguments for 'config|get' command\r\n"},
		{[]string{"CONFIG", "nope"}, "-ERR unknown subcommand 'nope'. Try CONFIG HELP.\r\n"},
		{[]string{"pubsub", "nope"}, "-ERR unknown subcommand 'nope'. Try PUBSUB HELP.\r\n"},
	}
	for _, s := range steps {
		c.want(s.want, s.args...)
	}
}

func TestAuth(t *testing.T) {
	srv := servertest.Start(t, func(cfg *server.Config) { cfg.RequirePass = "secret" })
	c := dialRaw(t, srv)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"get", "k"}, "-NOAUTH Authentication required.\r\n"},
		{[]string{"ping"}, "-NOAUTH Authentication required.\r\n"},
		// Unknown commands and arity are checked first, as in Valkey.
		{[]string{"nosuch"}, "-ERR unknown command 'nosuch', with args beginning with: \r\n"},
		{[]string{"hello", "3"}, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"},
		{[]string{"auth", "wrong"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"auth", "alice", "secret"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"auth", "a", "b", "c"}, "-ERR syntax error\r\n"},
		{[]string{"hello", "2", "auth", "default", "wrong"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{[]string{"auth", "default", "secret"}, "+OK\r\n"},
		{[]string{"get", "k"}, "$-1\r\n"},
	}
	for _, s := range steps {
		c.want(s.want, s.args...)
	}
	// HELLO AUTH authenticates and switches protocol at once.
	h := dialRaw(t, srv)
	if got := h.do("hello", "3", "auth", "default", "secret", "setname", "x"); !strings.HasPrefix(got, "%7\r\n$6\r\nserver\r\n") {
		t.Fatalf("HELLO 3 AUTH = %q", got)
	}
	h.want("$1\r\nx\r\n", "client", "getname")
	h.want("_\r\n", "get", "k")

	// Before AUTH, requests are limited in size.
	u := dialRaw(t, srv)
	u.send("*11\r\n")
	u.expect("-ERR Protocol error: unauthenticated multibulk length\r\n")
	u.expectClosed()
	u = dialRaw(t, srv)
	u.send("*1\r\n$16385\r\n")
	u.expect("-ERR Protocol error: unauthenticated bulk length\r\n")
	u.expectClosed()
	// Over proto-max-bulk-len, the general error wins.
	u = dialRaw(t, srv)
	u.send("*1\r\n$536870913\r\n")
	u.expect("-ERR Protocol error: invalid bulk length\r\n")
	u.expectClosed()
	u = dialRaw(t, srv)
	u.send(encodeCommand("set", "k", strings.Repeat("v", 16384)))
	u.expect("-NOAUTH Authentication required.\r\n")

	// Without requirepass, AUTH with a password alone is an error.
	open := servertest.Start(t)
	o := dialRaw(t, open)
	o.want("-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n", "auth", "x")
	o.want("+OK\r\n", "auth", "default", "anything")
}

func TestQuit(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	c.send(encodeCommand("quit") + encodeCommand("ping"))
	c.expect("+OK\r\n")
	c.expectClosed()
}
