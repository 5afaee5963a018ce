package regional_test

// Every example of docs/CONFLICTS.md, run against linked regions (real
// Raft, real gRPC links on loopback). Each test makes its writes
// concurrent for real: it cuts the links between the regions (or writes
// before linking them), writes in each region, heals, waits until every
// region has applied every other region's log, and checks the converged
// result on every node of every region.
//
// Which of two concurrent writes wins depends on their HLC stamps (wall
// ms, then logical counter, then region id). Both regions read the same
// system clock here, so a test that needs a given winner writes the loser
// first and waits a few milliseconds (pause) before writing the winner:
// the later write by the clocks wins, as the doc says. The pause orders
// stamps; it is never what a test asserts.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/regional/regionaltest"
	"github.com/meridian-kv/meridian/storage"
)

// world is a set of linked test regions on one WAN.
type world struct {
	wan     *regionaltest.WAN
	regions []*regionaltest.Cluster
	byName  map[string]*regionaltest.Cluster
	syncs   int
}

// worldOptions shape newWorld's regions.
type worldOptions struct {
	nodes int // per region; 0 means 1
	// tune, if set, adjusts the configuration of region name's nodes.
	tune func(name string, c *regional.Config)
	// unlinked leaves the regions unlinked (link them with mesh).
	unlinked bool
}

// newWorld starts one region per name (ids 1, 2, ... in order), waits for
// their leaders and links every pair both ways.
func newWorld(t *testing.T, opts worldOptions, names ...string) *world {
	t.Helper()
	if opts.nodes == 0 {
		opts.nodes = 1
	}
	w := &world{wan: regionaltest.NewWAN(), byName: map[string]*regionaltest.Cluster{}}
	for i, name := range names {
		o := regionaltest.Options{Region: uint32(i + 1), Name: name, Link: true, WAN: w.wan}
		if opts.tune != nil {
			o.Tune = func(c *regional.Config) { opts.tune(name, c) }
		}
		r := regionaltest.New(t, opts.nodes, o)
		w.regions = append(w.regions, r)
		w.byName[name] = r
	}
	for _, r := range w.regions {
		r.WaitLeader(t)
	}
	if !opts.unlinked {
		w.mesh(t)
	}
	return w
}

// mesh links every pair of regions both ways and waits until they have
// exchanged everything written so far.
func (w *world) mesh(t *testing.T) {
	t.Helper()
	regionaltest.Mesh(t, w.regions...)
	w.sync(t)
}

// cut cuts every link: from now on no region sees another's writes.
func (w *world) cut() {
	for i, a := range w.regions {
		for _, b := range w.regions[i+1:] {
			w.wan.Cut(a.Name(), b.Name())
		}
	}
}

// heal restores every link and waits until every region has applied
// everything every other region wrote.
func (w *world) heal(t *testing.T) {
	t.Helper()
	for i, a := range w.regions {
		for _, b := range w.regions[i+1:] {
			w.wan.Heal(a.Name(), b.Name())
		}
	}
	w.sync(t)
}

// sync writes a marker key in every region and waits until every region
// reads every marker; a region ships its log in order, so each has then
// applied all that the others wrote before. Then it waits until every
// node of every region holds the same content.
func (w *world) sync(t *testing.T) {
	t.Helper()
	w.syncs++
	var markers []string
	for _, r := range w.regions {
		m := fmt.Sprintf("sync:%d:%s", w.syncs, r.Name())
		if got := r.Do(0, "SET", m, "1"); got != "+OK\r\n" {
			t.Fatalf("%s: SET %s = %q", r.Name(), m, got)
		}
		markers = append(markers, m)
	}
	eventually(t, "every region applies every other region's writes", func() bool {
		for _, r := range w.regions {
			for _, m := range markers {
				if r.Do(0, "GET", m) != "$1\r\n1\r\n" {
					return false
				}
			}
		}
		return true
	})
	converge(t, w.regions...)
}

// do runs a command on node 0 of region name and returns its reply in
// the notation of docs/CONFLICTS.md (see render).
func (w *world) do(t *testing.T, name string, args ...string) string {
	t.Helper()
	r, ok := w.byName[name]
	if !ok {
		t.Fatalf("no region %q", name)
	}
	return render(r.Do(0, args...))
}

// must runs a command in region name and fails the test unless the reply
// is want.
func (w *world) must(t *testing.T, name, want string, args ...string) {
	t.Helper()
	if got := w.do(t, name, args...); got != want {
		t.Fatalf("%s: %s = %s, want %s", name, strings.Join(args, " "), got, want)
	}
}

