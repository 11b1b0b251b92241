package client

import (
	"io"
	"sync"
)

// WithMemoryBoard shares the Conn's multiplexed socket with the other
// Conns given the same board, as WithPageSocket does between the programs
// of a page, over in-memory links: the share's logic (mux_share.go) under
// the race detector, without a browser.
func WithMemoryBoard(b *MemoryBoard) DialOption {
	return DialOption{func(o *dialOptions) { o.board = b }}
}

// MemoryBoard is a muxBoard in memory: the socket published last, and the
// links opened to it.
type MemoryBoard struct {
	mu    sync.Mutex
	owner *muxPool
	links int
}

// Links returns how many links Conns opened to the published socket.
func (b *MemoryBoard) Links() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.links
}

func (b *MemoryBoard) join(p *muxPool) wsConn {
	b.mu.Lock()
	owner := b.owner
	if owner == nil || owner == p {
		b.owner = p
		b.mu.Unlock()
		return nil
	}
	b.links++
	b.mu.Unlock()
	guest, host := memoryLink()
	go owner.serveLink(host)
	return guest
}

func (b *MemoryBoard) publish(p *muxPool) {
	b.mu.Lock()
	b.owner = p
	b.mu.Unlock()
}

// memoryLink returns the two ends of a link: what one sends, the other
// receives, message by message; closing one ends both, the other's recv
// returning io.EOF once it took what was sent before.
func memoryLink() (*memoryEnd, *memoryEnd) {
	s := &memoryShared{}
	s.cond = sync.NewCond(&s.mu)
	return &memoryEnd{s: s, side: 0}, &memoryEnd{s: s, side: 1}
}

type memoryShared struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queues [2][][]byte // by the receiving side
	closed bool
}

type memoryEnd struct {
	s    *memoryShared
	side int
}

func (e *memoryEnd) send(b []byte) error {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	if e.s.closed {
		return io.ErrClosedPipe
	}
	other := 1 - e.side
	e.s.queues[other] = append(e.s.queues[other], append([]byte(nil), b...))
	e.s.cond.Broadcast()
	return nil
}

func (e *memoryEnd) recv() ([]byte, error) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	for len(e.s.queues[e.side]) == 0 && !e.s.closed {
		e.s.cond.Wait()
	}
	if q := e.s.queues[e.side]; len(q) > 0 {
		e.s.queues[e.side] = q[1:]
		return q[0], nil
	}
	return nil, io.EOF
}

func (e *memoryEnd) close() error {
	e.s.mu.Lock()
	e.s.closed = true
	e.s.cond.Broadcast()
	e.s.mu.Unlock()
	return nil
}
