package grpchttp

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// Bounds of one grpc-mux.v1 socket.
const (
	// muxWriteQueue is how many bytes of DATA may wait for the socket
	// before a stream that sends waits too: two full WebSocket messages.
	// Control frames never wait (grpcwire.BatchWriter.AddNowWithin), up to
	// four times as much.
	muxWriteQueue = 2 * grpcwire.MuxMaxBatch
	// muxPingRate is how many PINGs a second a client may send (MUX.md).
	muxPingRate = 10
)

// muxConn is one grpc-mux.v1 socket. Its reader goroutine (serve) reads
// every frame, checks it against the protocol and the socket's state, and
// hands it to its stream; the streams' handlers run on goroutines of their
// own; one writer puts every frame on the socket.
type muxConn struct {
	m      *muxServer
	ws     *websocket.Conn
	req    *http.Request // the handshake: host, TLS, the connection's stats tags
	own    grpcwire.MuxSettings
	w      *grpcwire.BatchWriter
	client string // the address the streams are counted under (Limits)
	peer   *peer.Peer
	// ctx is every stream's parent: it ends when the socket does, with why
	// (errClientGone, errClientStalled), or with the Handler's stop.
	ctx     context.Context
	cancel  context.CancelCauseFunc
	unwatch func() bool

	readTimeout time.Duration
	lastRecv    atomic.Int64 // when the last message arrived, in UnixNano
	pingTimer   *time.Timer

	// The reader goroutine's own. peerSettings is set from the client's
	// SETTINGS, the first frame, before any stream exists: streams read it
	// without a lock.
	peerSettings grpcwire.MuxSettings
	pingCount    int
	pingSince    time.Time
	lastRefresh  time.Time

	mu        sync.Mutex
	streams   map[uint32]*muxStream // the open streams
	last      uint32                // the highest stream id the client used
	goingAway bool                  // a GOAWAY went: new streams are dropped
	closing   bool                  // the close has begun: the read deadline is the close's
}

func newMuxConn(m *muxServer, ws *websocket.Conn, r *http.Request) *muxConn {
	o := m.h.opts
	nc := ws.NetConn()
	c := &muxConn{
		m:           m,
		ws:          ws,
		req:         r,
		own:         m.own,
		client:      clientOf(r.RemoteAddr),
		peer:        newPeer(nc.RemoteAddr(), nc.LocalAddr(), requestTLS(r)),
		readTimeout: o.pingInterval + o.pongWait,
		streams:     make(map[uint32]*muxStream),
	}
	// The streams keep the handshake's values (its connection's stats
	// tags), not its end, which came with the upgrade; the Handler's stop
	// context ends them.
	stop := m.h.calls.stop
	c.ctx, c.cancel = context.WithCancelCause(context.WithoutCancel(r.Context()))
	c.unwatch = context.AfterFunc(stop, func() { c.end(context.Cause(stop)) })
	c.w = grpcwire.NewBatchWriter(c.write, muxWriteQueue, nil)
	c.lastRecv.Store(time.Now().UnixNano())
	return c
}

// write puts a batch of whole frames on the socket, as WebSocket messages
// of at most grpcwire.MuxMaxBatch bytes (or one larger frame), each within
// the write timeout. A failed write ends the socket: every stream's call
// ends with why.
func (c *muxConn) write(batch []byte) error {
	err := grpcwire.WriteMuxMessages(batch, func(msg []byte) error {
		c.ws.SetWriteDeadline(time.Now().Add(c.m.h.opts.writeTimeout))
		return c.ws.WriteMessage(websocket.BinaryMessage, msg)
	})
	if err != nil {
		c.end(writeError(err))
		c.ws.NetConn().Close() // the reader ends too
	}
	return err
}

// end ends the socket's context, and with it every stream's call, with
// cause, and wakes the streams' handlers that wait for requests: they wait
// on their stream's wake-up alone (muxStream.waitRequests).
func (c *muxConn) end(cause error) {
	c.cancel(cause)
	c.mu.Lock()
	for _, s := range c.streams {
		wake(s.recvWake)
	}
	c.mu.Unlock()
}

// control queues control frames (SETTINGS, PING, WINDOW_UPDATE, CANCEL,
// GOAWAY), which never wait behind the streams' DATA; ErrBacklog when the
// client has let four times muxWriteQueue pile up.
func (c *muxConn) control(fill func([]byte) []byte) error {
	return c.w.AddNowWithin(4*muxWriteQueue, func(b []byte) ([]byte, error) { return fill(b), nil })
}

// writeErr is why a stream's write did not happen: the socket failed
// (errClientStalled when a write timed out) or is closing.
func (c *muxConn) writeErr() error {
	if cause := context.Cause(c.ctx); cause == errClientStalled {
		return cause
	}
	return errClientGone
}

