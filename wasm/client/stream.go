package client

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// StreamDesc says which sides of a call stream. A call where only the
// server streams (or neither) goes as gRPC-Web over HTTP unless the Conn
// was dialed WithWebSocketForAll; one where the client streams goes over
// the WebSocket bridge.
type StreamDesc struct {
	ClientStreams bool
	ServerStreams bool
}

// Stream is one call in flight. SendMsg and CloseSend may run concurrently
// with RecvMsg and Header, but not with themselves. Cancel the context the
// stream was made with, or call RecvMsg until it returns an error, to
// release the stream.
type Stream struct {
	c      *Conn
	desc   StreamDesc
	method string
	opts   callOptions
	ctx    context.Context
	cancel context.CancelFunc
	reqMD  metadata.MD
	sender requestSender // the socket's requests (the bridge's or the mux's), or nil for gRPC-Web over HTTP
	// prepareMux says the call went as gRPC-Web because the multiplexed
	// socket was not open: end starts opening it (route.go).
	prepareMux bool

	sendMu   sync.Mutex
	sendDone bool   // the client has sent its last message
	reqBody  []byte // gRPC-Web: the request frame, posted when the response is first wanted

	// recvLock is held by whoever reads the response. It is a channel so
	// that Header can wait for it and for hdrReady at once.
	recvLock chan struct{}
	body     io.ReadCloser
	p        eventSource // the response, once its transport is open
	gotMsg   bool        // a call whose server does not stream received its message

	hdrReady chan struct{} // closed once header and hdrErr are set
	header   metadata.MD
	hdrErr   error

	mu      sync.Mutex // guards trailer and err, which Trailer reads
	trailer metadata.MD
	err     error // once set the call has ended: io.EOF (status OK) or a status error
}

// NewStream starts a call of method ("/UserManager/GetUsersByIds"). A call
// over the WebSocket bridge opens its socket here and sends the request
// metadata; a gRPC-Web call is posted when its response is first wanted
// (Header or RecvMsg), after SendMsg gave it its one request message.
func (c *Conn) NewStream(ctx context.Context, desc StreamDesc, method string, opts ...CallOption) (*Stream, error) {
	if !strings.HasPrefix(method, "/") || strings.ContainsAny(method, "?# \r\n") {
		return nil, grpcstatus.Errorf(codes.Internal, "malformed method name %q", method)
	}
	if err := ctx.Err(); err != nil {
		return nil, grpcstatus.FromContextError(err).Err()
	}
	md, err := requestMetadata(ctx)
	if err != nil {
		return nil, err
	}
	o := newCallOptions(opts)
	if o.compressor, err = checkCompressor(o); err != nil {
		return nil, err
	}
	if o.compressor != "" {
		md[grpcwire.HeaderEncoding] = []string{o.compressor}
		md[grpcwire.HeaderAcceptEncoding] = []string{o.compressor}
	}
	if o.maxRecv == 0 {
		o.maxRecv = c.opts.maxSize
	}
	if o.maxSend == 0 {
		o.maxSend = c.opts.maxSize
	}
	if o.codec == nil {
		o.codec = c.opts.codec
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		c:        c,
		desc:     desc,
		method:   method,
		opts:     o,
		ctx:      ctx,
		cancel:   cancel,
		reqMD:    md,
		recvLock: make(chan struct{}, 1),
		hdrReady: make(chan struct{}),
	}
	if err := s.open(); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// openSocket dials the bridge and sends the header block, the first
// message of a grpc-websockets stream.
func (s *Stream) openSocket() error {
	ws, err := s.c.tr.dial(s.ctx, s.c.wsBase+s.method, grpcwire.WebSocketProtocol)
	if err != nil {
		return s.transportError("websocket", err)
	}
	context.AfterFunc(s.ctx, func() { ws.close() })
	if err := ws.send(grpcwire.AppendHeaderBlock(nil, s.reqMD)); err != nil {
		return s.transportError("websocket", err)
	}
	s.sender = grpcwire.NewBatchWriter(ws.send, wsBatchSize, []byte{grpcwire.WSData})
	context.AfterFunc(s.ctx, s.sender.Stop)
	s.p = newParser(&wsReader{c: ws}, s.opts.maxRecv, true)
	return nil
}

// Context returns the stream's context: the caller's, cancelled too when
// the call ends.
func (s *Stream) Context() context.Context { return s.ctx }

// SendMsg sends m. A call whose client does not stream takes exactly one
// message, after which the client has finished sending. When the call has
// already ended SendMsg returns io.EOF, and RecvMsg returns its status.
//
// Over the WebSocket bridge SendMsg queues the message for the stream's
// sender (a grpcwire.BatchWriter: messages queued while it writes leave in
// one WebSocket message) and returns; it waits only while a full batch is
// queued already. A failed write shows in RecvMsg.
func (s *Stream) SendMsg(m any) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.sendDone {
		return grpcstatus.Error(codes.Internal, "SendMsg called after CloseSend")
	}
	if s.sender == nil {
		b, err := s.appendRequest(nil, m)
		if err != nil {
			return err
		}
		s.reqBody = b
		s.sendDone = true
		return nil
	}
	var marshalErr error
	err := s.sender.Add(func(b []byte) ([]byte, error) {
		b, marshalErr = s.appendRequest(b, m)
		return b, marshalErr
	})
	switch {
	case marshalErr != nil:
		return marshalErr
	case err != nil:
		return io.EOF // the call is over: RecvMsg says how
	}
	if !s.desc.ClientStreams {
		s.sendDone = true
		s.sender.Finish([]byte{grpcwire.WSHalfClose})
	}
	return nil
}

