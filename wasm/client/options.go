package client

import (
	"time"

	"google.golang.org/grpc/metadata"
)

// DefaultMaxMessageSize bounds one message in each direction unless
// WithMaxMessageSize says otherwise: gRPC's own default, 4 MiB.
const DefaultMaxMessageSize = 4 << 20

// DialOption configures a Conn.
type DialOption struct {
	apply func(*dialOptions)
}

type dialOptions struct {
	wsForAll  bool
	multiplex Multiplexing
	keepalive time.Duration // grpc-mux: ping after this long without a frame
	pongWait  time.Duration // grpc-mux: the socket is dead after this long without an answer
	maxSize   int
	codec     Codec         // WithCodec; DefaultCodec unless set
	board     muxBoard      // WithPageSocket: where the page's programs share one socket; nil: not shared
	native    nativeOptions // the native build's own settings; empty in the browser
}

// WithWebSocketForAll routes unary and server-streaming calls over a
// WebSocket too, instead of gRPC-Web over HTTP: the multiplexed one when
// the server offers it, otherwise a grpc-websockets socket per call.
func WithWebSocketForAll() DialOption {
	return DialOption{func(o *dialOptions) { o.wsForAll = true }}
}

// Multiplexing says which calls share one WebSocket in the grpc-mux.v1
// protocol (proto/grpcwire/MUX.md), and what happens when the server does
// not offer it.
type Multiplexing int

const (
	// MultiplexAuto, the default, puts client and bidi streams on the
	// Conn's one multiplexed socket, and unary and server-streaming calls
	// too when the connection is plain HTTP/1.1 (an http:// target; in the
	// browser, a page fetched over HTTP/1.1), where fetch would hold a
	// connection per call; while the socket is still opening a unary call
	// goes as gRPC-Web rather than wait for its handshake (a server stream
	// waits: over fetch it would hold a connection for its life). Over
	// HTTP/2 those go as gRPC-Web, which HTTP/2 multiplexes already. When
	// the server does not offer the protocol, calls go as they would with
	// MultiplexNever, and the Conn tries again a minute later.
	MultiplexAuto Multiplexing = iota
	// MultiplexAlways puts every call on the multiplexed socket; against a
	// server that does not offer it, calls fail with codes.Unavailable.
	MultiplexAlways
	// MultiplexNever never multiplexes: gRPC-Web over HTTP, and a
	// grpc-websockets socket per client or bidi stream (per call with
	// WithWebSocketForAll).
	MultiplexNever
)

// WithMultiplexing chooses which calls share the multiplexed socket.
func WithMultiplexing(m Multiplexing) DialOption {
	return DialOption{func(o *dialOptions) { o.multiplex = m }}
}

// Keepalive defaults of the multiplexed socket: a ping and its answer cross
// it at least every 30 s, which a proxy that cuts connections idle for
// 60 s never does.
const (
	DefaultMuxKeepalive = 30 * time.Second
	DefaultMuxPongWait  = 20 * time.Second
)

// WithMuxKeepalive sets the multiplexed socket's keepalive: when nothing
// has arrived on it for interval the client pings the server, and when
// nothing arrives within pongWait after the ping the socket is dead: its
// calls fail with codes.Unavailable and the next call opens a new one.
// Values <= 0 keep DefaultMuxKeepalive and DefaultMuxPongWait. A server
// may cut a client that pings more than ten times a second, so an interval
// under 100 ms is for tests.
func WithMuxKeepalive(interval, pongWait time.Duration) DialOption {
	return DialOption{func(o *dialOptions) {
		if interval > 0 {
			o.keepalive = interval
		}
		if pongWait > 0 {
			o.pongWait = pongWait
		}
	}}
}

// WithPageSocket shares the Conn's multiplexed socket with the other Go
// programs of the page whose Conns dial the same target with this option:
// the playground's main.wasm and explorer.wasm put every call on one
// WebSocket. The first of them to open the socket owns it and publishes it
// on globalThis under PageSocketProperty; the others' calls go on it
// through a MessageChannel, each program keeping its own streams, flow
// control and keepalive, the owner forwarding their frames (mux_share.go).
// A program that finds none published, or whose owner cannot open the
// socket (or has exited), opens its own, and publishes it. When the socket
// drops, the calls of every program on it end with codes.Unavailable and
// the next call dials again. Outside the browser the option does nothing.
func WithPageSocket() DialOption {
	return DialOption{func(o *dialOptions) { o.board = pageBoard() }}
}

// WithMaxMessageSize bounds one message, in bytes, in both directions: a
// larger request fails before it is sent, a larger response ends the call,
// both with codes.ResourceExhausted. n <= 0 keeps DefaultMaxMessageSize.
func WithMaxMessageSize(n int) DialOption {
	return DialOption{func(o *dialOptions) {
		if n > 0 {
			o.maxSize = n
		}
	}}
}

// CallOption configures one call.
type CallOption struct {
	apply func(*callOptions)
}

type callOptions struct {
	header  *metadata.MD
	trailer *metadata.MD
	maxRecv int   // the call's response message limit; 0: the Conn's
	maxSend int   // the call's request message limit; 0: the Conn's
	codec   Codec // ForceCodec; nil: the Conn's
	// compressor is the encoding of the call's requests (UseCompressor),
	// "" for none once NewStream checked it; compress compresses them.
	compressor string
	compress   compressFunc
}

// Header stores the call's response headers in *md once they arrive: for a
// unary call when Invoke returns, for a stream when Header or RecvMsg first
// sees them.
func Header(md *metadata.MD) CallOption {
	return CallOption{func(o *callOptions) { o.header = md }}
}

// Trailer stores the call's trailers in *md when the call ends: for a unary
// call when Invoke returns, for a stream when RecvMsg returns an error.
func Trailer(md *metadata.MD) CallOption {
	return CallOption{func(o *callOptions) { o.trailer = md }}
}

// MaxCallRecvMsgSize bounds one response message of this call, in bytes,
// instead of the Conn's limit (WithMaxMessageSize), larger or smaller: a
// larger message ends the call with codes.ResourceExhausted. n <= 0 keeps
// the Conn's limit.
func MaxCallRecvMsgSize(n int) CallOption {
	return CallOption{func(o *callOptions) { o.maxRecv = max(n, 0) }}
}

// MaxCallSendMsgSize bounds one request message of this call, in bytes,
// instead of the Conn's limit (WithMaxMessageSize), larger or smaller: a
// larger message is not sent, and SendMsg returns codes.ResourceExhausted.
// n <= 0 keeps the Conn's limit.
func MaxCallSendMsgSize(n int) CallOption {
	return CallOption{func(o *callOptions) { o.maxSend = max(n, 0) }}
}

func newCallOptions(opts []CallOption) callOptions {
	var o callOptions
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&o)
		}
	}
	return o
}
