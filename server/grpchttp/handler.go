package grpchttp

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// The protocols a call can arrive by, as Protocol names them. A call whose
// messages are JSON has "+json" after the name ("grpc-web+json").
const (
	// ProtocolGRPC is native gRPC: application/grpc over HTTP/2, on the
	// Handler or on grpc-go's transport.
	ProtocolGRPC = "grpc"
	// ProtocolGRPCWeb is gRPC-Web with binary bodies, over HTTP/1.1 or
	// HTTP/2.
	ProtocolGRPCWeb = "grpc-web"
	// ProtocolGRPCWebText is gRPC-Web with base64 bodies.
	ProtocolGRPCWebText = "grpc-web-text"
	// ProtocolWebSockets is improbable-eng's grpc-websockets: one call on
	// one WebSocket.
	ProtocolWebSockets = "grpc-websockets"
	// ProtocolMux is grpc-mux.v1: many calls on one WebSocket
	// (proto/grpcwire/MUX.md).
	ProtocolMux = "grpc-mux"

	jsonSuffix = "+json"
)

// protocolKey is the context key of the protocol a call arrived by.
type protocolKey struct{}

// Protocol returns the protocol the call of ctx arrived by, for logs,
// interceptors and stats handlers: ProtocolGRPC, ProtocolGRPCWeb,
// ProtocolGRPCWebText, ProtocolWebSockets or ProtocolMux, with "+json" for JSON
// messages; "" for a context that is not a call's of a Handler or of a
// grpc.Server made with ServerOptions.
func Protocol(ctx context.Context) string {
	p, _ := ctx.Value(protocolKey{}).(string)
	return p
}

// Handler serves the gRPC services registered on it as one http.Handler,
// on every protocol: gRPC-Web (binary, text and JSON, over HTTP/1.1 and
// HTTP/2), native gRPC over net/http's HTTP/2, and improbable-eng's
// grpc-websockets bridge for the client and bidirectional streams browsers
// cannot make over fetch. Every call runs the same interceptor chain and
// stats handlers, under the same policy (hosts, origins) and limits, with
// bounded buffering and time limits on every read and write.
//
// Create it with New, register services on it (it is a
// grpc.ServiceRegistrar), serve it with an http.Server set up by
// ConfigureServer, and stop it with Shutdown.
type Handler struct {
	opts   *options
	reg    *registry
	policy *policy
	calls  *callServer
	web    *httpCalls
	cors   http.Handler
	bridge *bridge
	mux    *muxServer
	conns  *connStats

	stopCalls context.CancelCauseFunc
	inflight  callGroup
}

// New returns a Handler. Services registered on it are registered on gs
// too, when gs is not nil, so that a program can serve them natively with
// gs.Serve as well; services registered on gs directly are not known to
// the Handler. To give gs the Handler's policy (hosts, origins,
// interceptors, stats handlers, limits), make it with
// grpc.NewServer(ServerOptions(opts...)...) and the same options.
func New(gs *grpc.Server, opts ...Option) *Handler {
	o := newOptions(opts)
	stop, stopCalls := context.WithCancelCause(context.Background())
	h := &Handler{
		opts:   o,
		reg:    newRegistry(gs, o.unknown),
		policy: newPolicy(o),
		calls: &callServer{
			replies:        newReplies(o.maxSendMsgSize),
			unary:          chainUnary(unaryChain(o.log, o.unary)),
			stream:         chainStream(streamChain(o.log, o.stream)),
			stats:          o.stats,
			log:            o.log,
			maxRecvMsgSize: o.maxRecvMsgSize,
			maxSendMsgSize: o.maxSendMsgSize,
			codec:          o.codec,
		},
		stopCalls: stopCalls,
	}
	h.calls.stop = context.WithValue(stop, stopKey{}, h)
	h.conns = newConnStats(o.stats)
	h.web = &httpCalls{h: h}
	h.cors = h.policy.cors(http.HandlerFunc(h.serveGRPC))
	h.bridge = newBridge(h)
	h.mux = newMuxServer(h)
	return h
}

