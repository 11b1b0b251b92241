package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/wire"
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
//     messages: a header block frame (flag 0x80), message frames, a trailer
//     block frame with grpc-status, then a normal close. A block always
//     ends its message, as improbable-eng's JS client needs.
//
// Calls go straight to the registered handlers (registry.lookup), each on a
// bridgeStream of our own, not through grpc.Server.ServeHTTP; so the gRPC
// server's interceptors and stats handlers, of which New sets none, do not
// see them.

// Defaults of bridgeConfig's zero timing fields.
const (
	defaultBridgePingInterval  = 30 * time.Second
	defaultBridgePongWait      = 30 * time.Second
	defaultBridgeHeaderTimeout = 10 * time.Second
	defaultBridgeCloseTimeout  = 2 * time.Second
	// bridgeMaxHeaderBytes bounds the request's header block.
	bridgeMaxHeaderBytes = 64 << 10
)

// bridgeConfig tunes the bridge. Zero timing fields take their defaults.
type bridgeConfig struct {
	// maxMsgSize bounds one message in either direction, in bytes.
	maxMsgSize int
	// maxStreams bounds the bridged streams open at once, server-wide.
	maxStreams int
	// origin decides which browser origins may open a stream.
	origin originPolicy

	// pingInterval is how often an open stream is pinged.
	pingInterval time.Duration
	// pongWait is how long a ping may go unanswered (with nothing else
	// received either) before the peer is taken for dead.
	pongWait time.Duration
	// writeTimeout bounds one write: a client that stops reading for this
	// long has its stream ended, so nothing piles up for it.
	writeTimeout time.Duration
	// headerTimeout bounds the wait for the request's header message.
	headerTimeout time.Duration
	// closeTimeout bounds the wait for the client's answer to our close.
	closeTimeout time.Duration
}

func (c *bridgeConfig) setDefaults() {
	if c.maxMsgSize <= 0 {
		c.maxMsgSize = DefaultMaxMsgSize
	}
	if c.maxStreams <= 0 {
		c.maxStreams = DefaultMaxStreams
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.pingInterval, defaultBridgePingInterval},
		{&c.pongWait, defaultBridgePongWait},
		{&c.writeTimeout, defaultWriteTimeout},
		{&c.headerTimeout, defaultBridgeHeaderTimeout},
		{&c.closeTimeout, defaultBridgeCloseTimeout},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
}

// bridge is the http.Handler of grpc-websockets handshakes.
type bridge struct {
	reg      *registry
	cfg      bridgeConfig
	log      *slog.Logger
	upgrader websocket.Upgrader

	replies *replies

	open atomic.Int64 // streams counted against maxStreams

	// stopCtx is every stream's parent; stop cancels it once shutdown's
	// grace period is over.
	stopCtx context.Context
	stop    context.CancelCauseFunc

	mu      sync.Mutex
	closing bool                         // shutdown has begun: no new streams
	stopped bool                         // shutdown's grace period is over
	conns   map[*websocket.Conn]struct{} // upgraded connections
	wg      sync.WaitGroup               // one per ServeHTTP past the closing check
}

func newBridge(reg *registry, r *replies, cfg bridgeConfig, log *slog.Logger) *bridge {
	cfg.setDefaults()
	b := &bridge{
		reg:     reg,
		replies: r,
		cfg:     cfg,
		log:     log,
		conns:   make(map[*websocket.Conn]struct{}),
	}
	b.stopCtx, b.stop = context.WithCancelCause(context.Background())
	b.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.headerTimeout,
		// Zero buffer sizes and no write buffer pool: gorilla keeps the
		// HTTP server's hijacked 4 KiB reader and writer buffers, which
		// exist anyway. A pool would save 4 KiB per idle stream but box an
		// allocation into every message written.
		Subprotocols: []string{wire.WebSocketProtocol},
		CheckOrigin:  cfg.origin.allows, // a refusal is answered with 403
	}
	return b
}

// ServeHTTP upgrades a grpc-websockets handshake and serves the call on it.
// A refused origin gets 403 and a handshake without the subprotocol 400,
// before any upgrade; every later failure (unknown method, too many
// streams, bad input) reaches the client as a gRPC status in trailers.
func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !offersSubprotocol(r) {
		http.Error(w, "grpc-websockets: the Sec-WebSocket-Protocol header must offer "+wire.WebSocketProtocol, http.StatusBadRequest)
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
	defer b.wg.Done()

	conn, err := b.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered with an HTTP error.
		b.log.Debug("grpc-websockets: handshake refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	b.track(conn)
	defer b.untrack(conn)

	// Every upgraded socket counts against the cap, refused ones too: a
	// refusal holds its socket until the client has read the trailers.
	n := b.open.Add(1)
	defer b.open.Add(-1)
	if n > int64(b.cfg.maxStreams) {
		b.refuse(conn, status.Newf(codes.ResourceExhausted, "server has %d WebSocket streams open, its limit", b.cfg.maxStreams))
		return
	}
	method := r.URL.Path
	h, ok := b.reg.lookup(method)
	if !ok {
		b.refuse(conn, status.Newf(codes.Unimplemented, "unknown method %s", method))
		return
	}
	newBridgeStream(b, conn, r, method, h).serve()
}

// offersSubprotocol reports whether the handshake asks for grpc-websockets.
func offersSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), wire.WebSocketProtocol) {
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

// refuse answers a call that will not run with st and closes the socket.
func (b *bridge) refuse(conn *websocket.Conn, st *status.Status) {
	b.log.Debug("grpc-websockets: call refused", "code", st.Code(), "msg", st.Message())
	// The header block and the trailers in two messages: a block must end
	// its message (see bridgeStream.sendHeader).
	conn.SetWriteDeadline(time.Now().Add(b.cfg.writeTimeout))
	if conn.WriteMessage(websocket.BinaryMessage, b.replies.headerFrame) != nil ||
		conn.WriteMessage(websocket.BinaryMessage, b.replies.appendTrailer(nil, nil, st)) != nil {
		conn.Close()
		return
	}
	b.closeHandshake(conn)
	// The client's answer to our close has not been read yet: read until it
	// comes (or the wait ends), so closing does not reset the connection
	// under trailers the client has still to read.
	conn.SetReadDeadline(time.Now().Add(b.cfg.closeTimeout))
	for {
		if _, _, err := conn.NextReader(); err != nil {
			break
		}
	}
	conn.Close()
}

// closeHandshake sends a normal close frame after the trailers.
func (b *bridge) closeHandshake(conn *websocket.Conn) error {
	return conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(b.cfg.writeTimeout))
}

// shutdown refuses new streams, lets open ones run until ctx ends, then
// cancels them (their clients get Unavailable in trailers when the socket
// still takes them, else the socket closes) and returns once every stream
// goroutine has ended.
func (b *bridge) shutdown(ctx context.Context) {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()

	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	b.stop(errShutdown)
	b.mu.Lock()
	b.stopped = true
	now := time.Now()
	for c := range b.conns {
		// Wakes reads and writes blocked on the socket; handlers see their
		// context end with errShutdown.
		c.NetConn().SetDeadline(now)
	}
	b.mu.Unlock()
	<-done
}
