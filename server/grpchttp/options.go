package grpchttp

import (
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/stats"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// Defaults of the options; each limit has one.
const (
	// DefaultMaxMsgSize bounds one message in each direction: gRPC's own
	// default.
	DefaultMaxMsgSize = 4 << 20
	// DefaultMaxStreams bounds the calls in flight at once, server-wide,
	// on every protocol (each is a stream); a client address may have a
	// sixteenth of them.
	DefaultMaxStreams = 4096
	// DefaultMaxConcurrentStreams bounds the calls in flight on one HTTP/2
	// connection, on net/http's transport (ConfigureServer) and grpc-go's
	// (ServerOptions).
	DefaultMaxConcurrentStreams = 100
	// DefaultWriteTimeout bounds one write to a client: one that stops
	// reading for this long has its call ended.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMessageTimeout bounds how long a request message may take to
	// arrive once begun, plus a second per 64 KiB of it.
	DefaultMessageTimeout = 10 * time.Second
	// DefaultPingInterval is how often an idle WebSocket or HTTP/2
	// connection is pinged, and DefaultPongWait how long a ping may go
	// unanswered.
	DefaultPingInterval = 30 * time.Second
	DefaultPongWait     = 30 * time.Second
	// DefaultHeaderTimeout bounds the wait for a request's headers (HTTP,
	// and a WebSocket stream's header block).
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultCloseTimeout bounds the wait for a client's answer to the
	// close that ends a WebSocket stream.
	DefaultCloseTimeout = 2 * time.Second
	// MaxHeaderBytes bounds a request's headers on every path: HTTP/1.1,
	// HTTP/2 and a WebSocket stream's header block.
	MaxHeaderBytes = 64 << 10
	// DefaultMuxStreams bounds the streams open at once on one grpc-mux.v1
	// socket (its MAX_STREAMS): the per-client share of DefaultMaxStreams,
	// so that one page can hold as many calls on one socket as it may
	// hold at all.
	DefaultMuxStreams = DefaultMaxStreams / 16
	// DefaultMuxWindow is a grpc-mux.v1 stream's initial window (its
	// INITIAL_WINDOW): the request bytes one stream may make the server
	// buffer, as HTTP/2's stream window does.
	DefaultMuxWindow = streamWindow
)

// HTTP/2 flow-control windows, on both transports: what one stream, and one
// connection, may make the server buffer of requests.
const (
	streamWindow = 64 << 10
	connWindow   = 1 << 20
)

// An Option configures a Handler (New) and the grpc.Server of the same
// policy (ServerOptions).
type Option func(*options)

// options are a Handler's settings, defaults applied by newOptions.
type options struct {
	origins              []string
	hosts                []string
	loopbackHosts        bool
	maxRecvMsgSize       int
	maxSendMsgSize       int
	maxStreams           int
	maxStreamsPerClient  int
	limits               *Limits
	maxConcurrentStreams uint32
	writeTimeout         time.Duration
	messageTimeout       time.Duration
	pingInterval         time.Duration
	pongWait             time.Duration
	headerTimeout        time.Duration
	closeTimeout         time.Duration
	muxStreams           uint32
	muxWindow            uint32
	unary                []grpc.UnaryServerInterceptor
	stream               []grpc.StreamServerInterceptor
	stats                []stats.Handler
	unknown              grpc.StreamHandler
	codec                encoding.CodecV2 // forced for every call; nil: by content type
	fallback             http.Handler
	browserHeaders       *browserHeaders
	log                  *slog.Logger
}

func newOptions(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	if o.maxRecvMsgSize <= 0 {
		o.maxRecvMsgSize = DefaultMaxMsgSize
	}
	if o.maxSendMsgSize <= 0 {
		o.maxSendMsgSize = DefaultMaxMsgSize
	}
	if o.limits == nil {
		o.limits = NewLimits(o.maxStreams, o.maxStreamsPerClient)
	}
	if o.maxConcurrentStreams == 0 {
		o.maxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if o.muxStreams == 0 {
		o.muxStreams = DefaultMuxStreams
	}
	o.muxStreams = min(o.muxStreams, grpcwire.MuxMaxStreamID)
	if o.muxWindow == 0 {
		o.muxWindow = DefaultMuxWindow
	}
	o.muxWindow = min(max(o.muxWindow, 1<<10), grpcwire.MuxMaxWindow)
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&o.writeTimeout, DefaultWriteTimeout},
		{&o.messageTimeout, DefaultMessageTimeout},
		{&o.pingInterval, DefaultPingInterval},
		{&o.pongWait, DefaultPongWait},
		{&o.headerTimeout, DefaultHeaderTimeout},
		{&o.closeTimeout, DefaultCloseTimeout},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if o.fallback == nil {
		o.fallback = http.NotFoundHandler()
	}
	if o.browserHeaders == nil {
		o.browserHeaders = newBrowserHeaders(nil)
	}
	return o
}

// WithAllowedOrigins names the browser origins ("https://app.example.com"),
// besides the page's own, that may call: they get CORS answers. A call from
// any other origin, "null" included, is refused before it runs, on every
// protocol. Without it only the page's own origin and clients that are not
// browsers (no Origin header) may call.
func WithAllowedOrigins(origins ...string) Option {
	return func(o *options) { o.origins = append(o.origins, origins...) }
}

// WithAllowedHosts names the host names requests may address (the Host
// header, HTTP/2's :authority), any port: a request for another name gets
// 403 (PermissionDenied), which defeats DNS rebinding. Without it, or
// WithLoopbackHostsOnly, any name may.
func WithAllowedHosts(hosts ...string) Option {
	return func(o *options) { o.hosts = append(o.hosts, hosts...) }
}

// WithLoopbackHostsOnly lets only loopback names (localhost, 127.0.0.0/8,
// [::1]) address the server, when no WithAllowedHosts names any: the safe
// default of a server listening on a loopback address, which a page served
// from elsewhere must not reach through a name that resolves to it.
func WithLoopbackHostsOnly() Option {
	return func(o *options) { o.loopbackHosts = true }
}

// WithMaxMsgSize bounds one message, in bytes, in both directions
// (default DefaultMaxMsgSize): a larger one is ResourceExhausted. A
// compressed request is bounded both as it arrives and as it decompresses.
func WithMaxMsgSize(n int) Option {
	return func(o *options) { o.maxRecvMsgSize, o.maxSendMsgSize = n, n }
}

// WithMaxRecvMsgSize bounds one request message only, as
// grpc.MaxRecvMsgSize does.
func WithMaxRecvMsgSize(n int) Option {
	return func(o *options) { o.maxRecvMsgSize = n }
}

// WithMaxSendMsgSize bounds one reply message only, as
// grpc.MaxSendMsgSize does.
func WithMaxSendMsgSize(n int) Option {
	return func(o *options) { o.maxSendMsgSize = n }
}

// WithMaxStreams bounds the calls in flight at once, on every protocol
// (default DefaultMaxStreams), and WithMaxStreamsPerClient those of one
// client address (default a sixteenth of the former). A call over either
// gets ResourceExhausted before it runs. WithLimits overrides both.
func WithMaxStreams(n int) Option {
	return func(o *options) { o.maxStreams = n }
}

// WithMaxStreamsPerClient: see WithMaxStreams.
func WithMaxStreamsPerClient(n int) Option {
	return func(o *options) { o.maxStreamsPerClient = n }
}

// WithLimits counts the calls against l, which a Handler and a grpc.Server
// made with ServerOptions should share (see Limits).
func WithLimits(l *Limits) Option {
	return func(o *options) { o.limits = l }
}

// WithMaxConcurrentStreams bounds the calls in flight on one HTTP/2
// connection (default DefaultMaxConcurrentStreams).
func WithMaxConcurrentStreams(n uint32) Option {
	return func(o *options) { o.maxConcurrentStreams = n }
}

// WithWriteTimeout bounds one write to a client (default
// DefaultWriteTimeout): a client that stops reading for this long has its
// call ended with Unavailable.
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) { o.writeTimeout = d }
}

