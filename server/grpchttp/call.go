package grpchttp

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// A call is one call of a handler served by the Handler rather than
// grpc-go's transport: gRPC-Web and gRPC over net/http (http_call.go) and
// the WebSocket bridge (bridge_stream.go). It is the grpc.ServerStream the
// handler gets and, through callTransportStream, the
// grpc.ServerTransportStream behind grpc.SetHeader, SendHeader and
// SetTrailer. What a call means (cardinality, headers, trailers, the final
// status, the interceptor chain, stats events, codecs) is here, once; its
// transport only moves bytes.
type call struct {
	srv    *callServer
	tr     callTransport
	method string
	h      handler
	codec  encoding.CodecV2
	// clientStreams and serverStreams say whether the call takes and gives
	// a stream.
	clientStreams, serverStreams bool

	ctx         context.Context
	cancel      context.CancelCauseFunc
	stopTimeout context.CancelFunc // ends the deadline's timer, if the call has one
	begin       time.Time

	gotMsg bool // the handler has received a request (handler goroutine)
	// gzipIn says the requests may be gzip-compressed (grpc-encoding),
	// gunzip decompresses them (handler goroutine); gzipOut says the
	// replies are compressed so, as grpc-go's transport answers a client
	// that compresses.
	gzipIn, gzipOut bool
	gunzip          *grpcwire.GzipReader

	mu         sync.Mutex // guards the fields below and serializes the transport's writes
	header     metadata.MD
	trailer    metadata.MD
	headerSent bool
	ended      bool    // the trailers are written or being written
	broken     bool    // a write failed: the client takes no more
	pending    *[]byte // a reply held back to leave with the trailers
}

// callTransport carries one call's bytes. The call invokes sendHeader,
// send and end with its mutex held, so they never run concurrently, and
// recv and release from the handler's goroutine.
type callTransport interface {
	// sendHeader sends the response headers, once, before anything else.
	// flush says they must reach the client now: the handler asked
	// (SendHeader). Its error is why the client can be written to no more
	// (errClientGone, errClientStalled).
	sendHeader(md metadata.MD, flush bool) error
	// send sends message frames of a server stream that goes on.
	send(frames []byte) error
	// end ends the call: frames (the held-back reply, or nothing), then
	// the trailers md and st, as the protocol carries them. trailersOnly
	// says nothing was sent before, headers included: the transport may
	// answer with headers alone (gRPC's Trailers-Only); otherwise the
	// headers have been sent.
	end(frames []byte, md metadata.MD, st *status.Status, trailersOnly bool) error
	// recv returns the next request frame, its payload valid until
	// release; io.EOF once the client has finished sending; or a status
	// error (bad input, or why the call's context ended).
	recv() (grpcwire.Frame, error)
	// release says the call is done with what recv returned.
	release(p []byte)
}

// callServer is what every call of a Handler shares.
type callServer struct {
	replies        *replies
	unary          grpc.UnaryServerInterceptor // the chain; never nil
	stream         grpc.StreamServerInterceptor
	stats          []stats.Handler
	log            *slog.Logger
	maxRecvMsgSize int
	maxSendMsgSize int
	codec          encoding.CodecV2 // WithCodec's, for every call; nil: by content type
	gzip           grpcwire.GzipWriters
	// stop is cancelled with errShutdown when Shutdown's grace period is
	// over: every call of ours derives from it (the HTTP server's requests
	// through its BaseContext) and ends with that status.
	stop context.Context
}

// newCall starts a call of method's handler h (its zero value for a method
// nobody serves: finish it with a status) on transport tr, arrived by
// protocol. parent ends with the request or connection that carries the
// call, and derives from srv.stop, so that shutdown ends the call with its
// own cause. The stats handlers see the events grpc-go's transport emits,
// in its order: TagRPC, InHeader, Begin.
func newCall(parent context.Context, srv *callServer, tr callTransport, method string, h handler, req callRequest, protocol string, p *peer.Peer) *call {
	ctx, cancel := context.WithCancelCause(parent)
	return newCallOn(ctx, cancel, srv, tr, method, h, req, protocol, p)
}

