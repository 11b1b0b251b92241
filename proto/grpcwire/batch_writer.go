package grpcwire

import (
	"errors"
	"sync"
)

// ErrStopped is what BatchWriter.Add returns once Finish or Stop was called.
var ErrStopped = errors.New("grpcwire: the batch writer has stopped")

// ErrBacklog is what BatchWriter.AddNowWithin returns when its peer has let
// so much wait that even frames that may not wait must not be queued.
var ErrBacklog = errors.New("grpcwire: the batch writer's peer does not read: too much is queued")

// BatchWriter puts one stream's bytes on its transport from a goroutine of
// its own. What is added while it writes gathers into the next batch: a
// fast stream costs one write per batch instead of one per message, and a
// slow one still sends each message as soon as it is added. At most limit
// bytes wait; beyond that Add waits too, so a peer that reads slowly slows
// the stream down instead of making the writer buffer.
//
// The server's gRPC-Web and native handlers write server streams with it;
// the client writes the requests of a WebSocket stream with it.
type BatchWriter struct {
	write func([]byte) error
	limit int
	lead  []byte
	done  chan struct{} // closed when the goroutine has ended

	mu        sync.Mutex
	cond      *sync.Cond // pending gained bytes or room, or the state changed
	pending   []byte
	spare     []byte // the last batch's buffer, for the next
	final     []byte // Finish's last write
	finishing bool   // Finish was called: write what is queued, then final
	stopped   bool   // Stop was called, or the goroutine ended
	err       error  // the first write error
}

// NewBatchWriter starts a writer that hands each batch to write. Every
// batch starts with lead (the grpc-websockets data byte, say), which may be
// nil.
func NewBatchWriter(write func(batch []byte) error, limit int, lead []byte) *BatchWriter {
	w := &BatchWriter{write: write, limit: limit, lead: lead, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// Add appends to the next batch what fill appends to the slice it is
// given, so a message can be marshaled in place; when fill fails the batch
// is left as it was and its error returned. Add waits while limit bytes are
// queued. Once a write failed it returns that write's error, and after
// Finish or Stop, ErrStopped.
func (w *BatchWriter) Add(fill func([]byte) ([]byte, error)) error {
	return w.add(true, 0, fill)
}

// AddNow is Add without the wait, for small control frames that must not
// queue behind a stream's data (a pong, a window update, a cancel): the
// goroutine that reads a socket answers with them and must never block on
// the socket's writes.
func (w *BatchWriter) AddNow(fill func([]byte) ([]byte, error)) error {
	return w.add(false, 0, fill)
}

// AddNowWithin is AddNow that queues nothing and returns ErrBacklog while
// max bytes or more wait: for the answers a reader sends to what its peer
// sends (pongs, cancels of refused streams), which a peer that sends and
// never reads must not grow without bound.
func (w *BatchWriter) AddNowWithin(max int, fill func([]byte) ([]byte, error)) error {
	return w.add(false, max, fill)
}

// add queues what fill appends, waiting for room if wait, refusing when
// backlog (when not 0) bytes or more wait.
func (w *BatchWriter) add(wait bool, backlog int, fill func([]byte) ([]byte, error)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for wait && len(w.pending) >= w.limit && w.err == nil && !w.stopped && !w.finishing {
		w.cond.Wait()
	}
	switch {
	case w.err != nil:
		return w.err
	case w.stopped || w.finishing:
		return ErrStopped
	case backlog > 0 && len(w.pending) >= backlog:
		return ErrBacklog
	}
	start := len(w.pending)
	buf := w.pending
	if start == 0 {
		buf = append(buf, w.lead...)
	}
	out, err := fill(buf)
	if err != nil {
		w.pending = w.pending[:start] // the queue as it was
		return err
	}
	w.pending = out
	w.cond.Broadcast()
	return nil
}

// Finish makes the writer write what is queued, then final (when not nil)
// as a write of its own, and end. It does not wait: Wait does.
func (w *BatchWriter) Finish(final []byte) {
	w.mu.Lock()
	if !w.finishing && !w.stopped {
		w.finishing, w.final = true, final
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

// Stop makes the writer end without writing anything more.
func (w *BatchWriter) Stop() {
	w.mu.Lock()
	w.stopped = true
	w.cond.Broadcast()
	w.mu.Unlock()
}

// Done is closed when the writer has ended.
func (w *BatchWriter) Done() <-chan struct{} { return w.done }

// Wait waits until the writer has ended (after Finish or Stop, or a failed
// write) and returns the first write error.
func (w *BatchWriter) Wait() error {
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *BatchWriter) run() {
	w.mu.Lock()
	defer func() {
		w.stopped = true
		w.pending = nil
		w.cond.Broadcast()
		w.mu.Unlock()
		close(w.done)
	}()
	for {
		for len(w.pending) == 0 && !w.finishing && !w.stopped {
			w.cond.Wait()
		}
		if w.stopped {
			return
		}
		if len(w.pending) == 0 { // finishing, and all written
			if final := w.final; final != nil {
				w.mu.Unlock()
				err := w.write(final)
				w.mu.Lock()
				w.err = err
			}
			return
		}
		batch := w.pending
		w.pending, w.spare = w.spare[:0], nil
		w.cond.Broadcast() // room for the producer
		w.mu.Unlock()
		err := w.write(batch)
		w.mu.Lock()
		if cap(batch) <= w.limit {
			w.spare = batch[:0] // a larger batch is let go: a stalled stream holds no more than it must
		}
		if err != nil {
			w.err = err
			return
		}
	}
}
