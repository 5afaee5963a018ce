package server_test

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

// push encodes a pub/sub reply: an array in RESP2, a push in RESP3. A nil
// element is the null bulk string.
func push(proto int, elems ...any) string {
	var b strings.Builder
	if proto == 3 {
		b.WriteString(">")
	} else {
		b.WriteString("*")
	}
	b.WriteString(strconv.Itoa(len(elems)) + "\r\n")
	for _, e := range elems {
		switch e := e.(type) {
		case string:
			b.WriteString(bulk(e))
		case int:
			b.WriteString(":" + strconv.Itoa(e) + "\r\n")
		case nil:
			if proto == 3 {
				b.WriteString("_\r\n")
			} else {
				b.WriteString("$-1\r\n")
			}
		}
	}
	return b.String()
}

func TestPubSubReplies(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			srv := servertest.Start(t)
			sub, pub := dialRaw(t, srv), dialRaw(t, srv)
			if proto == 3 {
				sub.do("hello", "3")
			}
			// Nothing to unsubscribe from: one reply with a null name.
			sub.want(push(proto, "unsubscribe", nil, 0), "unsubscribe")
			sub.want(push(proto, "punsubscribe", nil, 0), "punsubscribe")
			sub.send(encodeCommand("subscribe", "a", "b"))
			sub.expect(push(proto, "subscribe", "a", 1))
			sub.expect(push(proto, "subscribe", "b", 2))
			// Subscribing again changes nothing but still replies.
			sub.want(push(proto, "subscribe", "a", 2), "subscribe", "a")
			// Channels and patterns share the count.
			sub.want(push(proto, "psubscribe", "h?llo", 3), "psubscribe", "h?llo")

			pub.want(":1\r\n", "publish", "a", "hi")
			sub.expect(push(proto, "message", "a", "hi"))
			pub.want(":1\r\n", "publish", "hello", "x")
			sub.expect(push(proto, "pmessage", "h?llo", "hello", "x"))
			pub.want(":0\r\n", "publish", "nobody", "x")

			if proto == 2 {
				sub.want("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n", "get", "k")
				sub.want("-ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n", "client", "id")
				sub.want("*2\r\n$4\r\npong\r\n$0\r\n\r\n", "ping")
				sub.want("*2\r\n$4\r\npong\r\n$3\r\nmsg\r\n", "ping", "msg")
			} else {
				// RESP3 clients may run anything while subscribed.
				sub.want("_\r\n", "get", "k")
				sub.want("+PONG\r\n", "ping")
			}

			// A channel not subscribed to still gets a reply.
			sub.want(push(proto, "unsubscribe", "z", 3), "unsubscribe", "z")
			sub.send(encodeCommand("unsubscribe"))
			sub.expect(push(proto, "unsubscribe", "a", 2))
			sub.expect(push(proto, "unsubscribe", "b", 1))
			sub.want(push(proto, "punsubscribe", "h?llo", 0), "punsubscribe")
			// Out of the subscribed state.
			if proto == 2 {
				sub.want("$-1\r\n", "get", "k")
			}
			pub.want(":0\r\n", "publish", "a", "gone")
			sub.want("+PONG\r\n", "ping")
		})
	}
}

func TestPubSubShard(t *testing.T) {
	srv := servertest.Start(t)
	sub, pub := dialRaw(t, srv), dialRaw(t, srv)
	sub.want(push(2, "subscribe", "a", 1), "subscribe", "a")
	// Shard channels count apart from channels and patterns.
	sub.want(push(2, "ssubscribe", "a", 1), "ssubscribe", "a")
	pub.want(":1\r\n", "spublish", "a", "s")
	sub.expect(push(2, "smessage", "a", "s"))
	pub.want(":1\r\n", "publish", "a", "p")
	sub.expect(push(2, "message", "a", "p"))
	pub.want("*1\r\n$1\r\na\r\n", "pubsub", "shardchannels")
	pub.want("*2\r\n$1\r\na\r\n:1\r\n", "pubsub", "shardnumsub", "a")
	sub.want(push(2, "sunsubscribe", "a", 0), "sunsubscribe")
	sub.want(push(2, "sunsubscribe", nil, 0), "sunsubscribe")
	pub.want(":0\r\n", "spublish", "a", "s")
}

