package server

import (
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
	c.w.OK()
}

func (c *Conn) resetMulti() {
	c.multi, c.multiErr, c.queued = false, false, nil
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
	req := eval.Request{DB: c.db, Cmds: c.queued, Multi: true, Watches: c.watches, Rand: c.rand}
	c.db = c.srv.exec.Exec(&req, &c.w)
	c.resetMulti()
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
	c.w.OK()
}

func (c *Conn) cmdUnwatch(args [][]byte) {
	c.unwatchAll()
	c.w.OK()
}
