package regional_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/regional/regionaltest"
	"github.com/meridian-kv/meridian/server/eval"
)

// The region benchmarks measure write throughput of a 3-node region with
// boltdb on disk (fsync on every append), 64 concurrent writers, through
// the leader, at pipeline depths 1 and 16. Their commands are those of
// redis-benchmark -r 100000 (docs/PERFORMANCE.md): SET and INCR spread
// over 100k keys, HSET writes random fields of one hash and LPUSH pushes
// onto one list, so the last two hit one ever-growing key.
//
// Run: go test -run XXX -bench Region -benchtime 3s ./regional/

// BenchmarkRegionSet measures SET key:<rand> v.
func BenchmarkRegionSet(b *testing.B) {
	benchRegion(b, "sets/s", func(n int64) [][]byte {
		return [][]byte{[]byte("set"), []byte("key:" + strconv.FormatInt(n%100000, 10)), []byte("v")}
	}, '+')
}

// BenchmarkRegionIncr measures INCR counter:<rand>.
func BenchmarkRegionIncr(b *testing.B) {
	benchRegion(b, "incrs/s", func(n int64) [][]byte {
		return [][]byte{[]byte("incr"), []byte("counter:" + strconv.FormatInt(n%100000, 10))}
	}, ':')
}

// BenchmarkRegionHSet measures HSET myhash element:<rand> v: one hash that
// grows to 100k fields.
func BenchmarkRegionHSet(b *testing.B) {
	benchRegion(b, "hsets/s", func(n int64) [][]byte {
		return [][]byte{[]byte("hset"), []byte("myhash"), []byte("element:" + strconv.FormatInt(n%100000, 10)), []byte("v")}
	}, ':')
}

// BenchmarkRegionLPush measures LPUSH mylist v: one list that grows by
// every push.
func BenchmarkRegionLPush(b *testing.B) {
	benchRegion(b, "lpushes/s", func(int64) [][]byte {
		return [][]byte{[]byte("lpush"), []byte("mylist"), []byte("v")}
	}, ':')
}

// benchRegion runs cmd(n) for increasing n from 64 writers at pipeline
// depths 1 and 16; every reply must start with ok.
func benchRegion(b *testing.B, unit string, cmd func(n int64) [][]byte, ok byte) {
	for _, pipeline := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", pipeline), func(b *testing.B) {
			c := regionaltest.New(b, 3, regionaltest.Options{OnDisk: true})
			leader := c.WaitLeader(b)
			var n atomic.Int64
			b.SetParallelism(64)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				reqs := make([]*eval.Request, pipeline)
				for pb.Next() {
					for i := range reqs {
						reqs[i] = &eval.Request{Cmds: [][][]byte{cmd(n.Add(1))}}
					}
					var w protocol.Writer
					leader.Group.ExecBatch(reqs, &w)
					if w.Len() == 0 || w.Bytes()[0] != ok {
						b.Errorf("reply %q", w.Bytes())
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*pipeline)/b.Elapsed().Seconds(), unit)
			st := leader.Group.Status()
			if st.Batches > 0 {
				b.ReportMetric(float64(st.BatchedReqs)/float64(st.Batches), "reqs/entry")
				b.ReportMetric(st.FsyncAvgMs, "fsync-ms")
			}
		})
	}
}
