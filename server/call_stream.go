package server

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/wasm/wire"
)

// callStream is one call of a registered handler (registry.lookup) served by
// a transport of ours instead of grpc-go's: the grpc.ServerStream the
// handler gets and, through ts, the grpc.ServerTransportStream behind
// grpc.SetHeader, SendHeader and SetTrailer. The gRPC-Web handler
// (web_call.go) and the WebSocket bridge (bridge_stream.go) each give it a
// callTransport; what a call means (cardinality, headers, trailers, the
// final status, the response frames) is here, once.
//
// Calls served this way bypass the gRPC server's interceptors and stats
// handlers, of which New sets none.
type callStream struct {
	tr      callTransport
	replies *replies
	log     *slog.Logger
	method  string
	h       handler
	// clientStreams and serverStreams say whether the call takes and gives
	// a stream.
	clientStreams, serverStreams bool

	ctx    context.Context
	cancel context.CancelCauseFunc

	gotMsg bool // the handler has received a request (handler goroutine)

	mu         sync.Mutex // guards the fields below and serializes writes
	header     metadata.MD
	trailer    metadata.MD
	headerSent bool
	ended      bool    // the trailers are written or being written
	broken     bool    // a write failed: the client takes no more
	pending    *[]byte // frames held back for the next write

	ts callTransportStream
}

// callTransport carries one call's bytes. The callStream calls sendHeader
// and send with its mu held, so they never run concurrently.
type callTransport interface {
	// sendHeader sends the response headers, once, before any write. Its
	// error is why the client can be written to no more (errClientGone,
	// errClientStalled).
	sendHeader(md metadata.MD) error
	// send sends frames: one message of a server stream, or the end of
	// the call (a held-back reply and the trailer block). Its error is as
	// sendHeader's.
	send(out []byte) error
	// recv returns the next request message's bytes, valid until release;
	// io.EOF once the client has finished sending; or a status error (bad
	// input, or the reason the call's context ended).
	recv() ([]byte, error)
	// release says the stream is done with what recv returned.
	release(p []byte)
}

// trailersOnlyTransport is a callTransport that can end a call that sent
// nothing in one go, the status and metadata in its headers: gRPC's
// Trailers-Only response.
type trailersOnlyTransport interface {
	sendTrailersOnly(md metadata.MD, st *status.Status) error
}

// defaultWriteTimeout bounds one write of a call of ours: a client that
// stops reading for this long has its call ended, so nothing piles up for
// it.
const defaultWriteTimeout = 10 * time.Second

// Causes a call's context can end with, besides a protocol error's status.
var (
	errClientGone = status.Error(codes.Canceled, "client closed the stream")
	errShutdown   = status.Error(codes.Unavailable, "server is shutting down")
	errStreamDone = status.Error(codes.Canceled, "stream ended")
	// errClientStalled ends a call whose client stopped reading: a write
	// did not finish within the write timeout.
	errClientStalled = status.Error(codes.Unavailable, "client stopped reading: write timed out")
)

// init readies a callStream for method's handler h on transport tr. The
// caller sets ctx and cancel before the call runs.
func (s *callStream) init(tr callTransport, r *replies, log *slog.Logger, method string, h handler) {
	s.tr, s.replies, s.log, s.method, s.h = tr, r, log, method, h
	if h.stream != nil {
		s.clientStreams, s.serverStreams = h.stream.ClientStreams, h.stream.ServerStreams
	}
	s.ts.s = s
}

// withTransportStream returns ctx carrying the stream as the handler's
// grpc.ServerTransportStream.
func (s *callStream) withTransportStream(ctx context.Context) context.Context {
	return grpc.NewContextWithServerTransportStream(ctx, &s.ts)
}

// run calls the handler.
func (s *callStream) run() error {
	if s.h.unary != nil {
		reply, err := s.h.unary.Handler(s.h.impl, s.ctx, s.RecvMsg, nil)
		if err != nil {
			return err
		}
		return s.SendMsg(reply)
	}
	return s.h.stream.Handler(s.h.impl, s)
}

