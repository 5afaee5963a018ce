package server

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meridian-kv/meridian/protocol"
)

func init() {
	registerConn(map[string]func(c *Conn, args [][]byte){"client": (*Conn).cmdClient})
}

var clientHelp = []string{
	"GETNAME",
	"    Return the name of the current connection.",
	"ID",
	"    Return the ID of the current connection.",
	"INFO",
	"    Return information about the current client connection.",
	"KILL <ip:port>",
	"    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are:",
	"    * ADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made from the specified address",
	"    * LADDR (<ip:port>|<unixsocket>:0)",
	"      Kill connections made to specified local address",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Kill connections by type.",
	"    * USER <username>",
	"      Kill connections authenticated by <username>.",
	"    * SKIPME (YES|NO)",
	"      Skip killing current connection (default: yes).",
	"    * ID <client-id>",
	"      Kill connections by client id.",
	"LIST [options ...]",
	"    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	"      Return clients of specified type.",
	"    * ID <client-id> [<client-id> ...]",
	"      Return clients of specified IDs only.",
	"REPLY (ON|OFF|SKIP)",
	"    Control the replies sent to the current connection.",
	"SETNAME <name>",
	"    Assign the name <name> to the current connection.",
	"SETINFO <option> <value>",
	"    Set client meta attr. Options are:",
	"    * LIB-NAME: the client lib name.",
	"    * LIB-VER: the client lib version.",
	"NO-EVICT (ON|OFF)",
	"    Protect current client connection from eviction.",
	"NO-TOUCH (ON|OFF)",
	"    Will not touch LRU/LFU stats when this mode is on.",
}

func (c *Conn) cmdClient(args [][]byte) {
	switch lower(args[1]) {
	case "id":
		c.w.Int(int64(c.id))
	case "getname":
		if c.shared.name == "" {
			c.w.Null()
		} else {
			c.w.BulkString(c.shared.name)
		}
	case "setname":
		if msg := validClientName(args[2]); msg != "" {
			c.w.Error(msg)
			return
		}
		c.shared.Lock()
		c.shared.name = string(args[2])
		c.shared.Unlock()
		c.w.OK()
	case "setinfo":
		c.clientSetinfo(args)
	case "info":
		c.w.Verbatim(c.infoLine(c) + "\n")
	case "list":
		c.clientList(args)
	case "kill":
		c.clientKill(args)
	case "no-evict", "no-touch":
		var on bool
		switch lower(args[2]) {
		case "on":
			on = true
		case "off":
		default:
			c.w.Error(protocol.ErrSyntax)
			return
		}
		c.shared.Lock()
		if lower(args[1]) == "no-evict" {
			c.shared.noEvict = on
		} else {
			c.shared.noTouch = on
		}
		c.shared.Unlock()
		c.w.OK()
	case "reply":
		switch lower(args[2]) {
		case "on":
			c.replyOff, c.skipNext = false, false
			c.skipThis = false
			c.w.OK()
		case "off":
			c.replyOff = true
		case "skip":
			if !c.replyOff {
				c.skipNext = true
			}
		default:
			c.w.Error(protocol.ErrSyntax)
		}
	case "help":
		c.help("CLIENT", clientHelp)
	}
}

func (c *Conn) clientSetinfo(args [][]byte) {
	attr := lower(args[2])
	if attr != "lib-name" && attr != "lib-ver" {
		c.w.Error("ERR Unrecognized option '" + string(args[2]) + "'")
		return
	}
	for _, ch := range args[3] {
		if ch < '!' || ch > '~' {
			c.w.Error("ERR " + string(args[2]) + " cannot contain spaces, newlines or special characters.")
			return
		}
	}
	c.shared.Lock()
	if attr == "lib-name" {
		c.shared.libName = string(args[3])
	} else {
		c.shared.libVer = string(args[3])
	}
	c.shared.Unlock()
	c.w.OK()
}

// clientType returns Valkey's client type name: "pubsub" for a subscribed
// client, else "normal".
func (c *Conn) clientType() string {
	c.shared.Lock()
	defer c.shared.Unlock()
	if c.shared.subs+c.shared.psubs+c.shared.ssubs > 0 {
		return "pubsub"
	}
	return "normal"
}

// parseClientType maps a TYPE argument to a client type; "" if unknown.
func parseClientType(b []byte) string {
	switch lower(b) {
	case "normal":
		return "normal"
	case "pubsub":
		return "pubsub"
	case "master":
		return "master"
	case "replica", "slave":
		return "replica"
	}
	return ""
}

