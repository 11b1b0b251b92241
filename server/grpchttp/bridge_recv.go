package grpchttp

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// readRequestHeaders reads the call's first message, the request header
// block, within the header timeout: the request's headers as metadata
// (parseRequest reads them); errClientGone when the socket failed; or a
// status error for the client.
func (s *bridgeStream) readRequestHeaders() (metadata.MD, error) {
	s.conn.SetReadDeadline(time.Now().Add(s.b.h.opts.headerTimeout))
	typ, r, err := s.conn.NextReader()
	if err != nil {
		return nil, errClientGone
	}
	if typ != websocket.BinaryMessage {
		return nil, status.Error(codes.InvalidArgument, "grpc-websockets: the first message must be the request headers, in a binary message; got a text message")
	}
	block, err := io.ReadAll(io.LimitReader(r, MaxHeaderBytes+1))
	if err != nil {
		return nil, errClientGone
	}
	if len(block) > MaxHeaderBytes {
		return nil, status.Errorf(codes.ResourceExhausted, "grpc-websockets: request headers larger than %d bytes", MaxHeaderBytes)
	}
	md, err := grpcwire.ParseHeaderBlock(block)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "grpc-websockets: first message: %v", err)
	}
	return md, nil
}

// bridgeConnError is a failure of the socket itself, as opposed to bad
// input on a working one.
type bridgeConnError struct{ err error }

func (e bridgeConnError) Error() string { return "grpc-websockets: read: " + e.err.Error() }
func (e bridgeConnError) Unwrap() error { return e.err }

// readRequests is the stream's reader goroutine. It hands the requests to
// RecvMsg, closes s.in at the half-close, and cancels the stream when the
// client breaks the protocol or goes away. Once the call is over it reads on
// (discarding) until the client answers the close.
func (s *bridgeStream) readRequests() {
	defer close(s.readDone)
	cause := s.readFrames()
	for cause == nil {
		// Half-closed: nothing more may come but the close.
		s.refreshReadDeadline()
		if _, _, err := s.conn.NextReader(); err != nil {
			cause = errClientGone
			break
		}
		cause = status.Error(codes.InvalidArgument, "grpc-websockets: message after the half-close")
	}
	s.c.cancel(cause)
	if cause == errClientGone {
		return
	}
	for {
		s.refreshReadDeadline()
		if _, _, err := s.conn.NextReader(); err != nil {
			return
		}
	}
}

// bridgeKeepFrame is the largest request payload whose buffer a stream
// keeps for the next request; a larger one is let go once unmarshaled, so
// an idle stream never sits on a big buffer.
const bridgeKeepFrame = 16 << 10

// readFrames hands each request frame's payload to RecvMsg, waiting until
// RecvMsg has it. It returns nil after the half-close, else why it stopped.
//
// Two grpcwire.Readers take turns on the one byte stream: while RecvMsg
// unmarshals one's payload, the other reads the next frame, so a request
// is read ahead (and a client that goes away is noticed) without copying
// payloads and with at most two requests in memory.
func (s *bridgeStream) readFrames() error {
	body := &bridgeBody{s: s}
	if !s.c.clientStreams {
		// The one request message comes at once: all of it, and the
		// half-close, within the message timeout.
		s.frameStart = s.c.begin
		s.frameDeadline = messageDeadline(s.frameStart, s.b.h.opts.messageTimeout, 0)
	}
	newReader := func() *grpcwire.Reader {
		r := grpcwire.NewRequestReader(body, s.b.h.opts.maxRecvMsgSize)
		r.Started, r.Begin = s.startMessage, s.beginMessage
		return r
	}
	frames := [2]*grpcwire.Reader{newReader(), newReader()}
	for i := 0; ; i ^= 1 {
		f, err := frames[i].Next()
		if err != nil {
			if err == io.EOF {
				s.frameDeadline = time.Time{}
				close(s.in)
				return nil
			}
			return s.frameError(err)
		}
		if s.c.clientStreams {
			s.frameDeadline = time.Time{} // the next message may take its time to begin
		}
		select {
		case s.in <- f:
		case <-s.c.ctx.Done():
			return errStreamDone
		}
		if len(f.Payload) > bridgeKeepFrame {
			select {
			case <-s.bigDone: // RecvMsg is done with it
			case <-s.c.ctx.Done():
				return errStreamDone
			}
			frames[i] = newReader()
		}
	}
}

