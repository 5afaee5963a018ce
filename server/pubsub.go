package server

import (
	"slices"
	"sync"

	"github.com/meridian-kv/meridian/protocol"
)

// Pub/sub, as Valkey's pubsub.c: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE (shard
// channels, a separate namespace on a single node), their UNSUBSCRIBE
// counterparts, PUBLISH, SPUBLISH and PUBSUB.
//
// Ordering: a connection changes its own subscription maps at once, but the
// hub learns of the change only when the connection's replies are queued
// for sending (Conn.syncSubs). So a message can never reach a client
// before the reply confirming the subscription, nor after the reply
// confirming its end. Messages go through the subscriber's outbox and its
// pusher goroutine: a publisher never writes to a socket.

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){
		"subscribe":    func(c *Conn, args [][]byte) { c.subscribe(subChannel, args[1:]) },
		"psubscribe":   func(c *Conn, args [][]byte) { c.subscribe(subPattern, args[1:]) },
		"ssubscribe":   func(c *Conn, args [][]byte) { c.subscribe(subShard, args[1:]) },
		"unsubscribe":  func(c *Conn, args [][]byte) { c.unsubscribe(subChannel, args[1:]) },
		"punsubscribe": func(c *Conn, args [][]byte) { c.unsubscribe(subPattern, args[1:]) },
		"sunsubscribe": func(c *Conn, args [][]byte) { c.unsubscribe(subShard, args[1:]) },
		"publish":      func(c *Conn, args [][]byte) { c.publish(subChannel, args) },
		"spublish":     func(c *Conn, args [][]byte) { c.publish(subShard, args) },
		"pubsub":       (*Conn).cmdPubsub,
	})
}

// subKind is a kind of subscription.
type subKind uint8

const (
	subChannel subKind = iota
	subPattern
	subShard
)

// words returns the reply words of a kind: subscribe, unsubscribe and
// message.
func (k subKind) words() (sub, unsub, msg string) {
	switch k {
	case subPattern:
		return "psubscribe", "punsubscribe", "pmessage"
	case subShard:
		return "ssubscribe", "sunsubscribe", "smessage"
	}
	return "subscribe", "unsubscribe", "message"
}

// subChange is a subscription change the hub has not yet seen.
type subChange struct {
	kind subKind
	name string
	add  bool
}

// hub routes published messages to subscribed connections.
type hub struct {
	mu sync.RWMutex
	// subs maps, per kind, a channel or pattern to its subscribers.
	subs [3]map[string]map[*Conn]struct{}
}

func newHub() *hub {
	h := &hub{}
	for i := range h.subs {
		h.subs[i] = map[string]map[*Conn]struct{}{}
	}
	return h
}

func (h *hub) applyLocked(c *Conn, ch subChange) {
	m := h.subs[ch.kind]
	if ch.add {
		set := m[ch.name]
		if set == nil {
			set = map[*Conn]struct{}{}
			m[ch.name] = set
		}
		set[c] = struct{}{}
		return
	}
	if set := m[ch.name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, ch.name)
		}
	}
}

