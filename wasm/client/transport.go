package client

import (
	"context"
	"io"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// transport is the thin platform glue under the shared protocol core:
// fetch_js.go and websocket_js.go, and transport_native.go (net/http, a
// WebSocket client) implement it. It moves bytes; it knows nothing of gRPC.
type transport interface {
	// post sends body with header to url and returns when the response
	// headers arrived. The response body streams; ctx bounds the whole
	// exchange, so cancelling it aborts the request and the body's reads.
	post(ctx context.Context, url string, header metadata.MD, body []byte) (*httpResponse, error)
	// dial opens a WebSocket to url offering subprotocol (grpc-websockets,
	// or grpc-mux.v1). ctx bounds only the opening handshake. A server that
	// answered the handshake without accepting the subprotocol gives a
	// *handshakeRefused.
	dial(ctx context.Context, url, subprotocol string) (wsConn, error)
	// close releases idle connections.
	close()
}

// httpResponse is a response whose headers arrived and whose body streams.
type httpResponse struct {
	status int
	header metadata.MD // lower-case names, "-bin" values decoded
	body   io.ReadCloser
}

// handshakeRefused is a WebSocket handshake the server answered without
// accepting the subprotocol: an HTTP status, or another subprotocol. In the
// browser, which shows no status, any handshake that fails before the
// socket opens is one. Its status is the call's when nothing else is
// tried.
type handshakeRefused struct{ st *grpcstatus.Status }

func (e *handshakeRefused) Error() string { return e.st.Message() }

// Unwrap gives the status to grpcstatus.FromError.
func (e *handshakeRefused) Unwrap() error { return e.st.Err() }

// wsConn is an open WebSocket. send may run concurrently with recv, and
// close with both.
type wsConn interface {
	// send sends b as one binary message.
	send(b []byte) error
	// recv returns the next incoming bytes, a binary message or part of
	// one, valid until the next call; io.EOF once the peer closed the
	// socket normally. Message boundaries do not matter to the protocol.
	recv() ([]byte, error)
	// close closes the socket; pending and later recv and send calls fail.
	close() error
}

// wsReader reads the bytes of a socket's incoming messages as one stream,
// for the frame parser: the server may split its frames into messages as it
// likes.
type wsReader struct {
	c   wsConn
	buf []byte
}

func (r *wsReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		msg, err := r.c.recv()
		if err != nil {
			return 0, err
		}
		r.buf = msg
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// requestHeader turns request metadata into HTTP header fields: "-bin"
// values base64-encoded, values a header cannot carry left out.
func requestHeader(md metadata.MD) metadata.MD {
	h := make(metadata.MD, len(md))
	for k, vs := range md {
		for _, v := range vs {
			if ev, ok := grpcwire.EncodeValue(k, v); ok {
				h[k] = append(h[k], ev)
			}
		}
	}
	return h
}

// responseHeader adds one received HTTP header field to md: the name
// lower-cased by the caller, a "-bin" value decoded (left as received when
// it is not base64).
func responseHeader(md metadata.MD, name, value string) {
	if dv, err := grpcwire.DecodeValue(name, value); err == nil {
		value = dv
	}
	md[name] = append(md[name], value)
}
