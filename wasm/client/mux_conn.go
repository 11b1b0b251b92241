package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// The client's side of grpc-mux.v1 (proto/grpcwire/MUX.md): a Conn's calls
// share one WebSocket, a muxConn, which a muxPool opens when the first call
// needs it and again after it failed or went away. Each call is a muxStream
// on it (mux_stream.go).

// Timings of the multiplexed socket.
const (
	// muxDialTimeout bounds the handshake and the server's SETTINGS.
	muxDialTimeout = 20 * time.Second
	// muxRetry is how long a Conn goes without the multiplexed socket once
	// the server declined it, before it asks again.
	muxRetry = time.Minute
	// muxIdleTimeout is how long a socket without calls stays open.
	muxIdleTimeout = 5 * time.Minute
	// muxCloseGrace bounds how long closing waits for the last frames (a
	// GOAWAY saying why) to be written.
	muxCloseGrace = time.Second
	// muxQueueLimit is how many bytes of DATA may wait for the socket
	// before a sender waits too.
	muxQueueLimit = 2 * grpcwire.MuxMaxBatch
)

// muxOwnSettings are what the client accepts: the limits the server keeps
// to when it sends.
var muxOwnSettings = grpcwire.MuxSettings{
	InitialWindow: 64 << 10,
	MaxFrameSize:  16 << 10,
	MaxHeaderSize: 64 << 10,
	MaxStreams:    0, // servers open no streams
}

var (
	// errMuxDeclined (wrapped, with the server's answer) says the server
	// does not offer grpc-mux.v1: the call takes another transport.
	errMuxDeclined = errors.New("grpc-mux: the server does not offer " + grpcwire.MuxProtocol)
	// errConnGone says a socket takes no new streams: the call that wanted
	// one asks the pool for another socket.
	errConnGone = errors.New("grpc-mux: the socket takes no new streams")
	// errMuxStopped says the socket closes because it has nothing more
	// to carry (drained, or idle).
	errMuxStopped = errors.New("grpc-mux: the socket is closing")
)

// muxPool holds a Conn's multiplexed socket: it opens one when a call
// needs it (one handshake at a time, shared by the calls that wait), and a
// new one when the last failed, went away or was closed.
type muxPool struct {
	url string
	tr  transport
	o   dialOptions

	mu            sync.Mutex
	cur           *muxConn // the socket new calls go on, or nil
	dialing       *muxDial
	declinedUntil time.Time // the server declined the mux: until then, calls go without
}

// muxDial is a handshake in progress; done is closed when it is over.
type muxDial struct {
	done chan struct{}
	mc   *muxConn
	err  error
}

func newMuxPool(url string, tr transport, o dialOptions) *muxPool {
	return &muxPool{url: url, tr: tr, o: o}
}

// get returns the socket to open a stream on, opening one if there is
// none. Its errors: one wrapping errMuxDeclined, ctx's, or the handshake's.
func (p *muxPool) get(ctx context.Context) (*muxConn, error) {
	p.mu.Lock()
	if mc := p.cur; mc != nil && !mc.stopNew.Load() {
		p.mu.Unlock()
		return mc, nil
	}
	if time.Now().Before(p.declinedUntil) {
		p.mu.Unlock()
		return nil, errMuxDeclined
	}
	d := p.dialing
	if d == nil {
		d = &muxDial{done: make(chan struct{})}
		p.dialing = d
		go p.connect(d)
	}
	p.mu.Unlock()
	select {
	case <-d.done:
		return d.mc, d.err
	case <-ctx.Done():
		return nil, grpcstatus.FromContextError(ctx.Err()).Err()
	}
}

// ready returns the socket new streams go on, or nil while none is open:
// a call that has another way to go (a unary or server-streaming call, as
// gRPC-Web) takes that rather than wait for a handshake, and calls prepare
// once it is done.
func (p *muxPool) ready() *muxConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mc := p.cur; mc != nil && !mc.stopNew.Load() {
		return mc
	}
	return nil
}

