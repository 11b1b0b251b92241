package grpchttp

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// bridgeStream is one call on one grpc-websockets connection: the call's
// transport over a WebSocket.
//
// Two goroutines serve it: the stream's own (the handler, and every data
// write, which the call's mutex orders) and a reader (readRequests), which
// hands request payloads to RecvMsg one at a time and notices a client that
// closes or drops the socket even while the handler is not receiving.
// Pings and closes go through gorilla's WriteControl, which may run beside
// a data write.
type bridgeStream struct {
	b           *bridge
	c           *call
	conn        *websocket.Conn
	req         *http.Request
	readTimeout time.Duration

	in       chan grpcwire.Frame // request frames; closed at the client's half-close
	bigDone  chan struct{}       // RecvMsg is done with a payload over bridgeKeepFrame
	readDone chan struct{}       // closed when the reader goroutine has ended

	// The reader goroutine's own: the read deadline's last push, when the
	// request message being read began and when it must be complete
	// (zero: none).
	lastRefresh   time.Time
	frameStart    time.Time
	frameDeadline time.Time

	pingMu      sync.Mutex
	pingTimer   *time.Timer
	pingStopped bool
}

func newBridgeStream(b *bridge, conn *websocket.Conn, r *http.Request) *bridgeStream {
	o := b.h.opts
	return &bridgeStream{
		b:           b,
		conn:        conn,
		req:         r,
		readTimeout: o.pingInterval + o.pongWait,
	}
}

// serve runs the call from its header message to the close of the socket.
func (s *bridgeStream) serve() {
	release, ok := s.begin()
	if !ok {
		return
	}
	defer release()
	defer s.closeSocket()
	err := s.c.run()
	s.stopPings()
	if s.c.finish(err) && s.closeHandshake() == nil {
		// Wait (boundedly) for the client's answer to our close, so
		// closing does not reset the connection under trailers the client
		// has still to read.
		t := time.NewTimer(s.b.h.opts.closeTimeout)
		select {
		case <-s.readDone:
		case <-t.C:
		}
		t.Stop()
	}
}

// begin reads the request's headers and makes the call, or refuses it (ok
// false). It is a function of its own so that the request's parsing, whose
// locals are large, is off the stack while the handler runs: an idle
// stream's goroutine then stays at 4 KiB of stack, not 8.
func (s *bridgeStream) begin() (release func(), ok bool) {
	method := s.req.URL.Path
	md, err := s.readRequestHeaders()
	if err == errClientGone {
		s.conn.Close()
		return nil, false
	}
	var req callRequest
	if err == nil {
		req, err = parseRequest(md, s.req.Host, s.b.h.calls.codec, s.b.h.opts.browserHeaders)
	}
	h, lookupErr := s.b.h.reg.lookup(method)
	switch {
	case err != nil:
	case req.ct.Text:
		err = status.Error(codes.InvalidArgument, "grpc-websockets: messages travel as binary frames; the grpc-web-text content type is for HTTP")
	case lookupErr != nil:
		err = lookupErr
	}
	if err != nil {
		s.refuse(err)
		return nil, false
	}
	protocol := ProtocolWebSockets
	if req.ct.Codec == grpcwire.CodecJSON {
		protocol += jsonSuffix
	}
	parent, release := s.parent()
	s.c = newCall(parent, s.b.h.calls, s, method, h, req, protocol, s.peer())
	s.in = make(chan grpcwire.Frame)
	s.bigDone = make(chan struct{}, 1)
	s.readDone = make(chan struct{})
	s.conn.SetPongHandler(s.onPong)
	go s.readRequests()
	s.startPings()
	return release, true
}

// refuse answers a call that will not run with err's status and closes the
// socket once the client has answered the close (or the wait is over).
func (s *bridgeStream) refuse(err error) {
	parent, release := s.parent()
	defer release()
	s.c = newCall(parent, s.b.h.calls, s, s.req.URL.Path, handler{}, callRequest{}, ProtocolWebSockets, s.peer())
	s.b.h.opts.log.Debug("grpc-websockets: call refused", "path", s.req.URL.Path, "err", err)
	if s.c.finish(err) && s.closeHandshake() == nil {
		s.conn.SetReadDeadline(time.Now().Add(s.b.h.opts.closeTimeout))
		for {
			if _, _, err := s.conn.NextReader(); err != nil {
				break
			}
		}
	}
	s.conn.Close()
}

