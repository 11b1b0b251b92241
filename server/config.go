package server

import (
	"io/fs"
	"log/slog"
	"time"

	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/usermanager"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Defaults for Config's zero values: the protocol runtime's.
const (
	DefaultMaxMsgSize           = grpchttp.DefaultMaxMsgSize
	DefaultMaxStreams           = grpchttp.DefaultMaxStreams
	DefaultMaxConcurrentStreams = grpchttp.DefaultMaxConcurrentStreams
	DefaultWriteTimeout         = grpchttp.DefaultWriteTimeout
	DefaultMessageTimeout       = grpchttp.DefaultMessageTimeout
	DefaultPingInterval         = grpchttp.DefaultPingInterval
	DefaultPongWait             = grpchttp.DefaultPongWait
	DefaultHeaderTimeout        = grpchttp.DefaultHeaderTimeout
	DefaultMuxStreams           = grpchttp.DefaultMuxStreams
	DefaultMaxStreamMsgs        = usermanager.DefaultMaxStreamMsgs
)

// Config tunes a Server. The zero value of each field picks its default.
type Config struct {
	// AllowedOrigins are the browser origins besides the page's own that may
	// call the API (CORS for gRPC-Web, the handshake check for the bridge).
	// A call from any other origin is refused before it runs.
	AllowedOrigins []string
	// AllowedHosts are the host names requests may address (the Host
	// header). Empty: any, except on a loopback address, where only
	// loopback names (localhost, 127.0.0.1, [::1]) may.
	AllowedHosts []string
	// MaxMsgSize bounds one message, in bytes, in both directions;
	// MaxSendMsgSize, when set, bounds the replies instead.
	MaxMsgSize, MaxSendMsgSize int
	// MaxStreams bounds the calls in flight at once, server-wide, on
	// every protocol and both transports (each call is a stream: HTTP/2,
	// WebSocket, or an HTTP/1.1 request).
	MaxStreams int
	// MaxStreamsPerClient bounds the calls in flight of one client
	// address; default a sixteenth of MaxStreams.
	MaxStreamsPerClient int
	// MaxConnsPerClient bounds the open connections of one client
	// address; default listener.DefaultMaxConnsPerClient.
	MaxConnsPerClient int
	// KeepBrowserHeaders names the headers browsers send on their own
	// (cookie, referer, accept-language, user-agent, origin, sec-*) that
	// calls keep as metadata, also when forwarded; none by default.
	KeepBrowserHeaders []string
	// MaxStreamMsgs bounds the requests of one client or bidi stream.
	MaxStreamMsgs int
	// MaxConcurrentStreams bounds the calls in flight on one HTTP/2
	// connection.
	MaxConcurrentStreams uint32
	// MuxStreams bounds the streams open at once on one grpc-mux.v1
	// socket (default DefaultMuxStreams), and MuxWindow is each stream's
	// initial window in bytes (default grpchttp.DefaultMuxWindow): what
	// one stream may make the server buffer.
	MuxStreams, MuxWindow uint32

	// WriteTimeout bounds one write to a client: one that stops reading
	// for this long has its call ended.
	WriteTimeout time.Duration
	// MessageTimeout bounds how long a request message may take to arrive
	// once begun (plus a second per 64 KiB of it), on every protocol; a
	// unary request, all of it, from the call's start.
	MessageTimeout time.Duration
	// PingInterval is how often an open WebSocket stream, or an idle
	// grpc-mux.v1 socket, is pinged, and PongWait how long a ping may go
	// unanswered (with nothing else received either) before the client is
	// taken for gone. The default keeps sockets busy across proxies that
	// cut connections idle for 60 s.
	PingInterval, PongWait time.Duration
	// HeaderTimeout bounds the wait for a request's headers, a WebSocket
	// handshake and its header block.
	HeaderTimeout time.Duration

	// UnaryInterceptors and StreamInterceptors run on every call, whatever
	// protocol carried it, after the server's own logging and panic
	// recovery.
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
	// StatsHandlers see every call's events (stats.Begin, payloads,
	// headers, stats.End) on every protocol.
	StatsHandlers []stats.Handler

	// TLSCertFile and TLSKeyFile, both set, serve every protocol over TLS
	// (ALPN h2 and http/1.1) instead of cleartext. The files are reloaded
	// when they change, and by Server.ReloadTLS.
	TLSCertFile, TLSKeyFile string

	// Backend, when set, makes the server a front for another gRPC server
	// (package front): it serves no UserManager and forwards reflection.
	Backend *front.Backend

	// Schema, for a front, holds the backend's schema from files
	// (protofiles.Load): the front answers reflection from it, asking the
	// backend's own reflection for the rest (package filereflection),
	// instead of forwarding reflection.
	Schema *protoregistry.Files

	// NoReflection leaves server reflection out, for a program (or a test)
	// that registers a reflection service of its own.
	NoReflection bool

	// Metrics turns on the Prometheus metrics (grpc_server_* on every
	// path, the calls by protocol, the limits hit, the backend's or the
	// store's health, the pool's, Go's and the process's) that
	// Server.ServeMetrics serves.
	Metrics bool
	// AccessLog is the level of the access log, a line per call on every
	// path (method, protocol, code, duration, peer, bytes in and out, the
	// trace id); nil: slog.LevelDebug; AccessLogOff: none.
	AccessLog slog.Leveler
	// Tracing, when set, traces every call, and a front's calls to its
	// backend (TracingFromEnv makes it from OpenTelemetry's variables).
	Tracing *Tracing

	// Assets are the page files; nil serves the embedded static.FS.
	Assets fs.FS
	// Logger receives the server's logs; nil uses slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxMsgSize <= 0 {
		c.MaxMsgSize = DefaultMaxMsgSize
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = DefaultMaxStreams
	}
	if c.MaxStreamsPerClient <= 0 {
		c.MaxStreamsPerClient = max(1, c.MaxStreams/16)
	}
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.WriteTimeout, DefaultWriteTimeout},
		{&c.MessageTimeout, DefaultMessageTimeout},
		{&c.PingInterval, DefaultPingInterval},
		{&c.PongWait, DefaultPongWait},
		{&c.HeaderTimeout, DefaultHeaderTimeout},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
