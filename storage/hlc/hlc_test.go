package hlc

import (
	"testing"
	"time"
)

func TestTimestampCompare(t *testing.T) {
	tests := []struct {
		a, b Timestamp
		want int
	}{
		{Timestamp{Wall: 1}, Timestamp{Wall: 2}, -1},                               // wall decides first
		{Timestamp{Wall: 2, Logical: 0}, Timestamp{Wall: 1, Logical: 9}, 1},        // logical only breaks wall ties
		{Timestamp{Wall: 1, Logical: 3}, Timestamp{Wall: 1, Logical: 4}, -1},       // logical orders one millisecond
		{Timestamp{Wall: 1, Region: 2}, Timestamp{Wall: 1, Region: 1, Node: 9}, 1}, // region before node
		{Timestamp{Wall: 1, Region: 1, Node: 1}, Timestamp{Wall: 1, Region: 1, Node: 2}, -1},
		{Timestamp{Wall: 5, Logical: 1, Region: 1, Node: 1}, Timestamp{Wall: 5, Logical: 1, Region: 1, Node: 1}, 0},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Compare(tt.a); got != -tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// TestClock follows CockroachDB's TestHLCClock: a table of events against a
// manual wall clock.
func TestClock(t *testing.T) {
	m := NewManualClock(1)
	c := NewClock(m, 7, 3)
	type event int
	const (
		send event = iota
		recv
	)
	steps := []struct {
		wall  int64
		ev    event
		input Timestamp
		want  Timestamp
	}{
		{5, send, Timestamp{}, Timestamp{Wall: 5, Region: 7, Node: 3}},
		{5, send, Timestamp{}, Timestamp{Wall: 5, Logical: 1, Region: 7, Node: 3}},
		{6, send, Timestamp{}, Timestamp{Wall: 6, Region: 7, Node: 3}},
		// Our clock mysteriously jumps back.
		{3, send, Timestamp{}, Timestamp{Wall: 6, Logical: 1, Region: 7, Node: 3}},
		// A remote stamp from the future drags us along.
		{3, recv, Timestamp{Wall: 10, Logical: 4, Region: 1}, Timestamp{Wall: 10, Logical: 4, Region: 1}},
		{3, send, Timestamp{}, Timestamp{Wall: 10, Logical: 5, Region: 7, Node: 3}},
		// An old remote stamp changes nothing.
		{11, recv, Timestamp{Wall: 2}, Timestamp{Wall: 10, Logical: 5, Region: 7, Node: 3}},
		{11, send, Timestamp{}, Timestamp{Wall: 11, Region: 7, Node: 3}},
	}
	for i, s := range steps {
		m.Set(s.wall)
		var got Timestamp
		if s.ev == send {
			got = c.Now()
		} else {
			c.Update(s.input)
			got = c.Last()
		}
		if got != s.want {
			t.Fatalf("step %d: got %v, want %v", i, got, s.want)
		}
	}
}

func TestClockUpdateReportsOffset(t *testing.T) {
	m := NewManualClock(1000)
	c := NewClock(m, 1, 1)
	if d := c.Update(Timestamp{Wall: 1700}); d != 700*time.Millisecond {
		t.Fatalf("offset = %v, want 700ms", d)
	}
	if d := c.Update(Timestamp{Wall: 900}); d != 0 {
		t.Fatalf("offset of a past stamp = %v, want 0", d)
	}
	if !c.Last().Less(c.Now()) {
		t.Fatal("Now must exceed every observed stamp")
	}
}
