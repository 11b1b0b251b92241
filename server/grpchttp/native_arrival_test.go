package grpchttp

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// waitDone fails the test unless ctx ends within a generous while.
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not done", what)
	}
}

// TestArrivalBound: the context ends as DeadlineExceeded when the bound
// passes, with the contexts made from it; once arrived, only its parent
// ends it; its deadline and values stay the parent's.
func TestArrivalBound(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")
	c := withArrivalBound(parent, time.Millisecond)
	child, cancel := context.WithCancel(c)
	defer cancel()
	waitDone(t, c, "the bounded context")
	waitDone(t, child, "a context made from it")
	if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("errors %v, %v; want DeadlineExceeded", c.Err(), child.Err())
	}
	if _, ok := c.Deadline(); ok || c.Value(key{}) != "v" {
		t.Fatal("the bounded context changed its parent's deadline or values")
	}

	parent2, cancel2 := context.WithCancel(context.Background())
	c2 := withArrivalBound(parent2, 20*time.Millisecond)
	requestArrived(context.WithValue(c2, key{}, 1)) // found through contexts made from it
	time.Sleep(60 * time.Millisecond)
	if c2.Err() != nil {
		t.Fatalf("ended after the request arrived: %v", c2.Err())
	}
	child2, cancel3 := context.WithCancel(c2)
	defer cancel3()
	cancel2()
	waitDone(t, child2, "a context made from it, after its parent's cancel")
	if !errors.Is(c2.Err(), context.Canceled) {
		t.Fatalf("after the parent's cancel: %v; want Canceled", c2.Err())
	}
}

// TestArrivalBoundNoGoroutines: contexts made from a bounded context
// follow it through its AfterFunc, without a goroutine each.
func TestArrivalBoundNoGoroutines(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := withArrivalBound(parent, time.Hour)
	c.arrived()
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	for range 200 {
		_, cc := context.WithCancel(c)
		cancels = append(cancels, cc)
	}
	if n := runtime.NumGoroutine() - before; n > 20 {
		t.Fatalf("200 contexts made from it started %d goroutines", n)
	}
	for _, cc := range cancels {
		cc()
	}
	c.mu.Lock()
	left := len(c.funcs)
	c.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d AfterFuncs kept after their contexts were cancelled", left)
	}
}