// serve reads the socket's frames until it ends, then ends every stream
// still open.
func (c *muxConn) serve() {
	defer c.teardown()
	c.control(func(b []byte) []byte { return grpcwire.AppendMuxSettings(b, c.own) })
	c.pingTimer = time.AfterFunc(c.m.h.opts.pingInterval, c.keepalive)
	// A message is at most MuxMaxBatch bytes of frames, or one frame.
	c.ws.SetReadLimit(int64(grpcwire.MuxMaxBatch + grpcwire.MuxHeaderLen + max(c.own.MaxFrameSize, c.own.MaxHeaderSize)))
	r := grpcwire.NewMuxServerReader(nil, c.own)
	// The client's SETTINGS, its first frame, comes within the header
	// timeout, as a request's headers do.
	c.ws.SetReadDeadline(time.Now().Add(c.m.h.opts.headerTimeout))
	c.lastRefresh = time.Now()
	for first := true; ; first = false {
		if !first {
			c.refreshReadDeadline()
		}
		typ, msg, err := c.ws.NextReader()
		if err != nil {
			return // closed, dead (the read deadline), or over the read limit (gorilla closed it with 1009)
		}
		c.lastRecv.Store(time.Now().UnixNano())
		if first {
			c.lastRefresh = time.Time{} // the next read gets the keepalive's deadline
		}
		if typ != websocket.BinaryMessage {
			c.fail(status.New(codes.InvalidArgument, "grpc-mux: a text message; frames travel in binary messages"), websocket.CloseUnsupportedData)
			return
		}
		r.Reset(msg)
		for {
			f, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if st, ok := status.FromError(err); ok {
					code := websocket.CloseProtocolError
					if st.Code() == codes.ResourceExhausted {
						code = websocket.CloseMessageTooBig
					}
					c.fail(st, code)
				}
				return
			}
			if st, code := c.handle(f); st != nil {
				c.fail(st, code)
				return
			}
		}
	}
}

// refreshReadDeadline pushes the read deadline readTimeout ahead: a client
// that sends nothing, not even an answer to our pings, for that long is
// gone. It touches the socket only every eighth of readTimeout, and never
// once the close has begun (the close has its own deadline).
func (c *muxConn) refreshReadDeadline() {
	now := time.Now()
	if now.Sub(c.lastRefresh) < c.readTimeout/8 {
		return
	}
	c.lastRefresh = now
	c.mu.Lock()
	if !c.closing {
		c.ws.SetReadDeadline(now.Add(c.readTimeout))
	}
	c.mu.Unlock()
}

// keepalive pings the client when it has sent nothing for the ping
// interval; its answer keeps the read deadline ahead. Browsers cannot ping
// (MUX.md, "Keepalive"), and a proxy that cuts silent connections sees
// traffic at every interval.
func (c *muxConn) keepalive() {
	interval := c.m.h.opts.pingInterval
	idle := time.Since(time.Unix(0, c.lastRecv.Load()))
	if idle >= interval {
		var data [8]byte
		now := time.Now().UnixNano()
		for i := range data {
			data[i] = byte(now >> (8 * i))
		}
		if c.control(func(b []byte) []byte { return grpcwire.AppendMuxPing(b, false, data) }) != nil {
			return // the socket is closing
		}
		idle = 0
	}
	c.pingTimer.Reset(interval - idle)
}

// handle acts on one frame. It returns a connection error and the close
// code to close the socket with.
func (c *muxConn) handle(f grpcwire.MuxFrame) (*status.Status, int) {
	switch f.Type {
	case grpcwire.MuxTypeSettings:
		c.peerSettings = f.Settings()
		return nil, 0
	case grpcwire.MuxTypePing:
		if f.Ack() {
			return nil, 0
		}
		if now := time.Now(); now.Sub(c.pingSince) >= time.Second {
			c.pingSince, c.pingCount = now, 0
		}
		if c.pingCount++; c.pingCount > muxPingRate {
			return status.Newf(codes.ResourceExhausted, "grpc-mux: more than %d PINGs a second", muxPingRate), websocket.ClosePolicyViolation
		}
		data := f.PingData()
		if c.control(func(b []byte) []byte { return grpcwire.AppendMuxPing(b, true, data) }) == grpcwire.ErrBacklog {
			return muxBacklog, websocket.ClosePolicyViolation
		}
		return nil, 0
	case grpcwire.MuxTypeGoAway:
		// The client opens no more streams; it closes the socket once
		// its streams have ended.
		if _, st := f.GoAway(); st.Code() != codes.OK {
			c.m.h.opts.log.Debug("grpc-mux: the client reports a connection error", "remote", c.req.RemoteAddr, "code", st.Code(), "message", st.Message())
		}
		return nil, 0
	case grpcwire.MuxTypeHeaders:
		return c.open(f)
	}
	c.mu.Lock()
	s := c.streams[f.Stream]
	used := f.Stream <= c.last
	c.mu.Unlock()
	switch {
	case !used:
		return status.Newf(codes.InvalidArgument, "grpc-mux: %v frame for stream %d, which was never opened", f.Type, f.Stream), websocket.CloseProtocolError
	case s == nil:
		return nil, 0 // it ended while the frame was on its way
	}
	var err error
	switch f.Type {
	case grpcwire.MuxTypeData:
		err = s.receive(f.Payload, f.EndStream())
	case grpcwire.MuxTypeWindowUpdate:
		err = s.grant(f.Increment())
	case grpcwire.MuxTypeCancel:
		s.cancelledByClient()
	}
	if err != nil {
		return status.Convert(err), websocket.CloseProtocolError
	}
	return nil, 0
}

