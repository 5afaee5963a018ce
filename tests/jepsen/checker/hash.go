package checker

import (
	"fmt"
	"maps"
	"slices"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

// Hash checks [history.FHSet], [history.FHDel] and [history.FHGetAll] ops on each key as a hash whose
// fields are last-writer-wins registers written in several active-active
// regions (docs/CONFLICTS.md, "Hash fields"): each field is judged as
// [LWW] judges a key, an HDEL being a write of "no value", and every
// HGETALL a read of every field. So a field read holds a value some
// HSET of it that did not fail wrote; an HDEL acknowledged in a region
// keeps the field gone there, and in the final reads, unless an HSET of
// it stamped later (begun in a region after that region had certainly
// applied the HDEL) or concurrent (any other) rewrote it; an
// acknowledged HSET is not lost to an older write. Every final HGETALL
// of a key must return the same hash.
func Hash(h history.History, opts RegionOptions) Result {
	opts.fill()
	res := Result{Checker: "hash-lww"}
	byKey := h.Filter(func(op history.Op) bool {
		return op.F == history.FHSet || op.F == history.FHDel || op.F == history.FHGetAll
	}).ByKey()
	var is issues
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		ops := byKey[key]
		fields := make(map[string]*lwwRegister)
		field := func(f string) *lwwRegister {
			g := fields[f]
			if g == nil {
				g = &lwwRegister{name: fmt.Sprintf("hash %q field %q", key, f)}
				fields[f] = g
			}
			return g
		}
		var reads, finals history.History
		for _, op := range ops {
			switch op.F {
			case history.FHSet:
				if fv, ok := stringsOf(op.Value); ok && len(fv) == 2 {
					field(fv[0]).write(op, fv[1], false, opts.Region)
				}
			case history.FHDel:
				f, _ := op.Value.(string)
				field(f).write(op, "", true, opts.Region)
			case history.FHGetAll:
				if op.Type != history.OK {
					continue
				}
				reads = append(reads, op)
				for f := range fieldsOf(op.Value) {
					field(f)
				}
				if op.Final {
					finals = append(finals, op)
				}
			}
		}
		for _, r := range reads {
			m := fieldsOf(r.Value)
			for f, g := range fields {
				v, present := m[f]
				g.read(r, v, present, opts.Region)
			}
		}
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			fields[f].check(&is)
			res.Notes = append(res.Notes, fields[f].note(len(finals)))
		}
		sameFinals(&is, fmt.Sprintf("hash %q", key), finals, func(op history.Op) []string {
			m := fieldsOf(op.Value)
			out := make([]string, 0, len(m))
			for _, f := range slices.Sorted(maps.Keys(m)) {
				out = append(out, f+"="+m[f])
			}
			return out
		})
	}
	is.flush(&res, opts.MaxListed)
	res.finish()
	return res
}

// stringsOf returns v as strings: a []string, or the []any a JSON
// history holds.
func stringsOf(v any) ([]string, bool) {
	switch v := v.(type) {
	case []string:
		return v, true
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// fieldsOf returns a hash read as a map: a map[string]string, or the
// map[string]any a JSON history holds. Anything else is empty.
func fieldsOf(v any) map[string]string {
	switch v := v.(type) {
	case map[string]string:
		return v
	case map[string]any:
		out := make(map[string]string, len(v))
		for f, e := range v {
			out[f] = fmt.Sprint(e)
		}
		return out
	}
	return nil
}
