package history_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
)

func TestRecorderAndJSONL(t *testing.T) {
	rec := history.NewRecorder(time.Now())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			p := rec.Process()
			w := rec.Invoke(p, history.FWrite, "k", "v", "n1")
			rec.Complete(w, history.OK, nil, nil)
			r := rec.Invoke(p, history.FRead, "k", nil, "n1")
			rec.Complete(r, history.OK, "v", nil)
			c := rec.Invoke(p, history.FCAS, "k", []string{"v", "w"}, "n2")
			rec.Complete(c, history.Info, nil, errors.New("i/o timeout"))
		})
	}
	wg.Wait()
	// Ops of every other type, and one left in flight.
	p := rec.Process()
	rec.Complete(rec.Invoke(p, history.FIncr, "c", int64(3), "n1"), history.Fail, nil, errors.New("TRYAGAIN"))
	f := rec.Invoke(p, history.FCount, "c", nil, "n1")
	rec.MarkFinal(f)
	rec.Complete(f, history.OK, int64(7), nil)
	rec.Complete(rec.Invoke(p, history.FAdd, "s", "e1", "n1"), history.OK, nil, nil)
	rec.Complete(rec.Invoke(p, history.FMembers, "s", nil, "n1"), history.OK, []string{"e1"}, nil)
	rec.Complete(rec.Invoke(p, history.FAppend, "l", "a1", "n1"), history.OK, nil, nil)
	rec.Complete(rec.Invoke(p, history.FList, "l", nil, "n1"), history.OK, []string{"a1"}, nil)
	rec.Invoke(p, history.FRemove, "s", "e1", "n1")

	h := rec.History()
	if got, want := h.Counts(), (history.Counts{Total: 19, OK: 13, Fail: 1, Info: 4, Pending: 1}); got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
	for i, op := range h {
		if op.Index != i {
			t.Fatalf("op %d has index %d", i, op.Index)
		}
		if op.Type != history.Invoke && op.End < op.Start {
			t.Errorf("op %v ends before it starts", op)
		}
	}
	var buf bytes.Buffer
	if err := h.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2*19-1 {
		t.Errorf("%d events, want %d (an invoke per op, a completion per finished op)", n, 2*19-1)
	}
	back, err := history.ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, h) {
		for i := range h {
			if i < len(back) && !reflect.DeepEqual(back[i], h[i]) {
				t.Errorf("op %d: read back %#v, want %#v", i, back[i], h[i])
			}
		}
		t.Fatalf("history differs after a JSON-lines round trip")
	}
}

func TestCompleteTwicePanics(t *testing.T) {
	rec := history.NewRecorder(time.Now())
	op := rec.Invoke(rec.Process(), history.FWrite, "k", "v", "")
	rec.Complete(op, history.OK, nil, nil)
	defer func() {
		if recover() == nil {
			t.Error("second Complete did not panic")
		}
	}()
	rec.Complete(op, history.OK, nil, nil)
}
