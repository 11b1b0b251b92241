//go:build !js

package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// nativeOptions are the DialOptions only a native build has.
type nativeOptions struct {
	httpClient *http.Client
}

// WithHTTPClient makes the Conn post gRPC-Web requests with hc instead of a
// client of its own. Native builds only.
func WithHTTPClient(hc *http.Client) DialOption {
	return DialOption{func(o *dialOptions) { o.native.httpClient = hc }}
}

// pageOrigin is the browser's; a native program has none.
func pageOrigin() (string, error) {
	return "", grpcstatus.Error(codes.InvalidArgument, "client: an empty target means the page's origin, and only a browser has one")
}

// nativeTransport carries gRPC-Web over net/http and the bridge over a
// gorilla WebSocket.
type nativeTransport struct {
	hc     *http.Client
	own    *http.Transport // the transport of a client of our own, closed by close
	dialer websocket.Dialer
}

func newTransport(o dialOptions) transport {
	t := &nativeTransport{
		hc:     o.native.httpClient,
		dialer: websocket.Dialer{Proxy: http.ProxyFromEnvironment},
	}
	if t.hc == nil {
		t.own = http.DefaultTransport.(*http.Transport).Clone()
		t.hc = &http.Client{Transport: t.own}
	}
	return t
}

func (t *nativeTransport) close() {
	if t.own != nil {
		t.own.CloseIdleConnections()
	}
}

func (t *nativeTransport) post(ctx context.Context, url string, header metadata.MD, body []byte) (*httpResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, grpcstatus.Error(codes.Internal, "build request: "+err.Error())
	}
	for k, vs := range header {
		req.Header[k] = vs // names are lower case already: HTTP takes them so
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, err
	}
	md := metadata.MD{}
	for k, vs := range resp.Header {
		name := strings.ToLower(k)
		for _, v := range vs {
			responseHeader(md, name, v)
		}
	}
	return &httpResponse{status: resp.StatusCode, header: md, body: resp.Body}, nil
}

func (t *nativeTransport) dial(ctx context.Context, url, subprotocol string) (wsConn, error) {
	d := t.dialer
	d.Subprotocols = []string{subprotocol}
	c, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			st := grpcstatus.Newf(grpcwire.CodeFromHTTP(resp.StatusCode), "websocket handshake: HTTP %s", resp.Status)
			if st.Code() == codes.Unavailable {
				return nil, st.Err() // the server is there but busy: not a refusal
			}
			return nil, &handshakeRefused{st}
		}
		return nil, err
	}
	if c.Subprotocol() != subprotocol {
		c.Close()
		return nil, &handshakeRefused{grpcstatus.Newf(codes.Unavailable, "websocket: server did not accept subprotocol %q", subprotocol)}
	}
	return &nativeWS{c: c}, nil
}

// nativeWS is a gorilla WebSocket as a wsConn.
type nativeWS struct {
	c       *websocket.Conn
	writeMu sync.Mutex
	cur     io.Reader // the message being read
	buf     [32 << 10]byte
	once    sync.Once
}

func (w *nativeWS) send(b []byte) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	return w.c.WriteMessage(websocket.BinaryMessage, b)
}

func (w *nativeWS) recv() ([]byte, error) {
	for {
		if w.cur == nil {
			typ, r, err := w.c.NextReader()
			if err != nil {
				if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseNoStatusReceived) {
					return nil, io.EOF
				}
				return nil, err
			}
			if typ != websocket.BinaryMessage {
				return nil, grpcstatus.Error(codes.Internal, "websocket: a text message; gRPC travels in binary messages")
			}
			w.cur = r
		}
		n, err := w.cur.Read(w.buf[:])
		if err == io.EOF {
			w.cur = nil
		} else if err != nil {
			return nil, err
		}
		if n > 0 {
			return w.buf[:n], nil
		}
	}
}

// closeGrace bounds how long close waits to send the close message.
const closeGrace = time.Second

func (w *nativeWS) close() error {
	var err error
	w.once.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		w.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace))
		err = w.c.Close()
	})
	return err
}
