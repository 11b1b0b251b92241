package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// The bridge's tests speak grpc-websockets with a gorilla client to a real
// server (servertest.Start) on 127.0.0.1, and read its replies message by
// message, as a client that depends on the reference server's message
// boundaries does.

// bridgeStart serves a new server with cfg until the test ends.
func bridgeStart(t *testing.T, cfg server.Config, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	return servertest.Start(t, cfg, opts...)
}

// bridgeBaseline makes one call, so that every goroutine the server keeps
// is running, and returns the goroutines running now, for
// bridgeWaitGoroutines.
func bridgeBaseline(t *testing.T, addr string) goleak.Option {
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
	return goleak.IgnoreCurrent()
}

// bridgeWaitGoroutines waits (boundedly) until no goroutine runs that did
// not at the baseline: every stream goroutine has ended. It tells them by
// their stacks, not by counting the process's.
func bridgeWaitGoroutines(t *testing.T, base goleak.Option) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if err = goleak.Find(base); err == nil {
			return
		}
	}
	t.Fatal(err)
}

// bridgeDial opens a grpc-websockets connection to method.
func bridgeDial(addr, method string, h http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{grpcwire.WebSocketProtocol}, HandshakeTimeout: 10 * time.Second}
	return d.Dial("ws://"+addr+method, h)
}

// bridgeClient is one call from the test's side.
type bridgeClient struct {
	t       *testing.T
	conn    *websocket.Conn
	header  metadata.MD // the response's header block, once read
	trailer metadata.MD // its trailers, once read
	st      *status.Status
	end     error // how the socket ended after the trailers: io.EOF is a normal close
}

// bridgeDefaultHeaders is what improbable-eng's JS client sends.
func bridgeDefaultHeaders() metadata.MD {
	return metadata.MD{grpcwire.HeaderContentType: {grpcwire.ContentTypeProto}, grpcwire.HeaderXGRPCWeb: {"1"}}
}

// bridgeConnect opens a call to method without sending anything.
func bridgeConnect(t *testing.T, addr, method string) *bridgeClient {
	t.Helper()
	conn, _, err := bridgeDial(addr, method, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", method, err)
	}
	if p := conn.Subprotocol(); p != grpcwire.WebSocketProtocol {
		t.Fatalf("subprotocol %q; want %q", p, grpcwire.WebSocketProtocol)
	}
	t.Cleanup(func() { conn.Close() })
	return bridgeClientOn(t, conn)
}

func bridgeClientOn(t *testing.T, conn *websocket.Conn) *bridgeClient {
	return &bridgeClient{t: t, conn: conn}
}

// bridgeOpen opens a call to method and sends its header block: md, or
// the JS client's headers when md is nil.
func bridgeOpen(t *testing.T, addr, method string, md metadata.MD) *bridgeClient {
	t.Helper()
	c := bridgeConnect(t, addr, method)
	if md == nil {
		md = bridgeDefaultHeaders()
	}
	c.write(websocket.BinaryMessage, grpcwire.AppendHeaderBlock(nil, md))
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
	c.write(websocket.BinaryMessage, append([]byte{grpcwire.WSData}, b...))
}

func (c *bridgeClient) send(m proto.Message) {
	c.t.Helper()
	c.data(bridgeFrame(c.t, m))
}

func (c *bridgeClient) halfClose() {
	c.t.Helper()
	c.write(websocket.BinaryMessage, []byte{grpcwire.WSHalfClose})
}

func bridgeFrame(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return grpcwire.AppendFrame(nil, grpcwire.FlagData, b)
}

// nextMessage returns the next binary message; io.EOF for a normal close.
func (c *bridgeClient) nextMessage() ([]byte, error) {
	// A bound so a broken server fails the test instead of hanging it.
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	typ, b, err := c.conn.ReadMessage()
	if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, errors.New("the server sent a text message")
	}
	return b, nil
}

