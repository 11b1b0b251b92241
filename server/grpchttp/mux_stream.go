package grpchttp

import (
	"context"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// muxKeepBuf is the largest request buffer an idle stream keeps: an idle
// stream holds none larger, however much passed through it.
const muxKeepBuf = 4 << 10

// muxStream is one grpc-mux.v1 stream: the callTransport of its call.
// Requests arrive from the socket's reader (receive) into a buffer the
// stream's window bounds, and leave it as the handler reads them (Read,
// through a grpcwire.Reader), which returns the window to the client.
// Replies leave as DATA within the client's window (write), so a client
// that does not read one stream stalls that stream's handler only.
type muxStream struct {
	c *muxConn
	// ctx and cancel are the call's own context (newCallOn), made with the
	// stream so that the client's CANCEL can end the call before it starts.
	// cancel wakes recvWake too: see waitRequests.
	ctx    context.Context
	cancel context.CancelCauseFunc
	call   *call
	ct     string // the response's content type: the request's
	frames *grpcwire.Reader
	// header is the HEADERS frame the handler set, held (not flushed) to
	// leave in the same message as what follows it. Call's mutex.
	header []byte
	// msgDeadline is when the request message being read must have
	// arrived in full (zero: no message is being read). The handler's
	// goroutine's.
	msgDeadline time.Time

	// recvWake and sendWake say (without blocking the reader) that
	// requests arrived or window was granted, or that the stream ended:
	// one for the handler's receiving, one for its sending, which may be
	// on two goroutines. sendWake is made (under mu) by the first write
	// that waits for window: most streams never do.
	recvWake chan struct{}
	sendWake chan struct{}

	mu         sync.Mutex
	in         []byte // requests received, not yet read, from off
	off        int
	recvWin    grpcwire.MuxRecvWindow
	sendWin    grpcwire.MuxSendWindow
	id         uint32 // beside the flags, which fill its word: an idle stream's size counts
	halfClosed bool   // the client's END_STREAM arrived
	closed     bool   // TRAILERS or CANCEL went or came: the stream is off the socket
}

func newMuxStream(c *muxConn, id uint32, halfClosed bool) *muxStream {
	s := &muxStream{
		c:          c,
		id:         id,
		recvWake:   make(chan struct{}, 1),
		halfClosed: halfClosed,
		recvWin:    grpcwire.NewMuxRecvWindow(c.own.InitialWindow),
		sendWin:    grpcwire.NewMuxSendWindow(c.peerSettings.InitialWindow),
	}
	ctx, cancel := context.WithCancelCause(c.ctx)
	s.ctx = ctx
	s.cancel = func(cause error) {
		cancel(cause)
		wake(s.recvWake)
	}
	return s
}

// serve runs the stream's call, from its HEADERS payload to its end.
func (s *muxStream) serve(open string) {
	defer s.c.m.h.inflight.done()
	defer s.cancel(errStreamDone)
	release, ok := s.begin(open)
	if !ok {
		return
	}
	defer release()
	s.call.finish(s.call.run())
	s.over()
}

// begin parses the stream's opening and makes its call, or refuses it (ok
// false) with the call's status. It is a function of its own so that the
// request's parsing, whose locals are large, is off the stack while the
// handler runs: an idle stream's goroutine then stays at 4 KiB of stack.
func (s *muxStream) begin(open string) (release func(), ok bool) {
	c := s.c
	h := c.m.h
	method, md, err := grpcwire.ParseMuxOpen(open)
	var req callRequest
	if err == nil {
		req, err = parseRequest(md, c.req.Host, h.calls.codec, h.opts.browserHeaders)
	}
	var hd handler
	if err == nil {
		if req.ct.Text {
			err = status.Error(codes.InvalidArgument, "grpc-mux: messages travel as binary frames; the grpc-web-text content type is for HTTP")
		} else {
			hd, err = h.reg.lookup(method)
		}
	}
	if err == nil {
		release, err = h.opts.limits.acquire(c.client)
	}
	protocol := ProtocolMux
	if req.ct.Codec == grpcwire.CodecJSON {
		protocol += jsonSuffix
	}
	s.ct = req.ct.String()
	if err != nil {
		h.opts.log.Debug("grpc-mux: call refused", "method", method, "err", err)
		s.call = newCallOn(s.ctx, s.cancel, h.calls, s, method, handler{}, callRequest{}, protocol, c.peer)
		s.call.finish(err)
		s.over()
		return nil, false
	}
	s.call = newCallOn(s.ctx, s.cancel, h.calls, s, method, hd, req, protocol, c.peer)
	s.frames = s.newReader()
	if !s.call.clientStreams {
		// The one request message comes at once: all of it, and the
		// half-close, within the message timeout.
		s.msgDeadline = messageDeadline(s.call.begin, h.opts.messageTimeout, 0)
	}
	return release, true
}

// over takes the stream off the socket when its call is over, and lets its
// buffer go.
func (s *muxStream) over() {
	s.mu.Lock()
	s.closed = true
	s.in, s.off = nil, 0
	s.mu.Unlock()
	s.c.remove(s)
}

// receive takes a DATA payload from the reader. DATA beyond the window is
// a connection error (its error); DATA after END_STREAM ends the call
// with InvalidArgument.
func (s *muxStream) receive(p []byte, end bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	if s.halfClosed {
		s.mu.Unlock()
		s.cancel(status.Errorf(codes.InvalidArgument, "grpc-mux: DATA on stream %d after END_STREAM", s.id))
		return nil
	}
	if err := s.recvWin.Receive(len(p)); err != nil {
		s.mu.Unlock()
		return err
	}
	if len(p) > 0 {
		if s.off > 0 && len(s.in)+len(p) > cap(s.in) { // make room at the front
			n := copy(s.in, s.in[s.off:])
			s.in, s.off = s.in[:n], 0
		}
		s.in = append(s.in, p...)
	}
	s.halfClosed = end
	s.mu.Unlock()
	wake(s.recvWake)
	return nil
}

// grant adds a WINDOW_UPDATE's credit; an overflow is a connection error.
func (s *muxStream) grant(inc uint32) error {
	s.mu.Lock()
	err := s.sendWin.Grant(inc)
	sendWake := s.sendWake
	s.mu.Unlock()
	wake(sendWake)
	return err
}

// cancelledByClient ends the stream on the client's CANCEL: the call ends
// (the client wants no status), what was buffered goes.
func (s *muxStream) cancelledByClient() {
	s.mu.Lock()
	s.closed = true
	s.in, s.off = nil, 0
	sendWake := s.sendWake
	s.mu.Unlock()
	s.cancel(errClientGone)
	wake(s.recvWake)
	wake(sendWake)
	s.c.remove(s)
}

// cancelStream ends the stream with a CANCEL carrying st, for a call that
// cannot end with TRAILERS (its reply could not be sent).
func (s *muxStream) cancelStream(st *status.Status) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.c.control(func(b []byte) []byte { return grpcwire.AppendMuxCancel(b, s.id, grpcstatus.FromGRPC(st)) })
	s.c.remove(s)
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Read implements io.Reader for the stream's frame reader: the requests'
// bytes as the client sent them, io.EOF after its END_STREAM. What the
// handler reads goes back to the client as window.
func (s *muxStream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		if s.off < len(s.in) {
			n := copy(p, s.in[s.off:])
			s.off += n
			if s.off == len(s.in) {
				s.in, s.off = s.in[:0], 0
				if cap(s.in) > muxKeepBuf {
					s.in = nil
				}
			}
			var inc uint32
			if !s.halfClosed && !s.closed {
				inc = s.recvWin.Consume(n)
			}
			s.mu.Unlock()
			if inc > 0 {
				s.c.control(func(b []byte) []byte { return grpcwire.AppendMuxWindowUpdate(b, s.id, inc) })
			}
			return n, nil
		}
		half := s.halfClosed
		s.mu.Unlock()
		if half {
			return 0, io.EOF
		}
		if err := s.waitRequests(); err != nil {
			return 0, err
		}
	}
}

