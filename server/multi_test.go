package server_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

// nullArray is EXEC's reply when a WATCHed key changed.
func nullArray(proto int) string {
	if proto == 3 {
		return "_\r\n"
	}
	return "*-1\r\n"
}

// step is one command and its exact reply.
type step struct {
	args []string
	want string
}

func runSteps(t *testing.T, c *raw, steps []step) {
	t.Helper()
	for i, s := range steps {
		if got := c.do(s.args...); got != s.want {
			t.Fatalf("step %d %q = %q, want %q", i, s.args, got, s.want)
		}
	}
}

func TestMultiExec(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			srv := servertest.Start(t)
			c := dialRaw(t, srv)
			if proto == 3 {
				c.do("hello", "3")
			}
			null := "$-1\r\n"
			if proto == 3 {
				null = "_\r\n"
			}
			runSteps(t, c, []step{
				{[]string{"exec"}, "-ERR EXEC without MULTI\r\n"},
				{[]string{"discard"}, "-ERR DISCARD without MULTI\r\n"},
				// Queued replies, then the replies in one array.
				{[]string{"multi"}, "+OK\r\n"},
				{[]string{"set", "a", "1"}, "+QUEUED\r\n"},
				{[]string{"incr", "a"}, "+QUEUED\r\n"},
				{[]string{"get", "a"}, "+QUEUED\r\n"},
				{[]string{"get", "missing"}, "+QUEUED\r\n"},
				{[]string{"exec"}, "*4\r\n+OK\r\n:2\r\n$1\r\n2\r\n" + null},
				// An error at run time does not stop the others.
				{[]string{"multi"}, "+OK\r\n"},
				{[]string{"set", "s", "text"}, "+QUEUED\r\n"},
				{[]string{"incr", "s"}, "+QUEUED\r\n"},
				{[]string{"set", "b", "1"}, "+QUEUED\r\n"},
				{[]string{"exec"}, "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"},
				{[]string{"get", "b"}, "$1\r\n1\r\n"},
				// An error when queueing aborts the whole transaction.
				{[]string{"multi"}, "+OK\r\n"},
				{[]string{"set", "c", "1"}, "+QUEUED\r\n"},
				{[]string{"nosuch"}, "-ERR unknown command 'nosuch', with args beginning with: \r\n"},
				{[]string{"exec"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
				{[]string{"get", "c"}, null},
				{[]string{"multi"}, "+OK\r\n"},
				{[]string{"set", "c"}, "-ERR wrong number of arguments for 'set' command\r\n"},
				{[]string{"exec"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
				// Nested MULTI and WATCH inside MULTI are errors that do not
				// abort the transaction.
				{[]string{"multi"}, "+OK\r\n"},
				{[]string{"multi"}, "-ERR MULTI calls can not be nested\r\n"},
				{[]string{"watch", "a"}, "-ERR WATCH inside MULTI is not allowed\r\n"},
				{[]string{"set", "c", "2"}, "+QUEUED\r\n"},
				{[]string{"exec"}, "*1\r\n+OK\r\n"},
				// DISCARD drops the queue.
				{[]string{"multi"}, "+OK\r\n"},
				{[]string{"set", "d", "1"}, "+QUEUED\r\n"},
				{[]string{"discard"}, "+OK\r\n"},
				{[]string{"get", "d"}, null},
				// An empty transaction.
				{[]string{"multi"}, "+OK\r\n"},
				{[]string{"exec"}, "*0\r\n"},
			})
		})
	}
}

func TestMultiSelect(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	runSteps(t, c, []step{
		{[]string{"multi"}, "+OK\r\n"},
		{[]string{"set", "k", "db0"}, "+QUEUED\r\n"},
		{[]string{"select", "1"}, "+QUEUED\r\n"},
		{[]string{"set", "k", "db1"}, "+QUEUED\r\n"},
		{[]string{"exec"}, "*3\r\n+OK\r\n+OK\r\n+OK\r\n"},
		// The SELECT inside the transaction sticks.
		{[]string{"get", "k"}, "$3\r\ndb1\r\n"},
		{[]string{"select", "0"}, "+OK\r\n"},
		{[]string{"get", "k"}, "$3\r\ndb0\r\n"},
		// A bad SELECT fails at run time, inside the array.
		{[]string{"multi"}, "+OK\r\n"},
		{[]string{"select", "99"}, "+QUEUED\r\n"},
		{[]string{"exec"}, "*1\r\n-ERR DB index is out of range\r\n"},
	})
	if got := clientFields(t, bulkBody(t, c.do("client", "info")))[0]["db"]; got != "0" {
		t.Fatalf("db after a failed SELECT = %s", got)
	}
}

// Commands the connection handles itself (PING, ECHO, CLIENT, PUBLISH)
// take their place among the data commands' replies.
func TestMultiConnectionCommands(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	id := c.do("client", "id")
	sub := dialRaw(t, srv)
	sub.want(push(2, "subscribe", "ch", 1), "subscribe", "ch")
	runSteps(t, c, []step{
		{[]string{"multi"}, "+OK\r\n"},
		{[]string{"ping"}, "+QUEUED\r\n"},
		{[]string{"set", "k", "v"}, "+QUEUED\r\n"},
		{[]string{"echo", "hi"}, "+QUEUED\r\n"},
		{[]string{"client", "id"}, "+QUEUED\r\n"},
		{[]string{"get", "k"}, "+QUEUED\r\n"},
		{[]string{"publish", "ch", "m"}, "+QUEUED\r\n"},
		{[]string{"exec"}, "*6\r\n+PONG\r\n+OK\r\n$2\r\nhi\r\n" + id + "$1\r\nv\r\n:1\r\n"},
	})
	sub.expect(push(2, "message", "ch", "m"))
	// A failed WATCH stands for the whole transaction.
	other := dialRaw(t, srv)
	runSteps(t, c, []step{
		{[]string{"watch", "k"}, "+OK\r\n"},
	})
	other.want("+OK\r\n", "set", "k", "changed")
	runSteps(t, c, []step{
		{[]string{"multi"}, "+OK\r\n"},
		{[]string{"ping"}, "+QUEUED\r\n"},
		{[]string{"publish", "ch", "not sent"}, "+QUEUED\r\n"},
		{[]string{"exec"}, "*-1\r\n"},
	})
	sub.want("*2\r\n$4\r\npong\r\n$0\r\n\r\n", "ping")
}

func TestWatch(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			srv := servertest.Start(t)
			c, other := dialRaw(t, srv), dialRaw(t, srv)
			if proto == 3 {
				c.do("hello", "3")
			}
			exec := func(wantAborted bool) {
				t.Helper()
				c.want("+OK\r\n", "multi")
				c.want("+QUEUED\r\n", "ping")
				want := "*1\r\n+PONG\r\n"
				if wantAborted {
					want = nullArray(proto)
				}
				c.want(want, "exec")
			}
			tests := []struct {
				name    string
				setup   []string // run by c before WATCH
				between func()   // after WATCH, before MULTI
				aborted bool
			}{
				{"untouched", []string{"set", "k", "1"}, func() {}, false},
				{"another client's write", []string{"set", "k", "1"}, func() { other.do("set", "k", "2") }, true},
				{"a write of the same value", []string{"set", "k", "1"}, func() { other.do("set", "k", "1") }, true},
				{"creating a missing key", []string{"del", "k"}, func() { other.do("set", "k", "1") }, true},
				{"deleting the key", []string{"set", "k", "1"}, func() { other.do("del", "k") }, true},
				{"a write to another key", []string{"set", "k", "1"}, func() { other.do("set", "zz", "1") }, false},
				{"a write in another database", []string{"set", "k", "1"}, func() {
					other.do("select", "1")
					other.do("set", "k", "x")
					other.do("select", "0")
				}, false},
				{"expiry", []string{"set", "k", "1", "px", "100"}, func() { srv.Advance(time.Second) }, true},
				{"FLUSHALL of the key", []string{"set", "k", "1"}, func() { other.do("flushall") }, true},
				{"FLUSHDB of the key", []string{"set", "k", "1"}, func() { other.do("flushdb") }, true},
				// FLUSHALL and FLUSHDB touch only keys that existed.
				{"FLUSHALL of a missing key", []string{"del", "k"}, func() { other.do("flushall") }, false},
				{"FLUSHDB of a missing key", []string{"del", "k"}, func() { other.do("flushdb") }, false},
				{"EXPIRE", []string{"set", "k", "1"}, func() { other.do("expire", "k", "100") }, true},
				{"own write", []string{"set", "k", "1"}, func() { c.do("set", "k", "mine") }, true},
			}
			for _, tt := range tests {
				c.do(tt.setup...)
				c.want("+OK\r\n", "watch", "k", "k")
				tt.between()
				t.Run(tt.name, func(t *testing.T) { exec(tt.aborted) })
				// EXEC always forgets the watches.
				other.do("set", "k", "after")
				exec(false)
			}
			// A key already expired when watched, and not touched since,
			// does not abort (Valkey's "WATCH stale keys should not fail
			// EXEC").
			c.do("set", "k", "1", "px", "100")
			srv.Advance(time.Second)
			c.want("+OK\r\n", "watch", "k")
			exec(false)
			// Nor does its deletion by active expiry...
			c.do("set", "k", "1", "px", "100")
			srv.Advance(time.Second)
			c.want("+OK\r\n", "watch", "k")
			srv.Exec.ExpireCycle(100)
			exec(false)
			// ... but a new value does.
			c.do("set", "k", "1", "px", "100")
			srv.Advance(time.Second)
			c.want("+OK\r\n", "watch", "k")
			other.do("set", "k", "new")
			exec(true)
			// UNWATCH forgets them too.
			c.do("set", "k", "1")
			c.want("+OK\r\n", "watch", "k")
			c.want("+OK\r\n", "unwatch")
			other.do("set", "k", "2")
			exec(false)
			// So does DISCARD.
			c.want("+OK\r\n", "watch", "k")
			c.want("+OK\r\n", "multi")
			c.want("+OK\r\n", "discard")
			other.do("set", "k", "3")
			exec(false)
		})
	}
}

func TestWatchGoRedis(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		other := srv.Client(t, 2)
		rdb.Set(ctx, "counter", "10", 0)
		err := rdb.Watch(ctx, func(tx *redis.Tx) error {
			n, err := tx.Get(ctx, "counter").Int()
			if err != nil {
				return err
			}
			other.Incr(ctx, "counter") // lose the race
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "counter", n+1, 0)
				return nil
			})
			return err
		}, "counter")
		if err != redis.TxFailedErr {
			t.Fatalf("Watch = %v, want TxFailedErr", err)
		}
		cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "counter")
			p.Get(ctx, "counter")
			return nil
		})
		if err != nil || len(cmds) != 2 || cmds[1].(*redis.StringCmd).Val() != "12" {
			t.Fatalf("TxPipelined = %v, %v", cmds, err)
		}
	})
}