// expect checks that every node of every region replies want to a
// command (after heal, once the regions converged).
func (w *world) expect(t *testing.T, want string, args ...string) {
	t.Helper()
	for _, r := range w.regions {
		for i := range r.Nodes {
			if got := render(r.Do(i, args...)); got != want {
				t.Errorf("%s node %d: %s = %s, want %s", r.Name(), i, strings.Join(args, " "), got, want)
			}
		}
	}
}

// pause makes the next write's stamp later than every stamp made so far
// in any region of the test (they share the system clock): the write
// after it is "the later write by the clocks".
func pause() { time.Sleep(5 * time.Millisecond) }

// render turns a RESP2 reply into the notation of the doc: OK, 5, "v",
// (nil), [a b c] (elements of arrays unquoted), or the error text.
func render(resp string) string {
	s, rest := renderOne(resp)
	if rest != "" {
		return fmt.Sprintf("%s (and trailing %q)", s, rest)
	}
	return s
}

func renderOne(resp string) (string, string) {
	line, rest, ok := strings.Cut(resp, "\r\n")
	if !ok || line == "" {
		return fmt.Sprintf("<bad reply %q>", resp), ""
	}
	switch body := line[1:]; line[0] {
	case '+':
		return body, rest
	case '-':
		return body, rest
	case ':':
		return body, rest
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return "(nil)", rest
		}
		if len(rest) < n+2 {
			return fmt.Sprintf("<short bulk %q>", resp), ""
		}
		return strconv.Quote(rest[:n]), rest[n+2:]
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return "(nil)", rest
		}
		items := make([]string, n)
		for i := range n {
			items[i], rest = renderOne(rest)
			if uq, err := strconv.Unquote(items[i]); err == nil {
				items[i] = uq
			}
		}
		return "[" + strings.Join(items, " ") + "]", rest
	}
	return fmt.Sprintf("<unknown reply %q>", resp), ""
}

// TestConflictStrings: three regions of three nodes each SET one key
// concurrently; the later write by the clocks wins in all nine nodes.
func TestConflictStrings(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{nodes: 3}, "east", "west", "north")
	w.cut()
	w.must(t, "east", "OK", "SET", "color", "red")
	pause()
	w.must(t, "west", "OK", "SET", "color", "green")
	pause()
	w.must(t, "north", "OK", "SET", "color", "blue")
	w.heal(t)
	w.expect(t, `"blue"`, "GET", "color")
}

// TestConflictHashFields: concurrent HSETs of different fields both
// survive; of the same field, the later by the clocks wins.
func TestConflictHashFields(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "1", "HSET", "user:1", "name", "ann")
	w.sync(t)
	w.cut()
	w.must(t, "east", "1", "HSET", "user:1", "email", "ann@east")
	w.must(t, "east", "0", "HSET", "user:1", "name", "Ann")
	pause()
	w.must(t, "west", "1", "HSET", "user:1", "phone", "555")
	w.must(t, "west", "0", "HSET", "user:1", "name", "ANN")
	w.heal(t)
	w.expect(t, "3", "HLEN", "user:1") // name, email, phone
	w.expect(t, `"ann@east"`, "HGET", "user:1", "email")
	w.expect(t, `"555"`, "HGET", "user:1", "phone")
	w.expect(t, `"ANN"`, "HGET", "user:1", "name")
}

// TestConflictSetMembers: different members added concurrently both
// survive; an add and a remove of one member: the later by the clocks
// wins, even a remove that never saw the add; an SADD of a member its
// region already has writes nothing.
func TestConflictSetMembers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "3", "SADD", "tags", "a", "b", "c")
	w.sync(t)
	w.cut()
	w.must(t, "east", "1", "SADD", "tags", "x")
	w.must(t, "west", "1", "SADD", "tags", "y")
	w.must(t, "west", "1", "SREM", "tags", "a") // no region writes a again: a goes
	w.must(t, "west", "1", "SADD", "tags", "z")
	w.must(t, "west", "1", "SADD", "tags", "w")
	w.must(t, "west", "1", "SREM", "tags", "w")
	w.must(t, "east", "1", "SREM", "tags", "c")
	pause()
	w.must(t, "east", "1", "SADD", "tags", "z")
	w.must(t, "east", "1", "SADD", "tags", "w") // later than west's SREM w: w stays
	w.must(t, "west", "0", "SADD", "tags", "c") // west has c: a no-op, not a write
	pause()
	w.must(t, "west", "1", "SREM", "tags", "z") // later than east's SADD z: z goes
	w.heal(t)
	w.expect(t, "[b w x y]", "SMEMBERS", "tags")
}