// prepare starts opening a socket for the calls to come, unless one is
// open or opening or the server declined the mux lately. It does not wait.
func (p *muxPool) prepare() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mc := p.cur; (mc != nil && !mc.stopNew.Load()) || p.dialing != nil || time.Now().Before(p.declinedUntil) {
		return
	}
	d := &muxDial{done: make(chan struct{})}
	p.dialing = d
	go p.connect(d)
}

// connect opens a socket for d, and waits for the server's SETTINGS. The
// handshake is not any one call's: calls that stop waiting leave it be.
func (p *muxPool) connect(d *muxDial) {
	ctx, cancel := context.WithTimeout(context.Background(), muxDialTimeout)
	defer cancel()
	var mc *muxConn
	var err error
	if b := p.o.board; b != nil {
		// Another program of the page may have the socket open, or be
		// opening it: the calls go on it, through a link, unless its
		// owner cannot open it. Otherwise p's socket is published before
		// its handshake, and a program that joins meanwhile waits for it
		// (serveLink) rather than open a second one.
		if link := b.join(p); link != nil {
			if mc, err = p.handshake(ctx, link); err != nil {
				mc = nil
				b.publish(p)
			}
		}
	}
	if mc == nil {
		var ws wsConn
		ws, err = p.tr.dial(ctx, p.url, grpcwire.MuxProtocol)
		if err == nil {
			mc, err = p.handshake(ctx, ws)
		}
	}
	var refused *handshakeRefused
	p.mu.Lock()
	p.dialing = nil
	switch {
	case errors.As(err, &refused):
		p.declinedUntil = time.Now().Add(muxRetry)
		err = fmt.Errorf("%w (%s)", errMuxDeclined, refused.st.Message())
	case err == nil:
		p.cur = mc
	}
	p.mu.Unlock()
	d.mc, d.err = mc, err
	close(d.done)
}

// handshake starts a muxConn on ws and waits for the server's SETTINGS.
func (p *muxPool) handshake(ctx context.Context, ws wsConn) (*muxConn, error) {
	mc := newMuxConn(p, ws, p.o)
	select {
	case <-mc.ready:
		return mc, nil
	case <-mc.done:
		return nil, mc.err
	case <-ctx.Done():
		err := grpcstatus.Errorf(codes.Unavailable, "grpc-mux: no SETTINGS from the server within %v", muxDialTimeout)
		mc.close(err, nil)
		return nil, err
	}
}

// forget takes mc out of use: the next call opens a new socket.
func (p *muxPool) forget(mc *muxConn) {
	p.mu.Lock()
	if p.cur == mc {
		p.cur = nil
	}
	p.mu.Unlock()
}

// close lets the current socket go: it closes once its calls have ended.
func (p *muxPool) close() {
	p.mu.Lock()
	mc := p.cur
	p.cur = nil
	p.mu.Unlock()
	if mc != nil {
		mc.drain()
	}
}

// muxConn is one multiplexed socket. Three goroutines serve it: the
// reader (readLoop), which hands each frame to its stream and answers
// pings; the writer (a grpcwire.BatchWriter, fed by queue and by the streams' DATA), which puts every frame on the socket; and
// the keepalive (keepaliveLoop).
type muxConn struct {
	pool      *muxPool
	ws        wsConn
	w         *grpcwire.BatchWriter
	keepalive time.Duration
	pongWait  time.Duration
	// peer is the server's SETTINGS: set by the reader before ready is
	// closed, read-only after.
	peer  grpcwire.MuxSettings
	ready chan struct{} // closed when the server's SETTINGS arrived
	done  chan struct{} // closed when the socket has ended; err says why

	start    time.Time
	lastRecv atomic.Int64 // when the last frame arrived, as time since start
	stopNew  atomic.Bool  // no new streams: draining, or ended

	mu        sync.Mutex
	streams   map[uint32]muxEndpoint // the open streams, by id
	links     map[*muxLink]struct{}  // the other programs of the page on the socket (mux_share.go)
	nextID    uint32                 // the id of the next stream; every id below it was used
	changed   chan struct{}          // closed and replaced when a stream ends or the socket stops taking new ones
	draining  bool                   // GOAWAY, ids used up, or the Conn let it go: close once the streams ended
	goAway    *grpcstatus.Status     // a GOAWAY from the server that said why
	idleSince time.Time              // when the last stream ended (zero while streams are open)
	err       error                  // why the socket ended; set once
}