// newCallOn is newCall on a context of the call's own that cancel ends:
// a transport that needs to end the call before it is made (a
// grpc-mux.v1 stream cancelled while its call starts) makes it, and the
// call adds no second one.
func newCallOn(ctx context.Context, cancel context.CancelCauseFunc, srv *callServer, tr callTransport, method string, h handler, req callRequest, protocol string, p *peer.Peer) *call {
	c := &call{srv: srv, tr: tr, method: method, h: h, codec: req.codec, begin: time.Now(), gzipIn: req.gzip, gzipOut: req.gzip}
	if c.codec == nil {
		c.codec = protoCodec{}
	}
	if h.stream != nil {
		c.clientStreams, c.serverStreams = h.stream.ClientStreams, h.stream.ServerStreams
	}
	c.cancel = cancel
	if !req.deadline.IsZero() {
		var stop context.CancelFunc
		ctx, stop = context.WithDeadline(ctx, req.deadline)
		c.stopTimeout = stop
	}
	md := req.md
	if md == nil {
		md = metadata.MD{}
	}
	ctx = metadata.NewIncomingContext(ctx, md)
	ctx = peer.NewContext(ctx, p)
	ctx = context.WithValue(ctx, protocolKey{}, protocol)
	ctx = grpc.NewContextWithServerTransportStream(ctx, (*callTransportStream)(c))
	for _, sh := range srv.stats {
		ctx = sh.TagRPC(ctx, &stats.RPCTagInfo{FullMethodName: method})
	}
	c.ctx = ctx
	if len(srv.stats) > 0 {
		c.handleStats(&stats.InHeader{Header: md, FullMethod: method, RemoteAddr: p.Addr, LocalAddr: p.LocalAddr})
		c.handleStats(&stats.Begin{BeginTime: c.begin, IsClientStream: c.clientStreams, IsServerStream: c.serverStreams})
	}
	return c
}

// handleStats hands ev to every stats handler.
func (c *call) handleStats(ev stats.RPCStats) {
	for _, sh := range c.srv.stats {
		sh.HandleRPC(c.ctx, ev)
	}
}

// run calls the handler through the interceptor chain.
func (c *call) run() error {
	if c.h.unary != nil {
		reply, err := c.h.unary.Handler(c.h.impl, c.ctx, c.RecvMsg, c.srv.unary)
		if err != nil {
			return err
		}
		return c.SendMsg(reply)
	}
	info := &grpc.StreamServerInfo{FullMethod: c.method, IsClientStream: c.clientStreams, IsServerStream: c.serverStreams}
	return c.srv.stream(c.h.impl, c, info, c.h.stream.Handler)
}

// finish sends the call's outcome: err as its status (a call that could
// not start ends here too), after the headers if they have not gone and a
// held-back reply. It ends the call's context and reports whether the
// trailers were written.
func (c *call) finish(err error) bool {
	st := c.finalStatus(err)
	c.cancel(errStreamDone)
	if c.stopTimeout != nil {
		c.stopTimeout()
	}
	wrote := c.end(st)
	if len(c.srv.stats) > 0 {
		var endErr error
		switch {
		case st == nil:
			endErr = errClientGone
		case st.Code() != codes.OK:
			endErr = st.Err()
		}
		c.handleStats(&stats.End{BeginTime: c.begin, EndTime: time.Now(), Trailer: c.trailer, Error: endErr})
	}
	return wrote
}

// end writes the call's last bytes: the headers if they have not gone and
// the handler set some (else a trailers-only response), a held-back reply,
// then the trailers with st. It reports whether they were written.
func (c *call) end(st *status.Status) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	if st == nil || c.broken {
		return false
	}
	defer c.putPending()
	trailersOnly := !c.headerSent && c.pending == nil && len(c.header) == 0
	if !trailersOnly && c.sendHeaderLocked(false) != nil {
		return false
	}
	c.headerSent = true
	var frames []byte
	if c.pending != nil {
		frames = *c.pending
	}
	if c.tr.end(frames, c.trailer, st, trailersOnly) != nil {
		return false
	}
	if len(c.srv.stats) > 0 {
		c.handleStats(&stats.OutTrailer{Trailer: c.trailer.Copy()})
	}
	return true
}