// CloseSend says the client has finished sending. Errors of the socket
// show in RecvMsg, so CloseSend returns nil.
func (s *Stream) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.sendDone {
		return nil
	}
	s.sendDone = true
	if s.sender != nil {
		s.sender.Finish([]byte{grpcwire.WSHalfClose}) // a failure ends the call, and RecvMsg reports it
	}
	return nil
}

// Header returns the response headers, waiting for them. For a
// trailers-only response they are the trailers. It returns the call's
// status error when the call failed before headers arrived.
func (s *Stream) Header() (metadata.MD, error) {
	for {
		select {
		case <-s.hdrReady:
			return s.header, s.hdrErr
		case s.recvLock <- struct{}{}:
			s.awaitHeaderLocked()
			<-s.recvLock
		}
	}
}

// Trailer returns the trailers. They are complete once RecvMsg returned an
// error (io.EOF included), or, for a call whose server does not stream,
// once RecvMsg returned.
func (s *Stream) Trailer() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trailer
}

// RecvMsg receives the next response message into m. At the end of the
// call it returns io.EOF when the status is OK, and the status error
// otherwise. For a call whose server does not stream it receives the one
// message and the status together: nil means both arrived and the status
// is OK.
func (s *Stream) RecvMsg(m any) error {
	s.recvLock <- struct{}{}
	defer func() { <-s.recvLock }()
	if s.desc.ServerStreams {
		return s.recvInto(m)
	}
	if s.gotMsg {
		return s.ended()
	}
	// A call whose server does not stream takes exactly one response
	// message: none, or a second, is a response cardinality violation,
	// which gRPC's status code table (doc/statuscodes.md) has the client
	// report as Unimplemented. (grpc-go's client says Internal.)
	if err := s.recvInto(m); err != nil {
		if err == io.EOF {
			return grpcstatus.Error(codes.Unimplemented, "cardinality violation: the server ended the call with status OK but sent no response message")
		}
		return err
	}
	s.gotMsg = true
	if _, err := s.nextMsgLocked(); err != nil {
		if err == io.EOF {
			return nil
		}
		return err
	}
	err := grpcstatus.Error(codes.Unimplemented, "cardinality violation: the server sent more than one response message to a call whose server does not stream")
	s.end(nil, err)
	return err
}

// recvInto receives the next message into m; the caller holds recvLock.
func (s *Stream) recvInto(m any) error {
	b, err := s.nextMsgLocked()
	if err != nil {
		return err
	}
	if err := s.opts.codec.Unmarshal(b, m); err != nil {
		err = grpcstatus.Error(codes.Internal, "unmarshal response: "+err.Error())
		s.end(nil, err)
		return err
	}
	return nil
}

