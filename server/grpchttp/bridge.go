package grpchttp

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

	open atomic.Int64 // streams counted against maxStreams

	mu        sync.Mutex
	closing   bool                         // shutdown has begun: no new streams
	stopped   bool                         // shutdown has cut the sockets
	conns     map[*websocket.Conn]struct{} // upgraded connections
	perClient map[string]int               // open streams by client address
}

func newBridge(h *Handler) *bridge {
	b := &bridge{
		h:         h,
		conns:     make(map[*websocket.Conn]struct{}),
		perClient: make(map[string]int),
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
	if !offersSubprotocol(r) {
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

	conn, err := b.upgrader.Upgrade(w, r, nil)
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

	// Every upgraded socket counts against the caps, refused ones too: a
	// refusal holds its socket until the client has read the trailers.
	client := clientAddr(r)
	n := b.open.Add(1)
	defer b.open.Add(-1)
	mine := b.countClient(client, 1)
	defer b.countClient(client, -1)
	s := newBridgeStream(b, conn, r)
	o := b.h.opts
	switch {
	case n > int64(o.maxStreams):
		s.refuse(status.Errorf(codes.ResourceExhausted, "server has %d WebSocket streams open, its limit", o.maxStreams))
	case mine > o.maxStreamsPerClient:
		s.refuse(status.Errorf(codes.ResourceExhausted, "client %s has %d WebSocket streams open, its share of the server's %d", client, o.maxStreamsPerClient, o.maxStreams))
	default:
		s.serve()
	}
}

// clientAddr is the address a client's streams are counted under: its IP.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// countClient adds d to the streams of client and returns the new count.
func (b *bridge) countClient(client string, d int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.perClient[client] + d
	if n <= 0 {
		delete(b.perClient, client)
	} else {
		b.perClient[client] = n
	}
	return n
}

// offersSubprotocol reports whether the handshake asks for grpc-websockets.
func offersSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), grpcwire.WebSocketProtocol) {
				return true
			}
		}
	}
	return false
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
