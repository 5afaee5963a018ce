package workload_test

import (
	"testing"
	"time"

	"github.com/meridian-kv/meridian/server/servertest"
	"github.com/meridian-kv/meridian/tests/jepsen/history"
	"github.com/meridian-kv/meridian/tests/jepsen/workload"
)

// TestSetRemoveOwn: with RemoveOwn, a client removes only elements
// added through its own node (across regions a remove of an element
// its region has not seen yet would not remove it).
func TestSetRemoveOwn(t *testing.T) {
	a, b := servertest.Start(t), servertest.Start(t)
	w := workload.NewSet(workload.SetOptions{RemoveOwn: true})
	_, h := run(t, w, []string{a.Addr, b.Addr}, 500*time.Millisecond)
	addedOn := make(map[string]string) // key/element -> node
	for _, op := range h {
		if op.F == history.FAdd {
			addedOn[op.Key+"/"+op.Value.(string)] = op.Node
		}
	}
	removes := 0
	for _, op := range h {
		if op.F != history.FRemove {
			continue
		}
		removes++
		if n := addedOn[op.Key+"/"+op.Value.(string)]; n != op.Node {
			t.Errorf("%s removes an element added on %q", op, n)
		}
	}
	if removes == 0 {
		t.Error("no remove: the workload does not exercise SREM")
	}
	if got := w.Keys(); len(got) != 2 {
		t.Errorf("Keys() = %q, want the 2 sets", got)
	}
}