// TestConflictSortedSets: members and scores are last-writer-wins per
// member; concurrent ZINCRBYs add up.
func TestConflictSortedSets(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "2", "ZADD", "board", "10", "ann", "20", "bob")
	w.sync(t)
	w.cut()
	w.must(t, "east", "1", "ZADD", "board", "5", "cat")
	w.must(t, "east", "0", "ZADD", "board", "30", "bob")
	w.must(t, "east", `"12"`, "ZINCRBY", "board", "2", "ann")
	pause()
	w.must(t, "west", "1", "ZADD", "board", "7", "dan")
	w.must(t, "west", "0", "ZADD", "board", "40", "bob")
	w.must(t, "west", `"13"`, "ZINCRBY", "board", "3", "ann")
	w.heal(t)
	w.expect(t, "[cat 5 dan 7 ann 15 bob 40]", "ZRANGE", "board", "0", "-1", "WITHSCORES")
}

// TestConflictCounters: concurrent increments from different regions add
// up, for every counter command.
func TestConflictCounters(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "OK", "SET", "hits", "10")
	w.must(t, "east", "OK", "SET", "temp", "1.5")
	w.must(t, "east", "1", "HSET", "stats", "views", "100")
	w.sync(t)
	w.cut()
	w.must(t, "east", "15", "INCRBY", "hits", "5")
	w.must(t, "east", `"1.75"`, "INCRBYFLOAT", "temp", "0.25")
	w.must(t, "east", "101", "HINCRBY", "stats", "views", "1")
	w.must(t, "west", "11", "INCR", "hits")
	w.must(t, "west", "12", "INCR", "hits")
	w.must(t, "west", `"2.5"`, "INCRBYFLOAT", "temp", "1")
	w.must(t, "west", "102", "HINCRBY", "stats", "views", "2")
	w.heal(t)
	w.expect(t, `"17"`, "GET", "hits")
	w.expect(t, `"2.75"`, "GET", "temp")
	w.expect(t, `"103"`, "HGET", "stats", "views")
}

// TestConflictCounterSet: a SET concurrent with INCRs is a new base:
// increments stamped before it vanish, those stamped after it add to it.
func TestConflictCounterSet(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "OK", "SET", "stock", "10")
	w.sync(t)
	w.cut()
	w.must(t, "east", "11", "INCR", "stock")
	pause()
	w.must(t, "west", "OK", "SET", "stock", "100")
	pause()
	w.must(t, "east", "12", "INCR", "stock")
	w.must(t, "west", "101", "INCR", "stock")
	w.heal(t)
	w.expect(t, `"102"`, "GET", "stock")
}

// TestConflictTTL: the TTL is last-writer-wins: EXPIRE against PERSIST,
// whichever is later by the clocks.
func TestConflictTTL(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "OK", "SET", "session:1", "x", "EX", "1000")
	w.must(t, "east", "OK", "SET", "session:2", "y", "EX", "1000")
	w.sync(t)
	w.cut()
	w.must(t, "east", "1", "EXPIRE", "session:1", "100")
	w.must(t, "west", "1", "PERSIST", "session:2")
	pause()
	w.must(t, "west", "1", "PERSIST", "session:1")
	w.must(t, "east", "1", "EXPIRE", "session:2", "100")
	w.heal(t)
	w.expect(t, "-1", "TTL", "session:1")
	for _, r := range w.regions {
		for i := range r.Nodes {
			ttl, err := strconv.Atoi(render(r.Do(i, "TTL", "session:2")))
			if err != nil || ttl < 90 || ttl > 100 {
				t.Errorf("%s node %d: TTL session:2 = %d (%v), want about 100", r.Name(), i, ttl, err)
			}
		}
	}
}

