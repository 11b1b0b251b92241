package grpchttp

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// The bridge serves improbable-eng's grpc-websockets protocol, which lets a
// browser make client-streaming and bidirectional calls that gRPC-Web over
// fetch cannot:
//
//   - the client opens ws://HOST/<Service>/<Method> with subprotocol
//     grpc-websockets;
//   - its first message (binary) is the request headers as a header block;
//   - every later message is 0x00 followed by request bytes (gRPC frames, cut
//     and joined however the client likes), or the single byte 0x01 when it
//     has finished sending;
//   - the server answers with the gRPC-Web response byte stream in binary
//     messages, cut as improbable-eng's own server cuts it: each frame's
//     5-byte prefix in a message, its payload in the next (none for an
//     empty payload). The header block frame (flag 0x80) comes first, then
//     the message frames, then the trailer block frame with grpc-status,
//     then a normal close. Clients that read the stream message by message
//     (ktr0731/grpc-web-go-client, behind evans --web) depend on it.
//
// Calls go straight to the registered handlers (registry.lookup), each on a
// call (call.go) with the interceptor chain. gorilla/websocket reads and
// writes the socket: its writer, with buffers from a pool shared by every
// stream (Upgrader.WriteBufferPool), so an idle stream holds none, and its
// own answers to pings and closes.

// bridge is the http.Handler of grpc-websockets handshakes.
type bridge struct {
	h        *Handler
	upgrader websocket.Upgrader

	mu      sync.Mutex
	closing bool                         // shutdown has begun: no new streams
	stopped bool                         // shutdown has cut the sockets
	conns   map[*websocket.Conn]struct{} // upgraded connections
}

func newBridge(h *Handler) *bridge {
	b := &bridge{
		h:     h,
		conns: make(map[*websocket.Conn]struct{}),
	}
	b.upgrader = websocket.Upgrader{
		HandshakeTimeout: h.opts.headerTimeout,
		// A small read buffer: larger reads bypass it. Write buffers come
		// from a pool for the time of a write.
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: new(sync.Pool),
		Subprotocols:    []string{grpcwire.WebSocketProtocol},
		CheckOrigin:     h.policy.allows, // a refusal is answered with 403
	}
	return b
}

// ServeHTTP upgrades a grpc-websockets handshake and serves the call on it.
// A refused origin gets 403 and a handshake without the subprotocol 400,
// before any upgrade; every later failure (unknown method, too many
// streams, bad input) reaches the client as a gRPC status in trailers.
func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !offersSubprotocol(r, grpcwire.WebSocketProtocol) {
		http.Error(w, "grpc-websockets: the Sec-WebSocket-Protocol header must offer "+grpcwire.WebSocketProtocol, http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		// Shutdown waits only for streams it knows of, so none may start
		// now; a browser sees a failed handshake, which its client reports
		// as Unavailable.
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	b.h.inflight.add()
	b.mu.Unlock()

	conn, err := b.upgrader.Upgrade(corkingWriter{w}, r, nil) // the stream corks its replies (bridge_cork.go)
	if err != nil {
		// The upgrader has answered with an HTTP error.
		b.h.opts.log.Debug("grpc-websockets: handshake refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "err", err)
		b.h.inflight.done()
		return
	}
	// The stream runs on a goroutine of its own, and this one returns:
	// net/http's connection, its buffers and its goroutine's grown stack
	// are let go, which an idle stream would otherwise hold.
	go b.serveStream(conn, r)
}

// serveStream serves the call on an upgraded socket until it ends.
func (b *bridge) serveStream(conn *websocket.Conn, r *http.Request) {
	defer b.h.inflight.done()
	defer b.h.conns.hijackedEnd(r.Context())
	b.track(conn)
	defer b.untrack(conn)

	s := newBridgeStream(b, conn, r)
	release, err := b.h.opts.limits.acquire(clientOf(r.RemoteAddr))
	if err != nil {
		s.refuse(err)
		return
	}
	defer release()
	s.serve()
}

// offersSubprotocol reports whether the handshake offers the WebSocket
// subprotocol name.
func offersSubprotocol(r *http.Request, name string) bool {
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), name) {
				return true
			}
		}
	}
	return false
}

// WebSocketStreams returns the grpc-websockets streams open now, each on
// a socket of its own, for metrics.
func (h *Handler) WebSocketStreams() int {
	h.bridge.mu.Lock()
	defer h.bridge.mu.Unlock()
	return len(h.bridge.conns)
}

func (b *bridge) track(c *websocket.Conn) {
	b.mu.Lock()
	b.conns[c] = struct{}{}
	stopped := b.stopped
	b.mu.Unlock()
	if stopped {
		c.NetConn().SetDeadline(time.Now())
	}
}

func (b *bridge) untrack(c *websocket.Conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

// beginShutdown refuses new streams from now on.
func (b *bridge) beginShutdown() {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
}

// cut closes every socket: reads and writes blocked on them fail, and
// their streams end.
func (b *bridge) cut() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	now := time.Now()
	for c := range b.conns {
		c.NetConn().SetDeadline(now)
	}
}
