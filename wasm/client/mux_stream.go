package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// errMuxStreamDone is what a muxStream's Add returns once the call is
// over; SendMsg makes it io.EOF, and RecvMsg says how the call ended.
var errMuxStreamDone = errors.New("grpc-mux: the stream has ended")

// muxStream is one call on a muxConn: the Stream's requestSender, which
// sends its requests as DATA within the server's window, and its
// eventSource, which reads its response from what the connection's reader
// handed it, returning window as the caller consumes it.
//
// A call whose client streams opens its stream at once (NewStream); any
// other sends its HEADERS with its one request, so a unary call leaves in
// one WebSocket message.
type muxStream struct {
	pool          *muxPool
	ctx           context.Context
	method        string
	md            metadata.MD
	clientStreams bool
	frames        *grpcwire.Reader // the response's gRPC frames, read from s
	maxRecv       int              // the largest response message
	dec           decompressor     // its encoding: the response headers' grpc-encoding
	scratch       []byte           // Add's marshal buffer

	// id, sendWin and recvWin are set by muxConn.open before the stream
	// is registered; the windows are guarded by mu from then on.
	id uint32

	mu         sync.Mutex
	cond       *sync.Cond // a frame arrived, window was granted, or the stream ended
	mc         *muxConn   // the socket the stream is (or is to be) on
	opened     bool       // HEADERS is queued
	halfClosed bool       // END_STREAM is queued
	sendWin    grpcwire.MuxSendWindow
	recvWin    grpcwire.MuxRecvWindow
	header     metadata.MD // the response headers, once they arrived
	headerDone bool        // next has returned the headers (or a trailers-only response)
	chunks     [][]byte    // DATA not yet read
	trailer    metadata.MD // the trailers, once they arrived: the server is done
	eventsDone bool        // next has returned the trailers
	err        error       // the stream ended otherwise: a CANCEL, the socket, the caller
}

// openMux starts s on the Conn's multiplexed socket, opening the socket if
// need be. It returns an error wrapping errMuxDeclined when the server
// does not offer it and the call may go otherwise (required is false).
func (s *Stream) openMux(required bool) error {
	mc, err := s.c.mux.get(s.ctx)
	if err != nil {
		if errors.Is(err, errMuxDeclined) {
			if !required {
				return err
			}
			return grpcstatus.Error(codes.Unavailable, err.Error())
		}
		return s.transportError("grpc-mux", err)
	}
	return s.openMuxOn(mc)
}

// openMuxOn starts the call as a stream on mc.
func (s *Stream) openMuxOn(mc *muxConn) error {
	ms := &muxStream{
		pool:          s.c.mux,
		ctx:           s.ctx,
		method:        s.method,
		md:            s.reqMD,
		clientStreams: s.desc.ClientStreams,
		mc:            mc,
	}
	ms.cond = sync.NewCond(&ms.mu)
	ms.frames = grpcwire.NewResponseReader(ms, s.opts.maxRecv)
	ms.maxRecv = s.opts.maxRecv
	if s.desc.ClientStreams {
		if _, err := ms.start(nil, false); err != nil {
			return err
		}
	}
	s.sender, s.p = ms, ms
	context.AfterFunc(s.ctx, ms.release)
	return nil
}

// start opens the stream, with body (end: all of the requests) as far as
// the window takes it, and returns the rest of body. When the socket takes
// no new streams it tries a new one, twice at most.
func (s *muxStream) start(body []byte, end bool) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		mc := s.mc
		s.mu.Unlock()
		rest, err := mc.open(s.ctx, s, body, end)
		if err == nil {
			s.mu.Lock()
			s.opened = true
			s.halfClosed = end && len(rest) == 0
			cancelled := s.err != nil // release ran before the stream was open
			s.mu.Unlock()
			if cancelled {
				s.cancelOn(mc, codes.Canceled)
				return nil, errMuxStreamDone
			}
			return rest, nil
		}
		if err != errConnGone {
			return nil, err
		}
		if attempt == 2 {
			return nil, unavailable("the socket closed while the call was starting")
		}
		mc, err = s.pool.get(s.ctx)
		if err != nil {
			if errors.Is(err, errMuxDeclined) {
				return nil, grpcstatus.Error(codes.Unavailable, err.Error())
			}
			if _, ok := grpcstatus.FromError(err); ok {
				return nil, err
			}
			return nil, unavailable("%v", err)
		}
		s.mu.Lock()
		s.mc = mc
		s.mu.Unlock()
	}
}

