// Package interregiontest helps test the inter-region layer: an in-memory
// [Region] that stands for a region's Raft group (log, FSM records, state
// export), a channel-free [Network] that drives several regions'
// interregion.Replica with seeded loss, duplication, delay and partitions,
// a [Bufnet] of in-memory listeners for the real gRPC Link, and a test
// [CA] for mutual TLS.
//
// Usage, for the replication core:
//
//	net := interregiontest.NewNetwork(seed)
//	net.DropRate, net.DupRate, net.MaxDelay = 0.1, 0.1, 3
//	for _, id := range ids {
//		g := interregiontest.NewRegion(id, nil)
//		rep, _ := interregion.NewReplica(interregion.Config{Region: id, Peers: peers(id), Log: g}, nil)
//		net.Add(rep, g)
//	}
//	net.Connect()
//	// write with g.Write, then net.Committed(id); interleave net.Step()
//	// and net.Tick(); net.Cut / net.Heal between them.
//
// Usage, for the gRPC Link: give every region's Config the Dialer of one
// Bufnet, Addr(name) as its peers' addresses, and Serve each link on
// bufnet.Listen(name).
//
// Every choice a Network makes comes from its seed: print the seed when a
// test fails, so that the run can be replayed (with Network.Trace set).
package interregiontest
