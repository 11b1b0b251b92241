//go:build js && wasm

package client

import (
	"testing"
	"time"
)

// TestJSPacer checks what a reader's slice counts: its work, and short
// waits (bytes already buffered), but not a long wait for bytes, during
// which the page ran. The pacer reads a clock the test moves, so a busy
// machine cannot change the outcome; the turns are the page's own.
// TestJSGlue runs it under Node.
func TestJSPacer(t *testing.T) {
	turns := func() int {
		yielder.mu.Lock()
		defer yielder.mu.Unlock()
		return yielder.turns
	}
	yieldToPage() // set the yielder up
	newPacer := func() (*pacer, func(time.Duration)) {
		at := time.Unix(0, 0)
		return &pacer{clock: func() time.Time { return at }}, func(d time.Duration) { at = at.Add(d) }
	}

	t.Run("LongWaitIsNotWork", func(t *testing.T) {
		p, work := newPacer()
		before := turns()
		p.check()
		work(time.Millisecond)
		p.wait(func() { work(4 * readSlice) })
		work(time.Millisecond)
		p.check()
		if n := turns() - before; n != 0 {
			t.Errorf("a slice of 2 ms of work around a %v wait took %d turns of the page, want none", 4*readSlice, n)
		}
	})
	t.Run("WorkAroundShortWaitsAddsUp", func(t *testing.T) {
		p, work := newPacer()
		before := turns()
		p.check()
		side := readSlice/2 - longWait/4 // the wait makes up the slice
		work(side)
		p.wait(func() { work(longWait / 2) })
		work(side)
		p.check()
		if n := turns() - before; n != 1 {
			t.Errorf("%v of work on either side of a %v wait took %d turns of the page, want 1", side, longWait/2, n)
		}
	})
	t.Run("WorkAfterLongWaitAddsUp", func(t *testing.T) {
		p, work := newPacer()
		before := turns()
		p.check()
		work(readSlice / 2)
		p.wait(func() { work(longWait) })
		work(readSlice / 2)
		p.check()
		if n := turns() - before; n != 1 {
			t.Errorf("%v of work on either side of a %v wait took %d turns of the page, want 1", readSlice/2, longWait, n)
		}
	})
}