// ended returns the call's final error, or nil while it goes on.
func (s *Stream) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// nextMsgLocked returns the next response message's bytes, valid until the
// next call, or the call's final error. The caller holds recvLock.
func (s *Stream) nextMsgLocked() ([]byte, error) {
	for {
		if err := s.ended(); err != nil {
			return nil, err
		}
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			// The caller cancelled (or the deadline passed): whatever the
			// server may still send, the call ends so, as grpc-go's do.
			s.end(nil, grpcstatus.FromContextError(ctxErr).Err())
			continue
		}
		if s.p == nil {
			s.post()
			continue
		}
		ev, err := s.p.next()
		if err != nil {
			s.end(nil, s.readError(err))
			continue
		}
		switch ev.kind {
		case evHeaders:
			s.setHeader(ev.md, nil)
		case evMessage:
			if s.ctx.Err() != nil {
				continue // it came after the deadline or the cancel: the call ends so
			}
			return ev.msg, nil
		case evTrailers:
			s.setHeader(ev.md, nil) // a trailers-only response: the headers were the trailers
			s.endWithTrailers(ev.md)
		}
	}
}

// awaitHeaderLocked reads until the headers arrived or the call ended. The
// caller holds recvLock. Only a header block can come before the headers,
// so no message is lost.
func (s *Stream) awaitHeaderLocked() {
	for {
		select {
		case <-s.hdrReady:
			return
		default:
		}
		if s.ended() != nil {
			return
		}
		if s.p == nil {
			s.post()
			continue
		}
		ev, err := s.p.next()
		switch {
		case err != nil:
			s.end(nil, s.readError(err))
		case ev.kind == evHeaders:
			s.setHeader(ev.md, nil)
		case ev.kind == evTrailers:
			s.setHeader(ev.md, nil)
			s.endWithTrailers(ev.md)
		default:
			s.end(nil, grpcstatus.Error(codes.Internal, "response message before the response headers"))
		}
	}
}

// post sends a gRPC-Web request and reads the response's headers: a
// trailers-only response, or an HTTP error without grpc-status, ends the
// call here. The caller holds recvLock.
func (s *Stream) post() {
	s.sendMu.Lock()
	body := s.reqBody
	s.sendDone = true
	s.sendMu.Unlock()
	if body == nil {
		s.end(nil, grpcstatus.Error(codes.Internal, "a call whose client does not stream needs its one request message (SendMsg) before its response"))
		return
	}
	resp, err := s.c.tr.post(s.ctx, s.c.base+s.method, requestHeader(s.reqMD), body)
	if err != nil {
		s.end(nil, s.transportError("post", err))
		return
	}
	s.body = resp.body
	var respBody io.Reader = resp.body
	if _, ok := resp.header[grpcwire.HeaderStatus]; ok {
		// A trailers-only response: its headers are its trailers, and its
		// body is empty (PROTOCOL-WEB.md). When a body follows all the
		// same, its trailers frame carries the status, as in any other
		// response, and the headers' status is no status.
		var first [1]byte
		n, err := resp.body.Read(first[:])
		for n == 0 && err == nil {
			n, err = resp.body.Read(first[:])
		}
		switch {
		case n == 0 && err == io.EOF:
			s.setHeader(resp.header, nil)
			s.endWithTrailers(resp.header)
			return
		case n == 0:
			s.end(nil, s.transportError("read response", err))
			return
		}
		respBody = io.MultiReader(bytes.NewReader(first[:n]), resp.body)
		resp.header = withoutStatus(resp.header)
	}
	if resp.status != 200 {
		st := grpcstatus.Newf(grpcwire.CodeFromHTTP(resp.status), "HTTP status %d without grpc-status", resp.status)
		s.end(nil, st.Err())
		return
	}
	if ct := grpcwire.First(resp.header, grpcwire.HeaderContentType); !isGRPCWebProto(ct) {
		s.end(nil, grpcstatus.Errorf(codes.Unknown, "response content-type %q is not gRPC-Web", ct))
		return
	}
	s.setHeader(resp.header, nil)
	p := newParser(respBody, s.opts.maxRecv, false)
	p.dec.encoding = grpcwire.First(resp.header, grpcwire.HeaderEncoding)
	s.p = p
}

// withoutStatus returns md without the status fields of a trailers-only
// response, for headers whose body carries the status instead.
func withoutStatus(md metadata.MD) metadata.MD {
	out := make(metadata.MD, len(md))
	for k, v := range md {
		switch k {
		case grpcwire.HeaderStatus, grpcwire.HeaderMessage, grpcwire.HeaderStatusDetails:
		default:
			out[k] = v
		}
	}
	return out
}

