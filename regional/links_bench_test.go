package regional_test

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meridian-kv/meridian/regional"
	"github.com/meridian-kv/meridian/regional/regionaltest"
)

// BenchmarkLinkedRegions: two linked regions of three nodes (boltdb on
// disk, fsync), 16 writers in each doing SET; reports the write throughput
// of both regions together and the replication lag (from a write's stamp
// in its region to its merge in the other) at p50 and p99, with no delay
// between the regions and with a 50 ms round trip; "unlinked" is the same
// two regions without the link, for the cost of replication.
//
//	go test -run XXX -bench LinkedRegions -benchtime 20000x ./regional/
func BenchmarkLinkedRegions(b *testing.B) {
	for _, rtt := range []time.Duration{-1, 0, 50 * time.Millisecond} {
		name := fmt.Sprintf("rtt=%v", rtt)
		if rtt < 0 {
			name = "unlinked"
		}
		b.Run(name, func(b *testing.B) {
			wan := regionaltest.NewWAN()
			wan.Delay = max(0, rtt/2)
			regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
			var regions []*regionaltest.Cluster
			for i, name := range []string{"east", "west"} {
				reg := regs[i]
				regions = append(regions, regionaltest.New(b, 3, regionaltest.Options{
					Region: uint32(i + 1), Name: name, Link: true, WAN: wan, OnDisk: true,
					Tune: func(c *regional.Config) {
						if c.Node == 1 {
							c.Link = &regional.LinkConfig{Registry: reg}
						}
					},
				}))
			}
			for _, r := range regions {
				r.WaitLeader(b)
			}
			if rtt >= 0 {
				regionaltest.Mesh(b, regions...)
			}
			// Make node 1 (index 0) the leader of each region, so that its
			// registry holds the merge lag.
			for _, r := range regions {
				for r.LeaderIndex(b) != 0 {
					r.WaitLeader(b).Group.TransferLeadership()
					time.Sleep(100 * time.Millisecond)
				}
			}
			b.ResetTimer()
			start := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			for _, r := range regions {
				for w := range 16 {
					wg.Go(func() {
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							r.Do(w%3, "SET", fmt.Sprintf("%s-%d", r.Name(), i), "value")
						}
					})
				}
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			// Wait for the other region to merge the tail.
			deadline := time.Now().Add(30 * time.Second)
			for rtt >= 0 && time.Now().Before(deadline) && regions[0].Do(0, "DBSIZE") != regions[1].Do(0, "DBSIZE") {
				time.Sleep(50 * time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
			if rtt < 0 {
				return
			}
			for _, q := range []float64{0.5, 0.99} {
				b.ReportMetric(histQuantile(b, regs, q)*1000, fmt.Sprintf("lag-p%.0f-ms", q*100))
			}
		})
	}
}

// histQuantile estimates a quantile of the replication lag histograms of
// regs together, interpolating within buckets.
func histQuantile(b *testing.B, regs []*prometheus.Registry, q float64) float64 {
	counts := map[float64]uint64{}
	var total uint64
	for _, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "meridian_interregion_replication_lag_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				h := m.GetHistogram()
				total += h.GetSampleCount()
				for _, bk := range h.GetBucket() {
					counts[bk.GetUpperBound()] += bk.GetCumulativeCount()
				}
			}
		}
	}
	if total == 0 {
		return math.NaN()
	}
	bounds := make([]float64, 0, len(counts))
	for ub := range counts {
		bounds = append(bounds, ub)
	}
	slices.Sort(bounds)
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for _, ub := range bounds {
		if float64(counts[ub]) >= rank {
			in := counts[ub] - below
			if in == 0 {
				return ub
			}
			return lower + (ub-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = ub, counts[ub]
	}
	return bounds[len(bounds)-1]
}