// TestConflictExpiry: a TTL change made before the deadline keeps the
// key in every region, although another region's clock passed the
// deadline before the change reached it (its readers stopped seeing the
// key then). No region writes a delete for an expiry: once every region
// has applied everything stamped before the deadline, each deletes the
// key there if the merged TTL says so, and here it does not.
func TestConflictExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{nodes: 3}, "east", "west")
	w.must(t, "east", "OK", "SET", "k", "v", "PX", "3000")
	deadline, err := strconv.ParseInt(w.do(t, "east", "PEXPIRETIME", "k"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(t)
	w.cut()
	w.must(t, "west", "1", "PEXPIRE", "k", "600000")
	eventually(t, "k expires for east's readers", func() bool { return w.do(t, "east", "EXISTS", "k") == "0" })
	w.heal(t)
	// Every node has decided k's fate once its stable frontier is past
	// the deadline.
	eventually(t, "every node's stable frontier passes the deadline", func() bool {
		for _, r := range w.regions {
			for _, nd := range r.Nodes {
				var past bool
				nd.Group.Read(func(s *storage.Store) { past = s.Stable().Wall > deadline })
				if !past {
					return false
				}
			}
		}
		return true
	})
	w.expect(t, `"v"`, "GET", "k")
	for _, r := range w.regions {
		for i := range r.Nodes {
			if pttl, err := strconv.Atoi(render(r.Do(i, "PTTL", "k"))); err != nil || pttl <= 3000 {
				t.Errorf("%s node %d: PTTL k = %d (%v), want the long TTL", r.Name(), i, pttl, err)
			}
		}
	}
}

// TestConflictDelete: DEL and UNLINK are stamped tombstones: they remove
// what was written before them, anywhere, and nothing written after.
func TestConflictDelete(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "1", "HSET", "cart", "apple", "1")
	w.must(t, "east", "1", "SADD", "seen", "p1")
	w.sync(t)
	w.cut()
	w.must(t, "west", "1", "HSET", "cart", "pear", "2")
	pause()
	w.must(t, "east", "1", "DEL", "cart")
	w.must(t, "east", "1", "UNLINK", "seen")
	pause()
	w.must(t, "west", "1", "HSET", "cart", "plum", "3")
	w.must(t, "west", "1", "SADD", "seen", "p2")
	w.heal(t)
	w.expect(t, "[plum 3]", "HGETALL", "cart")
	w.expect(t, "[p2]", "SMEMBERS", "seen")
}

// TestConflictFlush: FLUSHALL and FLUSHDB are tombstones for every key:
// they remove what any region wrote before them, and nothing after.
func TestConflictFlush(t *testing.T) {
	t.Parallel()
	for _, flush := range []string{"FLUSHALL", "FLUSHDB"} {
		t.Run(flush, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOptions{}, "east", "west")
			w.must(t, "east", "OK", "SET", "a", "1")
			w.sync(t)
			w.cut()
			w.must(t, "west", "OK", "SET", "b", "2")
			pause()
			w.must(t, "east", "OK", flush)
			pause()
			w.must(t, "west", "OK", "SET", "c", "3")
			w.heal(t)
			w.expect(t, "[(nil) (nil) 3]", "MGET", "a", "b", "c")
		})
	}
}

// TestConflictTypes: a key written with two types concurrently takes the
// type of the later write by the clocks, with only that write's content.
func TestConflictTypes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.cut()
	w.must(t, "east", "OK", "SET", "profile", "plain")
	w.must(t, "west", "1", "RPUSH", "queue", "job1")
	pause()
	w.must(t, "west", "1", "HSET", "profile", "name", "ann")
	w.must(t, "east", "OK", "SET", "queue", "none")
	w.heal(t)
	w.expect(t, "hash", "TYPE", "profile")
	w.expect(t, "[name ann]", "HGETALL", "profile")
	w.expect(t, "string", "TYPE", "queue")
	w.expect(t, `"none"`, "GET", "queue")
}

// TestConflictListPushes: pushes made concurrently in two regions are all
// kept, in the same order everywhere.
func TestConflictListPushes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "1", "RPUSH", "log", "start")
	w.sync(t)
	w.cut()
	w.must(t, "east", "2", "RPUSH", "log", "e1")
	w.must(t, "east", "3", "LPUSH", "log", "e0")
	pause()
	w.must(t, "west", "2", "RPUSH", "log", "w1")
	w.must(t, "west", "3", "LPUSH", "log", "w0")
	w.heal(t)
	w.expect(t, "[w0 e0 start w1 e1]", "LRANGE", "log", "0", "-1")
}

// TestConflictListPops: two regions that pop the same item concurrently
// both return it; it is removed once.
func TestConflictListPops(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "3", "RPUSH", "jobs", "j1", "j2", "j3")
	w.sync(t)
	w.cut()
	w.must(t, "east", `"j1"`, "LPOP", "jobs")
	w.must(t, "west", `"j1"`, "LPOP", "jobs")
	w.heal(t)
	w.expect(t, "[j2 j3]", "LRANGE", "jobs", "0", "-1")
}

// skewed is a wall clock running ahead of the system clock.
type skewed time.Duration

func (s skewed) Now() time.Time { return time.Now().Add(time.Duration(s)) }

