package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/wasm/wire"
)

// The bridge's tests speak grpc-websockets with a gorilla client to a real
// server (New + OpenStore on a temporary file) on 127.0.0.1. They run in
// package server so a test can tune the bridge's timings and register a
// probe service, both before the server serves.

// bridgeTestServer is a served Server and its address.
type bridgeTestServer struct {
	addr string
	srv  *Server
	stop func() error // Shutdown with a generous bound; safe to call twice
}

// bridgeStart serves a new server with cfg until the test ends. tune, when
// not nil, runs before Serve.
func bridgeStart(t *testing.T, cfg Config, tune func(*Server)) *bridgeTestServer {
	t.Helper()
	st, err := OpenStore(context.Background(), filepath.Join(t.TempDir(), "users.db"), "")
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	srv, err := New(cfg, st)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if tune != nil {
		tune(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var once sync.Once
	var stopErr error
	ts := &bridgeTestServer{addr: ln.Addr().String(), srv: srv}
	ts.stop = func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopErr = srv.Shutdown(ctx)
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			st.Close()
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ts
}

// bridgeBaseline makes one call, so that every goroutine the server keeps
// (its accept loops) is running, waits until the goroutine count holds
// still, and returns it. A subtest runs on a goroutine of its own: it
// expects one more.
func bridgeBaseline(t *testing.T, addr string) int {
	t.Helper()
	c := bridgeOpen(t, addr, "/UserManager/GetUser", nil)
	c.send(&pb.UserRequest{Id: 1})
	c.halfClose()
	var r pb.UserResponse
	if !c.recv(&r) {
		t.Fatalf("warm-up call: %v", c.st)
	}
	bridgeWantCode(t, c.finish(), codes.OK, "")
	c.conn.Close()
	n := runtime.NumGoroutine()
	for same := 0; same < 20; {
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m != n {
			n, same = m, 0
			continue
		}
		same++
	}
	return n
}

// bridgeWaitGoroutines waits (boundedly) until the process runs at most
// base goroutines again: every stream goroutine has ended.
func bridgeWaitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d, baseline %d; stacks:\n%s", runtime.NumGoroutine(), base, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bridgeDial opens a grpc-websockets connection to method.
func bridgeDial(addr, method string, h http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{wire.WebSocketProtocol}, HandshakeTimeout: 10 * time.Second}
	return d.Dial("ws://"+addr+method, h)
}

// bridgeClient is one call from the test's side.
type bridgeClient struct {
	t       *testing.T
	conn    *websocket.Conn
	body    *bridgeClientBody
	frames  *wire.Reader
	header  wire.MD // the response's header block, once read
	trailer wire.MD // its trailers, once read
	st      *status.Status
	end     error // how the socket ended after the trailers: io.EOF is a normal close
}

// bridgeDefaultHeaders is what improbable-eng's JS client sends.
func bridgeDefaultHeaders() wire.MD {
	return wire.MD{wire.HeaderContentType: {wire.ContentTypeProto}, wire.HeaderXGRPCWeb: {"1"}}
}

// bridgeConnect opens a call to method without sending anything.
func bridgeConnect(t *testing.T, addr, method string) *bridgeClient {
	t.Helper()
	conn, _, err := bridgeDial(addr, method, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", method, err)
	}
	if p := conn.Subprotocol(); p != wire.WebSocketProtocol {
		t.Fatalf("subprotocol %q; want %q", p, wire.WebSocketProtocol)
	}
	t.Cleanup(func() { conn.Close() })
	return bridgeClientOn(t, conn)
}

func bridgeClientOn(t *testing.T, conn *websocket.Conn) *bridgeClient {
	body := &bridgeClientBody{conn: conn}
	return &bridgeClient{t: t, conn: conn, body: body, frames: wire.NewReader(body, 64<<20)}
}

// bridgeOpen opens a call to method and sends its header block: md, or
// the JS client's headers when md is nil.
func bridgeOpen(t *testing.T, addr, method string, md wire.MD) *bridgeClient {
	t.Helper()
	c := bridgeConnect(t, addr, method)
	if md == nil {
		md = bridgeDefaultHeaders()
	}
	c.write(websocket.BinaryMessage, wire.AppendHeaderBlock(nil, md))
	return c
}

func (c *bridgeClient) write(typ int, b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteMessage(typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// data sends raw request bytes in one data message.
func (c *bridgeClient) data(b []byte) {
	c.t.Helper()
	c.write(websocket.BinaryMessage, append([]byte{wire.WSData}, b...))
}

func (c *bridgeClient) send(m proto.Message) {
	c.t.Helper()
	c.data(bridgeFrame(c.t, m))
}

func (c *bridgeClient) halfClose() {
	c.t.Helper()
	c.write(websocket.BinaryMessage, []byte{wire.WSHalfClose})
}

func bridgeFrame(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return wire.AppendFrame(nil, wire.FlagData, b)
}

// recv reads the next response message into m and reports true, or reads
// the trailers (and the close after them) and reports false.
func (c *bridgeClient) recv(m proto.Message) bool {
	c.t.Helper()
	if c.st != nil {
		c.t.Fatal("recv after the trailers")
	}
	for {
		f, err := c.frames.Next()
		if err != nil {
			c.t.Fatalf("response ended without trailers: %v", err)
		}
		if !f.IsTrailer() {
			if c.header == nil {
				c.t.Fatal("a message before the header block")
			}
			if err := proto.Unmarshal(f.Payload, m); err != nil {
				c.t.Fatalf("unmarshal response: %v", err)
			}
			return true
		}
		md, err := wire.ParseHeaderBlock(f.Payload)
		if err != nil {
			c.t.Fatalf("response block: %v", err)
		}
		if !c.body.atMessageEnd() {
			// improbable-eng's JS client parses nothing after a block until
			// the next message comes.
			c.t.Fatal("a header or trailer block does not end its WebSocket message")
		}
		if c.header == nil {
			// improbable-eng's JS client takes the first block for the
			// headers, so one must come even before an error's trailers.
			if ct := md.Get(wire.HeaderContentType); ct != wire.ContentTypeProto {
				c.t.Fatalf("header block content-type %q; want %q", ct, wire.ContentTypeProto)
			}
			c.header = md
			continue
		}
		c.trailer = md
		c.st = wire.StatusFromTrailers(md)
		_, c.end = c.frames.Next()
		return false
	}
}

// finish reads the rest of the response and returns its status, failing
// the test if a message comes or the socket does not close normally.
func (c *bridgeClient) finish() *status.Status {
	c.t.Helper()
	var m pb.UserResponse
	if c.st == nil && c.recv(&m) {
		c.t.Fatalf("unexpected message %v", &m)
	}
	if c.end != io.EOF {
		c.t.Fatalf("after the trailers the socket ended with %v; want a normal close", c.end)
	}
	return c.st
}

// bridgeClientBody is the response byte stream of the server's binary
// messages; a normal close is its io.EOF.
type bridgeClientBody struct {
	conn *websocket.Conn
	cur  io.Reader
}

// atMessageEnd reports whether the bytes read so far end a message.
func (b *bridgeClientBody) atMessageEnd() bool {
	if b.cur == nil {
		return true
	}
	var one [1]byte
	if n, err := b.cur.Read(one[:]); n > 0 || err != io.EOF {
		return false
	}
	b.cur = nil
	return true
}

func (b *bridgeClientBody) Read(p []byte) (int, error) {
	for {
		if b.cur != nil {
			n, err := b.cur.Read(p)
			if err == io.EOF {
				b.cur = nil
				if n == 0 {
					continue
				}
				err = nil
			}
			return n, err
		}
		// A bound so a broken server fails the test instead of hanging it.
		b.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		typ, r, err := b.conn.NextReader()
		if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			return 0, io.EOF
		}
		if err != nil {
			return 0, err
		}
		if typ != websocket.BinaryMessage {
			return 0, errors.New("the server sent a text message")
		}
		b.cur = r
	}
}

func bridgeWantCode(t *testing.T, st *status.Status, code codes.Code, msgPart string) {
	t.Helper()
	if st.Code() != code || !strings.Contains(st.Message(), msgPart) {
		t.Fatalf("status %v: %q; want %v with %q", st.Code(), st.Message(), code, msgPart)
	}
}

var bridgeSeedUsers = map[uint32]*pb.User{
	1: {Id: 1, Nickname: "admin", MailAddress: "admin@example.com", UserType: pb.User_ADMINISTRATOR},
	2: {Id: 2, Nickname: "guest", MailAddress: "guest@example.com", UserType: pb.User_GUEST},
	3: {Id: 3, Nickname: "foo", MailAddress: "foo@example.com", UserType: pb.User_NORMAL},
	4: {Id: 4, Nickname: "troll", MailAddress: "troll@example.com", UserType: pb.User_DISABLED},
	5: {Id: 5, Nickname: "Zaru", MailAddress: "zaru@example.com", UserType: pb.User_NORMAL},
	6: {Id: 6, Nickname: "Saru", MailAddress: "saru@example.com", UserType: pb.User_NORMAL},
}

func TestBridgeUnary(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	base := bridgeBaseline(t, ts.addr)
	newUser := &pb.User{Id: 7, Nickname: "nick", MailAddress: "nick@example.com", UserType: pb.User_GUEST}
	tests := []struct {
		name   string
		method string
		req    proto.Message
		want   *pb.UserResponse // nil: an error status
		code   codes.Code
		msg    string
	}{
		{"known id", "/UserManager/GetUser", &pb.UserRequest{Id: 1}, &pb.UserResponse{User: bridgeSeedUsers[1]}, codes.OK, ""},
		{"unknown id", "/UserManager/GetUser", &pb.UserRequest{Id: 99}, &pb.UserResponse{Error: true, Message: "not found"}, codes.OK, ""},
		{"id 0", "/UserManager/GetUser", &pb.UserRequest{}, nil, codes.InvalidArgument, "id"},
		{"add", "/UserManager/AddUser", newUser, &pb.UserResponse{User: newUser}, codes.OK, ""},
		{"added", "/UserManager/GetUser", &pb.UserRequest{Id: 7}, &pb.UserResponse{User: newUser}, codes.OK, ""},
		{"add taken id", "/UserManager/AddUser", newUser, &pb.UserResponse{Error: true, Message: "already exist"}, codes.OK, ""},
		{"add bad mail", "/UserManager/AddUser", &pb.User{Id: 8, Nickname: "n", MailAddress: "nope"}, nil, codes.InvalidArgument, "mail_address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := bridgeOpen(t, ts.addr, tc.method, nil)
			c.send(tc.req)
			c.halfClose()
			var got pb.UserResponse
			if tc.want != nil {
				if !c.recv(&got) {
					t.Fatalf("no reply; status %v", c.st)
				}
				if !proto.Equal(&got, tc.want) {
					t.Fatalf("reply %v; want %v", &got, tc.want)
				}
			}
			bridgeWantCode(t, c.finish(), tc.code, tc.msg)
		})
	}
	bridgeWaitGoroutines(t, base)
}

func TestBridgeServerStreaming(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	base := bridgeBaseline(t, ts.addr)
	tests := []struct {
		typ  pb.UserTypeRequest_UserType
		want []uint32
		code codes.Code
	}{
		{pb.UserTypeRequest_NORMAL, []uint32{3, 5, 6}, codes.OK},
		{pb.UserTypeRequest_ADMINISTRATOR, []uint32{1}, codes.OK},
		{pb.UserTypeRequest_NONE, nil, codes.OK},
		{99, nil, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.typ.String(), func(t *testing.T) {
			c := bridgeOpen(t, ts.addr, "/UserManager/GetUsersByType", nil)
			c.send(&pb.UserTypeRequest{UserType: tc.typ})
			c.halfClose()
			var ids []uint32
			for {
				var r pb.UserResponse
				if !c.recv(&r) {
					break
				}
				if !proto.Equal(r.GetUser(), bridgeSeedUsers[r.GetUser().GetId()]) || r.GetError() {
					t.Fatalf("reply %v", &r)
				}
				ids = append(ids, r.GetUser().GetId())
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Fatalf("ids %v; want %v", ids, tc.want)
			}
			bridgeWantCode(t, c.finish(), tc.code, "")
		})
	}
	bridgeWaitGoroutines(t, base)
}

// TestBridgeClientStreaming sends the requests cut into WebSocket messages
// in several ways: the server must reassemble frames whatever the cut.
func TestBridgeClientStreaming(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	base := bridgeBaseline(t, ts.addr)
	ids := []uint32{1, 2, 99, 1, 6, 4242}
	var stream []byte
	for _, id := range ids {
		stream = append(stream, bridgeFrame(t, &pb.UserRequest{Id: id})...)
	}
	tests := []struct {
		name  string
		ids   []uint32
		chunk int // bytes per data message; 0 sends one frame per message
		want  uint32
	}{
		{"one frame a message", ids, 0, 4},
		{"all in one message", ids, len(stream), 4},
		{"one byte a message", ids, 1, 4},
		{"three bytes a message", ids, 3, 4},
		{"no requests", nil, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := bridgeOpen(t, ts.addr, "/UserManager/CountAlreadyUsers", nil)
			switch {
			case tc.chunk == 0:
				for _, id := range tc.ids {
					c.send(&pb.UserRequest{Id: id})
				}
			default:
				for b := stream; len(b) > 0; {
					n := min(tc.chunk, len(b))
					c.data(b[:n])
					b = b[n:]
				}
			}
			c.halfClose()
			var got pb.UserCntResponse
			if !c.recv(&got) {
				t.Fatalf("no reply; status %v", c.st)
			}
			if got.GetUserCnt() != tc.want || got.GetError() {
				t.Fatalf("reply %v; want user_cnt %d", &got, tc.want)
			}
			bridgeWantCode(t, c.finish(), codes.OK, "")
		})
	}

	// Requests larger than the buffer a stream keeps between requests,
	// mixed with small ones (the big ones carry an unknown field).
	t.Run("large requests", func(t *testing.T) {
		c := bridgeOpen(t, ts.addr, "/UserManager/CountAlreadyUsers", nil)
		for i, id := range []uint32{1, 2, 99, 3, 4, 5} {
			b, err := proto.Marshal(&pb.UserRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				b = protowire.AppendBytes(protowire.AppendTag(b, 99, protowire.BytesType), make([]byte, 100<<10))
			}
			c.data(wire.AppendFrame(nil, wire.FlagData, b))
		}
		c.halfClose()
		var got pb.UserCntResponse
		if !c.recv(&got) || got.GetUserCnt() != 5 {
			t.Fatalf("reply %v; want user_cnt 5; status %v", &got, c.st)
		}
		bridgeWantCode(t, c.finish(), codes.OK, "")
	})
	bridgeWaitGoroutines(t, base)
}

