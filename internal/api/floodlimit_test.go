package api

import (
	"testing"
	"time"
)

// The untrusted-proxy warning: the first at once, then at most one line
// per interval, which counts the refusals it did not log.
func TestFloodLimit(t *testing.T) {
	f := &floodLimit{every: time.Second}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	if ok, n := f.allow(t0); !ok || n != 0 {
		t.Fatalf("first = %v, %d; want logged, 0 unlogged", ok, n)
	}
	for i := range 5 {
		if ok, _ := f.allow(t0.Add(time.Duration(i+1) * 100 * time.Millisecond)); ok {
			t.Fatalf("refusal %d within the second was logged", i+2)
		}
	}
	if ok, n := f.allow(t0.Add(time.Second)); !ok || n != 5 {
		t.Errorf("after a second = %v, %d; want logged, 5 unlogged", ok, n)
	}
	if ok, _ := f.allow(t0.Add(1500 * time.Millisecond)); ok {
		t.Error("a second line within the next second")
	}
}
