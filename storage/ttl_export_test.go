package storage

import (
	"fmt"
	"strings"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// ForEachExpiry calls fn for every key, live or not, whose TTL register
// holds a deadline, with the stamp at which the key expires under it.
func (s *Store) ForEachExpiry(fn func(db int, key string, expiry hlc.Timestamp)) {
	for i := range s.dbs {
		for _, k := range sortedKeys(s.dbs[i].keys) {
			if o := s.dbs[i].keys[k]; o.TTL.At != 0 {
				fn(i, k, o.TTL.expiry())
			}
		}
	}
}

// TTLHistory returns the replaced TTL writes key keeps (see ttl.go).
func (s *Store) TTLHistory(db int, key string) []TTL {
	if o := s.dbs[db].keys[key]; o != nil {
		return append([]TTL(nil), o.ttlHist()...)
	}
	return nil
}

// TTLString returns every key's TTL register and history as text, for
// test failure messages.
func (s *Store) TTLString() string {
	var sb strings.Builder
	for i := range s.dbs {
		for _, k := range sortedKeys(s.dbs[i].keys) {
			o := s.dbs[i].keys[k]
			fmt.Fprintf(&sb, "db%d %q floor=%v live=%v ttl=%d@%v hist=%v event=%v\n", i, k, o.Floor, o.Live(), o.TTL.At, o.TTL.TS, o.ttlHist(), o.ttlEvent())
		}
	}
	return sb.String()
}