func newMuxConn(p *muxPool, ws wsConn, o dialOptions) *muxConn {
	now := time.Now()
	mc := &muxConn{
		pool:      p,
		ws:        ws,
		keepalive: o.keepalive,
		pongWait:  o.pongWait,
		ready:     make(chan struct{}),
		done:      make(chan struct{}),
		start:     now,
		streams:   make(map[uint32]muxEndpoint),
		links:     make(map[*muxLink]struct{}),
		nextID:    1,
		changed:   make(chan struct{}),
		idleSince: now,
	}
	// The writer sends frames as WebSocket messages of whole frames: what
	// queues while it writes leaves in the next message. DATA waits while
	// muxQueueLimit bytes are queued.
	mc.w = grpcwire.NewBatchWriter(func(b []byte) error { return grpcwire.WriteMuxMessages(b, ws.send) }, muxQueueLimit, nil)
	go func() {
		if err := mc.w.Wait(); err != nil {
			mc.close(grpcstatus.Errorf(codes.Unavailable, "grpc-mux: write: %v", err), nil)
		}
	}()
	mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxSettings(b, muxOwnSettings) })
	go mc.readLoop()
	go mc.keepaliveLoop()
	return mc
}

// signalLocked wakes whoever waits for a stream slot. mc.mu is held.
func (mc *muxConn) signalLocked() {
	close(mc.changed)
	mc.changed = make(chan struct{})
}

// open registers s as a new stream and queues its HEADERS, and as much of
// body as the server's window takes at once, for a call whose client does
// not stream (end: body is all of its requests). It waits while the server's
// MaxStreams are open. It returns the part of body not sent, or errConnGone
// when the socket takes no new streams, or ctx's error, or a
// ResourceExhausted status for request headers over the server's limit.
func (mc *muxConn) open(ctx context.Context, s *muxStream, body []byte, end bool) ([]byte, error) {
	for {
		mc.mu.Lock()
		if mc.err != nil || mc.draining {
			mc.mu.Unlock()
			return body, errConnGone
		}
		if uint32(len(mc.streams)) < mc.peer.MaxStreams {
			break
		}
		ch := mc.changed
		mc.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return body, grpcstatus.FromContextError(ctx.Err()).Err()
		}
	}
	defer mc.mu.Unlock()
	id := mc.nextID
	if id > grpcwire.MuxMaxStreamID {
		mc.draining = true
		mc.stopNew.Store(true)
		mc.signalLocked()
		go mc.pool.forget(mc)
		return body, errConnGone
	}
	// s is not yet in mc.streams: nothing else reaches it.
	s.id = id
	s.sendWin = grpcwire.NewMuxSendWindow(mc.peer.InitialWindow)
	s.recvWin = grpcwire.NewMuxRecvWindow(muxOwnSettings.InitialWindow)
	var openErr error
	err := mc.queue(func(b []byte) []byte {
		out, err := grpcwire.AppendMuxOpen(b, id, s.method, s.md, end && len(body) == 0, mc.peer.MaxHeaderSize)
		if err != nil {
			openErr = err
			return b
		}
		for len(body) > 0 {
			n := s.sendWin.Take(min(len(body), int(mc.peer.MaxFrameSize)))
			if n == 0 {
				break
			}
			var flags byte
			if end && n == len(body) {
				flags = grpcwire.MuxFlagEndStream
			}
			out = append(grpcwire.AppendMuxHeader(out, grpcwire.MuxTypeData, flags, id, n), body[:n]...)
			body = body[n:]
		}
		return out
	})
	switch {
	case openErr != nil:
		return body, openErr
	case err != nil:
		return body, errConnGone
	}
	mc.nextID += 2
	mc.streams[id] = s
	mc.idleSince = time.Time{}
	return body, nil
}

// muxEndpoint is the client's end of a stream on a muxConn: a call of
// this program (muxStream), or one of another program of the page that
// shares the socket (muxGuestStream, mux_share.go).
type muxEndpoint interface {
	// handle takes a frame of the stream from the connection's reader; it
	// returns a connection error, for the server.
	handle(f grpcwire.MuxFrame) *grpcstatus.Status
	// abort ends the stream with err, an Unavailable status: the socket
	// failed, or a GOAWAY refused the stream.
	abort(err error)
}

