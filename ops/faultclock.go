//go:build !faultinject

package ops

import (
	"log/slog"

	"github.com/meridian-kv/meridian/storage/hlc"
)

// faultWall returns w unchanged: clock skew can only be injected in
// builds with -tags faultinject (see faultclock_faultinject.go).
func faultWall(w hlc.WallClock, _ *slog.Logger) hlc.WallClock { return w }