// TestConflictClockAhead: a region whose clock runs ahead wins concurrent
// writes it made earlier in real time; the region behind counts its
// stamps in clock_offset_violations_total (the first batch after linking
// included); and a write made after the region behind has seen the
// other's write wins over it.
func TestConflictClockAhead(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	w := newWorld(t, worldOptions{unlinked: true, tune: func(name string, c *regional.Config) {
		switch name {
		case "east":
			c.Link = &regional.LinkConfig{Registry: reg}
		case "west":
			c.Wall = skewed(10 * time.Second)
		}
	}}, "east", "west")
	w.must(t, "west", "OK", "SET", "k", "from-west")
	time.Sleep(50 * time.Millisecond)
	w.must(t, "east", "OK", "SET", "k", "from-east") // later in real time, earlier by the clocks
	w.mesh(t)
	w.expect(t, `"from-west"`, "GET", "k")
	if n := testutil.ToFloat64(metricVec(t, reg, "meridian_interregion_clock_offset_violations_total", map[string]string{"peer": "2"})); n < 1 {
		t.Errorf("clock_offset_violations_total{peer=2} = %v in east, want > 0", n)
	}
	// East has merged west's stamp, and its clock has moved past it.
	w.must(t, "east", "OK", "SET", "k", "east-again")
	w.sync(t)
	w.expect(t, `"east-again"`, "GET", "k")
}

// TestConflictSetNX: SETNX decides in its region: two regions can both
// return 1; one value wins.
func TestConflictSetNX(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.cut()
	w.must(t, "east", "1", "SETNX", "lock", "east")
	pause()
	w.must(t, "west", "1", "SETNX", "lock", "west")
	w.heal(t)
	w.expect(t, `"west"`, "GET", "lock")
}

// TestConflictWatch: WATCH sees only its region's writes: a transaction
// commits although another region changed the watched key concurrently.
func TestConflictWatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "OK", "SET", "balance", "100")
	w.sync(t)
	rdb := client(t, w.byName["east"].ServeRESP(t)[0])
	ctx := context.Background()
	w.cut()
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		v, err := tx.Get(ctx, "balance").Int()
		if err != nil {
			return err
		}
		w.must(t, "west", "OK", "SET", "balance", "0") // concurrent, unseen by east
		pause()
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "balance", v-30, 0)
			return nil
		})
		return err
	}, "balance")
	if err != nil {
		t.Fatalf("east's transaction: %v, want it committed", err)
	}
	w.heal(t)
	w.expect(t, `"70"`, "GET", "balance")
}

// TestConflictRemoveLastElement: removing the last element of a key
// (HDEL, SREM, ZREM, LPOP) removes that element only: another element
// added concurrently in another region, earlier by the clocks, survives,
// as per-element last-writer-wins says.
func TestConflictRemoveLastElement(t *testing.T) {
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "1", "HSET", "h", "f1", "a")
	w.must(t, "east", "1", "SADD", "s", "m1")
	w.must(t, "east", "1", "ZADD", "z", "1", "m1")
	w.must(t, "east", "1", "RPUSH", "l", "j1")
	w.sync(t)
	w.cut()
	w.must(t, "west", "1", "HSET", "h", "f2", "b")
	w.must(t, "west", "1", "SADD", "s", "m2")
	w.must(t, "west", "1", "ZADD", "z", "2", "m2")
	w.must(t, "west", "2", "RPUSH", "l", "j2")
	pause()
	w.must(t, "east", "1", "HDEL", "h", "f1")
	w.must(t, "east", "1", "SREM", "s", "m1")
	w.must(t, "east", "1", "ZREM", "z", "m1")
	w.must(t, "east", `"j1"`, "LPOP", "l")
	w.heal(t)
	w.expect(t, "[f2 b]", "HGETALL", "h")
	w.expect(t, "[m2]", "SMEMBERS", "s")
	w.expect(t, "[m2 2]", "ZRANGE", "z", "0", "-1", "WITHSCORES")
	w.expect(t, "[j2]", "LRANGE", "l", "0", "-1")
}

// TestConflictCounterOverflow: increments that each stay within int64 in
// their region must not wrap the converged counter around: every region
// reads the exact sum, and INCR on it fails as on any integer out of range.
func TestConflictCounterOverflow(t *testing.T) {
	w := newWorld(t, worldOptions{}, "east", "west")
	w.must(t, "east", "OK", "SET", "c", "9223372036854775800")
	w.sync(t)
	w.cut()
	w.must(t, "east", "9223372036854775805", "INCRBY", "c", "5")
	w.must(t, "west", "9223372036854775805", "INCRBY", "c", "5")
	w.heal(t)
	w.expect(t, `"9223372036854775810"`, "GET", "c")
	w.must(t, "west", "ERR value is not an integer or out of range", "INCR", "c")
	w.must(t, "east", "ERR value is not an integer or out of range", "DECRBY", "c", "11")
}
