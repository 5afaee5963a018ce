//go:build faultinject

package ops

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// faultWall, in fault-test builds only, offsets the physical clock by the
// number of milliseconds in the file named by
// MERIDIAN_FAULT_CLOCK_OFFSET_FILE, re-read every 100 ms (the clock-skew
// nemesis of tests/jepsen writes it). Production builds have no such code.
func faultWall(w hlc.WallClock, log *slog.Logger) hlc.WallClock {
	path := os.Getenv("MERIDIAN_FAULT_CLOCK_OFFSET_FILE")
	if path == "" {
		return w
	}
	s := &skewedClock{inner: w}
	log.Warn("fault injection build: physical clock offset read from file", "file", path)
	go func() {
		for {
			if b, err := os.ReadFile(path); err == nil {
				if ms, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
					s.off.Store(ms)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return s
}

type skewedClock struct {
	inner hlc.WallClock
	off   atomic.Int64 // milliseconds
}

func (s *skewedClock) Now() time.Time {
	return s.inner.Now().Add(time.Duration(s.off.Load()) * time.Millisecond)
}
