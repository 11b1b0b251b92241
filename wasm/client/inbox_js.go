//go:build js && wasm

package client

import "sync"

// inbox is the receiving side of a JavaScript message source (a WebSocket,
// a MessagePort) for a Go reader: the source's event handlers, which must
// never block, queue messages and the source's end; recv takes them in
// order, the end last.
type inbox struct {
	mu     sync.Mutex
	queue  [][]byte
	ended  error         // why the source ended; nil while it runs
	wake   chan struct{} // signals recv that queue or ended changed; made by the owner
	closed bool          // closed by this side
	pace   pacer         // recv only
}

func (q *inbox) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// push queues a message, unless the source has ended.
func (q *inbox) push(b []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended == nil {
		q.queue = append(q.queue, b)
		q.signal()
	}
}

// end records why the source ended, unless it already has; recv returns
// it once the queue is empty.
func (q *inbox) end(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.endLocked(err)
}

func (q *inbox) endLocked(err error) {
	if q.ended == nil {
		q.ended = err
	}
	q.signal()
}

// open reports whether messages may still be sent: neither end closed.
func (q *inbox) open() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.closed && q.ended == nil
}

// closeOnce marks the source closed by this side, ending it with err, and
// reports whether this call did (the caller then lets go of the source).
func (q *inbox) closeOnce(err error) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	q.endLocked(err)
	return true
}

func (q *inbox) recv() ([]byte, error) {
	q.pace.check()
	for {
		q.mu.Lock()
		if len(q.queue) > 0 {
			b := q.queue[0]
			q.queue[0] = nil
			q.queue = q.queue[1:]
			q.mu.Unlock()
			return b, nil
		}
		if q.ended != nil {
			err := q.ended
			q.mu.Unlock()
			return nil, err
		}
		q.mu.Unlock()
		q.pace.wait(func() { <-q.wake })
	}
}