// nextFrame reads one frame the way a client that depends on the reference
// server's message boundaries reads it (ktr0731/grpc-web-go-client, behind
// evans --web): a message that is the 5-byte prefix alone, then, unless the
// payload is empty, a message that is the whole payload.
func (c *bridgeClient) nextFrame() (grpcwire.Frame, error) {
	c.t.Helper()
	prefix, err := c.nextMessage()
	if err != nil {
		return grpcwire.Frame{}, err
	}
	if len(prefix) != grpcwire.PrefixLen {
		c.t.Fatalf("a message of %d bytes where a frame prefix belongs: %q", len(prefix), prefix)
	}
	n := int(binary.BigEndian.Uint32(prefix[1:]))
	f := grpcwire.Frame{Flag: prefix[0]}
	if n == 0 {
		return f, nil
	}
	if f.Payload, err = c.nextMessage(); err != nil {
		c.t.Fatalf("no payload message after a prefix: %v", err)
	}
	if len(f.Payload) != n {
		c.t.Fatalf("a payload message of %d bytes; its prefix announced %d", len(f.Payload), n)
	}
	return f, nil
}

// recv reads the next response message into m and reports true, or reads
// the trailers (and the close after them) and reports false.
func (c *bridgeClient) recv(m proto.Message) bool {
	c.t.Helper()
	if c.st != nil {
		c.t.Fatal("recv after the trailers")
	}
	for {
		f, err := c.nextFrame()
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
		md, err := grpcwire.ParseHeaderBlock(f.Payload)
		if err != nil {
			c.t.Fatalf("response block: %v", err)
		}
		if c.header == nil {
			// improbable-eng's JS client takes the first block for the
			// headers, so one must come even before an error's trailers.
			if ct := grpcwire.First(md, grpcwire.HeaderContentType); ct != grpcwire.ContentTypeProto {
				c.t.Fatalf("header block content-type %q; want %q", ct, grpcwire.ContentTypeProto)
			}
			c.header = md
			continue
		}
		c.trailer = md
		c.st = grpcwire.StatusFromTrailers(md).GRPC()
		_, c.end = c.nextMessage()
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
	ts := bridgeStart(t, server.Config{})
	base := bridgeBaseline(t, ts.Addr)
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
			c := bridgeOpen(t, ts.Addr, tc.method, nil)
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
	ts := bridgeStart(t, server.Config{})
	base := bridgeBaseline(t, ts.Addr)
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
			c := bridgeOpen(t, ts.Addr, "/UserManager/GetUsersByType", nil)
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
	ts := bridgeStart(t, server.Config{})
	base := bridgeBaseline(t, ts.Addr)
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
			c := bridgeOpen(t, ts.Addr, "/UserManager/CountAlreadyUsers", nil)
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
		c := bridgeOpen(t, ts.Addr, "/UserManager/CountAlreadyUsers", nil)
		for i, id := range []uint32{1, 2, 99, 3, 4, 5} {
			b, err := proto.Marshal(&pb.UserRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				b = protowire.AppendBytes(protowire.AppendTag(b, 99, protowire.BytesType), make([]byte, 100<<10))
			}
			c.data(grpcwire.AppendFrame(nil, grpcwire.FlagData, b))
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
	ts := bridgeStart(t, server.Config{})
	base := bridgeBaseline(t, ts.Addr)
	c := bridgeOpen(t, ts.Addr, "/UserManager/GetUsersByIds", nil)
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
	ts := bridgeStart(t, server.Config{})
	base := bridgeBaseline(t, ts.Addr)
	md := bridgeDefaultHeaders()
	md[grpcwire.HeaderTimeout] = []string{"50m"}
	c := bridgeOpen(t, ts.Addr, "/UserManager/GetUsersByIds", md)
	// The handler waits in Recv, and nothing comes until the deadline.
	bridgeWantCode(t, c.finish(), codes.DeadlineExceeded, "")
	bridgeWaitGoroutines(t, base)
}

// TestBridgeMalformed sends what the protocol does not allow: each call
// ends with a clear status, and the server goes on serving.
func TestBridgeMalformed(t *testing.T) {
	ts := bridgeStart(t, server.Config{})
	base := bridgeBaseline(t, ts.Addr)
	headers := func(c *bridgeClient) {
		c.write(websocket.BinaryMessage, grpcwire.AppendHeaderBlock(nil, bridgeDefaultHeaders()))
	}
	withHeader := func(name, value string) func(*bridgeClient) {
		return func(c *bridgeClient) {
			md := bridgeDefaultHeaders()
			md[name] = []string{value}
			c.write(websocket.BinaryMessage, grpcwire.AppendHeaderBlock(nil, md))
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
		{"bad grpc-timeout", count, withHeader(grpcwire.HeaderTimeout, "soon"), nil, codes.InvalidArgument, "grpc-timeout"},
		{"text content-type", count, withHeader(grpcwire.HeaderContentType, grpcwire.ContentTypeText), nil, codes.InvalidArgument, "grpc-web-text"},
		{"not a gRPC content-type", count, withHeader(grpcwire.HeaderContentType, "application/json"), nil, codes.InvalidArgument, "content-type"},
		{"unknown codec", count, withHeader(grpcwire.HeaderContentType, "application/grpc-web+thrift"), nil, codes.Unimplemented, "thrift"},
		{"an encoding the server lacks", count, withHeader(grpcwire.HeaderEncoding, "br"), nil, codes.Unimplemented, "br"},
		{"unknown method", "/UserManager/Nope", headers, nil, codes.Unimplemented, "unknown method Nope for service UserManager"},
		{"unknown service", "/Nope/GetUser", headers, nil, codes.Unimplemented, "unknown service Nope"},
		{"text message", count, headers,
			func(c *bridgeClient) { c.write(websocket.TextMessage, append([]byte{0}, id1...)) },
			codes.InvalidArgument, "text message"},
		{"bytes beyond the frame's length", count, headers,
			func(c *bridgeClient) { c.data(append(id1, 0x08, 0x01)); c.halfClose() },
			codes.InvalidArgument, "ends inside a frame"},
		{"frame shorter than its length", count, headers,
			func(c *bridgeClient) { c.data(id1[:len(id1)-1]); c.halfClose() },
			codes.InvalidArgument, "ends inside a frame"},
		{"half-close inside a prefix", count, headers,
			func(c *bridgeClient) { c.data(id1[:3]); c.halfClose() },
			codes.InvalidArgument, "ends inside a frame"},
		{"compressed frame", count, headers,
			func(c *bridgeClient) { f := append([]byte(nil), id1...); f[0] = grpcwire.FlagCompressed; c.data(f) },
			codes.Internal, "compressed flag"},
		{"trailer frame from the client", count, headers,
			func(c *bridgeClient) { c.data(grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, []byte("a: b\r\n"))) },
			codes.Internal, "unexpected payload format 128"},
		{"unknown message type byte", count, headers,
			func(c *bridgeClient) { c.write(websocket.BinaryMessage, append([]byte{0x02}, id1...)) },
			codes.InvalidArgument, "0x02"},
		{"half-close with data", count, headers,
			func(c *bridgeClient) { c.write(websocket.BinaryMessage, []byte{grpcwire.WSHalfClose, 0}) },
			codes.InvalidArgument, "alone"},
		{"frame over the size limit", count, headers,
			func(c *bridgeClient) {
				c.data(grpcwire.AppendPrefix(nil, grpcwire.FlagData, server.DefaultMaxMsgSize+1))
			},
			codes.ResourceExhausted, "larger than max"},
		{"unary without a request", "/UserManager/GetUser", headers,
			func(c *bridgeClient) { c.halfClose() },
			codes.Internal, "no request message"},
		{"unary with two requests", "/UserManager/GetUser", headers,
			func(c *bridgeClient) { c.data(append(append([]byte(nil), id1...), id1...)); c.halfClose() },
			codes.Internal, "multiple request messages"},
		{"request that is not protobuf", "/UserManager/GetUser", headers,
			func(c *bridgeClient) {
				c.data(grpcwire.AppendFrame(nil, grpcwire.FlagData, []byte{0xff, 0xff}))
				c.halfClose()
			},
			codes.Internal, "unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := bridgeConnect(t, ts.Addr, tc.method)
			tc.first(c)
			if tc.then != nil {
				tc.then(c)
			}
			bridgeWantCode(t, c.finish(), tc.code, tc.msg)

			// The server goes on serving.
			ok := bridgeOpen(t, ts.Addr, "/UserManager/GetUser", nil)
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
	ts := bridgeStart(t, server.Config{})
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	_, resp, err := d.Dial("ws://"+ts.Addr+"/UserManager/GetUser", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("handshake without the subprotocol: %v, %v; want 400", resp, err)
	}
}

func TestBridgeOrigin(t *testing.T) {
	ts := bridgeStart(t, server.Config{AllowedOrigins: []string{"https://app.example.com"}})
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://" + ts.Addr, true}, // the page's own
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
			conn, resp, err := bridgeDial(ts.Addr, "/UserManager/GetUser", h)
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
	conn, _, err := bridgeDial(ts.Addr, "/UserManager/GetUser", http.Header{"Origin": {"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := bridgeClientOn(t, conn)
	c.write(websocket.BinaryMessage, grpcwire.AppendHeaderBlock(nil, bridgeDefaultHeaders()))
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
	ts := bridgeStart(t, server.Config{MaxStreams: 2, MaxStreamsPerClient: 2})
	base := bridgeBaseline(t, ts.Addr)
	a := bridgeHoldOpen(t, ts.Addr)
	b := bridgeHoldOpen(t, ts.Addr)

	c := bridgeOpen(t, ts.Addr, "/UserManager/GetUsersByIds", nil)
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "limit")
	// A socket that asks for an unknown method counts too.
	c = bridgeOpen(t, ts.Addr, "/UserManager/NoSuchMethod", nil)
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
		c := bridgeOpen(t, ts.Addr, "/UserManager/GetUsersByIds", nil)
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
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
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
			c := bridgeOpen(t, ts.Addr, "/bridgetest.Probe/Hold", nil)
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
			bridgeWaitGoroutines(t, base)
		})
	}

	// The real service: a bidi stream and a client stream dropped mid-call,
	// and a socket that never sends its headers.
	for _, method := range []string{"/UserManager/GetUsersByIds", "/UserManager/CountAlreadyUsers"} {
		c := bridgeOpen(t, ts.Addr, method, nil)
		c.send(&pb.UserRequest{Id: 1})
		c.conn.NetConn().Close()
	}
	c := bridgeConnect(t, ts.Addr, "/UserManager/GetUser")
	c.conn.NetConn().Close()
	bridgeWaitGoroutines(t, base)
}

func TestBridgeMetadata(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	md := bridgeDefaultHeaders()
	md["x-probe"] = []string{"hello"}
	md["x-probe-bin"] = []string{"\x00\xffbin"}
	md["authorization"] = []string{"Bearer t0ken"}
	md[grpcwire.HeaderTimeout] = []string{"1H"}
	c := bridgeOpen(t, ts.Addr, "/bridgetest.Probe/Echo", md)
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
		":authority":    ts.Addr,
	}
	for k, v := range want {
		if got := seen.Get(k); got != v {
			t.Errorf("handler saw %s = %q; want %q", k, got, v)
		}
	}
	if got := grpcwire.First(c.header, "x-head"); got != "h1" {
		t.Errorf("header x-head = %q; want h1", got)
	}
	st := c.finish()
	bridgeWantCode(t, st, codes.OK, "")
	if got := grpcwire.First(c.trailer, "x-tail"); got != "t1" {
		t.Errorf("trailer x-tail = %q; want t1", got)
	}
	if got := grpcwire.First(c.trailer, "x-tail-bin"); got != "\x00\x01" {
		t.Errorf("trailer x-tail-bin = %q", got)
	}

	// A handler's error keeps its code and its message, byte for byte.
	c = bridgeOpen(t, ts.Addr, "/bridgetest.Probe/Echo", nil)
	c.send(&pb.UserRequest{Id: 13})
	c.halfClose()
	st = c.finish()
	if st.Code() != codes.FailedPrecondition || st.Message() != bridgeProbeErrMsg {
		t.Fatalf("status %v %q; want FailedPrecondition %q", st.Code(), st.Message(), bridgeProbeErrMsg)
	}
	if got := grpcwire.First(c.trailer, "x-tail"); got != "t1" {
		t.Errorf("error trailer x-tail = %q; want t1", got)
	}
	bridgeWaitGoroutines(t, base)
}

func TestBridgeMessageSizeLimit(t *testing.T) {
	// Small enough that GetUser's reply is over it but its request is not.
	ts := bridgeStart(t, server.Config{MaxMsgSize: 16})
	c := bridgeOpen(t, ts.Addr, "/UserManager/GetUser", nil)
	c.send(&pb.UserRequest{Id: 1})
	c.halfClose()
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "larger than max")

	c = bridgeOpen(t, ts.Addr, "/UserManager/CountAlreadyUsers", nil)
	c.send(&pb.UserRequest{Id: 1})
	c.data(grpcwire.AppendFrame(nil, grpcwire.FlagData, make([]byte, 17)))
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "vs. 16")
}

