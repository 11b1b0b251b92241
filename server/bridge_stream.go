package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/wasm/wire"
)

// bridgeStream is one call on one grpc-websockets connection. It is the
// handler's grpc.ServerStream and, through ts, the grpc.ServerTransportStream
// behind grpc.SetHeader, SendHeader and SetTrailer.
//
// Two goroutines serve it: the connection's own (the handler, and every
// data write) and a reader (readRequests), which hands request payloads to
// RecvMsg one at a time and notices a client that closes or drops the
// socket even while the handler is not receiving.
type bridgeStream struct {
	b      *bridge
	conn   *websocket.Conn
	req    *http.Request
	method string
	h      handler
	// clientStreams and serverStreams say whether the call takes and gives
	// a stream.
	clientStreams, serverStreams bool
	readTimeout                  time.Duration

	ctx    context.Context
	cancel context.CancelCauseFunc

	in       chan []byte   // request payloads; closed at the client's half-close
	bigDone  chan struct{} // RecvMsg is done with a payload over bridgeKeepFrame
	readDone chan struct{} // closed when the reader goroutine has ended
	gotMsg   bool          // the handler has received a request (handler goroutine)

	lastRefresh time.Time // the read deadline's last push (reader goroutine)

	mu         sync.Mutex // guards the fields below and serializes data writes
	header     metadata.MD
	trailer    metadata.MD
	headerSent bool
	ended      bool    // the trailers are written or being written
	broken     bool    // a write failed: the socket takes no more
	pending    *[]byte // frames held back for the next write

	pingMu      sync.Mutex
	pingTimer   *time.Timer
	pingStopped bool

	ts bridgeTransportStream
}

func newBridgeStream(b *bridge, conn *websocket.Conn, r *http.Request, method string, h handler) *bridgeStream {
	s := &bridgeStream{
		b:           b,
		conn:        conn,
		req:         r,
		method:      method,
		h:           h,
		readTimeout: b.cfg.pingInterval + b.cfg.pongWait,
	}
	if h.stream != nil {
		s.clientStreams, s.serverStreams = h.stream.ClientStreams, h.stream.ServerStreams
	}
	s.ts.s = s
	return s
}

// serve runs the call from its header message to the close of the socket.
func (s *bridgeStream) serve() {
	md, timeout, err := s.readRequestHeaders()
	if err == errClientGone {
		s.conn.Close()
		return
	}
	if err != nil {
		s.b.refuse(s.conn, status.Convert(err))
		return
	}

	var ctx context.Context
	ctx, s.cancel = context.WithCancelCause(s.b.stopCtx)
	if timeout >= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ctx = metadata.NewIncomingContext(ctx, md)
	ctx = peer.NewContext(ctx, s.peer())
	s.ctx = grpc.NewContextWithServerTransportStream(ctx, &s.ts)

	s.in = make(chan []byte)
	s.bigDone = make(chan struct{}, 1)
	s.readDone = make(chan struct{})
	s.conn.SetPongHandler(s.onPong)
	go s.readRequests()
	s.startPings()
	defer s.end()
	s.finish(s.run())
}

// run calls the handler.
func (s *bridgeStream) run() error {
	if s.h.unary != nil {
		reply, err := s.h.unary.Handler(s.h.impl, s.ctx, s.RecvMsg, nil)
		if err != nil {
			return err
		}
		return s.SendMsg(reply)
	}
	return s.h.stream.Handler(s.h.impl, s)
}

func (s *bridgeStream) peer() *peer.Peer {
	nc := s.conn.NetConn()
	p := &peer.Peer{Addr: nc.RemoteAddr(), LocalAddr: nc.LocalAddr()}
	if s.req.TLS != nil {
		p.AuthInfo = credentials.TLSInfo{
			State:          *s.req.TLS,
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		}
	}
	return p
}

// finish sends the call's outcome: the header block if it has not gone
// yet, then the held-back reply and the trailers in one message, then a
// normal close.
func (s *bridgeStream) finish(err error) {
	s.stopPings()
	st := s.finalStatus(err)
	s.cancel(errStreamDone)
	if st != nil && s.b.log.Enabled(s.ctx, slog.LevelDebug) {
		s.b.log.Debug("grpc-websockets: call ended", "method", s.method, "code", st.Code(), "msg", st.Message())
	}

	s.mu.Lock()
	s.ended = true
	wrote := false
	if st != nil && !s.broken && s.sendHeaderLocked() == nil {
		buf := s.outBuf()
		*buf = s.b.appendTrailer(*buf, s.trailer, st)
		wrote = s.write(*buf) == nil
		s.pending = nil
		s.b.putBuf(buf)
	}
	s.mu.Unlock()

	if wrote && s.b.closeHandshake(s.conn) == nil {
		t := time.NewTimer(s.b.cfg.closeTimeout)
		select {
		case <-s.readDone:
		case <-t.C:
		}
		t.Stop()
	}
}

