package netns

import (
	"context"
	"os"
	"testing"
	"time"
)

// Require skips t when this process cannot build networks (see [Check]),
// or fails it when the environment variable CI is set: in CI a missing
// capability must not pass as a skip.
func Require(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := Check(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skipf("skipping: %v (set CI to make this a failure)", err)
	}
}
