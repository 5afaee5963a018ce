//go:build !faultinject

package ops

import "github.com/hashicorp/raft"

// faultWrapLogStore returns nil: disk stalls can only be injected in
// builds with -tags faultinject (see faultdisk_faultinject.go).
func faultWrapLogStore() func(raft.LogStore) raft.LogStore { return nil }