// end closes the socket and waits for the reader goroutine. It runs even
// if the handler panics.
func (s *bridgeStream) end() {
	s.stopPings()
	s.cancel(errStreamDone)
	s.conn.Close()
	<-s.readDone
}

// finalStatus is the status the client gets, or nil when it cannot get one
// (it has gone). A handler's own status wins; a status the stream was
// cancelled with (bad input, shutdown) replaces a mere Canceled.
func (s *bridgeStream) finalStatus(err error) *status.Status {
	cause := context.Cause(s.ctx)
	switch {
	case cause == errClientGone:
		return nil
	case err == nil:
		return s.b.okStatus
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Canceled {
		return st
	}
	if cause != nil {
		if st, ok := status.FromError(cause); ok {
			return st
		}
	}
	return status.FromContextError(err)
}

// ctxStatus is the status error of the ended context: the status it was
// cancelled with, or DeadlineExceeded/Canceled.
func (s *bridgeStream) ctxStatus() error {
	cause := context.Cause(s.ctx)
	if _, ok := status.FromError(cause); ok && cause != nil {
		return cause
	}
	return status.FromContextError(cause).Err()
}

// Context implements grpc.ServerStream.
func (s *bridgeStream) Context() context.Context { return s.ctx }

// SetHeader implements grpc.ServerStream.
func (s *bridgeStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerSent || s.ended {
		return status.Error(codes.Internal, "grpc-websockets: SetHeader after the header was sent")
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

// SendHeader implements grpc.ServerStream.
func (s *bridgeStream) SendHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerSent || s.ended {
		return status.Error(codes.Internal, "grpc-websockets: SendHeader called twice or after the call ended")
	}
	s.header = metadata.Join(s.header, md)
	if s.sendHeaderLocked() != nil {
		return s.ctxStatus()
	}
	return nil
}

// sendHeaderLocked sends the header block, once, in a WebSocket message of
// its own: improbable-eng's JS client reads nothing after a header or
// trailer block in the same message (its parser returns at each block and
// resumes only with the next message), so a block always ends a message.
// s.mu is held.
func (s *bridgeStream) sendHeaderLocked() error {
	if s.headerSent {
		return nil
	}
	s.headerSent = true
	if len(s.header) == 0 {
		return s.write(s.b.headerFrame)
	}
	buf := s.b.getBuf()
	*buf = s.b.appendHeader(*buf, s.header)
	err := s.write(*buf)
	s.b.putBuf(buf)
	return err
}

// SetTrailer implements grpc.ServerStream.
func (s *bridgeStream) SetTrailer(md metadata.MD) { s.setTrailer(md) }

func (s *bridgeStream) setTrailer(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return status.Error(codes.Internal, "grpc-websockets: SetTrailer after the call ended")
	}
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// SendMsg implements grpc.ServerStream. A server stream's message goes out
// at once, in a WebSocket message of its own (after the header block's, the
// first time); the single reply of a unary or client-streaming call waits
// to leave with the trailers, in one message.
func (s *bridgeStream) SendMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc-websockets: cannot marshal %T: not a protobuf message", m)
	}
	if s.ctx.Err() != nil {
		return s.ctxStatus()
	}
	n := proto.Size(msg)
	if n > s.b.cfg.maxMsgSize {
		return status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", n, s.b.cfg.maxMsgSize)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended:
		return status.Error(codes.Internal, "grpc-websockets: SendMsg after the call ended")
	case !s.serverStreams && s.pending != nil:
		return status.Error(codes.Internal, "grpc-websockets: a second reply on a call that returns one")
	}
	if s.sendHeaderLocked() != nil {
		return s.ctxStatus()
	}
	buf := s.outBuf()
	out := wire.AppendPrefix(*buf, wire.FlagData, n)
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(out, msg)
	*buf = out
	if err != nil {
		s.pending = nil
		s.b.putBuf(buf)
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	if !s.serverStreams {
		s.pending = buf
		return nil
	}
	err = s.write(out)
	s.pending = nil
	s.b.putBuf(buf)
	if err != nil {
		return s.ctxStatus()
	}
	return nil
}

// RecvMsg implements grpc.ServerStream. A call that does not stream
// requests takes exactly one message and then the half-close, as grpc-go's
// own transport insists.
func (s *bridgeStream) RecvMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc-websockets: cannot unmarshal into %T: not a protobuf message", m)
	}
	if !s.clientStreams && s.gotMsg {
		return io.EOF
	}
	select {
	case p, ok := <-s.in:
		if !ok {
			if !s.clientStreams {
				return status.Error(codes.Internal, "cardinality violation: received no request message from non-client-streaming RPC")
			}
			return io.EOF
		}
		err := proto.Unmarshal(p, msg)
		if len(p) > bridgeKeepFrame {
			s.bigDone <- struct{}{} // never blocks: one big payload is out at a time
		}
		if err != nil {
			return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
		}
		s.gotMsg = true
		if s.clientStreams {
			return nil
		}
		select {
		case _, ok := <-s.in:
			if !ok {
				return nil
			}
			return status.Error(codes.Internal, "cardinality violation: received multiple request messages for non-client-streaming RPC")
		case <-s.ctx.Done():
			return s.ctxStatus()
		}
	case <-s.ctx.Done():
		return s.ctxStatus()
	}
}

