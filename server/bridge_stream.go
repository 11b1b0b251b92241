package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// bridgeStream is one call on one grpc-websockets connection: the
// callStream's transport over a WebSocket.
//
// Two goroutines serve it: the connection's own (the handler, and every
// data write) and a reader (readRequests), which hands request payloads to
// RecvMsg one at a time and notices a client that closes or drops the
// socket even while the handler is not receiving.
type bridgeStream struct {
	callStream
	b           *bridge
	conn        *websocket.Conn
	req         *http.Request
	readTimeout time.Duration

	in       chan []byte   // request payloads; closed at the client's half-close
	bigDone  chan struct{} // RecvMsg is done with a payload over bridgeKeepFrame
	readDone chan struct{} // closed when the reader goroutine has ended

	lastRefresh time.Time // the read deadline's last push (reader goroutine)

	pingMu      sync.Mutex
	pingTimer   *time.Timer
	pingStopped bool
}

func newBridgeStream(b *bridge, conn *websocket.Conn, r *http.Request, method string, h handler) *bridgeStream {
	s := &bridgeStream{
		b:           b,
		conn:        conn,
		req:         r,
		readTimeout: b.cfg.pingInterval + b.cfg.pongWait,
	}
	s.init(s, b.replies, b.log, method, h)
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
	s.ctx = s.withTransportStream(ctx)

	s.in = make(chan []byte)
	s.bigDone = make(chan struct{}, 1)
	s.readDone = make(chan struct{})
	s.conn.SetPongHandler(s.onPong)
	go s.readRequests()
	s.startPings()
	defer s.end()
	err = s.run()
	s.stopPings()
	if s.finish(err) && s.b.closeHandshake(s.conn) == nil {
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

// end closes the socket and waits for the reader goroutine. It runs even
// if the handler panics.
func (s *bridgeStream) end() {
	s.stopPings()
	s.cancel(errStreamDone)
	s.conn.Close()
	<-s.readDone
}

// sendHeader implements callTransport: the header block, in a WebSocket
// message of its own. improbable-eng's JS client reads nothing after a
// header or trailer block in the same message (its parser returns at each
// block and resumes only with the next message), so a block always ends a
// message.
func (s *bridgeStream) sendHeader(md metadata.MD) error {
	if len(md) == 0 {
		return s.send(s.b.replies.headerFrame)
	}
	buf := s.b.replies.getBuf()
	*buf = s.b.replies.appendHeader(*buf, md)
	err := s.send(*buf)
	s.b.replies.putBuf(buf)
	return err
}

// send implements callTransport: out as one binary message, within the
// write timeout.
func (s *bridgeStream) send(out []byte) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.b.cfg.writeTimeout))
	if err := s.conn.WriteMessage(websocket.BinaryMessage, out); err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			return errClientStalled
		}
		return errClientGone
	}
	return nil
}

// recv implements callTransport: the next payload from the reader.
func (s *bridgeStream) recv() ([]byte, error) {
	select {
	case p, ok := <-s.in:
		if !ok {
			return nil, io.EOF
		}
		return p, nil
	case <-s.ctx.Done():
		return nil, s.ctxStatus()
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
