package regional

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
)

// Forwarding: a follower sends a client's request to the leader over the
// Raft port (mux protocol 'F') and relays the reply bytes. One connection
// per leader carries many requests, matched by id; a request is answered
// exactly once. Frames are a 4-byte big-endian length and a payload.
//
// Request payload: a frame type (fwdRequest, fwdProbe, fwdBatch), an id,
// then for fwdRequest one request body: db, proto, flags (1 multi, 2
// read-only), watches (count, then db, key, version), commands (count,
// then each: arg count, args); for fwdBatch a count and that many
// length-prefixed request bodies, run in order as one pipeline. Response
// payload: id, status (0 executed, 1 not executed: no leader there), db,
// reply bytes (all replies of a batch, concatenated).
const maxFrame = 1<<30 + 1<<20

// Forwarded frame types.
const (
	fwdRequest byte = 1
	fwdProbe   byte = 2
	fwdBatch   byte = 3
	// fwdPublish carries a pub/sub message to another node: channel and
	// message; the reply is the number of local receivers there.
	fwdPublish byte = 4
)

type forwarder struct {
	g *Group
	// dial connects to the forwarding port of the node at a Raft address.
	dial func(addr string, timeout time.Duration) (net.Conn, error)
	mu   sync.Mutex
	// conns holds one client connection per leader address.
	conns  map[raft.ServerAddress]*fwdConn
	closed bool
	srvWG  sync.WaitGroup
	ln     net.Listener
	// served are the connections serve accepted, closed by close.
	served map[net.Conn]struct{}
}

func newForwarder(g *Group, nw Network) *forwarder {
	f := &forwarder{g: g, conns: map[raft.ServerAddress]*fwdConn{}, served: map[net.Conn]struct{}{}}
	f.dial = func(addr string, timeout time.Duration) (net.Conn, error) {
		return dialProto(addr, muxForward, timeout)
	}
	if nw != nil {
		f.dial = nw.Dial
	}
	return f
}

type fwdConn struct {
	c       net.Conn
	wmu     sync.Mutex
	bw      *bufio.Writer
	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan fwdResp
	dead    bool
}

type fwdResp struct {
	executed bool
	db       int
	reply    []byte
	lost     bool // connection lost: outcome unknown
}

// probe asks the node at addr for its applied index (promotion of
// non-voters).
func (f *forwarder) probe(addr raft.ServerAddress) (uint64, error) {
	return f.call(addr, func(id uint64) []byte {
		return binary.AppendUvarint([]byte{fwdProbe}, id)
	})
}

// publish sends a pub/sub message to the node at addr and returns how many
// of its clients received it.
func (f *forwarder) publish(addr raft.ServerAddress, ch, msg []byte) (int, error) {
	n, err := f.call(addr, func(id uint64) []byte {
		payload := binary.AppendUvarint([]byte{fwdPublish}, id)
		payload = appendBytes(payload, ch)
		return appendBytes(payload, msg)
	})
	return int(n), err
}

// call is a small request/response exchange with the node at addr whose
// reply is one uvarint (probe, publish); it gives up after 2 s.
func (f *forwarder) call(addr raft.ServerAddress, frame func(id uint64) []byte) (uint64, error) {
	fc, err := f.conn(addr)
	if err != nil {
		return 0, err
	}
	fc.mu.Lock()
	if fc.dead {
		fc.mu.Unlock()
		return 0, errors.New("regional: connection lost")
	}
	fc.nextID++
	id := fc.nextID
	ch := make(chan fwdResp, 1)
	fc.pending[id] = ch
	fc.mu.Unlock()
	fc.wmu.Lock()
	fc.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	err = writeFrame(fc.bw, frame(id))
	if err == nil {
		err = fc.bw.Flush()
	}
	fc.wmu.Unlock()
	if err != nil {
		f.drop(addr, fc)
		return 0, err
	}
	select {
	case r := <-ch:
		if r.lost {
			return 0, errors.New("regional: connection lost")
		}
		v, n := binary.Uvarint(r.reply)
		if n <= 0 {
			return 0, errBadFrame
		}
		return v, nil
	case <-time.After(2 * time.Second):
		fc.mu.Lock()
		delete(fc.pending, id)
		fc.mu.Unlock()
		return 0, errors.New("regional: no answer within 2s")
	}
}