// parent is the context the stream's call derives from: the handshake
// request's values (its connection's stats tags), without its end, which
// came with the upgrade; ended by the Handler's stop context, until
// release.
func (s *bridgeStream) parent() (context.Context, func()) {
	stop := s.b.h.calls.stop
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(s.req.Context()))
	unwatch := context.AfterFunc(stop, func() { cancel(context.Cause(stop)) })
	return ctx, func() {
		unwatch()
		cancel(nil)
	}
}

// closeHandshake sends a normal close frame after the trailers. gorilla
// sends no second one when the client answers it.
func (s *bridgeStream) closeHandshake() error {
	return s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(s.b.h.opts.writeTimeout))
}

func (s *bridgeStream) peer() *peer.Peer {
	nc := s.conn.NetConn()
	return newPeer(nc.RemoteAddr(), nc.LocalAddr(), requestTLS(s.req))
}

// closeSocket closes the socket and waits for the reader goroutine. It
// runs even if the handler panics.
func (s *bridgeStream) closeSocket() {
	s.stopPings()
	s.c.cancel(errStreamDone)
	s.conn.Close()
	<-s.readDone
}

// sendHeader implements callTransport: the header block.
func (s *bridgeStream) sendHeader(md metadata.MD, _ bool) error {
	r := s.b.h.calls.replies
	if len(md) == 0 {
		return s.writeGRPC(r.headerFrame)
	}
	buf := r.getBuf()
	defer r.putBuf(buf)
	*buf = r.appendHeader(*buf, md)
	return s.writeGRPC(*buf)
}

// send implements callTransport.
func (s *bridgeStream) send(frames []byte) error { return s.writeGRPC(frames) }

// writeGRPC writes whole gRPC frames as binary messages, each prefix in a
// message of its own and its payload, if any, in the next, within the
// write timeout. The call's mutex is held: one data write at a time.
func (s *bridgeStream) writeGRPC(frames []byte) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.b.h.opts.writeTimeout))
	cc, corks := s.conn.NetConn().(*corkConn)
	corks = corks && len(frames) <= corkLimit // a large reply's writes are few already
	if corks {
		cc.cork()
	}
	for len(frames) >= grpcwire.PrefixLen {
		n := grpcwire.PrefixLen + int(binary.BigEndian.Uint32(frames[1:grpcwire.PrefixLen]))
		if err := s.conn.WriteMessage(websocket.BinaryMessage, frames[:grpcwire.PrefixLen]); err != nil {
			if corks {
				cc.uncork()
			}
			return writeError(err)
		}
		if n > grpcwire.PrefixLen {
			if err := s.conn.WriteMessage(websocket.BinaryMessage, frames[grpcwire.PrefixLen:n]); err != nil {
				if corks {
					cc.uncork()
				}
				return writeError(err)
			}
		}
		frames = frames[n:]
	}
	if corks {
		if err := cc.uncork(); err != nil {
			return writeError(err)
		}
	}
	return nil
}

// end implements callTransport: the held-back reply, then the trailer
// block, in one write. A call that sent nothing sends its (empty) header
// block first, since the protocol's response always starts with one.
func (s *bridgeStream) end(frames []byte, md metadata.MD, st *status.Status, trailersOnly bool) error {
	r := s.b.h.calls.replies
	buf := r.getBuf()
	defer r.putBuf(buf)
	b := *buf
	if trailersOnly {
		b = append(b, r.headerFrame...)
	}
	b = append(b, frames...)
	b = r.appendTrailer(b, md, st)
	*buf = b
	return s.writeGRPC(b)
}

// recv implements callTransport: the next frame from the reader.
func (s *bridgeStream) recv() (grpcwire.Frame, error) {
	select {
	case f, ok := <-s.in:
		if !ok {
			return grpcwire.Frame{}, io.EOF
		}
		return f, nil
	case <-s.c.ctx.Done():
		return grpcwire.Frame{}, s.c.ctxStatus()
	}
}

// release implements callTransport: the reader waits for a big payload to
// be done with before it reads on (see readFrames).
func (s *bridgeStream) release(p []byte) {
	if len(p) > bridgeKeepFrame {
		s.bigDone <- struct{}{} // never blocks: one big payload is out at a time
	}
}

// startPings pings the client every pingInterval; its pongs (or anything
// else it sends) keep the reader's deadline ahead.
func (s *bridgeStream) startPings() {
	s.pingMu.Lock()
	s.pingTimer = time.AfterFunc(s.b.h.opts.pingInterval, s.ping)
	s.pingMu.Unlock()
}

func (s *bridgeStream) ping() {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.pingStopped {
		return
	}
	if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.b.h.opts.writeTimeout)); err != nil {
		return // the reader's deadline or the next write finds the failure
	}
	s.pingTimer.Reset(s.b.h.opts.pingInterval)
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
