//go:build js && wasm

package client

import (
	"testing"
	"time"
)

// TestJSPacer checks what a reader's slice counts: its work, and short
// waits (bytes already buffered), but not a long wait for bytes, during
// which the page ran. TestJSGlue runs it under Node.
func TestJSPacer(t *testing.T) {
	work := func(d time.Duration) {
		for start := time.Now(); time.Since(start) < d; {
		}
	}
	turns := func() int {
		yielder.mu.Lock()
		defer yielder.mu.Unlock()
		return yielder.turns
	}
	yieldToPage() // set the yielder up

	t.Run("LongWaitIsNotWork", func(t *testing.T) {
		var p pacer
		before := turns()
		p.check()
		work(time.Millisecond)
		p.wait(func() { time.Sleep(4 * readSlice) })
		work(time.Millisecond)
		p.check()
		if n := turns() - before; n != 0 {
			t.Errorf("a slice of 2 ms of work around a %v wait took %d turns of the page, want none", 4*readSlice, n)
		}
	})
	t.Run("WorkAroundWaitsAddsUp", func(t *testing.T) {
		var p pacer
		before := turns()
		p.check()
		work(readSlice / 2)
		p.wait(func() {})
		work(readSlice / 2)
		p.check()
		if n := turns() - before; n != 1 {
			t.Errorf("a slice of %v of work around a short wait took %d turns of the page, want 1", readSlice, n)
		}
	})
}