// Add implements requestSender: it sends what fill appends (whole request
// frames) as DATA, waiting for window as it must. A call whose client does
// not stream sends its HEADERS with it, and half-closes.
func (s *muxStream) Add(fill func([]byte) ([]byte, error)) error {
	b, err := fill(s.scratch[:0])
	if err != nil {
		return err
	}
	if cap(b) <= 64<<10 {
		s.scratch = b[:0]
	}
	end := !s.clientStreams
	s.mu.Lock()
	opened, over := s.opened, s.err != nil || s.trailer != nil || s.halfClosed
	s.mu.Unlock()
	if over {
		return errMuxStreamDone
	}
	if !opened {
		rest, err := s.start(b, end)
		if err != nil {
			s.abort(err)
			return err
		}
		if len(rest) == 0 {
			return nil
		}
		b = rest
	}
	return s.sendData(b, end)
}

// sendData sends b as DATA frames, each within the window and the server's
// frame size, waiting for WINDOW_UPDATEs as it must; the last half-closes
// when end (an empty b with end sends END_STREAM alone).
func (s *muxStream) sendData(b []byte, end bool) error {
	for {
		s.mu.Lock()
		for len(b) > 0 && s.sendWin.Available() == 0 && s.err == nil && s.trailer == nil {
			s.cond.Wait()
		}
		if s.err != nil || s.trailer != nil {
			s.mu.Unlock()
			return errMuxStreamDone
		}
		mc := s.mc
		n := s.sendWin.Take(min(len(b), int(mc.peer.MaxFrameSize)))
		last := n == len(b)
		if last && end {
			s.halfClosed = true
		}
		s.mu.Unlock()
		var flags byte
		if last && end {
			flags = grpcwire.MuxFlagEndStream
		}
		if n > 0 || flags != 0 {
			chunk := b[:n]
			err := mc.w.Add(func(out []byte) ([]byte, error) {
				return append(grpcwire.AppendMuxHeader(out, grpcwire.MuxTypeData, flags, s.id, n), chunk...), nil
			})
			if err != nil {
				return errMuxStreamDone // the socket ended, and says why to RecvMsg
			}
		}
		if last {
			return nil
		}
		b = b[n:]
	}
}

// Finish implements requestSender: END_STREAM after what was sent. (final
// is the grpc-websockets half-close; this protocol has its own.)
func (s *muxStream) Finish([]byte) {
	s.mu.Lock()
	opened, over := s.opened, s.err != nil || s.trailer != nil || s.halfClosed
	s.mu.Unlock()
	switch {
	case over:
	case !opened:
		if _, err := s.start(nil, true); err != nil {
			s.abort(err)
		}
	default:
		s.sendData(nil, true)
	}
}

// Stop implements requestSender: it ends the stream, as the call's
// context ending does.
func (s *muxStream) Stop() {
	s.end(codes.Canceled, grpcstatus.Error(codes.Canceled, "grpc-mux: the stream was stopped"))
}

// handle takes a frame of the stream from the connection's reader. It
// returns a connection error, for the server; a stream error ends the call
// and cancels the stream.
func (s *muxStream) handle(f grpcwire.MuxFrame) *grpcstatus.Status {
	s.mu.Lock()
	var streamErr error
	ended := false
	switch f.Type {
	case grpcwire.MuxTypeHeaders:
		md, err := grpcwire.ParseHeaderBlock(f.Payload)
		switch {
		case s.header != nil:
			streamErr = grpcstatus.Error(codes.Internal, "grpc-mux: a second HEADERS frame in the response")
		case err != nil:
			streamErr = grpcstatus.Errorf(codes.Internal, "grpc-mux: malformed response headers: %v", err)
		default:
			s.header = md
		}
	case grpcwire.MuxTypeData:
		if err := s.recvWin.Receive(len(f.Payload)); err != nil {
			s.mu.Unlock()
			return grpcstatus.Convert(err)
		}
		if s.header == nil {
			streamErr = grpcstatus.Error(codes.Internal, "grpc-mux: response message before the response headers")
		} else if s.err == nil {
			s.chunks = append(s.chunks, bytes.Clone(f.Payload))
		}
	case grpcwire.MuxTypeTrailers:
		md, err := grpcwire.ParseHeaderBlock(f.Payload)
		if err != nil {
			streamErr = grpcstatus.Errorf(codes.Internal, "grpc-mux: malformed trailers: %v", err)
			break
		}
		s.trailer = md
		ended = true
	case grpcwire.MuxTypeCancel:
		if s.err == nil {
			s.err = f.Status().Err()
		}
		s.chunks = nil
		ended = true
	case grpcwire.MuxTypeWindowUpdate:
		if err := s.sendWin.Grant(f.Increment()); err != nil {
			s.mu.Unlock()
			return grpcstatus.Convert(err)
		}
	}
	if streamErr != nil && s.err == nil {
		s.err = streamErr
		s.chunks = nil
	}
	mc := s.mc
	s.cond.Broadcast()
	s.mu.Unlock()
	switch {
	case streamErr != nil:
		s.cancelOn(mc, codes.Internal)
	case ended:
		mc.detach(s.id, s)
	}
	return nil
}