// waitRequests waits for requests to arrive, until the call ends or the
// message being read is late (a client that sends it too slowly).
//
// A call whose context only the stream's cancel and the socket's end can
// end (no deadline, no stats handler that may have made a context of its
// own) waits on recvWake alone, which both wake: an idle stream then
// holds neither a done channel nor a second waiter in the runtime.
func (s *muxStream) waitRequests() error {
	if s.msgDeadline.IsZero() && s.call.stopTimeout == nil && len(s.call.srv.stats) == 0 {
		if s.call.ctx.Err() != nil {
			return s.call.ctxStatus()
		}
		<-s.recvWake // requests, or the end: Read looks again
		return nil
	}
	var late <-chan time.Time
	if !s.msgDeadline.IsZero() {
		d := time.Until(s.msgDeadline)
		if d <= 0 {
			return readTimeoutError(s.c.m.h.opts.messageTimeout)
		}
		t := time.NewTimer(d)
		defer t.Stop()
		late = t.C
	}
	select {
	case <-s.recvWake:
		return nil
	case <-s.call.ctx.Done():
		return s.call.ctxStatus()
	case <-late:
		return readTimeoutError(s.c.m.h.opts.messageTimeout)
	}
}

// newReader returns a reader of the stream's request frames that bounds
// how long a message may take to arrive once begun, as on every path
// (messageDeadline); between the messages of a stream the client may wait.
func (s *muxStream) newReader() *grpcwire.Reader {
	r := grpcwire.NewRequestReader(s, s.c.m.h.opts.maxRecvMsgSize)
	timeout := s.c.m.h.opts.messageTimeout
	r.Started = func() {
		if s.call.clientStreams {
			s.msgDeadline = messageDeadline(time.Now(), timeout, 0)
		}
	}
	// The message's start plus the timeout is the deadline already: its
	// size adds the time its bytes may take.
	r.Begin = func(n int) { s.msgDeadline = messageDeadline(s.msgDeadline, 0, n) }
	return r
}