// unsubscribeAll drops every subscription of c (connection closed).
func (h *hub) unsubscribeAll(c *Conn) {
	if !c.out.started {
		return // never reached the hub
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range c.pending {
		h.applyLocked(c, ch)
	}
	c.pending = nil
	for k, set := range c.subSets() {
		for name := range set {
			h.applyLocked(c, subChange{kind: subKind(k), name: name})
		}
	}
}

// syncSubs tells the hub about the connection's subscription changes.
// With flushing, the replies so far are queued in the same step; without,
// messages are held back until they are. It reports false if the
// connection is dead.
func (c *Conn) syncSubs(flushing bool) bool {
	h := c.srv.hub
	h.mu.Lock()
	for _, ch := range c.pending {
		h.applyLocked(c, ch)
	}
	c.pending = c.pending[:0]
	if !c.out.started {
		c.startPusher()
	}
	var mark int64
	ok := true
	if flushing {
		mark, ok = c.out.enqueue(c.w.Bytes(), c.selfMsgs)
		c.resetWriter()
		c.selfMsgs = c.selfMsgs[:0]
	} else {
		c.out.holdMessages()
	}
	h.mu.Unlock()
	if !flushing {
		return true
	}
	return ok && c.out.wait(mark)
}

func (c *Conn) subSets() [3]map[string]struct{} {
	return [3]map[string]struct{}{c.subs, c.psubs, c.ssubs}
}

func (c *Conn) subSet(k subKind) *map[string]struct{} {
	switch k {
	case subPattern:
		return &c.psubs
	case subShard:
		return &c.ssubs
	}
	return &c.subs
}

// subCount is the count subscription replies carry: channels and patterns
// together, shard channels apart.
func (c *Conn) subCount(k subKind) int {
	if k == subShard {
		return len(c.ssubs)
	}
	return len(c.subs) + len(c.psubs)
}

func (c *Conn) updateSubShared() {
	c.shared.Lock()
	c.shared.subs, c.shared.psubs, c.shared.ssubs = len(c.subs), len(c.psubs), len(c.ssubs)
	c.shared.Unlock()
}

func (c *Conn) subscribe(k subKind, names [][]byte) {
	word, _, _ := k.words()
	set := c.subSet(k)
	if *set == nil {
		*set = map[string]struct{}{}
	}
	for _, n := range names {
		name := string(n)
		if _, ok := (*set)[name]; !ok {
			(*set)[name] = struct{}{}
			c.pending = append(c.pending, subChange{kind: k, name: name, add: true})
		}
		c.w.Push(3)
		c.w.BulkString(word)
		c.w.Bulk(n)
		c.w.Int(int64(c.subCount(k)))
	}
	c.updateSubShared()
}

func (c *Conn) unsubscribe(k subKind, names [][]byte) {
	_, word, _ := k.words()
	set := c.subSet(k)
	if len(names) == 0 {
		if len(*set) == 0 {
			c.w.Push(3)
			c.w.BulkString(word)
			c.w.Null()
			c.w.Int(int64(c.subCount(k)))
			return
		}
		for _, name := range slices.Sorted(mapKeys(*set)) {
			names = append(names, []byte(name))
		}
	}
	for _, n := range names {
		name := string(n)
		if _, ok := (*set)[name]; ok {
			delete(*set, name)
			c.pending = append(c.pending, subChange{kind: k, name: name})
		}
		c.w.Push(3)
		c.w.BulkString(word)
		c.w.Bulk(n)
		c.w.Int(int64(c.subCount(k)))
	}
	c.updateSubShared()
}

// unsubscribeAllQuietly ends every subscription without replies (RESET).
func (c *Conn) unsubscribeAllQuietly() {
	for k, set := range c.subSets() {
		for name := range set {
			c.pending = append(c.pending, subChange{kind: subKind(k), name: name})
		}
	}
	c.subs, c.psubs, c.ssubs = nil, nil, nil
	c.updateSubShared()
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// publish runs PUBLISH and SPUBLISH: args are name, channel, message.
func (c *Conn) publish(k subKind, args [][]byte) {
	if len(c.pending) > 0 {
		c.syncSubs(false)
	}
	n := c.srv.hub.publish(c, k, args[1], args[2])
	if p, ok := c.srv.exec.(Publisher); ok && k == subChannel {
		// A region: the message also goes to subscribers on the other
		// nodes, which answer with their counts.
		n += p.Publish(args[1], args[2])
	}
	c.w.Int(int64(n))
}

// Publisher is implemented by executors that span several nodes
// (regional.Group): PUBLISH hands the message to it for the other nodes.
type Publisher interface {
	// Publish delivers a message to the subscribers of the other nodes
	// and returns how many received it.
	Publish(channel, msg []byte) int
}

// DeliverLocal delivers a message published on another node to this
// server's subscribers and returns how many received it.
func (s *Server) DeliverLocal(channel, msg []byte) int {
	return s.hub.publish(nil, subChannel, channel, msg)
}

// publish delivers msg on channel to the subscribers of kind k (channel
// publishes also reach matching patterns) and returns how many received
// it. from, the publishing connection, receives its own copy after its
// reply.
func (h *hub) publish(from *Conn, k subKind, channel, msg []byte) int {
	_, _, word := k.words()
	var enc [2][]byte // RESP2 and RESP3 encodings, built on demand
	encode := func(proto int32, pattern string, withPattern bool) []byte {
		w := protocol.Writer{Proto: int(proto)}
		if withPattern {
			w.Push(4)
			w.BulkString("pmessage")
			w.BulkString(pattern)
		} else {
			w.Push(3)
			w.BulkString(word)
		}
		w.Bulk(channel)
		w.Bulk(msg)
		return w.Bytes()
	}
	var slow []*Conn
	send := func(c *Conn, b []byte) {
		if c == from {
			from.selfMsgs = append(from.selfMsgs, b...)
			return
		}
		if !c.out.deliver(b) {
			slow = append(slow, c)
		}
	}
	n := 0
	h.mu.RLock()
	for c := range h.subs[k][string(channel)] {
		p := c.proto.Load()
		i := min(max(p-2, 0), 1)
		if enc[i] == nil {
			enc[i] = encode(p, "", false)
		}
		send(c, enc[i])
		n++
	}
	if k == subChannel {
		for pat, set := range h.subs[subPattern] {
			if !protocol.GlobMatch([]byte(pat), channel, false) {
				continue
			}
			var penc [2][]byte
			for c := range set {
				p := c.proto.Load()
				i := min(max(p-2, 0), 1)
				if penc[i] == nil {
					penc[i] = encode(p, pat, true)
				}
				send(c, penc[i])
				n++
			}
		}
	}
	h.mu.RUnlock()
	for _, c := range slow {
		from.srv.log.Warn("closing pub/sub client over output buffer limit", "client", c.id, "addr", c.raddr)
		c.kill()
	}
	return n
}

var pubsubHelp = []string{
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
}

func (c *Conn) cmdPubsub(args [][]byte) {
	if len(c.pending) > 0 {
		c.syncSubs(false)
	}
	h := c.srv.hub
	switch lower(args[1]) {
	case "channels", "shardchannels":
		k := subChannel
		if lower(args[1]) == "shardchannels" {
			k = subShard
		}
		var out []string
		h.mu.RLock()
		for name := range h.subs[k] {
			if len(args) < 3 || protocol.GlobMatch(args[2], []byte(name), false) {
				out = append(out, name)
			}
		}
		h.mu.RUnlock()
		slices.Sort(out)
		c.w.BulkStrings(out)
	case "numsub", "shardnumsub":
		k := subChannel
		if lower(args[1]) == "shardnumsub" {
			k = subShard
		}
		c.w.Array(2 * (len(args) - 2))
		h.mu.RLock()
		for _, ch := range args[2:] {
			c.w.Bulk(ch)
			c.w.Int(int64(len(h.subs[k][string(ch)])))
		}
		h.mu.RUnlock()
	case "numpat":
		h.mu.RLock()
		n := len(h.subs[subPattern])
		h.mu.RUnlock()
		c.w.Int(int64(n))
	case "help":
		c.help("PUBSUB", pubsubHelp)
	}
}

// help replies with Valkey's help layout (addReplyHelp).
func (c *Conn) help(container string, lines []string) {
	c.w.Array(len(lines) + 3)
	c.w.Simple(container + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.w.Simple(l)
	}
	c.w.Simple("HELP")
	c.w.Simple("    Print this help.")
}
