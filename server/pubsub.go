package server

import "sync"

// hub routes published messages to subscribed connections.
type hub struct {
	mu       sync.RWMutex
	channels map[string]map[*Conn]struct{}
	patterns map[string]map[*Conn]struct{}
}

func newHub() *hub {
	return &hub{channels: map[string]map[*Conn]struct{}{}, patterns: map[string]map[*Conn]struct{}{}}
}

// unsubscribeAll drops every subscription of c (connection closed).
func (h *hub) unsubscribeAll(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range c.subs {
		delete(h.channels[ch], c)
		if len(h.channels[ch]) == 0 {
			delete(h.channels, ch)
		}
	}
	for p := range c.psubs {
		delete(h.patterns[p], c)
		if len(h.patterns[p]) == 0 {
			delete(h.patterns, p)
		}
	}
}
