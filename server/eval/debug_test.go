package eval_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

func TestDebugDigest(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		d0, err := rdb.Do(ctx, "debug", "digest").Text()
		if err != nil || d0 != "0000000000000000000000000000000000000000" {
			t.Fatalf("DEBUG DIGEST on an empty node = %q, %v", d0, err)
		}
		rdb.Set(ctx, "k", "v", 0)
		d1, _ := rdb.Do(ctx, "debug", "digest").Text()
		if len(d1) != 40 || d1 == d0 {
			t.Fatalf("DEBUG DIGEST after a write = %q", d1)
		}
		if d2, _ := rdb.Do(ctx, "debug", "digest").Text(); d2 != d1 {
			t.Fatalf("DEBUG DIGEST not stable: %q then %q", d1, d2)
		}
		rdb.Set(ctx, "k", "w", 0)
		if d3, _ := rdb.Do(ctx, "debug", "digest").Text(); d3 == d1 {
			t.Fatal("DEBUG DIGEST did not change with the data")
		}
		if err := rdb.Do(ctx, "debug", "nope").Err(); err == nil {
			t.Fatal("DEBUG nope: want an error")
		}
	})
}
