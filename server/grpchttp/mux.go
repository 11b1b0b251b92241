package grpchttp

import (
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// The mux serves grpc-mux.v1 (proto/grpcwire/MUX.md, whose codec and
// window accounting are package grpcwire's): many calls of every kind on
// one WebSocket, each a stream with a window in each direction, so that a
// page holds one socket however many calls it makes, and a slow reader of
// one stream never stalls the others.
//
//   - mux.go: the handshake (the same host and origin policy as every
//     call), the sockets in service, and shutdown (GOAWAY to each);
//   - mux_conn.go: one socket: its reader goroutine, which checks every
//     frame and hands each to its stream, its writer (a
//     grpcwire.BatchWriter that puts the frames queued while it writes in
//     one WebSocket message), keepalive, GOAWAY and close;
//   - mux_stream.go: one stream, the callTransport of a call (call.go), so
//     that a muxed call is a call like any other: interceptors, stats
//     handlers, limits, message sizes, deadlines and compression apply.

// muxServer is the http.Handler of grpc-mux.v1 handshakes.
type muxServer struct {
	h        *Handler
	upgrader websocket.Upgrader
	own      grpcwire.MuxSettings // what the server announces

	mu      sync.Mutex
	closing bool // shutdown has begun: no new sockets, a GOAWAY to each
	stopped bool // shutdown has cut the sockets
	conns   map[*muxConn]struct{}
}

func newMuxServer(h *Handler) *muxServer {
	o := h.opts
	m := &muxServer{
		h: h,
		own: grpcwire.MuxSettings{
			InitialWindow: o.muxWindow,
			MaxFrameSize:  grpcwire.DefaultMuxSettings().MaxFrameSize,
			MaxHeaderSize: MaxHeaderBytes,
			MaxStreams:    o.muxStreams,
		},
		conns: make(map[*muxConn]struct{}),
	}
	m.upgrader = websocket.Upgrader{
		HandshakeTimeout: o.headerTimeout,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		WriteBufferPool:  new(sync.Pool),
		Subprotocols:     []string{grpcwire.MuxProtocol},
		CheckOrigin:      h.policy.allows, // a refusal is answered with 403
	}
	return m
}

// ServeHTTP upgrades a handshake that offers grpc-mux.v1, at any path
// (clients use grpcwire.MuxPath), and serves the socket. The host was
// checked by the Handler; a refused origin gets 403 before any upgrade.
func (m *muxServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	m.h.inflight.add() // Shutdown waits for the socket, which closes once its streams ended
	m.mu.Unlock()
	ws, err := m.upgrader.Upgrade(w, r, nil)
	if err != nil {
		m.h.opts.log.Debug("grpc-mux: handshake refused", "origin", r.Header.Get("Origin"), "err", err)
		m.h.inflight.done()
		return
	}
	// As the bridge does: this goroutine returns, and net/http lets go of
	// its buffers.
	go m.serveConn(ws, r)
}

// serveConn serves one socket until it closes.
func (m *muxServer) serveConn(ws *websocket.Conn, r *http.Request) {
	defer m.h.inflight.done()
	defer m.h.conns.hijackedEnd(r.Context())
	c := newMuxConn(m, ws, r)
	closing, stopped := m.track(c)
	defer m.untrack(c)
	if stopped {
		ws.NetConn().SetDeadline(time.Now())
	}
	if closing {
		c.goAway()
	}
	c.serve()
}

// MuxSockets returns the grpc-mux.v1 sockets open now, and the streams
// open on them, for metrics.
func (h *Handler) MuxSockets() (sockets, streams int) {
	m := h.mux
	m.mu.Lock()
	conns := make([]*muxConn, 0, len(m.conns))
	for c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	for _, c := range conns {
		streams += c.openStreams()
	}
	return len(conns), streams
}

func (m *muxServer) track(c *muxConn) (closing, stopped bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns[c] = struct{}{}
	return m.closing, m.stopped
}

func (m *muxServer) untrack(c *muxConn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

// beginShutdown refuses new sockets and sends each open one a GOAWAY: its
// streams go on to their end, then it closes.
func (m *muxServer) beginShutdown() {
	m.mu.Lock()
	m.closing = true
	conns := make([]*muxConn, 0, len(m.conns))
	for c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	for _, c := range conns {
		c.goAway()
	}
}

// cut closes every socket: reads and writes blocked on them fail, and
// their streams end.
func (m *muxServer) cut() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	now := time.Now()
	for c := range m.conns {
		c.ws.NetConn().SetDeadline(now)
	}
}
