package server

import (
	"context"
	"log/slog"
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
// call of ours (call.go) with the interceptor chain, not through
// grpc.Server.ServeHTTP.

// bridgeMaxHeaderBytes bounds the request's header block.
const bridgeMaxHeaderBytes = 64 << 10

// bridgeConfig tunes the bridge: the Server's Config, defaults applied.
type bridgeConfig struct {
	maxMsgSize          int
	maxStreams          int
	maxStreamsPerClient int
	origin              *originPolicy
	pingInterval        time.Duration
	pongWait            time.Duration
	writeTimeout        time.Duration
	headerTimeout       time.Duration
	closeTimeout        time.Duration
	messageTimeout      time.Duration
}

// bridge is the http.Handler of grpc-websockets handshakes.
type bridge struct {
	reg      *registry
	srv      *callServer
	cfg      bridgeConfig
	log      *slog.Logger
	upgrader websocket.Upgrader

	open atomic.Int64 // streams counted against maxStreams

	// frameBufs are the streams' write buffers (wsWriter), shared.
	frameBufs sync.Pool

	mu        sync.Mutex
	closing   bool                         // shutdown has begun: no new streams
	stopped   bool                         // shutdown has cut the sockets
	conns     map[*websocket.Conn]struct{} // upgraded connections
	perClient map[string]int               // open streams by client address
	wg        sync.WaitGroup               // one per ServeHTTP past the closing check
}

func newBridge(reg *registry, srv *callServer, cfg bridgeConfig, log *slog.Logger) *bridge {
	b := &bridge{
		reg:       reg,
		srv:       srv,
		cfg:       cfg,
		log:       log,
		conns:     make(map[*websocket.Conn]struct{}),
		perClient: make(map[string]int),
	}
	b.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.headerTimeout,
		// A small read buffer: larger reads bypass it. gorilla writes only
		// the handshake: the streams write their frames themselves
		// (wsWriter), from buffers they share, so an idle stream holds
		// none.
		ReadBufferSize:  1024,
		WriteBufferSize: 256,
		Subprotocols:    []string{grpcwire.WebSocketProtocol},
		CheckOrigin:     cfg.origin.allows, // a refusal is answered with 403
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
	b.wg.Add(1)
	b.mu.Unlock()

	conn, err := b.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered with an HTTP error.
		b.log.Debug("grpc-websockets: handshake refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "err", err)
		b.wg.Done()
		return
	}
	// The stream runs on a goroutine of its own, and this one returns:
	// net/http's connection, its buffers and its goroutine's grown stack
	// are let go, which an idle stream would otherwise hold.
	go b.serveStream(conn, r)
}

// serveStream serves the call on an upgraded socket until it ends.
func (b *bridge) serveStream(conn *websocket.Conn, r *http.Request) {
	defer b.wg.Done()
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
	switch {
	case n > int64(b.cfg.maxStreams):
		s.refuse(status.Errorf(codes.ResourceExhausted, "server has %d WebSocket streams open, its limit", b.cfg.maxStreams))
	case mine > b.cfg.maxStreamsPerClient:
		s.refuse(status.Errorf(codes.ResourceExhausted, "client %s has %d WebSocket streams open, its share of the server's %d", client, b.cfg.maxStreamsPerClient, b.cfg.maxStreams))
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

// wait waits until every stream has ended, or ctx has; it reports whether
// they all ended.
func (b *bridge) wait(ctx context.Context) bool {
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
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