// muxBacklog is the connection error of a client that lets the server's
// frames pile up: even pongs and window updates could not be queued.
var muxBacklog = status.New(codes.ResourceExhausted, "grpc-mux: the client reads nothing: too many frames wait for it")

// open starts the stream a HEADERS frame opens: a call on a goroutine of
// its own. Over MAX_STREAMS it cancels the stream instead; after a GOAWAY
// it drops it, as MUX.md says.
func (c *muxConn) open(f grpcwire.MuxFrame) (*status.Status, int) {
	c.mu.Lock()
	if f.Stream <= c.last {
		last := c.last
		c.mu.Unlock()
		return status.Newf(codes.InvalidArgument, "grpc-mux: HEADERS for stream %d, not above the last stream %d: stream ids may not be reused or go down", f.Stream, last), websocket.CloseProtocolError
	}
	c.last = f.Stream
	if c.goingAway {
		c.mu.Unlock()
		return nil, 0 // never seen by a handler: the client retries it elsewhere
	}
	if uint32(len(c.streams)) >= c.own.MaxStreams {
		c.mu.Unlock()
		st := status.Newf(codes.ResourceExhausted, "grpc-mux: the socket has %d streams open, the server's MAX_STREAMS", c.own.MaxStreams)
		if c.control(func(b []byte) []byte { return grpcwire.AppendMuxCancel(b, f.Stream, grpcstatus.FromGRPC(st)) }) == grpcwire.ErrBacklog {
			return muxBacklog, websocket.ClosePolicyViolation
		}
		return nil, 0
	}
	s := newMuxStream(c, f.Stream, f.EndStream())
	c.streams[f.Stream] = s
	c.m.h.inflight.add()
	c.mu.Unlock()
	go s.serve(string(f.Payload))
	return nil, 0
}

// remove takes a stream that has ended (TRAILERS or CANCEL went or came)
// off the socket; a socket that has gone away closes with its last stream.
func (c *muxConn) remove(s *muxStream) {
	c.mu.Lock()
	if c.streams[s.id] != s {
		c.mu.Unlock()
		return
	}
	delete(c.streams, s.id)
	closeNow := c.goingAway && len(c.streams) == 0
	c.mu.Unlock()
	if closeNow {
		go c.closeSocket(websocket.CloseGoingAway, "server is shutting down")
	}
}

func (c *muxConn) openStreams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams)
}

// goAway tells the client the server starts no more streams (shutdown):
// those it opened so far run to their end, later ones are dropped, and the
// socket closes with its last stream.
func (c *muxConn) goAway() {
	c.mu.Lock()
	if c.goingAway {
		c.mu.Unlock()
		return
	}
	c.goingAway = true
	last := c.last
	c.control(func(b []byte) []byte {
		return grpcwire.AppendMuxGoAway(b, last, grpcstatus.New(codes.OK, "server is shutting down"))
	})
	idle := len(c.streams) == 0
	c.mu.Unlock()
	if idle {
		go c.closeSocket(websocket.CloseGoingAway, "server is shutting down")
	}
}

// fail answers a connection error: a GOAWAY saying what was wrong, then
// the close, then (boundedly) the client's answer to it. Reader goroutine.
func (c *muxConn) fail(st *status.Status, closeCode int) {
	c.m.h.opts.log.Debug("grpc-mux: connection error", "remote", c.req.RemoteAddr, "code", st.Code(), "err", st.Message())
	c.mu.Lock()
	last := c.last
	c.goingAway = true
	c.mu.Unlock()
	c.control(func(b []byte) []byte { return grpcwire.AppendMuxGoAway(b, last, grpcstatus.FromGRPC(st)) })
	c.closeSocket(closeCode, "")
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}

// closeSocket writes what is queued, then the close, once, and gives the
// client closeTimeout to answer it; the reader then ends.
func (c *muxConn) closeSocket(code int, text string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.mu.Unlock()
	c.w.Finish(nil)
	c.w.Wait()
	o := c.m.h.opts
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(o.writeTimeout))
	c.ws.SetReadDeadline(time.Now().Add(o.closeTimeout))
}

// teardown ends the socket once its reader has: every stream's call ends
// (the client is gone), the writer stops, the connection closes.
func (c *muxConn) teardown() {
	c.pingTimer.Stop()
	c.end(errClientGone)
	c.w.Stop()
	c.ws.Close()
	c.unwatch()
}