// setHeader records the response headers once.
func (s *Stream) setHeader(md metadata.MD, err error) {
	select {
	case <-s.hdrReady:
		return
	default:
	}
	if md == nil && err == nil {
		md = metadata.MD{}
	}
	s.header, s.hdrErr = md, err
	if s.opts.header != nil && md != nil {
		*s.opts.header = md
	}
	close(s.hdrReady)
}

// endWithTrailers ends the call with the status its trailers carry.
func (s *Stream) endWithTrailers(md metadata.MD) {
	var err error = io.EOF
	if st := grpcwire.StatusFromTrailers(md); st.Code() != codes.OK {
		err = st.Err()
	}
	if s.body != nil {
		// The response is complete: reading the body's end lets a native
		// transport reuse the connection.
		var b [1]byte
		s.body.Read(b[:])
	}
	s.end(md, err)
}

// end records how the call ended (io.EOF for status OK), once, and
// releases its request or socket.
func (s *Stream) end(trailer metadata.MD, err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	if trailer == nil {
		trailer = metadata.MD{}
	}
	s.trailer, s.err = trailer, err
	s.mu.Unlock()
	if err == io.EOF {
		s.setHeader(nil, nil)
	} else {
		s.setHeader(nil, err)
	}
	if s.opts.trailer != nil {
		*s.opts.trailer = trailer
	}
	if s.body != nil {
		s.body.Close()
	}
	s.cancel()
	if s.prepareMux {
		prepareMuxAfterTurn(s.c.mux)
	}
}

// readError turns a failure to read the response into the call's status.
func (s *Stream) readError(err error) error {
	if err == errNoTrailers {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return grpcstatus.FromContextError(ctxErr).Err()
		}
		return grpcwire.StatusFromTrailers(nil).Err()
	}
	return s.transportError("read response", err)
}

// transportError turns a transport failure into a status error: the
// context's when it ended, a status the glue already chose, or Unavailable.
func (s *Stream) transportError(op string, err error) error {
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return grpcstatus.FromContextError(ctxErr).Err()
	}
	if d, ok := s.ctx.Deadline(); ok && !time.Now().Before(d) {
		// The socket's deadline, which is the context's, fired a moment
		// before the context's own timer.
		return grpcstatus.FromContextError(context.DeadlineExceeded).Err()
	}
	if _, ok := grpcstatus.FromError(err); ok {
		return err
	}
	return grpcstatus.Error(codes.Unavailable, op+": "+err.Error())
}

// isGRPCWebProto reports whether a response's content type is binary
// gRPC-Web with protobuf messages, the only kind this client asks for.
func isGRPCWebProto(s string) bool {
	ct, ok := grpcwire.ParseContentType(s)
	return ok && ct.Web && !ct.Text && ct.Codec == grpcwire.CodecProto
}

// appendRequest appends m as a request frame: the prefix, then the message
// marshaled in place; or, for a call that compresses, the message
// compressed. Its errors are status errors, and leave b as it was.
func (s *Stream) appendRequest(b []byte, m any) ([]byte, error) {
	start := len(b)
	if s.opts.compressor == "" {
		out, err := s.opts.codec.MarshalAppend(grpcwire.AppendPrefix(b, grpcwire.FlagData, 0), m)
		if err != nil {
			return b[:start], grpcstatus.Error(codes.Internal, "marshal request: "+err.Error())
		}
		n := len(out) - start - grpcwire.PrefixLen
		if err := s.checkSend(n); err != nil {
			return b[:start], err
		}
		grpcwire.AppendPrefix(out[:start], grpcwire.FlagData, n) // the length, now known, in place
		return out, nil
	}
	msg, err := s.opts.codec.MarshalAppend(nil, m)
	if err != nil {
		return b, grpcstatus.Error(codes.Internal, "marshal request: "+err.Error())
	}
	if err := s.checkSend(len(msg)); err != nil {
		return b, err
	}
	return s.opts.compress(s.c, b, msg)
}

// checkSend refuses a request message of n bytes over the call's limit.
func (s *Stream) checkSend(n int) error {
	if n > s.opts.maxSend {
		return grpcstatus.Errorf(codes.ResourceExhausted, "request message of %d bytes is larger than the limit of %d", n, s.opts.maxSend)
	}
	return nil
}

// wsBatchSize is how many bytes of requests may wait for a stream's sender
// before SendMsg waits too.
const wsBatchSize = 64 << 10