// finish sends the call's outcome: the headers if they have not gone yet,
// then the held-back reply and the trailer block in one write. It reports
// whether the trailers were written.
func (s *callStream) finish(err error) bool {
	st := s.finalStatus(err)
	s.cancel(errStreamDone)
	if st != nil && s.log.Enabled(s.ctx, slog.LevelDebug) {
		s.log.Debug("call ended", "method", s.method, "code", st.Code(), "msg", st.Message())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if st == nil || s.broken {
		return false
	}
	if to, ok := s.tr.(trailersOnlyTransport); ok && !s.headerSent && s.pending == nil {
		s.headerSent = true
		return to.sendTrailersOnly(metadata.Join(s.header, s.trailer), st) == nil
	}
	if s.sendHeaderLocked() != nil {
		return false
	}
	buf := s.outBuf()
	*buf = s.replies.appendTrailer(*buf, s.trailer, st)
	wrote := s.write(*buf) == nil
	s.pending = nil
	s.replies.putBuf(buf)
	return wrote
}

// finalStatus is the status the client gets, or nil when it cannot get one
// (it has gone). A handler's own status wins; a status the call was
// cancelled with (bad input, shutdown) replaces a mere Canceled.
func (s *callStream) finalStatus(err error) *status.Status {
	cause := context.Cause(s.ctx)
	switch {
	case cause == errClientGone:
		return nil
	case err == nil:
		return s.replies.okStatus
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
func (s *callStream) ctxStatus() error {
	cause := context.Cause(s.ctx)
	if _, ok := status.FromError(cause); ok && cause != nil {
		return cause
	}
	return status.FromContextError(cause).Err()
}

// Context implements grpc.ServerStream.
func (s *callStream) Context() context.Context { return s.ctx }

// SetHeader implements grpc.ServerStream.
func (s *callStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerSent || s.ended {
		return status.Error(codes.Internal, "SetHeader after the header was sent")
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

// SendHeader implements grpc.ServerStream.
func (s *callStream) SendHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerSent || s.ended {
		return status.Error(codes.Internal, "SendHeader called twice or after the call ended")
	}
	s.header = metadata.Join(s.header, md)
	if s.sendHeaderLocked() != nil {
		return s.ctxStatus()
	}
	return nil
}

// sendHeaderLocked sends the headers, once. s.mu is held.
func (s *callStream) sendHeaderLocked() error {
	if s.headerSent {
		return nil
	}
	s.headerSent = true
	if err := s.tr.sendHeader(s.header); err != nil {
		s.fail(err)
		return err
	}
	return nil
}

// SetTrailer implements grpc.ServerStream.
func (s *callStream) SetTrailer(md metadata.MD) { s.setTrailer(md) }

func (s *callStream) setTrailer(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return status.Error(codes.Internal, "SetTrailer after the call ended")
	}
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// SendMsg implements grpc.ServerStream. A server stream's message goes to
// the transport at once; the single reply of a unary or client-streaming
// call waits to leave with the trailers, in one write.
func (s *callStream) SendMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "cannot marshal %T: not a protobuf message", m)
	}
	if s.ctx.Err() != nil {
		return s.ctxStatus()
	}
	n := proto.Size(msg)
	if n > s.replies.maxMsgSize {
		return status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", n, s.replies.maxMsgSize)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended:
		return status.Error(codes.Internal, "SendMsg after the call ended")
	case !s.serverStreams && s.pending != nil:
		return status.Error(codes.Internal, "a second reply on a call that returns one")
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
		s.replies.putBuf(buf)
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	if !s.serverStreams {
		s.pending = buf
		return nil
	}
	err = s.write(out)
	s.pending = nil
	s.replies.putBuf(buf)
	if err != nil {
		return s.ctxStatus()
	}
	return nil
}

// RecvMsg implements grpc.ServerStream. A call that does not stream
// requests takes exactly one message and then the end of the requests, as
// grpc-go's own transport insists.
func (s *callStream) RecvMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "cannot unmarshal into %T: not a protobuf message", m)
	}
	if !s.clientStreams && s.gotMsg {
		return io.EOF
	}
	p, err := s.tr.recv()
	if err == io.EOF && !s.clientStreams {
		return status.Error(codes.Internal, "cardinality violation: received no request message from non-client-streaming RPC")
	}
	if err != nil {
		return err
	}
	err = proto.Unmarshal(p, msg)
	s.tr.release(p)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	s.gotMsg = true
	if s.clientStreams {
		return nil
	}
	switch p, err := s.tr.recv(); err {
	case io.EOF:
		return nil
	case nil:
		s.tr.release(p)
		return status.Error(codes.Internal, "cardinality violation: received multiple request messages for non-client-streaming RPC")
	default:
		return err
	}
}