// outBuf returns the pending frames' buffer, or a fresh one. s.mu is held.
func (s *bridgeStream) outBuf() *[]byte {
	if s.pending != nil {
		return s.pending
	}
	return s.b.getBuf()
}

// write sends out as one binary message, within the write timeout. A
// failed write leaves the socket unusable, so the stream is cancelled.
// s.mu is held.
func (s *bridgeStream) write(out []byte) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.b.cfg.writeTimeout))
	err := s.conn.WriteMessage(websocket.BinaryMessage, out)
	if err != nil {
		s.broken = true
		cause := errClientGone
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			cause = errClientStalled
		}
		s.cancel(cause)
	}
	return err
}

// startPings pings the client every pingInterval; its pongs (or anything
// else it sends) keep the reader's deadline ahead.
func (s *bridgeStream) startPings() {
	s.pingMu.Lock()
	s.pingTimer = time.AfterFunc(s.b.cfg.pingInterval, s.ping)
	s.pingMu.Unlock()
}

func (s *bridgeStream) ping() {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.pingStopped {
		return
	}
	if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.b.cfg.writeTimeout)); err != nil {
		return // the reader's deadline or the next write finds the failure
	}
	s.pingTimer.Reset(s.b.cfg.pingInterval)
}

// stopPings stops the pings; once it returns no ping is being written.
func (s *bridgeStream) stopPings() {
	s.pingMu.Lock()
	s.pingStopped = true
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.pingMu.Unlock()
}

// bridgeTransportStream is a bridgeStream as grpc.ServerTransportStream
// (whose SetTrailer returns an error, unlike grpc.ServerStream's).
type bridgeTransportStream struct{ s *bridgeStream }

func (t *bridgeTransportStream) Method() string                  { return t.s.method }
func (t *bridgeTransportStream) SetHeader(md metadata.MD) error  { return t.s.SetHeader(md) }
func (t *bridgeTransportStream) SendHeader(md metadata.MD) error { return t.s.SendHeader(md) }
func (t *bridgeTransportStream) SetTrailer(md metadata.MD) error { return t.s.setTrailer(md) }

// appendHeader appends the response's header block frame.
func (b *bridge) appendHeader(out []byte, md metadata.MD) []byte {
	if len(md) == 0 {
		return append(out, b.headerFrame...)
	}
	h := outgoingMD(md, len(md)+1)
	h[wire.HeaderContentType] = []string{wire.ContentTypeProto}
	return wire.AppendFrame(out, wire.FlagTrailer, wire.AppendHeaderBlock(nil, h))
}

// appendTrailer appends the response's trailer block frame: md and st.
func (b *bridge) appendTrailer(out []byte, md metadata.MD, st *status.Status) []byte {
	if len(md) == 0 && st.Code() == codes.OK {
		return append(out, b.okTrailerFrame...)
	}
	t := outgoingMD(md, len(md)+3)
	wire.AppendStatus(t, st)
	return wire.AppendFrame(out, wire.FlagTrailer, wire.AppendHeaderBlock(nil, t))
}

// outgoingMD copies a handler's metadata without the names the protocol
// itself writes.
func outgoingMD(md metadata.MD, size int) wire.MD {
	out := make(wire.MD, size)
	for k, v := range md {
		switch k {
		case wire.HeaderContentType, wire.HeaderStatus, wire.HeaderMessage, wire.HeaderStatusDetails:
			continue
		}
		out[k] = v
	}
	return out
}

func (b *bridge) getBuf() *[]byte {
	if p, ok := b.bufs.Get().(*[]byte); ok {
		return p
	}
	p := make([]byte, 0, 512)
	return &p
}

// putBuf returns a buffer to the pool; one grown past the message size
// limit (plus the blocks around a message) is left to the collector.
func (b *bridge) putBuf(p *[]byte) {
	if cap(*p) > b.cfg.maxMsgSize+64<<10 {
		return
	}
	*p = (*p)[:0]
	b.bufs.Put(p)
}