func TestPubSubIntrospection(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		s1, s2 := dialRaw(t, srv), dialRaw(t, srv)
		s1.send(encodeCommand("subscribe", "news.tech", "news.art"))
		s1.reply()
		s1.reply()
		s2.send(encodeCommand("subscribe", "news.tech") + encodeCommand("psubscribe", "news.*", "x*"))
		s2.reply()
		s2.reply()
		s2.reply()

		chans, err := rdb.PubSubChannels(ctx, "*").Result()
		if err != nil || strings.Join(chans, ",") != "news.art,news.tech" {
			t.Fatalf("PUBSUB CHANNELS = %v, %v", chans, err)
		}
		if chans := rdb.PubSubChannels(ctx, "*art").Val(); strings.Join(chans, ",") != "news.art" {
			t.Fatalf("PUBSUB CHANNELS *art = %v", chans)
		}
		num, err := rdb.PubSubNumSub(ctx, "news.tech", "news.art", "none").Result()
		if err != nil || num["news.tech"] != 2 || num["news.art"] != 1 || num["none"] != 0 {
			t.Fatalf("PUBSUB NUMSUB = %v, %v", num, err)
		}
		if n := rdb.PubSubNumPat(ctx).Val(); n != 2 {
			t.Fatalf("PUBSUB NUMPAT = %d", n)
		}
		// Two channel subscribers and one pattern.
		if n := rdb.Publish(ctx, "news.tech", "m").Val(); n != 3 {
			t.Fatalf("PUBLISH = %d, want 3", n)
		}
		// NUMSUB is a flat array even in RESP3.
		raw := dialRaw(t, srv)
		if rdb.Options().Protocol == 3 {
			raw.do("hello", "3")
		}
		raw.want("*4\r\n$9\r\nnews.tech\r\n:2\r\n$1\r\nq\r\n:0\r\n", "pubsub", "numsub", "news.tech", "q")
		raw.want("*0\r\n", "pubsub", "numsub")
		raw.want(":2\r\n", "pubsub", "numpat")
		raw.want("-ERR wrong number of arguments for 'pubsub|numpat' command\r\n", "pubsub", "numpat", "x")
		// A closed subscriber leaves the counts.
		s2.nc.Close()
		eventually(t, "the subscriber to be dropped", func() bool {
			return rdb.PubSubNumPat(ctx).Val() == 0 && rdb.PubSubNumSub(ctx, "news.tech").Val()["news.tech"] == 1
		})
	})
}

func TestPubSubPatterns(t *testing.T) {
	srv := servertest.Start(t)
	pub := dialRaw(t, srv)
	tests := []struct {
		pattern, channel string
		match            bool
	}{
		{"*", "anything", true},
		{"news.*", "news.", true},
		{"news.*", "news", false},
		{"h?llo", "hallo", true},
		{"h?llo", "hllo", false},
		{"h[ae]llo", "hello", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-c]llo", "hbllo", true},
		{"h[c-a]llo", "hbllo", true}, // range ends in either order
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{"H*", "hello", false}, // case-sensitive
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"[abc", "b", true}, // an unclosed class runs to the end
	}
	for _, tt := range tests {
		sub := dialRaw(t, srv)
		sub.want(push(2, "psubscribe", tt.pattern, 1), "psubscribe", tt.pattern)
		want := ":0\r\n"
		if tt.match {
			want = ":1\r\n"
		}
		if got := pub.do("publish", tt.channel, "m"); got != want {
			t.Errorf("pattern %q channel %q: PUBLISH = %q, want %q", tt.pattern, tt.channel, got, want)
		}
		if tt.match {
			sub.expect(push(2, "pmessage", tt.pattern, tt.channel, "m"))
		}
		sub.nc.Close()
		eventually(t, "pattern gone", func() bool { return pub.do("pubsub", "numpat") == ":0\r\n" })
	}
}

