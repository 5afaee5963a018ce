package eval_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

// forEachProto runs f against a fresh server once per RESP version.
func forEachProto(t *testing.T, f func(t *testing.T, srv *servertest.Instance, rdb *redis.Client)) {
	for _, proto := range []int{2, 3} {
		t.Run(map[int]string{2: "resp2", 3: "resp3"}[proto], func(t *testing.T) {
			srv := servertest.Start(t)
			f(t, srv, srv.Client(t, proto))
		})
	}
}

func TestSetGet(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		if v, err := rdb.Get(ctx, "k").Result(); err != redis.Nil {
			t.Fatalf("GET missing = %q, %v; want nil", v, err)
		}
		if err := rdb.Set(ctx, "k", "v1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v := rdb.Get(ctx, "k").Val(); v != "v1" {
			t.Fatalf("GET = %q, want v1", v)
		}
		// NX on an existing key does nothing and replies nil.
		if ok, err := rdb.SetNX(ctx, "k", "v2", 0).Result(); ok || err != nil {
			t.Fatalf("SET NX existing = %v, %v", ok, err)
		}
		// GET returns the old value.
		if old, err := rdb.SetArgs(ctx, "k", "v3", redis.SetArgs{Get: true}).Result(); old != "v1" || err != nil {
			t.Fatalf("SET GET = %q, %v", old, err)
		}
		// PX expires the key.
		if err := rdb.Set(ctx, "t", "x", 100*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		srv.Advance(time.Second)
		if err := rdb.Get(ctx, "t").Err(); err != redis.Nil {
			t.Fatalf("expired key: %v", err)
		}
		// Errors, word for word.
		if err := rdb.Do(ctx, "set", "k", "v", "ex", "0").Err(); err == nil || err.Error() != "ERR invalid expire time in 'set' command" {
			t.Fatalf("EX 0: %v", err)
		}
		if err := rdb.Do(ctx, "set", "k", "v", "nx", "xx").Err(); err == nil || err.Error() != "ERR syntax error" {
			t.Fatalf("NX XX: %v", err)
		}
		if err := rdb.Do(ctx, "get").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'get' command" {
			t.Fatalf("arity: %v", err)
		}
	})
}