// forward sends req to the leader at addr. ok is false when the request
// certainly did not execute (no connection, or the node there is not the
// leader); the caller may retry.
func (f *forwarder) forward(addr raft.ServerAddress, req *eval.Request, w *protocol.Writer, deadline time.Time) (db int, ok bool) {
	return f.roundTrip(addr, []*eval.Request{req}, w, deadline)
}

// forwardMany sends a pipeline of requests as one batch frame, so the
// leader runs them in order.
func (f *forwarder) forwardMany(addr raft.ServerAddress, reqs []*eval.Request, w *protocol.Writer, deadline time.Time) (db int, ok bool) {
	return f.roundTrip(addr, reqs, w, deadline)
}

func (f *forwarder) roundTrip(addr raft.ServerAddress, reqs []*eval.Request, w *protocol.Writer, deadline time.Time) (db int, ok bool) {
	req := reqs[0]
	fail := func(msg string) {
		for range reqs {
			w.Error(msg)
		}
	}
	fc, err := f.conn(addr)
	if err != nil {
		return req.DB, false
	}
	fc.mu.Lock()
	if fc.dead {
		fc.mu.Unlock()
		return req.DB, false
	}
	fc.nextID++
	id := fc.nextID
	ch := make(chan fwdResp, 1)
	fc.pending[id] = ch
	fc.mu.Unlock()

	var payload []byte
	if len(reqs) == 1 {
		payload = appendFwdBody(binary.AppendUvarint([]byte{fwdRequest}, id), req, w.Proto)
	} else {
		payload = binary.AppendUvarint([]byte{fwdBatch}, id)
		payload = binary.AppendUvarint(payload, uint64(len(reqs)))
		for _, r := range reqs {
			body := appendFwdBody(nil, r, w.Proto)
			payload = appendBytes(payload, body)
		}
	}
	fc.wmu.Lock()
	fc.c.SetWriteDeadline(deadline)
	err = writeFrame(fc.bw, payload)
	if err == nil {
		err = fc.bw.Flush()
	}
	fc.wmu.Unlock()
	if err != nil {
		f.drop(addr, fc)
		// Partly written frames are never executed (the leader needs the
		// whole frame), but we cannot tell how much arrived.
		fail(ErrUncertain)
		return req.DB, true
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case r := <-ch:
		switch {
		case r.lost:
			if req.ReadOnly {
				fail(ErrNoLeader)
			} else {
				fail(ErrUncertain)
			}
			return req.DB, true
		case !r.executed:
			return req.DB, false
		}
		w.Raw(r.reply)
		return r.db, true
	case <-t.C:
		fc.mu.Lock()
		delete(fc.pending, id)
		fc.mu.Unlock()
		if req.ReadOnly {
			fail(ErrNoLeader)
		} else {
			fail(ErrUncertain)
		}
		return req.DB, true
	}
}

func (f *forwarder) conn(addr raft.ServerAddress) (*fwdConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, errors.New("regional: forwarder closed")
	}
	if fc := f.conns[addr]; fc != nil && !fc.dead {
		return fc, nil
	}
	c, err := f.dial(string(addr), 2*time.Second)
	if err != nil {
		return nil, err
	}
	fc := &fwdConn{c: c, bw: bufio.NewWriterSize(c, 64<<10), pending: map[uint64]chan fwdResp{}}
	f.conns[addr] = fc
	go f.readLoop(addr, fc)
	return fc, nil
}

