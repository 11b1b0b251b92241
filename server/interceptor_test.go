package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/servertest"
)

// callRecord is what an interceptor saw of one call.
type callRecord struct {
	method, protocol, peer string
}

// recorder is a unary and a stream interceptor and a stats handler that
// record every call they see.
type recorder struct {
	mu     sync.Mutex
	calls  []callRecord
	begins int
	ends   int
}

func (r *recorder) record(ctx context.Context, method string) {
	p, _ := peer.FromContext(ctx)
	addr := ""
	if p != nil && p.Addr != nil {
		addr = p.Addr.String()
	}
	r.mu.Lock()
	r.calls = append(r.calls, callRecord{method, grpchttp.Protocol(ctx), addr})
	r.mu.Unlock()
}

func (r *recorder) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r.record(ctx, info.FullMethod)
	return h(ctx, req)
}

func (r *recorder) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	r.record(ss.Context(), info.FullMethod)
	return h(srv, ss)
}

func (r *recorder) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (r *recorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (r *recorder) HandleConn(context.Context, stats.ConnStats)                       {}
func (r *recorder) HandleRPC(_ context.Context, s stats.RPCStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch s.(type) {
	case *stats.Begin:
		r.begins++
	case *stats.End:
		r.ends++
	}
}

// take returns the calls recorded since the last take.
func (r *recorder) take() []callRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// panicker is a service whose handlers panic, through the interceptor
// chain as generated code calls it.
func panickerDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "probe.Panicker",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(pb.UserRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { panic("the unary handler broke") }
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/probe.Panicker/Unary"}, h)
		}}},
		Streams: []grpc.StreamDesc{{StreamName: "Bidi", ClientStreams: true, ServerStreams: true, Handler: func(any, grpc.ServerStream) error {
			panic("the stream handler broke")
		}}},
	}
}

// logRecords is a slog handler that keeps the records of "call" logs and
// the panic values of "handler panicked" ones.
type logRecords struct {
	mu     sync.Mutex
	seen   []map[string]string
	panics []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case r.Message == "handler panicked":
		l.panics = append(l.panics, m["panic"])
	case r.Message == "call" && r.Level == slog.LevelDebug:
		l.seen = append(l.seen, m)
	}
	return nil
}