// TestBridgeBidiPingPong shows each reply arrives before the client sends
// its next id, unknown ids get none, and the half-close ends the call.
func TestBridgeBidiPingPong(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	base := bridgeBaseline(t, ts.addr)
	c := bridgeOpen(t, ts.addr, "/UserManager/GetUsersByIds", nil)
	for _, id := range []uint32{2, 99, 5, 2} {
		c.send(&pb.UserRequest{Id: id})
		if id == 99 {
			continue // no reply; the next reply must be 5's
		}
		var r pb.UserResponse
		if !c.recv(&r) {
			t.Fatalf("id %d: no reply; status %v", id, c.st)
		}
		if !proto.Equal(r.GetUser(), bridgeSeedUsers[id]) {
			t.Fatalf("id %d: reply %v", id, &r)
		}
	}
	c.halfClose()
	bridgeWantCode(t, c.finish(), codes.OK, "")
	bridgeWaitGoroutines(t, base)
}

func TestBridgeDeadline(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	base := bridgeBaseline(t, ts.addr)
	md := bridgeDefaultHeaders()
	md[wire.HeaderTimeout] = []string{"50m"}
	c := bridgeOpen(t, ts.addr, "/UserManager/GetUsersByIds", md)
	// The handler waits in Recv, and nothing comes until the deadline.
	bridgeWantCode(t, c.finish(), codes.DeadlineExceeded, "")
	bridgeWaitGoroutines(t, base)
}