// WithMessageTimeout bounds how long a request message may take to arrive
// once its first byte has, plus a second per 64 KiB (default
// DefaultMessageTimeout); a unary request, all of it, from the call's
// start. A slower one is DeadlineExceeded. Waiting between the messages of
// a stream is never cut.
func WithMessageTimeout(d time.Duration) Option {
	return func(o *options) { o.messageTimeout = d }
}

// WithKeepalive sets how often idle WebSocket streams, grpc-mux.v1 sockets
// and HTTP/2 connections are pinged, and how long a ping may go unanswered
// before the client is taken for gone (defaults DefaultPingInterval and
// DefaultPongWait). The default interval keeps a socket busy across a
// proxy that cuts connections idle for 60 s.
func WithKeepalive(interval, wait time.Duration) Option {
	return func(o *options) { o.pingInterval, o.pongWait = interval, wait }
}

// WithMuxStreams bounds the streams open at once on one grpc-mux.v1 socket
// (default DefaultMuxStreams); a client that opens more gets the extra
// ones cancelled with ResourceExhausted. Every stream also counts against
// WithMaxStreams and WithMaxStreamsPerClient, as any call does.
func WithMuxStreams(n uint32) Option {
	return func(o *options) { o.muxStreams = n }
}

// WithMuxWindow sets a grpc-mux.v1 stream's initial window, in bytes
// (default DefaultMuxWindow, at least 1 KiB): how many request bytes a
// client may send on a stream before its handler reads them. A socket can
// make the server buffer at most WithMuxStreams times this.
func WithMuxWindow(n uint32) Option {
	return func(o *options) { o.muxWindow = n }
}

