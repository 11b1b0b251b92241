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
// needs its turn while they are handled, not only between chunks.
type pacer struct{ start time.Time }

// readSlice is how long a reader runs before the page gets a turn: short
// enough for input to be handled and frames to be painted on time.
const readSlice = 8 * time.Millisecond

// check yields to the page when the current slice is over. A reader's
// first slice starts at its first check: a short body (a unary reply) is
// read without waiting for a turn of the page.
func (p *pacer) check() {
	if p.start.IsZero() {
		p.start = time.Now()
		return
	}
	if time.Since(p.start) >= readSlice {
		yieldToPage()
		p.start = time.Now()
	}
}

// yielder wakes goroutines waiting in yieldToPage, in the order they
// posted their messages.
var yielder struct {
	once    sync.Once
	port    js.Value // the sending end of a MessageChannel
	mu      sync.Mutex
	waiting []chan struct{}
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