// finalStatus is the status the client gets, or nil when it cannot get one
// (it has gone). A handler's own status wins; a status the call was
// cancelled with (bad input, a deadline, shutdown) replaces a mere
// Canceled.
func (c *call) finalStatus(err error) *status.Status {
	cause := context.Cause(c.ctx)
	switch {
	case cause == errClientGone:
		return nil
	case err == nil:
		return c.srv.replies.okStatus
	}
	st, isStatus := status.FromError(err)
	if isStatus && st.Code() != codes.Canceled {
		return st
	}
	if cause != nil {
		if cst, ok := status.FromError(cause); ok {
			return cst
		}
	}
	if isStatus {
		return st
	}
	return status.FromContextError(err)
}

// ctxStatus is the status error of the ended context: the status it was
// cancelled with, or Canceled.
func (c *call) ctxStatus() error {
	cause := context.Cause(c.ctx)
	if _, ok := status.FromError(cause); ok && cause != nil {
		return cause
	}
	return status.FromContextError(cause).Err()
}

// Context implements grpc.ServerStream.
func (c *call) Context() context.Context { return c.ctx }

// SetHeader implements grpc.ServerStream.
func (c *call) SetHeader(md metadata.MD) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.headerSent || c.ended {
		return status.Error(codes.Internal, "SetHeader after the header was sent")
	}
	c.header = metadata.Join(c.header, md)
	return nil
}

// SendHeader implements grpc.ServerStream.
func (c *call) SendHeader(md metadata.MD) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.headerSent || c.ended {
		return status.Error(codes.Internal, "SendHeader called twice or after the call ended")
	}
	c.header = metadata.Join(c.header, md)
	if c.sendHeaderLocked(true) != nil {
		return c.ctxStatus()
	}
	return nil
}

// sendHeaderLocked sends the headers, once. c.mu is held.
func (c *call) sendHeaderLocked(flush bool) error {
	if c.headerSent {
		return nil
	}
	c.headerSent = true
	hdr := c.header
	if c.gzipOut {
		// Copy and Set, not Join with a map literal: the literal's storage
		// would sit in this frame, on the path of every first send, and grow
		// an idle stream's goroutine from a 4 KiB stack to 8 KiB.
		hdr = hdr.Copy()
		hdr.Set(grpcwire.HeaderEncoding, grpcwire.EncodingGzip)
	}
	if err := c.tr.sendHeader(hdr, flush); err != nil {
		c.fail(err)
		return err
	}
	if len(c.srv.stats) > 0 {
		c.handleStats(&stats.OutHeader{Header: c.header.Copy(), FullMethod: c.method})
	}
	return nil
}

// SetTrailer implements grpc.ServerStream.
func (c *call) SetTrailer(md metadata.MD) { c.setTrailer(md) }

func (c *call) setTrailer(md metadata.MD) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return status.Error(codes.Internal, "SetTrailer after the call ended")
	}
	c.trailer = metadata.Join(c.trailer, md)
	return nil
}

// SendMsg implements grpc.ServerStream. A server stream's message goes to
// the transport at once; the single reply of a unary or client-streaming
// call waits to leave with the trailers, in one write.
func (c *call) SendMsg(m any) error {
	if c.ctx.Err() != nil {
		return c.ctxStatus()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ended:
		return status.Error(codes.Internal, "SendMsg after the call ended")
	case !c.serverStreams && c.pending != nil:
		return status.Error(codes.Internal, "a second reply on a call that returns one")
	}
	buf := c.srv.replies.getBuf()
	out, err := appendMessage(c.codec, *buf, m, c.srv.maxSendMsgSize)
	size := len(out) - grpcwire.PrefixLen // the buffer held nothing before
	if err == nil && c.gzipOut {
		out, err = c.compress(out)
	}
	if err != nil {
		c.srv.replies.putBuf(buf)
		return err
	}
	*buf = out
	if c.sendHeaderLocked(false) != nil {
		c.srv.replies.putBuf(buf)
		return c.ctxStatus()
	}
	if len(c.srv.stats) > 0 {
		n := len(out) - grpcwire.PrefixLen
		c.handleStats(&stats.OutPayload{Payload: m, Length: size, CompressedLength: n, WireLength: len(out), SentTime: time.Now()})
	}
	if !c.serverStreams {
		c.pending = buf
		return nil
	}
	err = c.tr.send(out)
	c.srv.replies.putBuf(buf)
	if err != nil {
		c.fail(err)
		return c.ctxStatus()
	}
	return nil
}