// outBuf returns the pending frames' buffer, or a fresh one. s.mu is held.
func (s *callStream) outBuf() *[]byte {
	if s.pending != nil {
		return s.pending
	}
	return s.replies.getBuf()
}

// write hands out to the transport. A failed write leaves the transport
// unusable, so the call is cancelled with the transport's reason. s.mu is
// held.
func (s *callStream) write(out []byte) error {
	if err := s.tr.send(out); err != nil {
		s.fail(err)
		return err
	}
	return nil
}

// fail marks the transport broken and cancels the call with cause.
func (s *callStream) fail(cause error) {
	s.broken = true
	s.cancel(cause)
}

// reservedRequestHeaders are request header names that are the protocol's
// own, not metadata for the handler (as in grpc-go's transports).
var reservedRequestHeaders = []string{
	wire.HeaderContentType, wire.HeaderTimeout, "grpc-encoding", "grpc-message-type", "te",
	wire.HeaderStatus, wire.HeaderMessage, wire.HeaderStatusDetails,
}

// incomingMD turns a call's request headers (lower-case names, "-bin"
// values decoded) into the handler's incoming metadata, taking hdr over.
func incomingMD(hdr wire.MD, authority string) metadata.MD {
	md := metadata.MD(hdr)
	for _, k := range reservedRequestHeaders {
		delete(md, k)
	}
	md[":authority"] = []string{authority}
	return md
}

// callTransportStream is a callStream as grpc.ServerTransportStream (whose
// SetTrailer returns an error, unlike grpc.ServerStream's).
type callTransportStream struct{ s *callStream }

func (t *callTransportStream) Method() string                  { return t.s.method }
func (t *callTransportStream) SetHeader(md metadata.MD) error  { return t.s.SetHeader(md) }
func (t *callTransportStream) SendHeader(md metadata.MD) error { return t.s.SendHeader(md) }
func (t *callTransportStream) SetTrailer(md metadata.MD) error { return t.s.setTrailer(md) }

// replies builds what calls send back, for every callStream of a Server:
// header and trailer blocks (the common ones built once) and pooled output
// buffers.
type replies struct {
	maxMsgSize int
	// headerFrame and okTrailerFrame are the header and trailer blocks of
	// the common case (no metadata from the handler, status OK).
	headerFrame    []byte
	okTrailerFrame []byte
	okStatus       *status.Status
	// bufs holds *[]byte output buffers, so idle calls hold none.
	bufs sync.Pool
}

func newReplies(maxMsgSize int) *replies {
	r := &replies{maxMsgSize: maxMsgSize, okStatus: status.New(codes.OK, "")}
	r.headerFrame = wire.AppendFrame(nil, wire.FlagTrailer,
		wire.AppendHeaderBlock(nil, wire.MD{wire.HeaderContentType: {wire.ContentTypeProto}}))
	ok := wire.MD{}
	wire.AppendStatus(ok, r.okStatus)
	r.okTrailerFrame = wire.AppendFrame(nil, wire.FlagTrailer, wire.AppendHeaderBlock(nil, ok))
	return r
}

// appendHeader appends a header block frame (the grpc-websockets form of
// the response headers) with md.
func (r *replies) appendHeader(out []byte, md metadata.MD) []byte {
	if len(md) == 0 {
		return append(out, r.headerFrame...)
	}
	h := outgoingMD(md, len(md)+1)
	h[wire.HeaderContentType] = []string{wire.ContentTypeProto}
	return wire.AppendFrame(out, wire.FlagTrailer, wire.AppendHeaderBlock(nil, h))
}

// appendTrailer appends the trailer block frame: md and st.
func (r *replies) appendTrailer(out []byte, md metadata.MD, st *status.Status) []byte {
	if len(md) == 0 && st.Code() == codes.OK {
		return append(out, r.okTrailerFrame...)
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

func (r *replies) getBuf() *[]byte {
	if p, ok := r.bufs.Get().(*[]byte); ok {
		return p
	}
	p := make([]byte, 0, 512)
	return &p
}

// putBuf returns a buffer to the pool; one grown past the message size
// limit (plus the blocks around a message) is left to the collector.
func (r *replies) putBuf(p *[]byte) {
	if cap(*p) > r.maxMsgSize+64<<10 {
		return
	}
	*p = (*p)[:0]
	r.bufs.Put(p)
}