func (c *Conn) clientList(args [][]byte) {
	var conns []*Conn
	switch {
	case len(args) == 2:
		conns = c.srv.clients()
	case len(args) == 4 && lower(args[2]) == "type":
		typ := parseClientType(args[3])
		if typ == "" {
			c.w.Error("ERR Unknown client type '" + string(args[3]) + "'")
			return
		}
		for _, o := range c.srv.clients() {
			if o.clientType() == typ {
				conns = append(conns, o)
			}
		}
	case len(args) > 3 && lower(args[2]) == "id":
		all := c.srv.clients()
		for _, a := range args[3:] {
			id, ok := protocol.String2ll(a)
			if !ok {
				c.w.Error("ERR Invalid client ID")
				return
			}
			for _, o := range all {
				if int64(o.id) == id {
					conns = append(conns, o)
				}
			}
		}
	default:
		c.w.Error(protocol.ErrSyntax)
		return
	}
	var b strings.Builder
	for _, o := range conns {
		b.WriteString(o.infoLine(c))
		b.WriteByte('\n')
	}
	c.w.Verbatim(b.String())
}

// clientKill is CLIENT KILL, in the old form (an address, replying OK or
// "No such client") and the filter form (replying the number killed).
func (c *Conn) clientKill(args [][]byte) {
	var (
		addr, laddr, typ string
		id               int64
		skipme           = true
		userAll          bool
	)
	if len(args) == 3 {
		addr = string(args[2])
		skipme = false
	} else if len(args) > 3 && len(args)%2 == 0 {
		for i := 2; i+1 < len(args); i += 2 {
			v := args[i+1]
			switch lower(args[i]) {
			case "id":
				n, ok := protocol.String2ll(v)
				if !ok || n < 1 {
					c.w.Error("ERR client-id should be greater than 0")
					return
				}
				id = n
			case "type":
				if typ = parseClientType(v); typ == "" {
					c.w.Error("ERR Unknown client type '" + string(v) + "'")
					return
				}
			case "addr":
				addr = string(v)
			case "laddr":
				laddr = string(v)
			case "user":
				if string(v) != "default" {
					c.w.Error("ERR No such user '" + string(v) + "'")
					return
				}
				userAll = true
			case "skipme":
				switch lower(v) {
				case "yes":
					skipme = true
				case "no":
					skipme = false
				default:
					c.w.Error(protocol.ErrSyntax)
					return
				}
			default:
				c.w.Error(protocol.ErrSyntax)
				return
			}
		}
	} else {
		c.w.Error(protocol.ErrSyntax)
		return
	}
	_ = userAll // every client is the default user's
	killed := 0
	for _, o := range c.srv.clients() {
		switch {
		case addr != "" && o.raddr != addr,
			laddr != "" && o.laddr != laddr,
			id != 0 && int64(o.id) != id,
			typ != "" && o.clientType() != typ,
			skipme && o == c:
			continue
		}
		killed++
		if o == c {
			c.closing = true
		} else {
			o.kill()
		}
	}
	if len(args) == 3 {
		if killed == 0 {
			c.w.Error("ERR No such client")
		} else {
			c.w.OK()
		}
		return
	}
	c.w.Int(int64(killed))
}

// infoLine returns the connection's CLIENT LIST line (Valkey 7.2 format)
// as caller sees it. Memory and buffer fields are reported as zero, except
// the caller's qbuf, which holds the request being run, as in Valkey.
func (c *Conn) infoLine(caller *Conn) string {
	c.shared.Lock()
	sh := c.shared.connInfo
	c.shared.Unlock()
	now := time.Now()
	age := int64(now.Sub(c.created) / time.Second)
	idle := int64(now.Sub(time.Unix(0, c.lastActive.Load())) / time.Second)
	var flags []byte
	if sh.subs+sh.psubs+sh.ssubs > 0 {
		flags = append(flags, 'P')
	}
	if sh.multi >= 0 {
		flags = append(flags, 'x')
	}
	if sh.noEvict {
		flags = append(flags, 'e')
	}
	if sh.noTouch {
		flags = append(flags, 'T')
	}
	if len(flags) == 0 {
		flags = append(flags, 'N')
	}
	cmd := "NULL"
	if lc := c.lastCmd.Load(); lc != nil {
		cmd = lc.FullName()
	}
	qbuf := 0
	if c == caller {
		qbuf = c.rd.LastLen() + c.rd.Buffered()
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d qbuf=%d qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s",
		c.id, c.raddr, c.laddr, c.fd, sh.name, age, idle, flags, sh.db, sh.subs, sh.psubs, sh.ssubs, sh.multi, qbuf, cmd, sh.resp, sh.libName, sh.libVer)
}

func sortConns(cs []*Conn) {
	slices.SortFunc(cs, func(a, b *Conn) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
}