func (f *forwarder) readLoop(addr raft.ServerAddress, fc *fwdConn) {
	br := bufio.NewReaderSize(fc.c, 64<<10)
	for {
		payload, err := readFrame(br)
		if err != nil {
			f.drop(addr, fc)
			return
		}
		id, r, err := decodeFwdResponse(payload)
		if err != nil {
			f.drop(addr, fc)
			return
		}
		fc.mu.Lock()
		ch := fc.pending[id]
		delete(fc.pending, id)
		fc.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// drop closes a broken connection; its pending requests learn that their
// outcome is unknown.
func (f *forwarder) drop(addr raft.ServerAddress, fc *fwdConn) {
	f.mu.Lock()
	if f.conns[addr] == fc {
		delete(f.conns, addr)
	}
	f.mu.Unlock()
	fc.c.Close()
	fc.mu.Lock()
	fc.dead = true
	for id, ch := range fc.pending {
		ch <- fwdResp{lost: true}
		delete(fc.pending, id)
	}
	fc.mu.Unlock()
}

func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	conns := f.conns
	f.conns = map[raft.ServerAddress]*fwdConn{}
	ln := f.ln
	for c := range f.served {
		c.Close()
	}
	f.mu.Unlock()
	for addr, fc := range conns {
		f.drop(addr, fc)
	}
	if ln != nil {
		ln.Close()
	}
	f.srvWG.Wait()
}

// serve answers forwarded requests arriving on ln until close (which
// closes ln, also when it runs first).
func (f *forwarder) serve(ln net.Listener) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		ln.Close()
		return
	}
	f.ln = ln
	f.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			c.Close()
			return
		}
		f.served[c] = struct{}{}
		f.mu.Unlock()
		f.srvWG.Go(func() {
			f.serveConn(c)
			f.mu.Lock()
			delete(f.served, c)
			f.mu.Unlock()
		})
	}
}

func (f *forwarder) serveConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	var wmu sync.Mutex
	bw := bufio.NewWriterSize(c, 64<<10)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		payload, err := readFrame(br)
		if err != nil {
			return
		}
		if len(payload) > 0 && payload[0] == fwdPublish {
			r := frameReader{b: payload[1:]}
			id := r.uvarint()
			ch, msg := r.bytes(), r.bytes()
			if r.err != nil {
				return
			}
			n := 0
			if deliver := f.g.onPublish.Load(); deliver != nil {
				n = (*deliver)(ch, msg)
			}
			resp := encodeFwdResponse(id, true, 0, binary.AppendUvarint(nil, uint64(n)))
			wmu.Lock()
			if writeFrame(bw, resp) == nil {
				bw.Flush()
			}
			wmu.Unlock()
			continue
		}
		id, reqs, proto, err := decodeFwdFrame(payload)
		if errors.Is(err, errProbe) {
			resp := encodeFwdResponse(id, true, 0, binary.AppendUvarint(nil, f.g.fsm.Applied()))
			wmu.Lock()
			if writeFrame(bw, resp) == nil {
				bw.Flush()
			}
			wmu.Unlock()
			continue
		}
		if err != nil {
			f.g.log.Warn("bad forwarded request; closing", "remote", c.RemoteAddr(), "err", err)
			return
		}
		wg.Go(func() {
			var w protocol.Writer
			w.Proto = proto
			executed := true
			db := reqs[0].DB
			switch {
			case f.g.ev.Load() == nil:
				executed = false // not the leader (any more): the sender retries
			case len(reqs) == 1:
				db = f.g.exec(reqs[0], &w, false)
			default:
				db = f.g.execBatchLeader(reqs, &w)
			}
			resp := encodeFwdResponse(id, executed, db, w.Bytes())
			wmu.Lock()
			defer wmu.Unlock()
			if writeFrame(bw, resp) == nil {
				bw.Flush()
			}
		})
	}
}

