package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
)

// The probe of the cross-path test: one unary method, through the
// interceptor chain as generated code calls it. It answers with the
// protocol the call arrived by (grpchttp.Protocol) and sets a header and
// trailers; id 13 fails with a status that carries details.
func pathsProbeDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "paths.Probe",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Call", Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(pb.UserRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				grpc.SetHeader(ctx, metadata.Pairs("x-head", "h1"))
				grpc.SetTrailer(ctx, metadata.Pairs("x-tail", "t1", "x-tail-bin", "\x00\x01"))
				if req.(*pb.UserRequest).GetId() == 13 {
					st, _ := status.New(codes.FailedPrecondition, "unlucky 13: ünïcode, 100% kept").WithDetails(&errdetails.ErrorInfo{Reason: "UNLUCKY"})
					return nil, st.Err()
				}
				return &pb.UserResponse{Message: grpchttp.Protocol(ctx)}, nil
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/paths.Probe/Call"}, h)
		}}},
	}
}

// statsLog is a stats handler that writes down every event of every call,
// in order, and the connections they came on.
type statsLog struct {
	mu     sync.Mutex
	nextID int
	calls  map[int][]string // events by call
	conns  int              // ConnBegin events
}

// allEnded reports whether every call recorded has its End event. l.mu is
// held.
func (l *statsLog) allEnded() bool {
	for _, evs := range l.calls {
		if len(evs) == 0 || !strings.HasPrefix(evs[len(evs)-1], "End") {
			return false
		}
	}
	return true
}

type (
	statsCallKey struct{}
	statsConnKey struct{}
)

func (l *statsLog) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, statsConnKey{}, true)
}

func (l *statsLog) HandleConn(_ context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnBegin); ok {
		l.mu.Lock()
		l.conns++
		l.mu.Unlock()
	}
}

func (l *statsLog) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextID++
	if l.calls == nil {
		l.calls = map[int][]string{}
	}
	return context.WithValue(ctx, statsCallKey{}, l.nextID)
}