// TestInterceptorsOnEveryPath: the Config's interceptors and stats handler
// see every call, with its method and peer, whichever path it came by
// (grpc-go's transport, native gRPC on our core, gRPC-Web binary and text,
// the WebSocket bridge); the server's logging interceptor logs each at
// debug level; and a handler's panic becomes Internal on every path, the
// server serving on.
func TestInterceptorsOnEveryPath(t *testing.T) {
	rec := &recorder{}
	logs := &logRecords{}
	ts := servertest.Start(t, server.Config{
		UnaryInterceptors:  []grpc.UnaryServerInterceptor{rec.unary},
		StreamInterceptors: []grpc.StreamServerInterceptor{rec.stream},
		StatsHandlers:      []stats.Handler{rec},
		Logger:             slog.New(logs),
	}, servertest.WithService(panickerDesc(), struct{}{}))

	cc, err := grpc.NewClient(ts.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	native := pb.NewUserManagerClient(cc)
	h2c := h2cClient()
	pinToNetHTTP(t, h2c, ts.URL)

	type path struct {
		name, protocol string
		unary          func(method string, req []byte) (codes.Code, string)
		stream         func(method string) (codes.Code, string) // a bidi call that sends one request
	}
	post := func(w way) func(string, []byte) (codes.Code, string) {
		return func(method string, req []byte) (codes.Code, string) {
			res := w.post(t, method, req)
			st := grpcwire.StatusFromTrailers(res.trailer)
			return st.Code(), st.Message()
		}
	}
	bridge := func(method string) (codes.Code, string) {
		c := bridgeOpen(t, ts.Addr, method, nil)
		c.send(&pb.UserRequest{Id: 1})
		c.halfClose()
		var r pb.UserResponse
		for c.st == nil && c.recv(&r) {
		}
		st := c.finish()
		return st.Code(), st.Message()
	}
	id1 := webFrames(t, &pb.UserRequest{Id: 1})
	paths := []path{
		{name: "grpc-go's transport", protocol: "grpc",
			unary: func(method string, _ []byte) (codes.Code, string) {
				var err error
				if method == "/UserManager/GetUser" {
					_, err = native.GetUser(t.Context(), &pb.UserRequest{Id: 1})
				} else {
					err = cc.Invoke(t.Context(), method, &pb.UserRequest{Id: 1}, new(pb.UserResponse))
				}
				st := status.Convert(err)
				return st.Code(), st.Message()
			},
			stream: func(method string) (codes.Code, string) {
				s, err := cc.NewStream(t.Context(), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
				if err == nil {
					s.SendMsg(&pb.UserRequest{Id: 1})
					s.CloseSend()
					for err == nil {
						err = s.RecvMsg(new(pb.UserResponse))
					}
				}
				if err.Error() == "EOF" {
					err = nil
				}
				st := status.Convert(err)
				return st.Code(), st.Message()
			}},
		{name: "native gRPC on our core", protocol: "grpc", unary: post(way{name: "h2c", client: h2c, base: ts.URL, ctype: grpcwire.ContentTypeGRPC, proto: 2})},
		{name: "gRPC-Web", protocol: "grpc-web", unary: post(way{name: "grpc-web", client: http.DefaultClient, base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 1})},
		{name: "gRPC-Web text", protocol: "grpc-web-text", unary: post(way{name: "grpc-web-text", client: http.DefaultClient, base: ts.URL, ctype: grpcwire.ContentTypeText, proto: 1})},
		{name: "WebSocket bridge", protocol: "grpc-websockets", unary: func(method string, _ []byte) (codes.Code, string) { return bridge(method) }, stream: bridge},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			rec.take()
			if code, msg := p.unary("/UserManager/GetUser", id1); code != codes.OK {
				t.Fatalf("GetUser: %v %s", code, msg)
			}
			// The panic's text stays in the server's log.
			if code, msg := p.unary("/probe.Panicker/Unary", id1); code != codes.Internal || strings.Contains(msg, "the unary handler broke") || !strings.Contains(msg, "server's log") {
				t.Fatalf("a panicking unary handler: %v %q; want Internal, its details in the log only", code, msg)
			}
			want := []string{"/UserManager/GetUser", "/probe.Panicker/Unary"}
			if p.stream != nil {
				if code, msg := p.stream("/UserManager/GetUsersByIds"); code != codes.OK {
					t.Fatalf("GetUsersByIds: %v %s", code, msg)
				}
				if code, msg := p.stream("/probe.Panicker/Bidi"); code != codes.Internal || strings.Contains(msg, "the stream handler broke") || !strings.Contains(msg, "server's log") {
					t.Fatalf("a panicking stream handler: %v %q; want Internal, its details in the log only", code, msg)
				}
				want = append(want, "/UserManager/GetUsersByIds", "/probe.Panicker/Bidi")
			}
			got := rec.take()
			if len(got) != len(want) {
				t.Fatalf("the interceptors saw %v; want %v", got, want)
			}
			for i, c := range got {
				if c.method != want[i] || c.protocol != p.protocol || !strings.HasPrefix(c.peer, "127.0.0.1:") {
					t.Errorf("call %d: the interceptor saw %+v; want method %s, protocol %s, a loopback peer", i, c, want[i], p.protocol)
				}
			}
		})
	}
	rec.mu.Lock()
	begins, ends := rec.begins, rec.ends
	rec.mu.Unlock()
	if begins < 14 || begins != ends {
		t.Errorf("the stats handler saw %d Begin and %d End events; want one of each per call (14 calls)", begins, ends)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	var panics int
	for _, m := range logs.seen {
		if m["method"] == "" || m["protocol"] == "" || m["duration"] == "" {
			t.Errorf("call log without method, protocol or duration: %v", m)
		}
		if m["code"] == "Internal" {
			panics++
		}
	}
	if len(logs.seen) < 14 || panics != 7 {
		t.Errorf("%d call logs, %d with Internal; want one per call (14), 7 of them Internal", len(logs.seen), panics)
	}
	if len(logs.panics) != 7 || !strings.Contains(logs.panics[0], "handler broke") {
		t.Errorf("panics logged: %q; want 7, with their values", logs.panics)
	}
}