// startMessage bounds how long a message of a client stream may take to
// arrive once its first byte has; between messages the client may wait.
func (s *bridgeStream) startMessage() {
	if s.c.clientStreams {
		s.frameStart = time.Now()
		s.frameDeadline = messageDeadline(s.frameStart, s.b.h.opts.messageTimeout, 0)
		s.lastRefresh = time.Time{}
	}
}

// beginMessage gives the payload announced its share of time.
func (s *bridgeStream) beginMessage(n int) {
	s.frameDeadline = messageDeadline(s.frameStart, s.b.h.opts.messageTimeout, n)
	s.lastRefresh = time.Time{}
}

// frameError turns a failed frame read into the stream's cancel cause.
func (s *bridgeStream) frameError(err error) error {
	if ce, ok := errors.AsType[bridgeConnError](err); ok {
		if isTimeout(ce.err) && !s.frameDeadline.IsZero() && !time.Now().Before(s.frameDeadline) {
			return readTimeoutError(s.b.h.opts.messageTimeout)
		}
		return errClientGone
	}
	return err // the frame reader's, or the body's, status
}

// refreshReadDeadline pushes the read deadline readTimeout ahead before a
// read: a peer that sends nothing, not even a pong, for that long is dead.
// It touches the socket's deadline only when an eighth of readTimeout has
// passed, not on every read. A request message being read keeps its own,
// nearer deadline. Reader goroutine only.
func (s *bridgeStream) refreshReadDeadline() {
	now := time.Now()
	if now.Sub(s.lastRefresh) < s.readTimeout/8 {
		return
	}
	s.lastRefresh = now
	d := now.Add(s.readTimeout)
	if !s.frameDeadline.IsZero() && s.frameDeadline.Before(d) {
		d = s.frameDeadline
	}
	s.conn.SetReadDeadline(d)
}

// onPong runs in the reader goroutine, inside a read.
func (s *bridgeStream) onPong(string) error {
	s.lastRefresh = time.Time{}
	s.refreshReadDeadline()
	return nil
}

// bridgeBody is the client's request byte stream: the data of its binary
// messages after their 0x00 type byte, ending (io.EOF) at the half-close
// message 0x01. Bad messages give a status error, socket failures a
// bridgeConnError.
type bridgeBody struct {
	s   *bridgeStream
	cur io.Reader // the current message's rest; nil between messages
	one [1]byte
}

func (b *bridgeBody) Read(p []byte) (int, error) {
	for {
		if b.cur != nil {
			n, err := b.cur.Read(p)
			if err == io.EOF {
				b.cur = nil
				if n == 0 {
					continue
				}
				err = nil
			}
			if err != nil {
				return n, bridgeConnError{err}
			}
			return n, nil
		}
		b.s.refreshReadDeadline()
		typ, r, err := b.s.conn.NextReader()
		if err != nil {
			return 0, bridgeConnError{err}
		}
		if typ != websocket.BinaryMessage {
			return 0, status.Error(codes.InvalidArgument, "grpc-websockets: text message; requests travel in binary messages")
		}
		if _, err := io.ReadFull(r, b.one[:]); err != nil {
			if err == io.EOF {
				continue // an empty message carries nothing
			}
			return 0, bridgeConnError{err}
		}
		switch b.one[0] {
		case grpcwire.WSData:
			b.cur = r
		case grpcwire.WSHalfClose:
			if n, _ := io.ReadFull(r, b.one[:]); n > 0 {
				return 0, status.Error(codes.InvalidArgument, "grpc-websockets: the half-close message 0x01 must be alone")
			}
			return 0, io.EOF
		default:
			return 0, status.Error(codes.InvalidArgument, fmt.Sprintf("grpc-websockets: message type byte 0x%02x; 0x00 (data) and 0x01 (half-close) are defined", b.one[0]))
		}
	}
}