// TestBridgeMalformed sends what the protocol does not allow: each call
// ends with a clear status, and the server goes on serving.
func TestBridgeMalformed(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	base := bridgeBaseline(t, ts.addr)
	headers := func(c *bridgeClient) {
		c.write(websocket.BinaryMessage, wire.AppendHeaderBlock(nil, bridgeDefaultHeaders()))
	}
	withHeader := func(name, value string) func(*bridgeClient) {
		return func(c *bridgeClient) {
			md := bridgeDefaultHeaders()
			md[name] = []string{value}
			c.write(websocket.BinaryMessage, wire.AppendHeaderBlock(nil, md))
		}
	}
	id1 := bridgeFrame(t, &pb.UserRequest{Id: 1})
	const count = "/UserManager/CountAlreadyUsers"
	tests := []struct {
		name   string
		method string
		first  func(*bridgeClient) // the first message
		then   func(*bridgeClient)
		code   codes.Code
		msg    string
	}{
		{"first message text", count,
			func(c *bridgeClient) {
				c.write(websocket.TextMessage, []byte("content-type: application/grpc-web+proto\r\n"))
			},
			nil, codes.InvalidArgument, "binary"},
		{"first message not headers", count,
			func(c *bridgeClient) { c.write(websocket.BinaryMessage, []byte("hello server\r\n")) },
			nil, codes.InvalidArgument, "first message"},
		{"first message is data", count,
			func(c *bridgeClient) { c.data(id1) },
			nil, codes.InvalidArgument, "first message"},
		{"bad grpc-timeout", count, withHeader(wire.HeaderTimeout, "soon"), nil, codes.InvalidArgument, "grpc-timeout"},
		{"text content-type", count, withHeader(wire.HeaderContentType, wire.ContentTypeText), nil, codes.InvalidArgument, "content-type"},
		{"json content-type", count, withHeader(wire.HeaderContentType, "application/grpc-web+json"), nil, codes.InvalidArgument, "content-type"},
		{"unknown method", "/UserManager/Nope", headers, nil, codes.Unimplemented, "/UserManager/Nope"},
		{"unknown service", "/Nope/GetUser", headers, nil, codes.Unimplemented, "/Nope/GetUser"},
		{"text message", count, headers,
			func(c *bridgeClient) { c.write(websocket.TextMessage, append([]byte{0}, id1...)) },
			codes.InvalidArgument, "text message"},
		{"bytes beyond the frame's length", count, headers,
			func(c *bridgeClient) { c.data(append(id1, 0x08, 0x01)); c.halfClose() },
			codes.InvalidArgument, "half-close inside a frame"},
		{"frame shorter than its length", count, headers,
			func(c *bridgeClient) { c.data(id1[:len(id1)-1]); c.halfClose() },
			codes.InvalidArgument, "half-close inside a frame"},
		{"half-close inside a prefix", count, headers,
			func(c *bridgeClient) { c.data(id1[:3]); c.halfClose() },
			codes.InvalidArgument, "half-close inside a frame"},
		{"compressed frame", count, headers,
			func(c *bridgeClient) { f := append([]byte(nil), id1...); f[0] = wire.FlagCompressed; c.data(f) },
			codes.Unimplemented, "compressed"},
		{"trailer frame from the client", count, headers,
			func(c *bridgeClient) { c.data(wire.AppendFrame(nil, wire.FlagTrailer, []byte("a: b\r\n"))) },
			codes.InvalidArgument, "flag 0x80"},
		{"unknown message type byte", count, headers,
			func(c *bridgeClient) { c.write(websocket.BinaryMessage, append([]byte{0x02}, id1...)) },
			codes.InvalidArgument, "0x02"},
		{"half-close with data", count, headers,
			func(c *bridgeClient) { c.write(websocket.BinaryMessage, []byte{wire.WSHalfClose, 0}) },
			codes.InvalidArgument, "alone"},
		{"frame over the size limit", count, headers,
			func(c *bridgeClient) { c.data(wire.AppendPrefix(nil, wire.FlagData, DefaultMaxMsgSize+1)) },
			codes.ResourceExhausted, "limit"},
		{"unary without a request", "/UserManager/GetUser", headers,
			func(c *bridgeClient) { c.halfClose() },
			codes.Internal, "no request message"},
		{"unary with two requests", "/UserManager/GetUser", headers,
			func(c *bridgeClient) { c.data(append(append([]byte(nil), id1...), id1...)); c.halfClose() },
			codes.Internal, "multiple request messages"},
		{"request that is not protobuf", "/UserManager/GetUser", headers,
			func(c *bridgeClient) { c.data(wire.AppendFrame(nil, wire.FlagData, []byte{0xff, 0xff})); c.halfClose() },
			codes.Internal, "unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := bridgeConnect(t, ts.addr, tc.method)
			tc.first(c)
			if tc.then != nil {
				tc.then(c)
			}
			bridgeWantCode(t, c.finish(), tc.code, tc.msg)

			// The server goes on serving.
			ok := bridgeOpen(t, ts.addr, "/UserManager/GetUser", nil)
			ok.send(&pb.UserRequest{Id: 3})
			ok.halfClose()
			var r pb.UserResponse
			if !ok.recv(&r) || r.GetUser().GetId() != 3 {
				t.Fatalf("next call: %v, %v", &r, ok.st)
			}
			bridgeWantCode(t, ok.finish(), codes.OK, "")
		})
	}
	bridgeWaitGoroutines(t, base)
}