// RegisterService implements grpc.ServiceRegistrar: the service is served
// on every protocol.
func (h *Handler) RegisterService(sd *grpc.ServiceDesc, impl any) {
	h.reg.RegisterService(sd, impl)
}

// GetServiceInfo returns the services registered on the Handler, as
// grpc.Server's does: with it and RegisterService, a Handler is what
// grpc-go's reflection.Register takes.
func (h *Handler) GetServiceInfo() map[string]grpc.ServiceInfo {
	return h.reg.GetServiceInfo()
}

// stopKey marks the contexts that derive from a Handler's stop context
// (ConfigureServer's BaseContext): their calls need no watch of their own.
type stopKey struct{}

// ServeHTTP routes a request: a host the policy refuses gets 403; a
// grpc-mux.v1 handshake to the mux, a grpc-websockets one to the bridge; a gRPC or gRPC-Web call,
// or its CORS preflight, to the call core; a POST of another content type
// to a method's path gets 415; anything else to the fallback.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.policy.allowsHost(r.Host) {
		h.opts.log.Warn("request refused: the server does not answer to this host name", "host", r.Host, "remote", r.RemoteAddr, "path", r.URL.Path)
		refuse(w, r, status.Newf(codes.PermissionDenied, "this server does not answer to host %q", r.Host))
		return
	}
	switch {
	case isWebSocketUpgrade(r) && offersSubprotocol(r, grpcwire.MuxProtocol):
		h.mux.ServeHTTP(w, r)
	case isWebSocketUpgrade(r):
		h.bridge.ServeHTTP(w, r)
	case isGRPC(r) || isGRPCPreflight(r):
		h.cors.ServeHTTP(w, r)
	case r.Method == http.MethodPost && h.reg.isMethodPath(r.URL.Path):
		w.Header().Set("Accept-Post", grpcwire.ContentTypeGRPC+", "+grpcwire.ContentTypeWeb+", "+grpcwire.ContentTypeText)
		http.Error(w, "content-type "+r.Header.Get("Content-Type")+" is neither gRPC nor gRPC-Web", http.StatusUnsupportedMediaType)
	default:
		h.opts.fallback.ServeHTTP(w, r)
	}
}

// serveGRPC serves a gRPC or gRPC-Web call, past CORS: one from an origin
// that may not call is refused before it runs.
func (h *Handler) serveGRPC(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		return // a preflight, answered by CORS
	}
	if st := h.policy.check(r.Host, r.Header.Get("Origin")); st != nil {
		h.opts.log.Debug("call refused", "origin", r.Header.Get("Origin"), "path", r.URL.Path, "why", st.Message())
		refuse(w, r, st)
		return
	}
	h.web.ServeHTTP(w, r)
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// isGRPC reports whether r is a gRPC or gRPC-Web call, by its content type
// (matched without regard to case, as media types are).
func isGRPC(r *http.Request) bool {
	_, ok := grpcwire.ParseContentType(r.Header.Get("Content-Type"))
	return ok
}

