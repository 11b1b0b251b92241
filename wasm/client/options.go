package client

import "google.golang.org/grpc/metadata"

// DefaultMaxMessageSize bounds one message in each direction unless
// WithMaxMessageSize says otherwise: gRPC's own default, 4 MiB.
const DefaultMaxMessageSize = 4 << 20

// DialOption configures a Conn.
type DialOption struct {
	apply func(*dialOptions)
}

type dialOptions struct {
	wsForAll bool
	maxSize  int
	native   nativeOptions // the native build's own settings; empty in the browser
}

// WithWebSocketForAll routes unary and server-streaming calls over the
// WebSocket bridge too, instead of gRPC-Web over HTTP.
func WithWebSocketForAll() DialOption {
	return DialOption{func(o *dialOptions) { o.wsForAll = true }}
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
	maxRecv int // the call's response message limit; 0: the Conn's
	maxSend int // the call's request message limit; 0: the Conn's
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