func TestBridgeNoSubprotocol(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	_, resp, err := d.Dial("ws://"+ts.addr+"/UserManager/GetUser", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("handshake without the subprotocol: %v, %v; want 400", resp, err)
	}
}

func TestBridgeOrigin(t *testing.T) {
	ts := bridgeStart(t, Config{AllowedOrigins: []string{"https://app.example.com"}}, nil)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + ts.addr, true}, // the page's own
		{"https://app.example.com", true},
		{"HTTPS://APP.EXAMPLE.COM", true},
		{"https://evil.example.com", false},
		{"http://app.example.com", false},
		{"null", false},
	}
	for _, tc := range tests {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			conn, resp, err := bridgeDial(ts.addr, "/UserManager/GetUser", h)
			if !tc.ok {
				if err == nil {
					conn.Close()
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("origin %q: %v, %v; want 403", tc.origin, resp, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("origin %q: %v", tc.origin, err)
			}
			conn.Close()
		})
	}
	// A listed origin's call works end to end.
	conn, _, err := bridgeDial(ts.addr, "/UserManager/GetUser", http.Header{"Origin": {"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := bridgeClientOn(t, conn)
	c.write(websocket.BinaryMessage, wire.AppendHeaderBlock(nil, bridgeDefaultHeaders()))
	c.send(&pb.UserRequest{Id: 1})
	c.halfClose()
	var r pb.UserResponse
	if !c.recv(&r) || !proto.Equal(r.GetUser(), bridgeSeedUsers[1]) {
		t.Fatalf("reply %v, %v", &r, c.st)
	}
	bridgeWantCode(t, c.finish(), codes.OK, "")
}

// bridgeHoldOpen opens a GetUsersByIds stream and proves it is being served.
func bridgeHoldOpen(t *testing.T, addr string) *bridgeClient {
	t.Helper()
	c := bridgeOpen(t, addr, "/UserManager/GetUsersByIds", nil)
	c.send(&pb.UserRequest{Id: 1})
	var r pb.UserResponse
	if !c.recv(&r) || r.GetUser().GetId() != 1 {
		t.Fatalf("open stream: %v, %v", &r, c.st)
	}
	return c
}

func TestBridgeStreamCap(t *testing.T) {
	ts := bridgeStart(t, Config{MaxStreams: 2}, nil)
	base := bridgeBaseline(t, ts.addr)
	a := bridgeHoldOpen(t, ts.addr)
	b := bridgeHoldOpen(t, ts.addr)

	c := bridgeOpen(t, ts.addr, "/UserManager/GetUsersByIds", nil)
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "limit")
	// A socket that asks for an unknown method counts too.
	c = bridgeOpen(t, ts.addr, "/UserManager/NoSuchMethod", nil)
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "limit")

	// The open streams are unharmed; once one ends its slot is free again.
	b.send(&pb.UserRequest{Id: 2})
	var r pb.UserResponse
	if !b.recv(&r) || r.GetUser().GetId() != 2 {
		t.Fatalf("open stream after a refusal: %v, %v", &r, b.st)
	}
	a.halfClose()
	bridgeWantCode(t, a.finish(), codes.OK, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := bridgeOpen(t, ts.addr, "/UserManager/GetUsersByIds", nil)
		c.send(&pb.UserRequest{Id: 3})
		if c.recv(&r) {
			c.halfClose()
			bridgeWantCode(t, c.finish(), codes.OK, "")
			break
		}
		// The ended stream's slot is freed just after its close.
		bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "limit")
		if time.Now().After(deadline) {
			t.Fatal("the ended stream's slot was never freed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.halfClose()
	bridgeWantCode(t, b.finish(), codes.OK, "")
	bridgeWaitGoroutines(t, base)
}

// TestBridgeAbortCancelsHandler drops calls in several ways; each handler's
// context must end (the probe reports it), and every stream goroutine with
// it.
func TestBridgeAbortCancelsHandler(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, Config{}, func(s *Server) { s.reg.RegisterService(bridgeProbeDesc(), probe) })
	base := bridgeBaseline(t, ts.addr)
	aborts := []struct {
		name  string
		abort func(*bridgeClient)
	}{
		{"socket closed", func(c *bridgeClient) { c.conn.NetConn().Close() }},
		{"close frame", func(c *bridgeClient) {
			c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
			c.conn.Close()
		}},
		{"close after half-close", func(c *bridgeClient) { c.halfClose(); c.conn.NetConn().Close() }},
	}
	for _, a := range aborts {
		t.Run(a.name, func(t *testing.T) {
			c := bridgeOpen(t, ts.addr, "/bridgetest.Probe/Hold", nil)
			var r pb.UserResponse
			if !c.recv(&r) || r.GetMessage() != "holding" {
				t.Fatalf("hold: %v, %v", &r, c.st)
			}
			a.abort(c)
			select {
			case err := <-probe.ended:
				if status.Code(err) != codes.Canceled {
					t.Fatalf("handler context ended with %v; want Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the handler's context did not end")
			}
			bridgeWaitGoroutines(t, base+1) // +1: this subtest
		})
	}

	// The real service: a bidi stream and a client stream dropped mid-call,
	// and a socket that never sends its headers.
	for _, method := range []string{"/UserManager/GetUsersByIds", "/UserManager/CountAlreadyUsers"} {
		c := bridgeOpen(t, ts.addr, method, nil)
		c.send(&pb.UserRequest{Id: 1})
		c.conn.NetConn().Close()
	}
	c := bridgeConnect(t, ts.addr, "/UserManager/GetUser")
	c.conn.NetConn().Close()
	bridgeWaitGoroutines(t, base)
}

func TestBridgeMetadata(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, Config{}, func(s *Server) { s.reg.RegisterService(bridgeProbeDesc(), probe) })
	base := bridgeBaseline(t, ts.addr)
	md := bridgeDefaultHeaders()
	md["x-probe"] = []string{"hello"}
	md["x-probe-bin"] = []string{"\x00\xffbin"}
	md["authorization"] = []string{"Bearer t0ken"}
	md[wire.HeaderTimeout] = []string{"1H"}
	c := bridgeOpen(t, ts.addr, "/bridgetest.Probe/Echo", md)
	c.send(&pb.UserRequest{Id: 1})
	c.halfClose()
	var r pb.UserResponse
	if !c.recv(&r) {
		t.Fatalf("no reply; status %v", c.st)
	}
	seen, err := url.ParseQuery(r.GetMessage())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"method":        "/bridgetest.Probe/Echo",
		"x-probe":       "hello",
		"x-probe-bin":   "\x00\xffbin",
		"authorization": "Bearer t0ken",
		"grpc-timeout":  "", // the transport's, not metadata
		"deadline":      "true",
		"peer":          c.conn.LocalAddr().String(),
		":authority":    ts.addr,
	}
	for k, v := range want {
		if got := seen.Get(k); got != v {
			t.Errorf("handler saw %s = %q; want %q", k, got, v)
		}
	}
	if got := c.header.Get("x-head"); got != "h1" {
		t.Errorf("header x-head = %q; want h1", got)
	}
	st := c.finish()
	bridgeWantCode(t, st, codes.OK, "")
	if got := c.trailer.Get("x-tail"); got != "t1" {
		t.Errorf("trailer x-tail = %q; want t1", got)
	}
	if got := c.trailer.Get("x-tail-bin"); got != "\x00\x01" {
		t.Errorf("trailer x-tail-bin = %q", got)
	}

	// A handler's error keeps its code and its message, byte for byte.
	c = bridgeOpen(t, ts.addr, "/bridgetest.Probe/Echo", nil)
	c.send(&pb.UserRequest{Id: 13})
	c.halfClose()
	st = c.finish()
	if st.Code() != codes.FailedPrecondition || st.Message() != bridgeProbeErrMsg {
		t.Fatalf("status %v %q; want FailedPrecondition %q", st.Code(), st.Message(), bridgeProbeErrMsg)
	}
	if got := c.trailer.Get("x-tail"); got != "t1" {
		t.Errorf("error trailer x-tail = %q; want t1", got)
	}
	bridgeWaitGoroutines(t, base)
}

