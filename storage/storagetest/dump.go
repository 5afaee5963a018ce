package storagetest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/meridian-kv/meridian/storage"
)

// Dump returns the logical state r shows, as text: every live key of every
// database in byte order, with its type, deadline and value (string value,
// hash fields and set members in byte order, sorted-set members in rank
// order with exact scores, list items in order with their ids). Two
// readers that agree on every read agree on Dump, and the converse holds
// for every read a command can make.
func Dump(r storage.Reader) string {
	var sb strings.Builder
	for db := range storage.NumDBs {
		var keys []string
		r.Range(db, func(k string, _ *storage.Object) bool { keys = append(keys, k); return true })
		slices.Sort(keys)
		if len(keys) == 0 && r.Len(db) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "db%d len=%d\n", db, r.Len(db))
		for _, k := range keys {
			dumpKey(&sb, k, r.Get(db, k))
		}
	}
	return sb.String()
}

func dumpKey(sb *strings.Builder, key string, o *storage.Object) {
	fmt.Fprintf(sb, "  %q %s", key, o.Kind())
	if at := o.ExpireAt(); at != 0 {
		fmt.Fprintf(sb, " ttl=%d", at)
	}
	fmt.Fprintf(sb, " n=%d:", o.Len())
	switch o.Kind() {
	case storage.KindString:
		fmt.Fprintf(sb, " %q", o.Str().Value())
	case storage.KindHash:
		type fv struct{ f, v string }
		var fs []fv
		o.Hash().Range(func(f string, v []byte) bool { fs = append(fs, fv{f, string(v)}); return true })
		slices.SortFunc(fs, func(a, b fv) int { return strings.Compare(a.f, b.f) })
		for _, x := range fs {
			fmt.Fprintf(sb, " %q=%q", x.f, x.v)
		}
	case storage.KindSet:
		ms := o.Set().Members()
		slices.Sort(ms)
		for _, m := range ms {
			fmt.Fprintf(sb, " %q", m)
		}
	case storage.KindZSet:
		z := o.ZSet()
		z.Ascend(0, func(it storage.ZItem) bool {
			fmt.Fprintf(sb, " %q=%s", it.Member, score(it.Score))
			return true
		})
	case storage.KindList:
		o.List().Range(0, func(_ int, it storage.Item) bool {
			fmt.Fprintf(sb, " %v/%d=%q", it.ID.TS, it.ID.Seq, it.Value)
			return true
		})
	}
	sb.WriteByte('\n')
}

// score prints a float exactly, bits included, so that scores that print
// alike but differ (0 and -0) still differ.
func score(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64) + "#" + strconv.FormatUint(math.Float64bits(f), 16)
}