func TestPubSubGoRedis(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := t.Context()
		ps := rdb.Subscribe(ctx, "events")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if err := ps.PSubscribe(ctx, "ev*"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the pattern", func() bool { return rdb.PubSubNumPat(ctx).Val() == 1 })
		if n := rdb.Publish(ctx, "events", "hello").Val(); n != 2 {
			t.Fatalf("PUBLISH = %d", n)
		}
		got := map[string]bool{}
		for range 2 {
			m, err := ps.ReceiveMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got[m.Pattern+"|"+m.Channel+"|"+m.Payload] = true
		}
		if !got["|events|hello"] || !got["ev*|events|hello"] {
			t.Fatalf("messages = %v", got)
		}
		if err := ps.Ping(ctx, "p"); err != nil {
			t.Fatal(err)
		}
	})
}

// The Valkey suite's "publish to self inside multi": messages a client
// publishes to itself follow the reply that published them.
func TestPubSubPublishToSelf(t *testing.T) {
	srv := servertest.Start(t)
	c := dialRaw(t, srv)
	c.do("hello", "3")
	c.want(push(3, "subscribe", "foo", 1), "subscribe", "foo")
	c.want(":1\r\n", "publish", "foo", "direct")
	c.expect(push(3, "message", "foo", "direct"))

	c.want("+OK\r\n", "multi")
	c.want("+QUEUED\r\n", "ping", "abc")
	c.want("+QUEUED\r\n", "publish", "foo", "bar")
	c.want("+QUEUED\r\n", "publish", "foo", "vaz")
	c.want("+QUEUED\r\n", "ping", "def")
	c.want("*4\r\n$3\r\nabc\r\n:1\r\n:1\r\n$3\r\ndef\r\n", "exec")
	c.expect(push(3, "message", "foo", "bar"))
	c.expect(push(3, "message", "foo", "vaz"))

	// "unsubscribe inside multi": the confirmations are EXEC's elements.
	c.send(encodeCommand("subscribe", "bar", "baz"))
	c.expect(push(3, "subscribe", "bar", 2))
	c.expect(push(3, "subscribe", "baz", 3))
	c.want("+OK\r\n", "multi")
	c.want("+QUEUED\r\n", "ping", "abc")
	c.want("+QUEUED\r\n", "unsubscribe", "bar")
	c.want("+QUEUED\r\n", "unsubscribe", "baz")
	c.want("+QUEUED\r\n", "ping", "def")
	c.want("*4\r\n$3\r\nabc\r\n"+push(3, "unsubscribe", "bar", 2)+push(3, "unsubscribe", "baz", 1)+"$3\r\ndef\r\n", "exec")
	c.want(":1\r\n", "publish", "foo", "vaz")
	c.expect(push(3, "message", "foo", "vaz"))
}