func TestBridgeMessageSizeLimit(t *testing.T) {
	// Small enough that GetUser's reply is over it but its request is not.
	ts := bridgeStart(t, Config{MaxMsgSize: 16}, nil)
	c := bridgeOpen(t, ts.addr, "/UserManager/GetUser", nil)
	c.send(&pb.UserRequest{Id: 1})
	c.halfClose()
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "larger than max")

	c = bridgeOpen(t, ts.addr, "/UserManager/CountAlreadyUsers", nil)
	c.send(&pb.UserRequest{Id: 1})
	c.data(wire.AppendFrame(nil, wire.FlagData, make([]byte, 17)))
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "limit 16")
}

// TestBridgeSlowReader floods a client that never reads: the server must
// not buffer for it without bound. The handler's Send blocks and, after the
// write timeout, fails; the stream and its goroutines end.
func TestBridgeSlowReader(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, Config{}, func(s *Server) {
		s.reg.RegisterService(bridgeProbeDesc(), probe)
		s.bridge.cfg.writeTimeout = 200 * time.Millisecond
	})
	base := bridgeBaseline(t, ts.addr)
	c := bridgeOpen(t, ts.addr, "/bridgetest.Probe/Flood", nil)
	c.send(&pb.UserRequest{Id: 1})
	c.halfClose()
	select {
	case err := <-probe.ended:
		if err == nil {
			t.Fatal("Flood ended without an error")
		}
		t.Logf("Send failed after %d messages of %d bytes: %v", probe.sent.Load(), bridgeFloodSize, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("Send never failed: %d messages of %d bytes accepted for a client that does not read", probe.sent.Load(), bridgeFloodSize)
	}
	c.conn.Close()
	bridgeWaitGoroutines(t, base)
}

