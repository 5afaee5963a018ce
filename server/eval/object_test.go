package eval_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/meridian-kv/meridian/server/servertest"
)

func TestObjectEncoding(t *testing.T) {
	forEachProto(t, func(t *testing.T, srv *servertest.Instance, rdb *redis.Client) {
		ctx := context.Background()
		rdb.Set(ctx, "int", "12345", 0)
		rdb.Set(ctx, "emb", "hello", 0)
		rdb.Set(ctx, "raw", strings.Repeat("x", 45), 0)
		rdb.HSet(ctx, "hsmall", "f", "v")
		rdb.HSet(ctx, "hbig", "f", strings.Repeat("v", 65))
		rdb.SAdd(ctx, "sint", 1, 2, 3)
		rdb.SAdd(ctx, "sstr", "a", "b")
		rdb.ZAdd(ctx, "zsmall", redis.Z{Score: 1, Member: "a"})
		rdb.RPush(ctx, "lsmall", "a")
		var big []interface{}
		for i := range 200 {
			big = append(big, fmt.Sprintf("m%d", i))
		}
		rdb.SAdd(ctx, "sbig", big...)
		rdb.RPush(ctx, "lbig", big...)
		tests := []struct{ key, want string }{
			{"int", "int"},         // integers
			{"emb", "embstr"},      // short strings
			{"raw", "raw"},         // strings past 44 bytes
			{"hsmall", "listpack"}, // small hashes
			{"hbig", "hashtable"},  // a value past 64 bytes
			{"sint", "intset"},     // integer sets
			{"sstr", "listpack"},   // small sets of strings
			{"sbig", "hashtable"},  // more than 128 members
			{"zsmall", "listpack"},
			{"lsmall", "listpack"},
			{"lbig", "quicklist"},
		}
		for _, tt := range tests {
			if got, err := rdb.ObjectEncoding(ctx, tt.key).Result(); got != tt.want || err != nil {
				t.Errorf("OBJECT ENCODING %s = %q, %v; want %q", tt.key, got, err, tt.want)
			}
		}
		if err := rdb.ObjectEncoding(ctx, "missing").Err(); err != redis.Nil {
			t.Errorf("OBJECT ENCODING missing: %v, want nil", err)
		}
		if n, err := rdb.ObjectRefCount(ctx, "int").Result(); n != 1 || err != nil {
			t.Errorf("OBJECT REFCOUNT = %d, %v", n, err)
		}
		if err := rdb.Do(ctx, "object", "encoding").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'object|encoding' command" {
			t.Errorf("arity: %v", err)
		}
		if err := rdb.Do(ctx, "object", "nope", "k").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown subcommand 'nope'. Try OBJECT HELP.") {
			t.Errorf("unknown subcommand: %v", err)
		}
	})
}
