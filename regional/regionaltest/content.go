package regionaltest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/storage"
)

// Content renders what a client of g can read, every database and key,
// in a canonical text: keys, types, values in order, TTL deadlines. Two
// nodes that converged render the same text, whatever tombstones or GC
// frontier each still holds (Store.Digest counts those).
func Content(g *regional.Group) string {
	var b strings.Builder
	g.Read(func(s *storage.Store) {
		r := s.At(0) // expiry is left to the TTL column
		for db := range storage.NumDBs {
			var keys []string
			objs := map[string]*storage.Object{}
			r.Range(db, func(k string, o *storage.Object) bool {
				keys = append(keys, k)
				objs[k] = o
				return true
			})
			slices.Sort(keys)
			for _, k := range keys {
				o := objs[k]
				fmt.Fprintf(&b, "%d %q ttl=%d ", db, k, o.TTL.At)
				switch o.Kind() {
				case storage.KindString:
					fmt.Fprintf(&b, "string %q", o.Str().Value())
				case storage.KindHash:
					var fs []string
					o.Hash().Range(func(f string, v []byte) bool {
						fs = append(fs, fmt.Sprintf("%q=%q", f, v))
						return true
					})
					slices.Sort(fs)
					fmt.Fprintf(&b, "hash %v", fs)
				case storage.KindSet:
					ms := o.Set().Members()
					slices.Sort(ms)
					fmt.Fprintf(&b, "set %q", ms)
				case storage.KindZSet:
					b.WriteString("zset")
					o.ZSet().Ascend(0, func(it storage.ZItem) bool {
						fmt.Fprintf(&b, " %q:%v", it.Member, it.Score)
						return true
					})
				case storage.KindList:
					b.WriteString("list")
					o.List().Range(0, func(_ int, it storage.Item) bool {
						fmt.Fprintf(&b, " %q", it.Value)
						return true
					})
				default:
					fmt.Fprintf(&b, "kind %d", o.Kind())
				}
				b.WriteByte('\n')
			}
		}
	})
	return b.String()
}
