package protocol

// Sorted-set commands, as in Valkey's src/commands/z*.json.
func init() {
	w, wf, wd, wdf := Write, Write|Fast, Write|DenyOOM, Write|DenyOOM|Fast
	r, rf := ReadOnly, ReadOnly|Fast
	wcat := []string{"write", "sortedset", "slow"}
	wcatFast := []string{"write", "sortedset", "fast"}
	rcat := []string{"read", "sortedset", "slow"}
	rcatFast := []string{"read", "sortedset", "fast"}
	one := func(c *Command) *Command {
		c.FirstKey, c.LastKey, c.Step, c.Group = 1, 1, 1, "sorted-set"
		return c
	}
	numkeys := func(c *Command, at int, dest bool) *Command {
		c.Flags |= Movable
		c.Keys = NumKeys(at, dest)
		if dest {
			c.FirstKey, c.LastKey, c.Step = 1, 1, 1
		}
		c.Group = "sorted-set"
		return c
	}
	Register(
		one(&Command{Name: "zadd", Arity: -4, Flags: wdf, Summary: "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", Since: "1.2.0", Categories: wcatFast}),
		one(&Command{Name: "zincrby", Arity: 4, Flags: wdf, Summary: "Increments the score of a member in a sorted set.", Since: "1.2.0", Categories: wcatFast}),
		one(&Command{Name: "zrem", Arity: -3, Flags: wf, Summary: "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", Since: "1.2.0", Categories: wcatFast}),
		one(&Command{Name: "zscore", Arity: 3, Flags: rf, Summary: "Returns the score of a member in a sorted set.", Since: "1.2.0", Categories: rcatFast}),
		one(&Command{Name: "zmscore", Arity: -3, Flags: rf, Summary: "Returns the score of one or more members in a sorted set.", Since: "6.2.0", Categories: rcatFast}),
		one(&Command{Name: "zcard", Arity: 2, Flags: rf, Summary: "Returns the number of members in a sorted set.", Since: "1.2.0", Categories: rcatFast}),
		one(&Command{Name: "zcount", Arity: 4, Flags: rf, Summary: "Returns the count of members in a sorted set that have scores within a range.", Since: "2.0.0", Categories: rcatFast}),
		one(&Command{Name: "zlexcount", Arity: 4, Flags: rf, Summary: "Returns the number of members in a sorted set within a lexicographical range.", Since: "2.8.9", Categories: rcatFast}),
		one(&Command{Name: "zrank", Arity: -3, Flags: rf, Summary: "Returns the index of a member in a sorted set ordered by ascending scores.", Since: "2.0.0", Categories: rcatFast}),
		one(&Command{Name: "zrevrank", Arity: -3, Flags: rf, Summary: "Returns the index of a member in a sorted set ordered by descending scores.", Since: "2.0.0", Categories: rcatFast}),
		one(&Command{Name: "zrange", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of indexes.", Since: "1.2.0", Categories: rcat}),
		&Command{Name: "zrangestore", Arity: -5, Flags: wd, FirstKey: 1, LastKey: 2, Step: 1, Group: "sorted-set", Summary: "Stores a range of members from sorted set in a key.", Since: "6.2.0", Categories: wcat},
		one(&Command{Name: "zrevrange", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of indexes in reverse order.", Since: "1.2.0", Categories: rcat}),
		one(&Command{Name: "zrangebyscore", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of scores.", Since: "1.0.5", Categories: rcat}),
		one(&Command{Name: "zrevrangebyscore", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a range of scores in reverse order.", Since: "2.2.0", Categories: rcat}),
		one(&Command{Name: "zrangebylex", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a lexicographical range.", Since: "2.8.9", Categories: rcat}),
		one(&Command{Name: "zrevrangebylex", Arity: -4, Flags: r, Summary: "Returns members in a sorted set within a lexicographical range in reverse order.", Since: "2.8.9", Categories: rcat}),
		one(&Command{Name: "zremrangebyrank", Arity: 4, Flags: w, Summary: "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", Since: "2.0.0", Categories: wcat}),
		one(&Command{Name: "zremrangebyscore", Arity: 4, Flags: w, Summary: "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", Since: "1.2.0", Categories: wcat}),
		one(&Command{Name: "zremrangebylex", Arity: 4, Flags: w, Summary: "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", Since: "2.8.9", Categories: wcat}),
		one(&Command{Name: "zpopmin", Arity: -2, Flags: wf, Summary: "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Since: "5.0.0", Categories: wcatFast}),
		one(&Command{Name: "zpopmax", Arity: -2, Flags: wf, Summary: "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", Since: "5.0.0", Categories: wcatFast}),
		one(&Command{Name: "zrandmember", Arity: -2, Flags: r, Summary: "Returns one or more random members from a sorted set.", Since: "6.2.0", Categories: rcat}),
		one(&Command{Name: "zscan", Arity: -3, Flags: r, Summary: "Iterates over members and scores of a sorted set.", Since: "2.8.0", Categories: rcat}),
		numkeys(&Command{Name: "zunionstore", Arity: -4, Flags: wd, Summary: "Stores the union of multiple sorted sets in a key.", Since: "2.0.0", Categories: wcat}, 2, true),
		numkeys(&Command{Name: "zinterstore", Arity: -4, Flags: wd, Summary: "Stores the intersect of multiple sorted sets in a key.", Since: "2.0.0", Categories: wcat}, 2, true),
		numkeys(&Command{Name: "zdiffstore", Arity: -4, Flags: wd, Summary: "Stores the difference of multiple sorted sets in a key.", Since: "6.2.0", Categories: wcat}, 2, true),
		numkeys(&Command{Name: "zunion", Arity: -3, Flags: r, Summary: "Returns the union of multiple sorted sets.", Since: "6.2.0", Categories: rcat}, 1, false),
		numkeys(&Command{Name: "zinter", Arity: -3, Flags: r, Summary: "Returns the intersect of multiple sorted sets.", Since: "6.2.0", Categories: rcat}, 1, false),
		numkeys(&Command{Name: "zdiff", Arity: -3, Flags: r, Summary: "Returns the difference between multiple sorted sets.", Since: "6.2.0", Categories: rcat}, 1, false),
		numkeys(&Command{Name: "zintercard", Arity: -3, Flags: r, Summary: "Returns the number of members of the intersect of multiple sorted sets.", Since: "7.0.0", Categories: rcat}, 1, false),
		numkeys(&Command{Name: "zmpop", Arity: -4, Flags: w, Summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", Since: "7.0.0", Categories: wcat}, 1, false),
	)
}