// isGRPCPreflight reports whether r is the CORS preflight of a gRPC-Web
// call: an OPTIONS request that announces a POST.
func isGRPCPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// ConfigureServer sets s up to serve the Handler: HTTP/1.1, HTTP/2 over TLS
// and cleartext HTTP/2 with prior knowledge (native gRPC's h2c); the
// Handler's limits on headers, streams per connection, flow-control
// windows and keepalive; contexts that derive from the Handler's, so that
// Shutdown reaches every call at once; the stats handlers' connection
// events; and the TLS state of connections whose TLS was done outside
// net/http and that carry it (a TLSConnectionState() *tls.ConnectionState
// method), for the calls' peer. Hooks s already has (ConnContext,
// ConnState) run first; with a BaseContext of its own, each call watches
// the Handler's stop context itself. Call it before s serves.
func (h *Handler) ConfigureServer(s *http.Server) {
	o := h.opts
	if s.Handler == nil {
		s.Handler = h
	}
	if s.ReadHeaderTimeout == 0 {
		s.ReadHeaderTimeout = o.headerTimeout
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = 2 * time.Minute
	}
	s.MaxHeaderBytes = MaxHeaderBytes
	s.HTTP2 = &http.HTTP2Config{
		MaxConcurrentStreams:          int(o.maxConcurrentStreams),
		MaxReceiveBufferPerStream:     streamWindow,
		MaxReceiveBufferPerConnection: connWindow,
		MaxDecoderHeaderTableSize:     4 << 10,
		MaxReadFrameSize:              16 << 10,
		SendPingTimeout:               o.pingInterval,
		PingTimeout:                   o.pongWait,
	}
	if s.Protocols == nil {
		s.Protocols = new(http.Protocols)
		s.Protocols.SetHTTP1(true)
		s.Protocols.SetHTTP2(true)
	}
	s.Protocols.SetUnencryptedHTTP2(true)
	if s.BaseContext == nil {
		s.BaseContext = func(net.Listener) context.Context { return h.calls.stop }
	}
	connContext := s.ConnContext
	s.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connContext != nil {
			ctx = connContext(ctx, c)
		}
		if tc, ok := c.(tlsConn); ok {
			if cs := tc.TLSConnectionState(); cs != nil {
				ctx = context.WithValue(ctx, tlsStateKey{}, cs)
			}
		}
		return ctx
	}
	h.conns.configure(s)
}

// tlsConn is a connection whose TLS was done outside net/http (a listener
// that routes connections by their first bytes, say): net/http serves it as
// cleartext, and its calls learn its TLS state from it.
type tlsConn interface {
	TLSConnectionState() *tls.ConnectionState
}

// Shutdown refuses new WebSocket streams (a multiplexed socket gets a
// GOAWAY: its streams in flight go on, new ones are refused) and waits for the calls in flight
// to finish, until ctx ends; then it ends those left with Unavailable
// ("server is shutting down"), which they get to send within the write
// timeout, and closes the sockets of any still going. It returns ctx's
// error if calls had to be ended. Shut the http.Server down beside it
// (http.Server.Shutdown does not wait for hijacked WebSockets, nor end
// calls that never finish: this does).
func (h *Handler) Shutdown(ctx context.Context) error {
	h.bridge.beginShutdown()
	h.mux.beginShutdown()
	if h.inflight.wait(ctx) {
		return nil
	}
	h.stopCalls(errShutdown)
	wctx, cancel := context.WithTimeout(context.Background(), h.opts.writeTimeout)
	defer cancel()
	if !h.inflight.wait(wctx) {
		h.bridge.cut()
		h.mux.cut()
		h.inflight.wait(context.Background())
	}
	return ctx.Err()
}

// callGroup counts the calls in flight, so that Shutdown can wait for
// them.
type callGroup struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0 while someone waits
}

func (g *callGroup) add() {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
}

func (g *callGroup) done() {
	g.mu.Lock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// wait waits until no call is in flight, or ctx ends; it reports whether
// none was.
func (g *callGroup) wait(ctx context.Context) bool {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return true
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-ctx.Done():
		return false
	}
}

// callContext is the context a call of r derives from: r's, which ends
// with the request and derives from the Handler's stop context when the
// http.Server was set up by ConfigureServer; else the call watches the
// stop context itself, until release.
func (h *Handler) callContext(r *http.Request) (ctx context.Context, release func()) {
	ctx = r.Context()
	if ctx.Value(stopKey{}) == h {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(h.calls.stop, func() { cancel(context.Cause(h.calls.stop)) })
	return ctx, func() {
		stop()
		cancel(nil)
	}
}
