package client

import (
	"context"
	"io"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// Conn is a connection to one server's gRPC-Web endpoint and WebSocket
// endpoints. It is safe for concurrent use. Calls share one multiplexed
// WebSocket (grpc-mux.v1), opened by the first call that needs it, when
// the server offers it (see Multiplexing); otherwise each call opens its
// own request or socket.
type Conn struct {
	base   string // "http://host:port", no trailing slash
	wsBase string // the same with ws:// or wss://
	opts   dialOptions
	tr     transport
	gzip   grpcwire.GzipWriters // for the requests of calls that compress (compression.go)
	mux    *muxPool
	// muxAll says unary and server-streaming calls take the multiplexed
	// socket too under MultiplexAuto: the connection is plain HTTP/1.1.
	muxAll bool
}

// Dial returns a Conn to target, a URL such as "http://127.0.0.1:8080". In
// the browser "" means the page's own origin. Dial opens no connection;
// calls do.
func Dial(target string, opts ...DialOption) (*Conn, error) {
	o := dialOptions{codec: DefaultCodec, maxSize: DefaultMaxMessageSize, keepalive: DefaultMuxKeepalive, pongWait: DefaultMuxPongWait}
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&o)
		}
	}
	if target == "" {
		origin, err := pageOrigin()
		if err != nil {
			return nil, err
		}
		target = origin
	}
	target = strings.TrimRight(target, "/")
	var wsBase string
	switch {
	case strings.HasPrefix(target, "http://") && len(target) > len("http://"):
		wsBase = "ws://" + target[len("http://"):]
	case strings.HasPrefix(target, "https://") && len(target) > len("https://"):
		wsBase = "wss://" + target[len("https://"):]
	default:
		return nil, grpcstatus.Errorf(codes.InvalidArgument, "client: target %q is not an http:// or https:// URL", target)
	}
	c := &Conn{base: target, wsBase: wsBase, opts: o, tr: newTransport(o), muxAll: plainHTTP1(target)}
	c.mux = newMuxPool(wsBase+grpcwire.MuxPath, c.tr, o)
	return c, nil
}

// Target returns the URL the Conn calls, without a trailing slash.
func (c *Conn) Target() string { return c.base }

// Close releases the Conn's idle connections, and its multiplexed socket
// once the calls on it have ended. Calls in flight go on; the Conn stays
// usable.
func (c *Conn) Close() error {
	c.mux.close()
	c.tr.close()
	return nil
}

// Invoke makes a unary call of method ("/UserManager/GetUser") with req and
// stores the reply in resp. It returns a status error when the call fails.
func (c *Conn) Invoke(ctx context.Context, method string, req, resp any, opts ...CallOption) error {
	s, err := c.NewStream(ctx, StreamDesc{}, method, opts...)
	if err != nil {
		return err
	}
	defer s.cancel()
	// SendMsg's io.EOF means the call already ended: RecvMsg says how.
	if err := s.SendMsg(req); err != nil && err != io.EOF {
		return err
	}
	return s.RecvMsg(resp)
}