// TestBridgeKeepalive shows the pings: a client that answers them keeps its
// stream for many ping intervals, past the read timeout; one that does not
// is cut off.
func TestBridgeKeepalive(t *testing.T) {
	ts := bridgeStart(t, Config{}, func(s *Server) {
		s.bridge.cfg.pingInterval = 50 * time.Millisecond
		s.bridge.cfg.pongWait = 250 * time.Millisecond
	})
	base := bridgeBaseline(t, ts.addr)

	// Answering: gorilla's default ping handler sends the pong, during reads.
	c := bridgeHoldOpen(t, ts.addr)
	var pings atomic.Int32
	c.conn.SetPingHandler(func(data string) error {
		pings.Add(1)
		return c.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	msgs := make(chan []byte, 1)
	go func() {
		defer close(msgs)
		for {
			_, b, err := c.conn.ReadMessage()
			if err != nil {
				return
			}
			msgs <- b
		}
	}()
	// Ten intervals: more than the read timeout, so only the pongs can have
	// kept the stream.
	for deadline := time.Now().Add(30 * time.Second); pings.Load() < 10; {
		select {
		case b, ok := <-msgs:
			t.Fatalf("while waiting for pings: message %x, open %v", b, ok)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pings in 30s", pings.Load())
		}
	}
	c.send(&pb.UserRequest{Id: 4})
	b, ok := <-msgs
	if !ok {
		t.Fatal("the stream was cut off though the client answered every ping")
	}
	f, err := wire.NewReader(strings.NewReader(string(b)), 1<<20).Next()
	var r pb.UserResponse
	if err != nil || proto.Unmarshal(f.Payload, &r) != nil || r.GetUser().GetId() != 4 {
		t.Fatalf("reply after the pings: %v, %v", &r, err)
	}
	c.conn.Close()
	for range msgs {
	}

	// Silent: this client reads the socket's bytes but no WebSocket
	// frames, so it answers no ping. The server must cut it off.
	silent := bridgeHoldOpen(t, ts.addr)
	nc := silent.conn.NetConn()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatal("the server kept a client that answered no ping")
		}
	}
	bridgeWaitGoroutines(t, base)
}