// recv implements callTransport.
func (s *muxStream) recv() (grpcwire.Frame, error) {
	f, err := s.frames.Next()
	if s.call.clientStreams {
		s.msgDeadline = time.Time{} // the next message may take its time to begin
	}
	return f, err
}

// release implements callTransport: a frame reader that held a large
// request is let go, so an idle stream does not sit on its buffer.
func (s *muxStream) release(p []byte) {
	if len(p) > bridgeKeepFrame {
		s.frames = s.newReader()
	}
}

// sendHeader implements callTransport: the HEADERS frame, held to leave
// with what follows unless the handler flushes it.
func (s *muxStream) sendHeader(md metadata.MD, flush bool) error {
	b, err := s.headerBlock(md)
	if err != nil {
		st := status.Convert(err)
		s.cancelStream(st)
		return st.Err()
	}
	s.header = b
	if flush {
		return s.write(nil, nil, s.call.ctx)
	}
	return nil
}

// headerBlock is the HEADERS frame of md. It is a function of its own so
// that the map it builds sits in its frame, not under the socket writes
// that follow (see begin).
func (s *muxStream) headerBlock(md metadata.MD) ([]byte, error) {
	hdr := outgoingMD(md, len(md)+1)
	hdr[grpcwire.HeaderContentType] = []string{s.ct}
	return grpcwire.AppendMuxHeaderBlock(nil, grpcwire.MuxTypeHeaders, s.id, hdr, s.c.peerSettings.MaxHeaderSize)
}

// send implements callTransport.
func (s *muxStream) send(frames []byte) error { return s.write(frames, nil, s.call.ctx) }

// end implements callTransport: the held-back reply and the TRAILERS. The
// call's context has ended by now: waiting for window ends with the
// socket's.
func (s *muxStream) end(frames []byte, md metadata.MD, st *status.Status, trailersOnly bool) error {
	t := trailerMD(md, st)
	if trailersOnly {
		t[grpcwire.HeaderContentType] = []string{s.ct}
	}
	tb, err := grpcwire.AppendMuxHeaderBlock(nil, grpcwire.MuxTypeTrailers, s.id, t, s.c.peerSettings.MaxHeaderSize)
	if err != nil {
		t = trailerMD(nil, status.New(codes.ResourceExhausted, "grpc-mux: the response trailers are over the client's MAX_HEADER_SIZE"))
		if trailersOnly {
			t[grpcwire.HeaderContentType] = []string{s.ct}
		}
		tb, _ = grpcwire.AppendMuxHeaderBlock(nil, grpcwire.MuxTypeTrailers, s.id, t, s.c.peerSettings.MaxHeaderSize)
	}
	return s.write(frames, tb, s.c.ctx)
}

// write sends the held HEADERS, then data as DATA frames within the
// client's window and MAX_FRAME_SIZE, waiting for WINDOW_UPDATEs while
// the window is empty, then tail (the TRAILERS, after which the stream is
// off the socket). What fits the window leaves in one writer batch. When
// ctx ends while it waits, the stream ends with a CANCEL saying why,
// unless the client is gone.
func (s *muxStream) write(data, tail []byte, ctx context.Context) error {
	maxFrame := int(s.c.peerSettings.MaxFrameSize)
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errClientGone
		}
		k := s.sendWin.Take(len(data))
		var sendWake chan struct{}
		if k == 0 && len(data) > 0 {
			if s.sendWake == nil {
				s.sendWake = make(chan struct{}, 1)
			}
			sendWake = s.sendWake
		}
		s.mu.Unlock()
		if sendWake != nil {
			select {
			case <-sendWake:
				continue
			case <-ctx.Done():
				return s.stopped(ctx)
			}
		}
		chunk, head := data[:k], s.header
		data, s.header = data[k:], nil
		last := len(data) == 0
		err := s.c.w.Add(func(b []byte) ([]byte, error) {
			b = append(b, head...)
			for len(chunk) > 0 {
				n := min(len(chunk), maxFrame)
				b = grpcwire.AppendMuxFrame(b, grpcwire.MuxTypeData, 0, s.id, chunk[:n])
				chunk = chunk[n:]
			}
			if last {
				b = append(b, tail...)
			}
			return b, nil
		})
		if err != nil {
			return s.c.writeErr()
		}
		if last {
			if tail != nil {
				s.mu.Lock()
				s.closed = true
				s.mu.Unlock()
				s.c.remove(s)
			}
			return nil
		}
	}
}

// stopped ends a stream whose write waited for window until ctx ended:
// with a CANCEL saying why (a deadline, shutdown, bad input), or with
// nothing when the client is gone. It returns the cause.
func (s *muxStream) stopped(ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == errClientGone || cause == errClientStalled {
		return cause
	}
	st, ok := status.FromError(cause)
	if !ok || cause == nil {
		st = status.FromContextError(cause)
	}
	s.cancelStream(st)
	return st.Err()
}