// cancelOn takes the stream off mc and, if it was still open there, tells
// the server with a CANCEL.
func (s *muxStream) cancelOn(mc *muxConn, code codes.Code) {
	if mc.detach(s.id, s) {
		st := grpcstatus.New(code, "the client cancelled the call")
		mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxCancel(b, s.id, st) })
	}
}

// abort ends the stream with err: its socket failed or refused it, or it
// could not start. What was buffered is dropped.
func (s *muxStream) abort(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.chunks = nil
	s.cond.Broadcast()
	s.mu.Unlock()
}

// release runs when the call's context ends: its end, or the caller's
// cancel or deadline.
func (s *muxStream) release() {
	st := grpcstatus.FromContextError(s.ctx.Err())
	s.end(st.Code(), st.Err())
}

// end ends the stream with err, cancelling it with code if the server has
// not ended it.
func (s *muxStream) end(code codes.Code, err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.chunks = nil
	opened, mc, serverDone := s.opened, s.mc, s.trailer != nil
	s.cond.Broadcast()
	s.mu.Unlock()
	if opened && !serverDone {
		s.cancelOn(mc, code)
	}
}

// next implements eventSource.
func (s *muxStream) next() (event, error) {
	s.mu.Lock()
	if !s.headerDone {
		if !s.opened && !s.clientStreams && s.err == nil {
			s.mu.Unlock()
			return event{}, grpcstatus.Error(codes.Internal, "a call whose client does not stream needs its one request message (SendMsg) before its response")
		}
		for s.header == nil && s.trailer == nil && s.err == nil {
			s.cond.Wait()
		}
		s.headerDone = true
		switch {
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return event{}, err
		case s.header != nil:
			md := s.header
			s.dec.encoding = grpcwire.First(md, grpcwire.HeaderEncoding)
			s.mu.Unlock()
			return event{kind: evHeaders, md: md}, nil
		default: // trailers-only
			s.eventsDone = true
			md := s.trailer
			s.mu.Unlock()
			return event{kind: evTrailers, md: md}, nil
		}
	}
	if s.eventsDone {
		s.mu.Unlock()
		return event{}, io.EOF
	}
	s.mu.Unlock()
	f, err := s.frames.Next()
	switch {
	case err == io.EOF:
		s.mu.Lock()
		s.eventsDone = true
		md := s.trailer
		s.mu.Unlock()
		return event{kind: evTrailers, md: md}, nil
	case err != nil:
		return event{}, err
	}
	switch f.Flag {
	case grpcwire.FlagData:
		return event{kind: evMessage, msg: f.Payload}, nil
	case grpcwire.FlagCompressed:
		// A server compresses the replies of a call whose requests came
		// compressed, as on every transport (parser.go).
		p, err := s.dec.decompress(f.Payload, s.maxRecv)
		if err != nil {
			return event{}, err
		}
		return event{kind: evMessage, msg: p}, nil
	}
	return event{}, grpcstatus.Error(codes.Internal, fmt.Sprintf("response frame with unknown flags %#x", f.Flag))
}

// Read hands the response's bytes to the frame reader, and returns window
// to the server as they are read: io.EOF once the trailers arrived and
// every byte before them was read.
func (s *muxStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	for len(s.chunks) == 0 {
		switch {
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return 0, err
		case s.trailer != nil:
			s.mu.Unlock()
			return 0, io.EOF
		}
		s.cond.Wait()
	}
	c := s.chunks[0]
	n := copy(p, c)
	if n == len(c) {
		s.chunks[0] = nil
		s.chunks = s.chunks[1:]
	} else {
		s.chunks[0] = c[n:]
	}
	var inc uint32
	if s.trailer == nil {
		inc = s.recvWin.Consume(n)
	}
	mc := s.mc
	s.mu.Unlock()
	if inc > 0 {
		mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxWindowUpdate(b, s.id, inc) })
	}
	return n, nil
}