// detach takes s, the stream id, out of the open streams, once; it
// reports whether s was open. A draining socket closes when its last
// stream is gone.
func (mc *muxConn) detach(id uint32, s muxEndpoint) bool {
	mc.mu.Lock()
	if id == 0 || mc.streams[id] != s {
		mc.mu.Unlock()
		return false
	}
	delete(mc.streams, id)
	mc.signalLocked()
	closeNow := false
	if len(mc.streams) == 0 {
		mc.idleSince = time.Now()
		closeNow = mc.draining
	}
	mc.mu.Unlock()
	if closeNow {
		mc.close(errMuxStopped, nil)
	}
	return true
}

// drain stops new streams on mc and closes it once its streams ended.
func (mc *muxConn) drain() {
	mc.mu.Lock()
	mc.draining = true
	mc.stopNew.Store(true)
	mc.signalLocked()
	idle := len(mc.streams) == 0
	mc.mu.Unlock()
	if idle {
		mc.close(errMuxStopped, nil)
	}
}

// close ends the socket, once: cause is what its open streams fail with
// (an Unavailable status). report, when not nil, is a connection error the
// client found, which a GOAWAY tells the server before the socket closes.
func (mc *muxConn) close(cause error, report *grpcstatus.Status) {
	mc.mu.Lock()
	if mc.err != nil {
		mc.mu.Unlock()
		return
	}
	mc.err = cause
	mc.draining = true
	mc.stopNew.Store(true)
	streams := mc.streams
	mc.streams = nil
	links := mc.links
	mc.links = nil
	last := uint32(0) // the highest stream the client opened
	if mc.nextID > 1 {
		last = mc.nextID - 2
	}
	mc.signalLocked()
	mc.mu.Unlock()

	mc.pool.forget(mc)
	if report != nil {
		mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxGoAway(b, last, report) })
	}
	mc.w.Finish(nil)
	go func() {
		t := time.NewTimer(muxCloseGrace)
		select {
		case <-mc.w.Done():
		case <-t.C:
		}
		t.Stop()
		mc.ws.close()
	}()
	close(mc.done)
	// A linked program first learns that the socket takes no new streams
	// (so its next call joins again), then its streams end with cause.
	for l := range links {
		l.goAway(linkStatus(cause))
	}
	for _, s := range streams {
		s.abort(cause)
	}
	for l := range links {
		l.end(nil)
	}
}

// unavailable is the status a call fails with when its socket does.
func unavailable(format string, a ...any) error {
	return grpcstatus.Errorf(codes.Unavailable, "grpc-mux: "+format, a...)
}

// readLoop reads the server's frames until the socket ends.
func (mc *muxConn) readLoop() {
	r := grpcwire.NewMuxClientReader(&wsReader{c: mc.ws}, muxOwnSettings)
	for {
		f, err := r.Next()
		if err != nil {
			mc.readFailed(err)
			return
		}
		mc.lastRecv.Store(int64(time.Since(mc.start)))
		if st := mc.handle(f); st != nil {
			mc.close(unavailable("the server broke the protocol: %s", st.Message()), st)
			return
		}
	}
}

// readFailed ends the socket for a read error: the server broke the
// protocol (a status from the frame reader), or the socket closed.
func (mc *muxConn) readFailed(err error) {
	if st, ok := grpcstatus.FromError(err); ok {
		mc.close(unavailable("the server broke the protocol: %s", st.Message()), st)
		return
	}
	mc.mu.Lock()
	goAway := mc.goAway
	mc.mu.Unlock()
	switch {
	case goAway != nil:
		mc.close(unavailable("the server closed the socket: %s (%v)", goAway.Message(), goAway.Code()), nil)
	case err == io.EOF:
		mc.close(unavailable("the server closed the socket"), nil)
	default:
		mc.close(unavailable("read: %v", err), nil)
	}
}