// compress turns a message frame, alone in out, into its gzip-compressed
// frame.
func (c *call) compress(out []byte) ([]byte, error) {
	tmp := c.srv.replies.getBuf()
	defer c.srv.replies.putBuf(tmp)
	*tmp = append(*tmp, out[grpcwire.PrefixLen:]...)
	return c.srv.gzip.AppendFrame(out[:0], *tmp)
}

// putPending returns the held-back reply's buffer. c.mu is held.
func (c *call) putPending() {
	if c.pending != nil {
		c.srv.replies.putBuf(c.pending)
		c.pending = nil
	}
}

// RecvMsg implements grpc.ServerStream. A call that does not stream
// requests takes exactly one message and then the end of the requests, as
// grpc-go's own transport insists.
func (c *call) RecvMsg(m any) error {
	if !c.clientStreams && c.gotMsg {
		return io.EOF
	}
	f, err := c.tr.recv()
	if err == io.EOF && !c.clientStreams {
		return status.Error(codes.Internal, "cardinality violation: received no request message from non-client-streaming RPC")
	}
	if err != nil {
		return err
	}
	p, err := c.message(f)
	if err == nil {
		err = unmarshal(c.codec, p, m)
	}
	wire := len(f.Payload)
	c.tr.release(f.Payload)
	if err != nil {
		return err
	}
	c.gotMsg = true
	if len(c.srv.stats) > 0 {
		c.handleStats(&stats.InPayload{Payload: m, Length: len(p), CompressedLength: wire, WireLength: wire + grpcwire.PrefixLen, RecvTime: time.Now()})
	}
	if c.clientStreams {
		return nil
	}
	switch f, err := c.tr.recv(); err {
	case io.EOF:
		return nil
	case nil:
		c.tr.release(f.Payload)
		return status.Error(codes.Internal, "cardinality violation: received multiple request messages for non-client-streaming RPC")
	default:
		return err
	}
}

// message returns a request frame's message, decompressed when the frame
// says it is compressed (in the call's grpc-encoding), within the size
// limit, as grpc-go's transport does.
func (c *call) message(f grpcwire.Frame) ([]byte, error) {
	switch f.Flag {
	case grpcwire.FlagData:
		return f.Payload, nil
	case grpcwire.FlagCompressed:
		if !c.gzipIn {
			return nil, status.Error(codes.Internal, "grpc: compressed flag set with identity or empty encoding")
		}
		if c.gunzip == nil {
			c.gunzip = new(grpcwire.GzipReader)
		}
		p, err := c.gunzip.Decompress(f.Payload, c.srv.maxRecvMsgSize)
		c.gunzip.Release(bufKeep)
		return p, err
	}
	return nil, status.Errorf(codes.Internal, "grpc: received unexpected payload format %d", f.Flag)
}

// fail marks the transport broken and cancels the call with cause, the
// transport's reason. c.mu is held.
func (c *call) fail(cause error) {
	c.broken = true
	c.cancel(cause)
}

// callTransportStream is a call as grpc.ServerTransportStream (whose
// SetTrailer returns an error, unlike grpc.ServerStream's).
type callTransportStream call

func (t *callTransportStream) Method() string                  { return t.method }
func (t *callTransportStream) SetHeader(md metadata.MD) error  { return (*call)(t).SetHeader(md) }
func (t *callTransportStream) SendHeader(md metadata.MD) error { return (*call)(t).SendHeader(md) }
func (t *callTransportStream) SetTrailer(md metadata.MD) error { return (*call)(t).setTrailer(md) }
