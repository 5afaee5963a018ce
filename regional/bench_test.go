package regional_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/meridian-kv/meridian/protocol"
	"github.com/meridian-kv/meridian/regional/regionaltest"
	"github.com/meridian-kv/meridian/server/eval"
)

// BenchmarkRegionSet measures SET throughput of a 3-node region with
// boltdb on disk (fsync on every append), 64 concurrent writers, through
// the leader. Run: go test -bench RegionSet -benchtime 20000x ./regional/
func BenchmarkRegionSet(b *testing.B) {
	for _, pipeline := range []int{1, 16} {
		b.Run(fmt.Sprintf("pipeline=%d", pipeline), func(b *testing.B) {
			c := regionaltest.New(b, 3, regionaltest.Options{OnDisk: true})
			leader := c.WaitLeader(b)
			var n atomic.Int64
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					reqs := make([]*eval.Request, pipeline)
					for i := range reqs {
						k := fmt.Sprint("k", n.Add(1)%100000)
						reqs[i] = &eval.Request{Cmds: [][][]byte{{[]byte("set"), []byte(k), []byte("v")}}}
					}
					var w protocol.Writer
					leader.Group.ExecBatch(reqs, &w)
					if w.Len() == 0 || w.Bytes()[0] != '+' {
						b.Errorf("reply %q", w.Bytes())
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*pipeline)/b.Elapsed().Seconds(), "sets/s")
			st := leader.Group.Status()
			if st.Batches > 0 {
				b.ReportMetric(float64(st.BatchedReqs)/float64(st.Batches), "reqs/entry")
				b.ReportMetric(st.FsyncAvgMs, "fsync-ms")
			}
		})
	}
}
