package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
)

// The grpc-mux.v1 tests: the real server (servertest.Start) with the real
// Go client (wasm/client, built natively) putting every call on one
// multiplexed socket, and a raw client (mux_raw_test.go) that writes
// frames by hand to break the protocol.

// muxDial dials url with every call on the multiplexed socket.
func muxDial(t *testing.T, url string, opts ...client.DialOption) *client.Conn {
	t.Helper()
	c, err := client.Dial(url, append([]client.DialOption{client.WithMultiplexing(client.MultiplexAlways)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMuxCallTypes makes the four kinds of call over one socket, as the
// bridge's tests make them over one socket each.
func TestMuxCallTypes(t *testing.T) {
	ln := newCountingListener(t)
	ts := bridgeStart(t, server.Config{}, servertest.WithListener(ln))
	conn := muxDial(t, ts.URL)
	ctx := t.Context()

	t.Run("unary", func(t *testing.T) {
		var got pb.UserResponse
		var header, trailer metadata.MD
		if err := conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, &got, client.Header(&header), client.Trailer(&trailer)); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.GetUser(), bridgeSeedUsers[1]) {
			t.Fatalf("reply %v", &got)
		}
		err := conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{}, &got)
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("id 0: %v; want InvalidArgument", err)
		}
		err = conn.Invoke(ctx, "/UserManager/Nope", &pb.UserRequest{}, &got)
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("unknown method: %v; want Unimplemented", err)
		}
	})
	t.Run("server stream", func(t *testing.T) {
		s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, "/UserManager/GetUsersByType")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(&pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL}); err != nil {
			t.Fatal(err)
		}
		var ids []uint32
		for {
			var r pb.UserResponse
			err := s.RecvMsg(&r)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.GetUser().GetId())
		}
		if fmt.Sprint(ids) != "[3 5 6]" {
			t.Fatalf("ids %v; want [3 5 6]", ids)
		}
	})
	t.Run("client stream", func(t *testing.T) {
		s, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true}, "/UserManager/CountAlreadyUsers")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []uint32{1, 2, 99, 1, 6, 4242} {
			if err := s.SendMsg(&pb.UserRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
		}
		s.CloseSend()
		var got pb.UserCntResponse
		if err := s.RecvMsg(&got); err != nil {
			t.Fatal(err)
		}
		if got.GetUserCnt() != 4 {
			t.Fatalf("reply %v; want user_cnt 4", &got)
		}
	})
	t.Run("bidi", func(t *testing.T) {
		s, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/UserManager/GetUsersByIds")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []uint32{2, 5, 2} {
			if err := s.SendMsg(&pb.UserRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
			var r pb.UserResponse
			if err := s.RecvMsg(&r); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(r.GetUser(), bridgeSeedUsers[id]) {
				t.Fatalf("id %d: reply %v", id, &r)
			}
		}
		s.CloseSend()
		if err := s.RecvMsg(new(pb.UserResponse)); err != io.EOF {
			t.Fatalf("after the half-close: %v; want io.EOF", err)
		}
	})
	t.Run("gzip and a request larger than the window", func(t *testing.T) {
		// A GetUser request carrying 200 KiB in an unknown field, three
		// windows: it flows as the handler reads, and gzip-compressed.
		req := &pb.UserRequest{Id: 2}
		req.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 99, protowire.BytesType), []byte(strings.Repeat("x", 200<<10))))
		var got pb.UserResponse
		for _, opts := range [][]client.CallOption{nil, {client.UseCompressor("gzip")}} {
			if err := conn.Invoke(ctx, "/UserManager/GetUser", req, &got, opts...); err != nil || !proto.Equal(got.GetUser(), bridgeSeedUsers[2]) {
				t.Fatalf("%d call options: reply %v, %v", len(opts), &got, err)
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
		time.Sleep(time.Millisecond)
		err := conn.Invoke(dctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, new(pb.UserResponse))
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("%v; want DeadlineExceeded", err)
		}
	})
	if n := ln.accepted.Load(); n != 1 {
		t.Fatalf("%d TCP connections; want every call on one socket", n)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &countingListener{Listener: ln}
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// TestMuxStalledStream: a server stream whose client reads nothing stalls
// at its window, on the server, while a bidi stream on the same socket
// completes 1,000 round trips.
func TestMuxStalledStream(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	conn := muxDial(t, ts.URL)
	ctx := t.Context()
	fctx, stopFlood := context.WithCancel(ctx)
	defer stopFlood()
	flood, err := conn.NewStream(fctx, client.StreamDesc{ServerStreams: true}, "/bridgetest.Probe/Flood")
	if err != nil {
		t.Fatal(err)
	}
	if err := flood.SendMsg(&pb.UserRequest{Id: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := flood.Header(); err != nil { // the flood has begun
		t.Fatal(err)
	}

	bidi, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/UserManager/GetUsersByIds")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		id := uint32(i%6 + 1)
		if err := bidi.SendMsg(&pb.UserRequest{Id: id}); err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
		var r pb.UserResponse
		if err := bidi.RecvMsg(&r); err != nil || r.GetUser().GetId() != id {
			t.Fatalf("round trip %d: %v, %v", i, &r, err)
		}
	}
	bidi.CloseSend()
	if err := bidi.RecvMsg(new(pb.UserResponse)); err != io.EOF {
		t.Fatalf("bidi end: %v", err)
	}
	// The flood sent what one window holds, and waits for more.
	window := int64(grpchttp.DefaultMuxWindow)
	if sent, most := probe.sent.Load(), window/bridgeFloodSize+1; sent > most {
		t.Fatalf("the flood sent %d messages of %d bytes to a client that reads none; its window holds %d", sent, bridgeFloodSize, most)
	}
	select {
	case err := <-probe.ended:
		t.Fatalf("the stalled flood ended: %v", err)
	default:
	}
	stopFlood()
	if err := <-probe.ended; status.Code(err) != codes.Canceled {
		t.Fatalf("the flood ended with %v; want Canceled (the client's CANCEL)", err)
	}
}

// TestMuxShutdown: a GOAWAY tells each socket; the streams it ran go on to
// their end, new ones are refused (dropped, never run), and Shutdown
// returns once they ended and the socket closed.
func TestMuxShutdown(t *testing.T) {
	ts := bridgeStart(t, server.Config{})
	conn := muxDial(t, ts.URL)
	ctx := t.Context()
	bidi, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/UserManager/GetUsersByIds")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip := func(id uint32) {
		t.Helper()
		if err := bidi.SendMsg(&pb.UserRequest{Id: id}); err != nil {
			t.Fatal(err)
		}
		var r pb.UserResponse
		if err := bidi.RecvMsg(&r); err != nil || r.GetUser().GetId() != id {
			t.Fatalf("round trip: %v, %v", &r, err)
		}
	}
	roundTrip(1)
	raw := muxRawDial(t, ts.Addr)
	raw.write(muxOpenFrame(t, 1, "/UserManager/GetUsersByIds", false), muxDataFrame(t, 1, &pb.UserRequest{Id: 2}, false))
	if _, msgs := muxReadUntil(t, raw, grpcwire.MuxTypeData); len(msgs) != 0 {
		t.Fatal("frames for no stream")
	}

	stopped := make(chan error, 1)
	go func() { stopped <- ts.Stop() }()
	f, _ := muxReadUntil(t, raw, grpcwire.MuxTypeGoAway)
	if last, st := f.GoAway(); last != 1 || st.Code() != codes.OK {
		t.Fatalf("GOAWAY last %d, %v; want 1, OK", last, st)
	}
	// A stream opened after the GOAWAY is never run.
	raw.write(muxOpenFrame(t, 3, "/UserManager/GetUser", false), muxDataFrame(t, 3, &pb.UserRequest{Id: 3}, true))
	// New calls fail with Unavailable, safe to retry elsewhere.
	if err := conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, new(pb.UserResponse)); status.Code(err) != codes.Unavailable {
		t.Fatalf("a call after the GOAWAY: %v; want Unavailable", err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while streams were in flight", err)
	default:
	}
	// The streams in flight go on.
	roundTrip(5)
	bidi.CloseSend()
	if err := bidi.RecvMsg(new(pb.UserResponse)); err != io.EOF {
		t.Fatalf("bidi end: %v", err)
	}
	raw.write(muxDataFrame(t, 1, &pb.UserRequest{Id: 6}, true))
	var data int
	for ended := false; !ended; {
		f := raw.next()
		if f.Stream == 3 {
			t.Fatalf("%v frame for the stream opened after the GOAWAY", f.Type)
		}
		switch f.Type {
		case grpcwire.MuxTypeData:
			data++
		case grpcwire.MuxTypeTrailers:
			md, _ := grpcwire.ParseHeaderBlock(f.Payload)
			if st := grpcwire.StatusFromTrailers(md); st.Code() != codes.OK {
				t.Fatalf("the raw stream ended with %v", st)
			}
			ended = true
		}
	}
	if data == 0 {
		t.Fatal("no reply on the raw stream after the GOAWAY")
	}
	if _, err := raw.nextErr(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after its last stream: %v; want close 1001", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// muxReadUntil reads the raw socket's frames until one of type typ, and
// returns it and the DATA payloads before it.
func muxReadUntil(t *testing.T, c *muxRaw, typ grpcwire.MuxType) (grpcwire.MuxFrame, [][]byte) {
	t.Helper()
	var data [][]byte
	for {
		f := c.next()
		if f.Type == typ {
			return f, data
		}
		if f.Type == grpcwire.MuxTypeData {
			data = append(data, f.Payload)
		}
	}
}

// TestMuxHandshakePolicy: the handshake's Host and Origin are checked as
// any call's are, before the upgrade.
func TestMuxHandshakePolicy(t *testing.T) {
	ts := bridgeStart(t, server.Config{AllowedHosts: []string{"localhost"}, AllowedOrigins: []string{"https://app.example.com"}})
	_, port, _ := net.SplitHostPort(ts.Addr)
	tests := []struct {
		host, origin string
		ok           bool
	}{
		{"localhost:" + port, "", true},
		{"localhost:" + port, "http://localhost:" + port, true},
		{"localhost:" + port, "https://app.example.com", true},
		{"localhost:" + port, "https://evil.example.com", false},
		{"localhost:" + port, "null", false},
		{ts.Addr, "", false}, // a name the server does not answer to
		{"rebound.example.com:" + port, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.host+" "+tc.origin, func(t *testing.T) {
			h := http.Header{"Host": {tc.host}}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			d := websocket.Dialer{Subprotocols: []string{grpcwire.MuxProtocol}, HandshakeTimeout: 10 * time.Second}
			ws, resp, err := d.Dial("ws://"+ts.Addr+grpcwire.MuxPath, h)
			if !tc.ok {
				if err == nil {
					ws.Close()
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("%v, %v; want 403", resp, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ws.Close()
		})
	}
}

// TestMuxObserved: interceptors and stats handlers see every muxed stream,
// and its end, as any call's, with the protocol named.
func TestMuxObserved(t *testing.T) {
	rec := &muxRecorder{}
	intercepted := func(ctx context.Context, method string) { rec.add("intercepted "+method, grpchttp.Protocol(ctx)) }
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{
		UnaryInterceptors: []grpc.UnaryServerInterceptor{func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			intercepted(ctx, info.FullMethod)
			return h(ctx, req)
		}},
		StreamInterceptors: []grpc.StreamServerInterceptor{func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			intercepted(ss.Context(), info.FullMethod)
			return h(srv, ss)
		}},
		StatsHandlers: []stats.Handler{rec},
	}, servertest.WithService(bridgeProbeDesc(), probe))
	conn := muxDial(t, ts.URL)
	ctx := t.Context()
	conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, new(pb.UserResponse))
	conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{}, new(pb.UserResponse))
	s, _ := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, "/UserManager/GetUsersByType")
	s.SendMsg(&pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL})
	for s.RecvMsg(new(pb.UserResponse)) == nil {
	}
	s, _ = conn.NewStream(ctx, client.StreamDesc{ClientStreams: true}, "/UserManager/CountAlreadyUsers")
	s.SendMsg(&pb.UserRequest{Id: 1})
	s.CloseSend()
	s.RecvMsg(new(pb.UserCntResponse))
	// A stream the client cancels while its handler runs.
	hctx, cancel := context.WithCancel(ctx)
	s, _ = conn.NewStream(hctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/bridgetest.Probe/Hold")
	s.RecvMsg(new(pb.UserResponse))
	cancel()
	<-probe.ended
	want := []string{
		"intercepted /UserManager/GetUser grpc-mux", "intercepted /UserManager/GetUser grpc-mux",
		"intercepted /UserManager/GetUsersByType grpc-mux", "intercepted /UserManager/CountAlreadyUsers grpc-mux",
		"intercepted /bridgetest.Probe/Hold grpc-mux",
		"end /UserManager/GetUser grpc-mux OK", "end /UserManager/GetUser grpc-mux InvalidArgument",
		"end /UserManager/GetUsersByType grpc-mux OK", "end /UserManager/CountAlreadyUsers grpc-mux OK",
		"end /bridgetest.Probe/Hold grpc-mux Canceled",
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := rec.sorted()
		if slices.Equal(got, slices.Sorted(slices.Values(want))) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("seen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// muxRecorder records what interceptors and a stats handler see.
type muxRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *muxRecorder) add(what, protocol string) {
	r.mu.Lock()
	r.seen = append(r.seen, what+" "+protocol)
	r.mu.Unlock()
}

func (r *muxRecorder) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.seen))
}