func TestBridgeShutdownGraceful(t *testing.T) {
	ts := bridgeStart(t, Config{}, nil)
	c := bridgeHoldOpen(t, ts.addr)
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	// New handshakes are refused once shutdown has begun.
	for deadline := time.Now().Add(10 * time.Second); ; {
		conn, _, err := bridgeDial(ts.addr, "/UserManager/GetUser", nil)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("handshakes still accepted during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a stream was open", err)
	default:
	}
	c.send(&pb.UserRequest{Id: 6})
	var r pb.UserResponse
	if !c.recv(&r) || r.GetUser().GetId() != 6 {
		t.Fatalf("stream during shutdown: %v, %v", &r, c.st)
	}
	c.halfClose()
	bridgeWantCode(t, c.finish(), codes.OK, "")
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestBridgeShutdownCancels holds streams past shutdown's grace period:
// they are cancelled, their clients told Unavailable (or cut off), and
// shutdown returns once their goroutines are gone.
func TestBridgeShutdownCancels(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, Config{}, func(s *Server) { s.reg.RegisterService(bridgeProbeDesc(), probe) })
	base := bridgeBaseline(t, ts.addr)
	hold := bridgeOpen(t, ts.addr, "/bridgetest.Probe/Hold", nil)
	var r pb.UserResponse
	if !hold.recv(&r) {
		t.Fatalf("hold: %v", hold.st)
	}
	ids := bridgeHoldOpen(t, ts.addr)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Shutdown reports the grace period's end, unless its last streams
	// ended just as it did.
	if err := ts.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-probe.ended; status.Code(err) != codes.Canceled {
		t.Fatalf("held handler ended with %v; want its context cancelled", err)
	}
	for _, c := range []*bridgeClient{hold, ids} {
		f, err := c.frames.Next()
		if err != nil {
			continue // cut off: allowed
		}
		md, _ := wire.ParseHeaderBlock(f.Payload)
		if !f.IsTrailer() || wire.StatusFromTrailers(md).Code() != codes.Unavailable {
			t.Fatalf("after shutdown the client got frame %x %q; want Unavailable trailers", f.Flag, f.Payload)
		}
	}
	bridgeWaitGoroutines(t, base)
}

