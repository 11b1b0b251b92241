package server

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// bridgeStream is one call on one grpc-websockets connection: the call's
// transport over a WebSocket.
//
// Two goroutines serve it: the connection's own (the handler, and every
// data write) and a reader (readRequests), which hands request payloads to
// RecvMsg one at a time and notices a client that closes or drops the
// socket even while the handler is not receiving.
type bridgeStream struct {
	b           *bridge
	c           *call
	conn        *websocket.Conn
	w           *wsWriter // every write to the socket
	req         *http.Request
	readTimeout time.Duration

	in       chan []byte   // request payloads; closed at the client's half-close
	bigDone  chan struct{} // RecvMsg is done with a payload over bridgeKeepFrame
	readDone chan struct{} // closed when the reader goroutine has ended

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
	s := &bridgeStream{
		b:           b,
		conn:        conn,
		w:           &wsWriter{conn: conn.NetConn(), timeout: b.cfg.writeTimeout, bufs: &b.frameBufs},
		req:         r,
		readTimeout: b.cfg.pingInterval + b.cfg.pongWait,
	}
	// gorilla answers pings and closes through its own writer: answer them
	// through ours, which writes everything else.
	conn.SetPingHandler(func(data string) error {
		s.w.control(wsFinPong, []byte(data)) // a broken socket shows in the next read
		return nil
	})
	conn.SetCloseHandler(func(code int, _ string) error {
		s.w.control(wsFinClose, websocket.FormatCloseMessage(code, ""))
		return nil
	})
	return s
}

// serve runs the call from its header message to the close of the socket.
func (s *bridgeStream) serve() {
	method := s.req.URL.Path
	md, err := s.readRequestHeaders()
	if err == errClientGone {
		s.conn.Close()
		return
	}
	var req callRequest
	if err == nil {
		req, err = parseRequest(md, s.req.Host)
	}
	h, lookupErr := s.b.reg.lookup(method)
	switch {
	case err != nil:
	case req.protocol == "grpc-web-text" || req.protocol == "grpc-web-text+json":
		err = status.Error(codes.InvalidArgument, "grpc-websockets: messages travel as binary frames; the grpc-web-text content type is for HTTP")
	case lookupErr != nil:
		err = lookupErr
	}
	if err != nil {
		s.refuse(err)
		return
	}
	req.protocol = "grpc-websockets"
	if req.codec == (jsonCodec{}) {
		req.protocol += "+json"
	}
	s.c = newCall(s.b.srv.stop, s.b.srv, s, method, h, req, s.peer())
	s.in = make(chan []byte)
	s.bigDone = make(chan struct{}, 1)
	s.readDone = make(chan struct{})
	s.conn.SetPongHandler(s.onPong)
	go s.readRequests()
	s.startPings()
	defer s.closeSocket()
	err = s.c.run()
	s.stopPings()
	if s.c.finish(err) && s.closeHandshake() == nil {
		// Wait (boundedly) for the client's answer to our close, so
		// closing does not reset the connection under trailers the client
		// has still to read.
		t := time.NewTimer(s.b.cfg.closeTimeout)
		select {
		case <-s.readDone:
		case <-t.C:
		}
		t.Stop()
	}
}

// refuse answers a call that will not run with err's status and closes the
// socket once the client has answered the close (or the wait is over).
func (s *bridgeStream) refuse(err error) {
	s.c = newCall(s.b.srv.stop, s.b.srv, s, s.req.URL.Path, handler{}, callRequest{timeout: -1}, s.peer())
	s.b.log.Debug("grpc-websockets: call refused", "path", s.req.URL.Path, "err", err)
	if s.c.finish(err) && s.closeHandshake() == nil {
		s.conn.SetReadDeadline(time.Now().Add(s.b.cfg.closeTimeout))
		for {
			if _, _, err := s.conn.NextReader(); err != nil {
				break
			}
		}
	}
	s.conn.Close()
}

// closeHandshake sends a normal close frame after the trailers.
func (s *bridgeStream) closeHandshake() error {
	return s.w.control(wsFinClose, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
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
	if len(md) == 0 {
		return s.w.writeGRPC(s.b.srv.replies.headerFrame)
	}
	buf := s.b.srv.replies.getBuf()
	defer s.b.srv.replies.putBuf(buf)
	*buf = s.b.srv.replies.appendHeader(*buf, md)
	return s.w.writeGRPC(*buf)
}

// send implements callTransport.
func (s *bridgeStream) send(frames []byte) error { return s.w.writeGRPC(frames) }

// end implements callTransport: the held-back reply, then the trailer
// block, in one write. A call that sent nothing sends its (empty) header
// block first, since the protocol's response always starts with one.
func (s *bridgeStream) end(frames []byte, md metadata.MD, st *status.Status, trailersOnly bool) error {
	buf := s.b.srv.replies.getBuf()
	defer s.b.srv.replies.putBuf(buf)
	b := *buf
	if trailersOnly {
		b = append(b, s.b.srv.replies.headerFrame...)
	}
	b = append(b, frames...)
	b = s.b.srv.replies.appendTrailer(b, md, st)
	*buf = b
	return s.w.writeGRPC(b)
}

// recv implements callTransport: the next payload from the reader.
func (s *bridgeStream) recv() ([]byte, error) {
	select {
	case p, ok := <-s.in:
		if !ok {
			return nil, io.EOF
		}
		return p, nil
	case <-s.c.ctx.Done():
		return nil, s.c.ctxStatus()
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
	s.pingTimer = time.AfterFunc(s.b.cfg.pingInterval, s.ping)
	s.pingMu.Unlock()
}

func (s *bridgeStream) ping() {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.pingStopped {
		return
	}
	if err := s.w.control(wsFinPing, nil); err != nil {
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