func writeFrame(w io.Writer, payload []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("regional: forwarded frame of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// appendFwdBody appends one request body.
func appendFwdBody(b []byte, req *eval.Request, proto int) []byte {
	b = binary.AppendUvarint(b, uint64(req.DB))
	if proto != 3 {
		proto = 2
	}
	b = append(b, byte(proto))
	var flags byte
	if req.Multi {
		flags |= 1
	}
	if req.ReadOnly {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(req.Watches)))
	for _, wt := range req.Watches {
		b = binary.AppendUvarint(b, uint64(wt.DB))
		b = appendBytes(b, []byte(wt.Key))
		b = binary.AppendUvarint(b, wt.Version)
	}
	b = binary.AppendUvarint(b, uint64(len(req.Cmds)))
	for _, args := range req.Cmds {
		b = binary.AppendUvarint(b, uint64(len(args)))
		for _, a := range args {
			b = appendBytes(b, a)
		}
	}
	return b
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

var (
	errBadFrame = errors.New("regional: malformed forwarded frame")
	// errProbe marks a status probe rather than a request.
	errProbe = errors.New("regional: probe")
)

type frameReader struct {
	b   []byte
	err error
}

func (r *frameReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadFrame
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *frameReader) byte() byte {
	if len(r.b) == 0 {
		r.err = errBadFrame
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *frameReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errBadFrame
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *frameReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errBadFrame
		r.b = nil
		return 0
	}
	return int(n)
}

// decodeFwdFrame decodes a request frame: one request, a batch, or a probe
// (errProbe, with the id).
func decodeFwdFrame(b []byte) (uint64, []*eval.Request, int, error) {
	r := frameReader{b: b}
	typ := r.byte()
	id := r.uvarint()
	if r.err != nil {
		return 0, nil, 0, errBadFrame
	}
	switch typ {
	case fwdProbe:
		return id, nil, 0, errProbe
	case fwdRequest:
		req, proto, err := decodeFwdBody(r.b)
		if err != nil {
			return 0, nil, 0, err
		}
		return id, []*eval.Request{req}, proto, nil
	case fwdBatch:
		n := r.count()
		var reqs []*eval.Request
		proto := 0
		for i := 0; i < n && r.err == nil; i++ {
			req, p, err := decodeFwdBody(r.bytes())
			if err != nil || (proto != 0 && p != proto) || (len(reqs) > 0 && req.DB != reqs[0].DB) {
				return 0, nil, 0, errBadFrame
			}
			proto = p
			reqs = append(reqs, req)
		}
		if r.err != nil || len(reqs) == 0 {
			return 0, nil, 0, errBadFrame
		}
		return id, reqs, proto, nil
	}
	return 0, nil, 0, errBadFrame
}

func decodeFwdBody(b []byte) (*eval.Request, int, error) {
	r := frameReader{b: b}
	req := &eval.Request{}
	db := r.uvarint()
	proto := int(r.byte())
	flags := r.byte()
	req.Multi, req.ReadOnly = flags&1 != 0, flags&2 != 0
	nw := r.count()
	for i := 0; i < nw && r.err == nil; i++ {
		wdb := r.uvarint()
		key := r.bytes()
		ver := r.uvarint()
		req.Watches = append(req.Watches, eval.Watch{DB: int(wdb), Key: string(key), Version: ver})
	}
	nc := r.count()
	for i := 0; i < nc && r.err == nil; i++ {
		na := r.count()
		args := make([][]byte, 0, na)
		for j := 0; j < na && r.err == nil; j++ {
			args = append(args, r.bytes())
		}
		if len(args) == 0 {
			r.err = errBadFrame
		}
		req.Cmds = append(req.Cmds, args)
	}
	if r.err != nil || db >= 16 || (proto != 2 && proto != 3) || len(req.Cmds) == 0 || len(r.b) != 0 {
		return nil, 0, errBadFrame
	}
	for _, wt := range req.Watches {
		if wt.DB >= 16 {
			return nil, 0, errBadFrame
		}
	}
	req.DB = int(db)
	return req, proto, nil
}

func encodeFwdResponse(id uint64, executed bool, db int, reply []byte) []byte {
	b := binary.AppendUvarint(nil, id)
	if executed {
		b = append(b, 0)
	} else {
		b = append(b, 1)
	}
	b = binary.AppendUvarint(b, uint64(db))
	return append(b, reply...)
}

func decodeFwdResponse(b []byte) (uint64, fwdResp, error) {
	r := frameReader{b: b}
	id := r.uvarint()
	st := r.byte()
	db := r.uvarint()
	if r.err != nil || db >= 16 {
		return 0, fwdResp{}, errBadFrame
	}
	return id, fwdResp{executed: st == 0, db: int(db), reply: r.b}, nil
}