type muxMethodKey struct{}

func (r *muxRecorder) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, muxMethodKey{}, info.FullMethodName)
}

func (r *muxRecorder) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if end, ok := s.(*stats.End); ok {
		method, _ := ctx.Value(muxMethodKey{}).(string)
		r.add("end "+method, grpchttp.Protocol(ctx)+" "+status.Code(end.Error).String())
	}
}

func (r *muxRecorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (r *muxRecorder) HandleConn(context.Context, stats.ConnStats)                       {}

// TestMuxShutdownCancels holds a muxed stream past shutdown's grace
// period: its handler is cancelled, its client told Unavailable (or cut
// off), the socket closes and Shutdown returns.
func TestMuxShutdownCancels(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	raw := muxRawDial(t, ts.Addr)
	raw.write(muxOpenFrame(t, 1, "/bridgetest.Probe/Hold", false))
	muxReadUntil(t, raw, grpcwire.MuxTypeData) // holding

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-probe.ended; status.Code(err) != codes.Canceled {
		t.Fatalf("held handler ended with %v; want its context cancelled", err)
	}
	for {
		f, err := raw.nextErr()
		if err != nil {
			break // cut off, or closed after the trailers
		}
		if f.Type == grpcwire.MuxTypeTrailers {
			md, _ := grpcwire.ParseHeaderBlock(f.Payload)
			if st := grpcwire.StatusFromTrailers(md); st.Code() != codes.Unavailable {
				t.Fatalf("after the grace period the stream ended with %v; want Unavailable", st)
			}
		}
	}
	raw.ws.Close()
	bridgeWaitGoroutines(t, base)
}

// TestMuxIdleRecvEnds: a handler waiting in Recv on a stream without a
// deadline (which waits on its stream's wake-up alone) returns when its
// call ends: the client's CANCEL, the socket's loss, the end of Shutdown's
// grace period.
func TestMuxIdleRecvEnds(t *testing.T) {
	recvErr := make(chan error, 1)
	desc := &grpc.ServiceDesc{
		ServiceName: "muxtest.Idle",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Wait", ClientStreams: true, ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			var in pb.UserRequest
			if err := ss.RecvMsg(&in); err != nil {
				return err
			}
			if err := ss.SendMsg(&pb.UserResponse{Message: "waiting"}); err != nil {
				return err
			}
			err := ss.RecvMsg(&in) // idle: nothing more comes
			recvErr <- err
			return err
		}}},
	}
	for _, tc := range []struct {
		name string
		end  func(ts *servertest.Server, c *muxRaw)
		want codes.Code
	}{
		{"cancel", func(_ *servertest.Server, c *muxRaw) {
			c.write(grpcwire.AppendMuxCancel(nil, 1, grpcstatus.New(codes.Canceled, "enough")))
		}, codes.Canceled},
		{"socket lost", func(_ *servertest.Server, c *muxRaw) { c.ws.NetConn().Close() }, codes.Canceled},
		{"shutdown", func(ts *servertest.Server, _ *muxRaw) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			ts.Shutdown(ctx)
		}, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := bridgeStart(t, server.Config{}, servertest.WithService(desc, struct{}{}))
			c := muxRawDial(t, ts.Addr)
			c.write(muxOpenFrame(t, 1, "/muxtest.Idle/Wait", false), muxDataFrame(t, 1, &pb.UserRequest{Id: 1}, false))
			muxReadUntil(t, c, grpcwire.MuxTypeData) // the handler waits in Recv
			tc.end(ts, c)
			select {
			case err := <-recvErr:
				if status.Code(err) != tc.want {
					t.Fatalf("Recv ended with %v; want %v", err, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the handler still waits in Recv after its call ended")
			}
		})
	}
}
