package server

import (
	"time"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/server/eval"
)

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){
		"multi":   (*Conn).cmdMulti,
		"exec":    (*Conn).cmdExec,
		"discard": (*Conn).cmdDiscard,
		"watch":   (*Conn).cmdWatch,
		"unwatch": (*Conn).cmdUnwatch,
	})
}

func (c *Conn) cmdMulti(args [][]byte) {
	if c.multi {
		c.w.Error(protocol.ErrNested)
		return
	}
	c.multi = true
	c.setMultiCount(0)
	c.w.OK()
}

// resetMulti leaves MULTI and forgets the watches (EXEC, DISCARD, RESET).
func (c *Conn) resetMulti() {
	c.multi, c.multiErr, c.queued = false, false, nil
	c.setMultiCount(-1)
	c.unwatchAll()
}

func (c *Conn) cmdDiscard(args [][]byte) {
	if !c.multi {
		c.w.Error(protocol.ErrDiscardNoMulti)
		return
	}
	c.resetMulti()
	c.w.OK()
}

// cmdExec runs the queued commands. Data commands go to the executor as
// one atomic request; commands the connection handles itself (PING, ECHO,
// PUBLISH, CLIENT, ...) run after it, and their replies are spliced into
// the executor's array in queue order. Each command's reply counts in
// INFO commandstats and errorstats, as in Valkey.
func (c *Conn) cmdExec(args [][]byte) {
	if !c.multi {
		c.w.Error(protocol.ErrExecNoMulti)
		return
	}
	if c.multiErr {
		c.resetMulti()
		c.w.Error(protocol.ErrExecAbort)
		return
	}
	queued := c.queued
	var data [][][]byte
	cmds := make([]*protocol.Command, len(queued))
	hasConn := false
	for i, q := range queued {
		cmds[i] = protocol.Lookup(q[0])
		if cmds[i] != nil && cmds[i].Flags&protocol.Conn != 0 {
			hasConn = true
		} else {
			data = append(data, q)
		}
	}
	start := time.Now()
	if !hasConn {
		mark := c.w.Len()
		req := eval.Request{DB: c.db, Cmds: queued, Multi: true, Watches: c.watches, Rand: c.rand}
		c.setDB(c.srv.exec.Exec(&req, &c.w))
		c.resetMulti()
		if replies, ok := respSplitArray(c.w.Bytes()[mark:]); ok && len(replies) == len(queued) {
			d := time.Since(start) / time.Duration(max(len(queued), 1))
			for i, q := range queued {
				c.srv.recordCommand(fullName(cmds[i], q), d, false, replies[i])
			}
		}
		return
	}
	var tmp protocol.Writer
	tmp.Proto = c.w.Proto
	req := eval.Request{DB: c.db, Cmds: data, Multi: true, Watches: c.watches, Rand: c.rand}
	c.setDB(c.srv.exec.Exec(&req, &tmp))
	c.resetMulti()
	replies, ok := respSplitArray(tmp.Bytes())
	if !ok || len(replies) != len(data) {
		// A null array (a WATCH failed) or an error from the executor
		// stands for the whole transaction.
		c.w.Raw(tmp.Bytes())
		return
	}
	d := time.Since(start) / time.Duration(max(len(data), 1))
	c.w.Array(len(queued))
	j := 0
	for i, q := range queued {
		if cmds[i] == nil || cmds[i].Flags&protocol.Conn == 0 {
			c.w.Raw(replies[j])
			c.srv.recordCommand(fullName(cmds[i], q), d, false, replies[j])
			j++
			continue
		}
		t0, mark := time.Now(), c.w.Len()
		c.execute(cmds[i], q)
		c.srv.recordCommand(fullName(cmds[i], q), time.Since(t0), false, c.w.Bytes()[mark:])
	}
}

// fullName returns the name commandstats counts a request under:
// "get", or "client|list" for a subcommand.
func fullName(cmd *protocol.Command, args [][]byte) string {
	if cmd == nil {
		return ""
	}
	if len(cmd.Subcommands) > 0 && len(args) >= 2 {
		if sub := cmd.Subcommand(args[1]); sub != nil {
			return sub.FullName()
		}
	}
	return cmd.Name
}

func (c *Conn) cmdWatch(args [][]byte) {
	if c.multi {
		c.w.Error(protocol.ErrWatchInMulti)
		return
	}
	for _, k := range args[1:] {
		key := string(k)
		dup := false
		for _, w := range c.watches {
			if w.DB == c.db && w.Key == key {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		v := c.srv.exec.Watch(c.db, key)
		c.watches = append(c.watches, eval.Watch{DB: c.db, Key: key, Version: v})
	}
	c.setWatching(len(c.watches))
	c.w.OK()
}

func (c *Conn) cmdUnwatch(args [][]byte) {
	c.unwatchAll()
	c.w.OK()
}