// handle acts on one frame. It returns a connection error, for the server.
func (mc *muxConn) handle(f grpcwire.MuxFrame) *grpcstatus.Status {
	switch f.Type {
	case grpcwire.MuxTypeSettings:
		mc.peer = f.Settings()
		close(mc.ready)
		return nil
	case grpcwire.MuxTypePing:
		if !f.Ack() {
			data := f.PingData()
			mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxPing(b, true, data) })
		}
		return nil
	case grpcwire.MuxTypeGoAway:
		last, st := f.GoAway()
		mc.goAwayFrom(last, st)
		return nil
	}
	mc.mu.Lock()
	s := mc.streams[f.Stream]
	opened := f.Stream < mc.nextID
	mc.mu.Unlock()
	if s == nil {
		if !opened {
			return grpcstatus.Newf(codes.Internal, "grpc-mux: %v frame for stream %d, which the client never opened", f.Type, f.Stream)
		}
		return nil // a stream that ended while this frame was on its way
	}
	return s.handle(f)
}

// goAwayFrom acts on the server's GOAWAY: streams after last were refused,
// and fail; the others go on, and the socket takes no new ones.
func (mc *muxConn) goAwayFrom(last uint32, st *grpcstatus.Status) {
	mc.mu.Lock()
	if st.Code() != codes.OK {
		mc.goAway = st
	}
	mc.draining = true
	mc.stopNew.Store(true)
	var refused []muxEndpoint
	for id, s := range mc.streams {
		if id > last {
			refused = append(refused, s)
			delete(mc.streams, id)
		}
	}
	mc.signalLocked()
	idle := len(mc.streams) == 0
	links := make([]*muxLink, 0, len(mc.links))
	for l := range mc.links {
		links = append(links, l)
	}
	mc.mu.Unlock()
	mc.pool.forget(mc)
	for _, l := range links {
		l.goAway(st)
	}
	why := "shutting down"
	if st.Code() != codes.OK {
		why = st.Message()
	}
	for _, s := range refused {
		s.abort(unavailable("the server refused the call before it ran (GOAWAY: %s)", why))
	}
	if idle {
		mc.close(errMuxStopped, nil)
	}
}

// keepaliveLoop pings the server when nothing has arrived for the
// keepalive interval, and ends the socket when nothing arrives within
// pongWait after a ping. It also closes a socket that has had no calls for
// muxIdleTimeout.
func (mc *muxConn) keepaliveLoop() {
	t := time.NewTimer(mc.keepalive)
	defer t.Stop()
	var pingAt time.Duration // when the unanswered ping left, since start; 0: none
	var pings uint64
	for {
		select {
		case <-mc.done:
			return
		case <-t.C:
		}
		now := time.Since(mc.start)
		last := time.Duration(mc.lastRecv.Load())
		if pingAt > 0 && last < pingAt { // nothing since the ping
			if waited := now - pingAt; waited < mc.pongWait {
				t.Reset(mc.pongWait - waited)
				continue
			}
			mc.close(unavailable("keepalive: no answer from the server within %v of a ping", mc.pongWait), nil)
			return
		}
		pingAt = 0
		if mc.idleTooLong() {
			mc.drain()
			return
		}
		if idle := now - last; idle < mc.keepalive {
			t.Reset(mc.keepalive - idle)
			continue
		}
		pings++
		var data [8]byte
		for i := range data {
			data[i] = byte(pings >> (8 * i))
		}
		pingAt = max(now, 1)
		mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxPing(b, false, data) })
		t.Reset(min(mc.keepalive, mc.pongWait))
	}
}

// idleTooLong reports whether mc has had no streams for muxIdleTimeout.
func (mc *muxConn) idleTooLong() bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return len(mc.streams) == 0 && !mc.idleSince.IsZero() && time.Since(mc.idleSince) >= muxIdleTimeout
}

// queue adds the frames fill appends to what the socket's writer sends
// next, without waiting: control frames (pongs, window updates, cancels,
// opens) never wait behind DATA, so the reader, which answers pings, never
// blocks on the socket. It fails only once the writer has ended.
func (mc *muxConn) queue(fill func([]byte) []byte) error {
	return mc.w.AddNow(func(b []byte) ([]byte, error) { return fill(b), nil })
}
