//go:build js && wasm

package client

import (
	"sync"
	"syscall/js"
	"time"
)

// pacer hands the page its event loop back between time slices of a
// reader's work. The slice counts what the caller does with the bytes too:
// a chunk of a response body can hold thousands of messages, and the page
// needs its turn while they are handled, not only between chunks. A long
// wait for bytes (wait) is not work: the page had its turns meanwhile, so
// a reply whose body comes some milliseconds after its headers is read
// without one more turn in between.
type pacer struct {
	start time.Time        // when the current stretch of work began; zero before the first check
	work  time.Duration    // the slice's work before start
	clock func() time.Time // time.Now when nil; a test's own clock
}

func (p *pacer) now() time.Time {
	if p.clock != nil {
		return p.clock()
	}
	return time.Now()
}

// readSlice is how long a reader runs before the page gets a turn: short
// enough for input to be handled and frames to be painted on time.
const readSlice = 8 * time.Millisecond

// longWait is how long a wait for bytes lasts at least when the page ran
// meanwhile. Bytes already buffered come back in a chain of microtasks,
// in which the page does not run, in tens of microseconds: such a wait is
// counted as work.
const longWait = time.Millisecond

// check yields to the page when the current slice is over. A reader's
// first slice starts at its first check.
func (p *pacer) check() {
	now := p.now()
	if p.start.IsZero() {
		p.start = now
		return
	}
	if p.work+now.Sub(p.start) >= readSlice {
		yieldToPage()
		p.start, p.work = p.now(), 0
	}
}

// wait runs f, a wait for more bytes. A long one leaves the slice out:
// it keeps the work done before f, and goes on from f's return.
func (p *pacer) wait(f func()) {
	before := p.now()
	f()
	if after := p.now(); after.Sub(before) >= longWait && !p.start.IsZero() {
		p.work += before.Sub(p.start)
		p.start = after
	}
}

// yielder wakes goroutines waiting in yieldToPage, in the order they
// posted their messages.
var yielder struct {
	once    sync.Once
	port    js.Value // the sending end of a MessageChannel
	mu      sync.Mutex
	waiting []chan struct{}
	turns   int // turns taken, for the tests
}

// yieldToPage waits for one turn of the page's event loop. A body whose
// bytes are already buffered resolves every read at once, in a microtask,
// and a chain of microtasks lets the page neither handle input nor paint
// until the stream ends; a reader that yields between slices keeps the page
// responsive. The turn is a MessageChannel message, which, unlike
// setTimeout, browsers do not clamp to 4 ms.
func yieldToPage() {
	yielder.once.Do(func() {
		ch := js.Global().Get("MessageChannel")
		if ch.Type() != js.TypeFunction {
			return
		}
		mc := ch.New()
		mc.Get("port1").Set("onmessage", js.FuncOf(func(js.Value, []js.Value) any {
			yielder.mu.Lock()
			if len(yielder.waiting) > 0 {
				close(yielder.waiting[0])
				yielder.waiting = yielder.waiting[1:]
				yielder.turns++
			}
			yielder.mu.Unlock()
			return nil
		}))
		yielder.port = mc.Get("port2")
	})
	if yielder.port.IsUndefined() {
		return
	}
	done := make(chan struct{})
	yielder.mu.Lock()
	yielder.waiting = append(yielder.waiting, done)
	yielder.mu.Unlock()
	yielder.port.Call("postMessage", js.Null())
	<-done
}