// TestBridgeSlowReader floods a client that never reads: the server must
// not buffer for it without bound. The handler's Send blocks and, after the
// write timeout, fails; the stream and its goroutines end.
func TestBridgeSlowReader(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{WriteTimeout: 200 * time.Millisecond}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	c := bridgeOpen(t, ts.Addr, "/bridgetest.Probe/Flood", nil)
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
	ts := bridgeStart(t, server.Config{PingInterval: 50 * time.Millisecond, PongWait: 250 * time.Millisecond})
	base := bridgeBaseline(t, ts.Addr)

	// Answering: gorilla's default ping handler sends the pong, during reads.
	c := bridgeHoldOpen(t, ts.Addr)
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
	prefix, ok1 := <-msgs
	payload, ok2 := <-msgs
	if !ok1 || !ok2 {
		t.Fatal("the stream was cut off though the client answered every ping")
	}
	f, err := grpcwire.NewResponseReader(bytes.NewReader(append(prefix, payload...)), 1<<20).Next()
	var r pb.UserResponse
	if err != nil || proto.Unmarshal(f.Payload, &r) != nil || r.GetUser().GetId() != 4 {
		t.Fatalf("reply after the pings: %v, %v", &r, err)
	}
	c.conn.Close()
	for range msgs {
	}

	// Silent: this client reads the socket's bytes but no WebSocket
	// frames, so it answers no ping. The server must cut it off.
	silent := bridgeHoldOpen(t, ts.Addr)
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
	ts := bridgeStart(t, server.Config{})
	c := bridgeHoldOpen(t, ts.Addr)
	stopped := make(chan error, 1)
	go func() { stopped <- ts.Stop() }()
	// New handshakes are refused once shutdown has begun.
	for deadline := time.Now().Add(10 * time.Second); ; {
		conn, _, err := bridgeDial(ts.Addr, "/UserManager/GetUser", nil)
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
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	hold := bridgeOpen(t, ts.Addr, "/bridgetest.Probe/Hold", nil)
	var r pb.UserResponse
	if !hold.recv(&r) {
		t.Fatalf("hold: %v", hold.st)
	}
	ids := bridgeHoldOpen(t, ts.Addr)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Shutdown reports the grace period's end, unless its last streams
	// ended just as it did.
	if err := ts.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-probe.ended; status.Code(err) != codes.Canceled {
		t.Fatalf("held handler ended with %v; want its context cancelled", err)
	}
	for _, c := range []*bridgeClient{hold, ids} {
		f, err := c.nextFrame()
		if err != nil {
			continue // cut off: allowed
		}
		md, _ := grpcwire.ParseHeaderBlock(f.Payload)
		if !f.IsTrailer() || grpcwire.StatusFromTrailers(md).Code() != codes.Unavailable {
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