// bridgeProbe is a service for these tests only: it shows what a handler
// sees over the bridge.
type bridgeProbe struct {
	ended chan error   // how each Hold or Flood call ended
	sent  atomic.Int64 // messages Flood sent
}

const (
	bridgeProbeErrMsg = "unlucky 13: ünïcode, 100% \r\n kept"
	bridgeFloodSize   = 16 << 10
)

func newBridgeProbe() *bridgeProbe { return &bridgeProbe{ended: make(chan error, 16)} }

func bridgeProbeDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "bridgetest.Probe",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Echo", Handler: bridgeProbeEcho}},
		Streams: []grpc.StreamDesc{
			{StreamName: "Hold", Handler: bridgeProbeHold, ClientStreams: true, ServerStreams: true},
			{StreamName: "Flood", Handler: bridgeProbeFlood, ServerStreams: true},
		},
	}
}

// bridgeProbeEcho reports the handler's view in the reply's message, as a
// query string, and sets a header and trailers. Id 13 fails.
func bridgeProbeEcho(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var in pb.UserRequest
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs("x-head", "h1")); err != nil {
		return nil, err
	}
	if err := grpc.SetTrailer(ctx, metadata.Pairs("x-tail", "t1", "x-tail-bin", "\x00\x01")); err != nil {
		return nil, err
	}
	if in.GetId() == 13 {
		return nil, status.Error(codes.FailedPrecondition, bridgeProbeErrMsg)
	}
	v := url.Values{}
	md, _ := metadata.FromIncomingContext(ctx)
	for k, vs := range md {
		v[k] = vs
	}
	method, _ := grpc.Method(ctx)
	v.Set("method", method)
	if p, ok := peer.FromContext(ctx); ok {
		v.Set("peer", p.Addr.String())
	}
	_, ok := ctx.Deadline()
	v.Set("deadline", fmt.Sprint(ok))
	return &pb.UserResponse{Message: v.Encode()}, nil
}

// bridgeProbeHold says "holding" and waits for its context to end.
func bridgeProbeHold(srv any, ss grpc.ServerStream) error {
	p := srv.(*bridgeProbe)
	if err := ss.SendMsg(&pb.UserResponse{Message: "holding"}); err != nil {
		p.ended <- err
		return err
	}
	<-ss.Context().Done()
	err := status.FromContextError(ss.Context().Err()).Err()
	p.ended <- err
	return err
}

// bridgeProbeFlood sends large messages until Send fails.
func bridgeProbeFlood(srv any, ss grpc.ServerStream) error {
	p := srv.(*bridgeProbe)
	var in pb.UserRequest
	if err := ss.RecvMsg(&in); err != nil {
		return err
	}
	msg := &pb.UserResponse{Message: strings.Repeat("x", bridgeFloodSize)}
	for {
		if err := ss.SendMsg(msg); err != nil {
			p.ended <- err
			return err
		}
		p.sent.Add(1)
	}
}
