package jepsen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPrefix takes an exclusive lock on the network namespace prefix,
// waiting (until ctx ends) while another run of any process holds it:
// two runs with one prefix would delete each other's namespaces and
// send clients of one run to the nodes of the other (addresses are
// derived from the subnet). The returned func releases it.
func lockPrefix(ctx context.Context, prefix string, waiting func()) (func(), error) {
	path := filepath.Join(os.TempDir(), "meridian-jepsen-"+prefix+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jepsen: %w", err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("jepsen: lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("jepsen: another run holds %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
