package storage

import (
	"fmt"
	"strings"
)

// DebugString returns the store's merge state as text, stamps and
// tombstones included, for test failure messages.
func (s *Store) DebugString() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "last=%v stable=%v list_stable=%v\n", s.last, s.stable, s.listStable)
	for i := range s.dbs {
		d := &s.dbs[i]
		if len(d.keys) == 0 && d.floor.IsZero() {
			continue
		}
		fmt.Fprintf(&sb, "db%d floor=%v live=%d expires=%d\n", i, d.floor, d.live, len(d.expires))
		for _, k := range sortedKeys(d.keys) {
			o := d.keys[k]
			fmt.Fprintf(&sb, "  %q floor=%v ttl=%d@%v %s live=%v\n", k, o.Floor, o.TTL.At, o.TTL.TS, o.Kind(), o.Live())
			switch v := o.val.(type) {
			case *Register:
				fmt.Fprintf(&sb, "    %s\n", v.debugString())
			case *Hash:
				for _, f := range sortedKeys(v.fields) {
					fmt.Fprintf(&sb, "    %q %s\n", f, v.fields[f].debugString())
				}
			case *Set:
				for _, m := range sortedKeys(v.members) {
					fmt.Fprintf(&sb, "    %q %s\n", m, v.members[m].debugString())
				}
			case *ZSet:
				for _, m := range sortedKeys(v.members) {
					fmt.Fprintf(&sb, "    %q %s\n", m, v.members[m].reg.debugString())
				}
			case *List:
				for _, it := range v.items[v.head:] {
					fmt.Fprintf(&sb, "    %v/%d %s\n", it.id.TS, it.id.Seq, it.reg.debugString())
				}
			}
		}
	}
	return sb.String()
}

func (r *Register) debugString() string {
	var sb strings.Builder
	if r.Val == nil {
		sb.WriteString("val=nil")
	} else {
		fmt.Fprintf(&sb, "val=%q", r.Val)
	}
	fmt.Fprintf(&sb, " ts=%v del=%v", r.TS, r.Del)
	for _, inc := range r.Incs {
		if inc.IsFloat {
			fmt.Fprintf(&sb, " +%g@%v", inc.Float, inc.TS)
		} else {
			fmt.Fprintf(&sb, " +%d@%v", inc.Int, inc.TS)
		}
	}
	return sb.String()
}

// RecountTombstones counts tombstones by walking every element of the
// store, for tests of the totals Tombstones keeps as Apply goes.
func (s *Store) RecountTombstones() TombstoneStats {
	var t TombstoneStats
	add := func(n, b int) {
		t.Count += int64(n)
		t.Bytes += int64(b)
	}
	for i := range s.dbs {
		for k, o := range s.dbs[i].keys {
			if !o.Live() {
				add(1, len(k)+keyTombSize)
			}
			switch v := o.val.(type) {
			case *Register:
				if !v.Del.IsZero() && !v.Live() {
					add(1, registerSize)
				}
			case *Hash:
				for f, r := range v.fields {
					if !r.Live() {
						add(1, len(f)+fieldTombSize)
					}
				}
			case *Set:
				for m, r := range v.members {
					if !r.Live() {
						add(1, len(m)+fieldTombSize)
					}
				}
			case *ZSet:
				for m, zm := range v.members {
					if !zm.reg.Live() {
						add(1, len(m)+zmemberTombSize)
					}
				}
			case *List:
				for _, it := range v.items[v.head:] {
					if !it.alive() {
						add(1, litemTombSize)
					}
				}
			}
		}
	}
	return t
}