// A subscription's confirmation always comes before its first message,
// however fast a publisher is.
func TestPubSubConfirmationFirst(t *testing.T) {
	srv := servertest.Start(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		nc, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		rd := bufio.NewReader(nc)
		for {
			select {
			case <-stop:
				return
			default:
			}
			nc.Write([]byte(encodeCommand("publish", "hot", "m")))
			if _, err := readValue(rd); err != nil {
				t.Error(err)
				return
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	for range 50 {
		sub := dialRaw(t, srv)
		sub.send(encodeCommand("subscribe", "hot"))
		sub.expect(push(2, "subscribe", "hot", 1))
		sub.send(encodeCommand("unsubscribe", "hot"))
		// Messages may come before the unsubscribe confirmation, never
		// after it.
		for {
			r := sub.reply()
			if r == push(2, "unsubscribe", "hot", 0) {
				break
			}
			if r != push(2, "message", "hot", "m") {
				t.Fatalf("unexpected %q", r)
			}
		}
		sub.want("+PONG\r\n", "ping")
		sub.nc.Close()
	}
}

// Messages and a RESP3 subscriber's own replies never interleave bytes.
func TestPubSubRepliesAndMessagesDoNotInterleave(t *testing.T) {
	srv := servertest.Start(t)
	sub := dialRaw(t, srv)
	sub.do("hello", "3")
	sub.want(push(3, "subscribe", "c", 1), "subscribe", "c")
	payload := strings.Repeat("p", 3000)
	const pubs, echoes = 2000, 2000
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			nc, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			var b strings.Builder
			for range pubs / 2 {
				b.WriteString(encodeCommand("publish", "c", payload))
			}
			go nc.Write([]byte(b.String()))
			rd := bufio.NewReader(nc)
			for range pubs / 2 {
				if r, err := readValue(rd); err != nil || r != ":1\r\n" {
					t.Errorf("PUBLISH = %q, %v", r, err)
					return
				}
			}
		})
	}
	go func() {
		var b strings.Builder
		for i := range echoes {
			b.WriteString(encodeCommand("echo", strings.Repeat("e", i%700)+strconv.Itoa(i)))
		}
		sub.nc.Write([]byte(b.String()))
	}()
	msg := push(3, "message", "c", payload)
	gotMsgs, next := 0, 0
	for gotMsgs < pubs || next < echoes {
		r := sub.reply()
		switch {
		case r == msg:
			gotMsgs++
		case next < echoes && r == bulk(strings.Repeat("e", next%700)+strconv.Itoa(next)):
			next++
		default:
			t.Fatalf("after %d messages and %d echoes: unexpected %q", gotMsgs, next, r[:min(len(r), 80)])
		}
	}
	wg.Wait()
}

// A subscriber that does not read cannot stall publishers; once too far
// behind it is disconnected.
func TestPubSubSlowSubscriber(t *testing.T) {
	srv := servertest.Start(t)
	ctx := t.Context()
	slow := dialRaw(t, srv)
	slow.send(encodeCommand("subscribe", "firehose"))
	rdb := srv.Client(t, 2)
	eventually(t, "the subscription", func() bool {
		return rdb.PubSubNumSub(ctx, "firehose").Val()["firehose"] == 1
	})
	payload := strings.Repeat("x", 1<<20)
	start := time.Now()
	for i := 0; i < 64; i++ {
		if err := rdb.Publish(ctx, "firehose", payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("publishing to a stalled subscriber took %v", d)
	}
	eventually(t, "the slow subscriber to be closed", func() bool {
		return rdb.PubSubNumSub(ctx, "firehose").Val()["firehose"] == 0
	})
	// Its socket is closed: reading drains what was sent, then ends.
	slow.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReaderSize(slow.nc, 1<<20)
	n := 0
	for {
		b, err := rd.Read(make([]byte, 1<<20))
		n += b
		if err != nil {
			if strings.Contains(err.Error(), "timeout") {
				t.Fatalf("slow subscriber still open after %d bytes", n)
			}
			break
		}
	}
	if n >= 64<<20 {
		t.Fatalf("slow subscriber got all %d bytes", n)
	}
}

// Valkey's "PubSub messages with CLIENT REPLY OFF": notifications are
// pushes, which CLIENT REPLY OFF does not silence.
func TestPubSubReplyOff(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("resp"+strconv.Itoa(proto), func(t *testing.T) {
			srv := servertest.Start(t)
			sub, pub := dialRaw(t, srv), dialRaw(t, srv)
			if proto == 3 {
				sub.do("hello", "3")
			}
			sub.send(encodeCommand("client", "reply", "off"))
			sub.want(push(proto, "subscribe", "channel", 1), "subscribe", "channel")
			sub.want(push(proto, "psubscribe", "ch*", 2), "psubscribe", "ch*")
			pub.want(":2\r\n", "publish", "channel", "hello")
			sub.expect(push(proto, "message", "channel", "hello"))
			sub.expect(push(proto, "pmessage", "ch*", "channel", "hello"))
			sub.want(push(proto, "unsubscribe", "channel", 1), "unsubscribe", "channel")
			sub.want(push(proto, "punsubscribe", "ch*", 0), "punsubscribe", "ch*")
			// Other replies stay silent.
			sub.send(encodeCommand("ping"))
			sub.expectNothing()
		})
	}
}