func (l *statsLog) HandleRPC(ctx context.Context, s stats.RPCStats) {
	id, _ := ctx.Value(statsCallKey{}).(int)
	name := strings.TrimPrefix(fmt.Sprintf("%T", s), "*stats.")
	if _, ok := ctx.Value(statsConnKey{}).(bool); !ok {
		name += "(untagged connection)"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[id] = append(l.calls[id], name)
}

// take returns the events of the calls since the last take, in the order
// the calls began, once each has ended: the End event comes after the
// client has its answer.
func (l *statsLog) take() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !l.allEnded(); {
		l.mu.Unlock()
		time.Sleep(time.Millisecond)
		l.mu.Lock()
	}
	var ids []int
	for id := range l.calls {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out [][]string
	for _, id := range ids {
		out = append(out, l.calls[id])
	}
	l.calls = nil
	return out
}

// pathResult is what a client saw of a call, whatever carried it.
type pathResult struct {
	code            codes.Code
	message         string
	details         int
	reply           string // the reply's message field: the protocol the handler saw
	header, trailer string // the probe's own metadata, "k=v" sorted
}

// probeMD is the probe's metadata in md, comparable across paths.
func probeMD(md metadata.MD) string {
	var kv []string
	for k, vs := range md {
		if strings.HasPrefix(k, "x-head") || strings.HasPrefix(k, "x-tail") {
			for _, v := range vs {
				kv = append(kv, k+"="+v)
			}
		}
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// nativeCall makes the probe call with grpc-go's client on cc.
func nativeCall(t *testing.T, cc *grpc.ClientConn, id uint32) pathResult {
	t.Helper()
	var header, trailer metadata.MD
	out := new(pb.UserResponse)
	err := cc.Invoke(t.Context(), "/paths.Probe/Call", &pb.UserRequest{Id: id}, out, grpc.Header(&header), grpc.Trailer(&trailer))
	st := status.Convert(err)
	return pathResult{code: st.Code(), message: st.Message(), details: len(st.Details()), reply: out.GetMessage(), header: probeMD(header), trailer: probeMD(trailer)}
}

// httpCall makes the probe call over HTTP, w's way.
func httpCall(t *testing.T, w way, id uint32) pathResult {
	t.Helper()
	var body []byte
	if strings.HasSuffix(w.ctype, "+json") {
		j, err := protojson.Marshal(&pb.UserRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		body = grpcwire.AppendFrame(nil, grpcwire.FlagData, j)
	} else {
		body = webFrames(t, &pb.UserRequest{Id: id})
	}
	res := w.post(t, "/paths.Probe/Call", body)
	st := grpcwire.StatusFromTrailers(res.trailer).GRPC()
	r := pathResult{code: st.Code(), message: st.Message(), details: len(st.Details()), header: probeMD(headerMD(t, res.resp.Header)), trailer: probeMD(res.trailer)}
	if len(res.messages) == 1 {
		out := new(pb.UserResponse)
		unmarshal := proto.Unmarshal
		if strings.HasSuffix(w.ctype, "+json") {
			unmarshal = protojson.Unmarshal
		}
		if err := unmarshal(res.messages[0], out); err != nil {
			t.Fatalf("%s: reply: %v", w.name, err)
		}
		r.reply = out.GetMessage()
	}
	return r
}

// bridgePathCall makes the probe call over the WebSocket bridge.
func bridgePathCall(t *testing.T, addr string, id uint32) pathResult {
	t.Helper()
	c := bridgeOpen(t, addr, "/paths.Probe/Call", nil)
	c.send(&pb.UserRequest{Id: id})
	c.halfClose()
	out := new(pb.UserResponse)
	var r pathResult
	if c.recv(out) {
		r.reply = out.GetMessage()
	}
	st := c.finish()
	r.code, r.message, r.details = st.Code(), st.Message(), len(st.Details())
	r.header, r.trailer = probeMD(c.header), probeMD(c.trailer)
	return r
}

// muxPathCall makes the probe call on conn's multiplexed socket
// (grpc-mux.v1), with our client.
func muxPathCall(t *testing.T, conn *client.Conn, id uint32) pathResult {
	t.Helper()
	var header, trailer metadata.MD
	out := new(pb.UserResponse)
	err := conn.Invoke(t.Context(), "/paths.Probe/Call", &pb.UserRequest{Id: id}, out, client.Header(&header), client.Trailer(&trailer))
	st := status.Convert(err)
	return pathResult{code: st.Code(), message: st.Message(), details: len(st.Details()), reply: out.GetMessage(), header: probeMD(header), trailer: probeMD(trailer)}
}

// TestEveryPathSameAnswers sends the same calls over every path into the
// server (native gRPC as a connection's first request, on grpc-go's
// transport; native gRPC after gRPC-Web on the same connection, on the
// runtime; gRPC-Web over HTTP/1.1 and HTTP/2, text, JSON; the WebSocket
// bridge; the multiplexed socket; and through a front) and checks that they get the same status,
// details, headers and trailers; that the handler sees the documented
// protocol; and that the stats handlers see the same events, in grpc-go's
// order, on tagged connections.
func TestEveryPathSameAnswers(t *testing.T) {
	log := &statsLog{}
	ts := servertest.Start(t, server.Config{StatsHandlers: []stats.Handler{log}}, servertest.WithService(pathsProbeDesc(), struct{}{}))

	// The front: the playground before a backend that serves the probe.
	backend := servertest.Start(t, server.Config{}, servertest.WithService(pathsProbeDesc(), struct{}{}))
	frontLog := &statsLog{}
	fr := servertest.Start(t, server.Config{Backend: &front.Backend{Addr: backend.Addr}, StatsHandlers: []stats.Handler{frontLog}}, servertest.WithoutStore())

	dial := func(addr string) *grpc.ClientConn {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return cc
	}
	nativeFirst, frontNative := dial(ts.Addr), dial(fr.Addr)
	// A connection whose first request is gRPC-Web, then native calls.
	mixed := h2cClient()
	if res := webPost(t, ts.Addr, "/paths.Probe/Call", webFrames(t, &pb.UserRequest{Id: 1}), nil); res.code() != "0" {
		t.Fatalf("pin: grpc-status %s", res.code())
	}
	mixedWay := way{name: "grpc/h2c after grpc-web", client: mixed, base: ts.URL, ctype: grpcwire.ContentTypeGRPC, proto: 2}
	httpCall(t, way{name: "pin", client: mixed, base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 2}, 1)
	log.take()

	paths := []struct {
		name, protocol string
		call           func(id uint32) pathResult
		log            *statsLog
	}{
		{"grpc, the connection's first request (grpc-go's transport)", "grpc", func(id uint32) pathResult { return nativeCall(t, nativeFirst, id) }, log},
		{"grpc after grpc-web on one connection (the runtime)", "grpc", func(id uint32) pathResult { return httpCall(t, mixedWay, id) }, log},
		{"grpc-web over HTTP/1.1", "grpc-web", func(id uint32) pathResult {
			return httpCall(t, way{name: "grpc-web/h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 1}, id)
		}, log},
		{"grpc-web over h2c", "grpc-web", func(id uint32) pathResult {
			return httpCall(t, way{name: "grpc-web/h2c", client: h2cClient(), base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 2}, id)
		}, log},
		{"grpc-web-text", "grpc-web-text", func(id uint32) pathResult {
			return httpCall(t, way{name: "grpc-web-text/h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeText, proto: 1}, id)
		}, log},
		{"grpc-web+json", "grpc-web+json", func(id uint32) pathResult {
			return httpCall(t, way{name: "grpc-web+json/h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeWebJSON, proto: 1}, id)
		}, log},
		{"the WebSocket bridge", "grpc-websockets", func(id uint32) pathResult { return bridgePathCall(t, ts.Addr, id) }, log},
		{"the multiplexed socket", "grpc-mux", func(id uint32) pathResult { return muxPathCall(t, muxDial(t, ts.URL), id) }, log},
		{"through the front, native", "grpc", func(id uint32) pathResult { return nativeCall(t, frontNative, id) }, frontLog},
		{"through the front, grpc-web", "grpc", func(id uint32) pathResult {
			return httpCall(t, way{name: "front/grpc-web/h1", client: h1Client(), base: fr.URL, ctype: grpcwire.ContentTypeProto, proto: 1}, id)
		}, frontLog},
		{"through the front, the multiplexed socket", "grpc", func(id uint32) pathResult { return muxPathCall(t, muxDial(t, fr.URL), id) }, frontLog},
	}
	var wantOK, wantFail pathResult
	var wantEvents [][]string
	for i, p := range paths {
		p.log.take()
		ok, fail := p.call(1), p.call(13)
		events := p.log.take()
		if ok.reply != p.protocol {
			t.Errorf("%s: the handler saw protocol %q; want %q", p.name, ok.reply, p.protocol)
		}
		ok.reply = ""
		if i == 0 {
			wantOK, wantFail, wantEvents = ok, fail, events
			if ok.code != codes.OK || fail.code != codes.FailedPrecondition || fail.details != 1 || ok.header != "x-head=h1" || !strings.Contains(ok.trailer, "x-tail=t1") {
				t.Fatalf("%s, the reference: %+v, %+v", p.name, ok, fail)
			}
			want := []string{"InHeader", "Begin", "InPayload", "OutHeader", "OutPayload", "OutTrailer", "End"}
			if len(events) != 2 || !slices.Equal(events[0], want) {
				t.Fatalf("%s, the reference: events %v; want %v for each call", p.name, events, want)
			}
			continue
		}
		if ok != wantOK {
			t.Errorf("%s: the OK call got %+v; want %+v", p.name, ok, wantOK)
		}
		if fail != wantFail {
			t.Errorf("%s: the failing call got %+v; want %+v", p.name, fail, wantFail)
		}
		if fmt.Sprint(events) != fmt.Sprint(wantEvents) {
			t.Errorf("%s: stats events %v; want %v", p.name, events, wantEvents)
		}
	}
	if log.conns == 0 || frontLog.conns == 0 {
		t.Errorf("ConnBegin events: %d, %d through the front; want some", log.conns, frontLog.conns)
	}
}

// TestNativeFirstPolicy: a native gRPC call that opens its connection (so
// grpc-go's transport serves it) gets the same policy as the runtime's
// calls: a host the server does not answer to, or a browser origin it does
// not allow, is refused with PermissionDenied before the handler runs, and
// the AddUser it carries is not stored.
func TestNativeFirstPolicy(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	for _, tc := range []struct {
		name      string
		authority string
		origin    string
	}{
		{"a rebinding host", "evil.example:443", ""},
		{"a foreign origin", "", "http://evil.example"},
		{"origin null", "", "null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
			if tc.authority != "" {
				opts = append(opts, grpc.WithAuthority(tc.authority))
			}
			cc, err := grpc.NewClient(ts.Addr, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx := t.Context()
			if tc.origin != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "origin", tc.origin)
			}
			_, err = pb.NewUserManagerClient(cc).AddUser(ctx, &pb.User{Id: 77, Nickname: "evil", MailAddress: "evil@example.com", UserType: pb.User_NORMAL})
			if status.Code(err) != codes.PermissionDenied {
				t.Fatalf("AddUser: %v; want PermissionDenied", err)
			}
		})
	}
	if r := webPost(t, ts.Addr, "/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 77}), nil); !strings.Contains(string(r.messages[0]), "not found") {
		t.Error("a refused AddUser was stored")
	}
	// The same server answers its own names.
	cc, err := grpc.NewClient(ts.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := pb.NewUserManagerClient(cc).GetUser(metadata.AppendToOutgoingContext(t.Context(), "origin", ts.URL), &pb.UserRequest{Id: 1}); err != nil {
		t.Fatalf("GetUser from the page's own origin: %v", err)
	}
}