// WithHeaderTimeout bounds the wait for a request's headers and a
// WebSocket handshake (default DefaultHeaderTimeout).
func WithHeaderTimeout(d time.Duration) Option {
	return func(o *options) { o.headerTimeout = d }
}

// WithUnaryInterceptors and WithStreamInterceptors add interceptors that
// run on every call, whatever protocol carried it, the first outermost.
func WithUnaryInterceptors(ints ...grpc.UnaryServerInterceptor) Option {
	return func(o *options) { o.unary = append(o.unary, ints...) }
}

// WithStreamInterceptors: see WithUnaryInterceptors.
func WithStreamInterceptors(ints ...grpc.StreamServerInterceptor) Option {
	return func(o *options) { o.stream = append(o.stream, ints...) }
}

// WithStatsHandlers adds stats handlers that see every call's events, in
// grpc-go's order, on every protocol, and the connections' (TagConn,
// ConnBegin, ConnEnd) of an http.Server set up by ConfigureServer.
func WithStatsHandlers(hs ...stats.Handler) Option {
	return func(o *options) { o.stats = append(o.stats, hs...) }
}

// WithUnknownServiceHandler serves the methods no registered service has,
// as grpc.UnknownServiceHandler does: a stream handler that gets every
// call as a bidirectional stream.
func WithUnknownServiceHandler(h grpc.StreamHandler) Option {
	return func(o *options) { o.unknown = h }
}

// WithCodec makes every call's messages pass through c, whatever the
// content type says, as grpc.ForceServerCodecV2 does: a proxy's codec that
// keeps bytes as they are, say.
func WithCodec(c encoding.CodecV2) Option {
	return func(o *options) { o.codec = c }
}

// WithFallback serves what is not a gRPC call, a CORS preflight or a
// WebSocket stream (a page and its files, say), once the host check has
// passed; default: 404. A POST to a method's path with a content type of
// neither gRPC nor gRPC-Web gets 415 and never reaches it.
func WithFallback(h http.Handler) Option {
	return func(o *options) { o.fallback = h }
}

// WithBrowserHeaders keeps, as call metadata, the named headers of those
// browsers send on their own: cookie, referer, accept-language, user-agent,
// origin and sec-* (sec-fetch-*, sec-ch-ua*...). Without it none of them
// reaches a handler, on any path, both transports.
func WithBrowserHeaders(names ...string) Option {
	return func(o *options) { o.browserHeaders = newBrowserHeaders(names) }
}

// WithLogger sets where the runtime logs refusals and recovered panics
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}
