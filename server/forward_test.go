package server_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectv1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
)

// The front's tests put it before real backends that are not ours:
// grpc-go's interop test server (all four call types), served by a
// grpc.Server on a listener of its own, over cleartext, TLS or mutual TLS,
// with v1 and v1alpha reflection or v1alpha alone.

// backendOptions say how startBackend serves.
type backendOptions struct {
	tls         *tls.Config
	v1alphaOnly bool
	noHealth    bool
	requireKey  string // metadata x-api-key every call must carry
	ln          net.Listener
}

// backend is a running backend and what it saw.
type backend struct {
	addr string
	gs   *grpc.Server
	// ended gets the status code of every FullDuplexCall that ends.
	ended chan codes.Code
}

// startBackend serves grpc-go's interop TestService. Two interceptors of
// the test's own sit in front of it: one answers a call that carries
// x-want-details with a status with details; one reports how each
// FullDuplexCall ended, so a test sees a cancel reach the backend.
func startBackend(t *testing.T, o backendOptions) *backend {
	t.Helper()
	b := &backend{ended: make(chan codes.Code, 16)}
	details := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := checkKey(ctx, o.requireKey); err != nil {
			return nil, err
		}
		if md, _ := metadata.FromIncomingContext(ctx); len(md["x-want-details"]) > 0 {
			st, _ := status.New(codes.FailedPrecondition, "not now").WithDetails(&errdetails.BadRequest{
				FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "payload", Description: "too dull"}},
			})
			return nil, st.Err()
		}
		return h(ctx, req)
	}
	ended := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := checkKey(ss.Context(), o.requireKey); err != nil {
			return err
		}
		err := h(srv, ss)
		if strings.HasSuffix(info.FullMethod, "/FullDuplexCall") {
			code := status.Code(err)
			if ss.Context().Err() != nil {
				code = status.FromContextError(ss.Context().Err()).Code()
			}
			select {
			case b.ended <- code:
			default:
			}
		}
		return err
	}
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(details), grpc.ChainStreamInterceptor(ended)}
	if o.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(o.tls)))
	}
	b.gs = grpc.NewServer(opts...)
	testgrpc.RegisterTestServiceServer(b.gs, interop.NewTestServer())
	if !o.noHealth {
		healthpb.RegisterHealthServer(b.gs, health.NewServer())
	}
	if o.v1alphaOnly {
		reflectv1alphagrpc.RegisterServerReflectionServer(b.gs, reflection.NewServer(reflection.ServerOptions{Services: b.gs}))
	} else {
		reflection.Register(b.gs)
	}
	ln := o.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	b.addr = ln.Addr().String()
	go b.gs.Serve(ln)
	t.Cleanup(b.gs.Stop)
	return b
}

// checkKey refuses a call without the API key, when one is required.
func checkKey(ctx context.Context, key string) error {
	if key == "" {
		return nil
	}
	if md, _ := metadata.FromIncomingContext(ctx); len(md["x-api-key"]) == 0 || md["x-api-key"][0] != key {
		return status.Error(codes.Unauthenticated, "no API key")
	}
	return nil
}

// startFront serves a front for the backend at addr.
func startFront(t *testing.T, cfg server.Config, b front.Backend) *servertest.Server {
	t.Helper()
	cfg.Backend = &b
	return servertest.Start(t, cfg, servertest.WithoutStore())
}

// TestForwardInteropNative runs grpc-go's interop cases through the front
// with grpc-go's client over native gRPC, plainly and with every call
// compressed with gzip.
func TestForwardInteropNative(t *testing.T) {
	be := startBackend(t, backendOptions{})
	front := startFront(t, server.Config{}, front.Backend{Addr: be.addr})
	runInterop(t, front.Addr)
	runInterop(t, front.Addr, grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
}

// TestInteropCompressed runs grpc-go's interop cases against grpc-go's
// interop service on our own server, every call compressed with gzip: on
// grpc-go's transport (each connection's first request is native) and on
// the runtime (the connection opened with gRPC-Web).
func TestInteropCompressed(t *testing.T) {
	ts := servertest.Start(t, server.Config{}, servertest.WithService(&testgrpc.TestService_ServiceDesc, interop.NewTestServer()))
	runInterop(t, ts.Addr, grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
	runInterop(t, ts.Addr, grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)), withIdleStart())
}

// withIdleStart makes runInterop connect and wait out the server's wait
// for a first request (a second) before it calls: the server hands such a
// connection to the runtime, not to grpc-go's transport.
func withIdleStart() grpc.DialOption { return idleStart{} }

type idleStart struct{ grpc.EmptyDialOption }

// runInterop runs grpc-go's interop cases against addr with grpc-go's
// client, dialed with opts.
func runInterop(t *testing.T, addr string, opts ...grpc.DialOption) {
	t.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := testCtx(t)
	if slices.ContainsFunc(opts, func(o grpc.DialOption) bool { _, ok := o.(idleStart); return ok }) {
		cc.Connect()
		for s := cc.GetState(); s != connectivity.Ready; s = cc.GetState() {
			if !cc.WaitForStateChange(ctx, s) {
				t.Fatal("the connection never got ready")
			}
		}
		time.Sleep(1500 * time.Millisecond)
	}
	tc := testgrpc.NewTestServiceClient(cc)
	for _, c := range []struct {
		name string
		do   func()
	}{
		{"empty_unary", func() { interop.DoEmptyUnaryCall(ctx, tc) }},
		{"large_unary", func() { interop.DoLargeUnaryCall(ctx, tc) }},
		{"client_streaming", func() { interop.DoClientStreaming(ctx, tc) }},
		{"server_streaming", func() { interop.DoServerStreaming(ctx, tc) }},
		{"ping_pong", func() { interop.DoPingPong(ctx, tc) }},
		{"empty_stream", func() { interop.DoEmptyStream(ctx, tc) }},
		{"timeout_on_sleeping_server", func() { interop.DoTimeoutOnSleepingServer(ctx, tc) }},
		{"cancel_after_begin", func() { interop.DoCancelAfterBegin(ctx, tc) }},
		{"cancel_after_first_response", func() { interop.DoCancelAfterFirstResponse(ctx, tc) }},
		{"custom_metadata", func() { interop.DoCustomMetadata(ctx, tc) }},
		{"status_code_and_message", func() { interop.DoStatusCodeAndMessage(ctx, tc) }},
		{"special_status_message", func() { interop.DoSpecialStatusMessage(ctx, tc) }},
		{"unimplemented_method", func() { interop.DoUnimplementedMethod(ctx, cc) }},
		{"unimplemented_service", func() { interop.DoUnimplementedService(ctx, testgrpc.NewUnimplementedServiceClient(cc)) }},
	} {
		t.Run(c.name, func(t *testing.T) { c.do() }) // a failing case ends the process, as grpc-go's interop client does
	}
}

// webClients are our gRPC-Web client's ways to the front: gRPC-Web over
// fetch for unary and server streaming with the bridge for client and bidi
// streaming, and the bridge for everything.
func webClients(t *testing.T, url string) map[string]*client.Conn {
	out := map[string]*client.Conn{}
	for name, opts := range map[string][]client.DialOption{"grpc-web": {client.WithMultiplexing(client.MultiplexNever)}, "websocket": {client.WithWebSocketForAll(), client.WithMultiplexing(client.MultiplexNever)}} {
		c, err := client.Dial(url, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		out[name] = c
	}
	return out
}

// TestForwardWeb: through the front, over gRPC-Web and the WebSocket
// bridge, every call type, metadata both ways, a deadline that expires at
// the backend, a cancel the backend sees, a status with details and
// messages over the size limit.
func TestForwardWeb(t *testing.T) {
	be := startBackend(t, backendOptions{})
	front := startFront(t, server.Config{MaxMsgSize: 1 << 20}, front.Backend{Addr: be.addr, Header: metadata.Pairs("x-front", "yes")})
	for name, conn := range webClients(t, front.URL) {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			// Unary, with metadata both ways.
			var header, trailer metadata.MD
			mctx := metadata.AppendToOutgoingContext(ctx, "x-grpc-test-echo-initial", "hello", "x-grpc-test-echo-trailing-bin", "\x0a\x0b")
			out := new(testgrpc.SimpleResponse)
			err := conn.Invoke(mctx, "/grpc.testing.TestService/UnaryCall", &testgrpc.SimpleRequest{ResponseSize: 1000, Payload: &testgrpc.Payload{Body: make([]byte, 500)}}, out, client.Header(&header), client.Trailer(&trailer))
			if err != nil || len(out.GetPayload().GetBody()) != 1000 {
				t.Fatalf("UnaryCall: %d bytes, %v", len(out.GetPayload().GetBody()), err)
			}
			if first(header, "x-grpc-test-echo-initial") != "hello" || first(trailer, "x-grpc-test-echo-trailing-bin") != "\x0a\x0b" {
				t.Errorf("echoed metadata: header %v, trailer %v", header, trailer)
			}

			// Server streaming.
			s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, "/grpc.testing.TestService/StreamingOutputCall")
			if err != nil {
				t.Fatal(err)
			}
			sizes := []int32{31415, 9, 2653, 58979}
			req := &testgrpc.StreamingOutputCallRequest{}
			for _, n := range sizes {
				req.ResponseParameters = append(req.ResponseParameters, &testgrpc.ResponseParameters{Size: n})
			}
			s.SendMsg(req)
			s.CloseSend()
			for i := 0; ; i++ {
				r := new(testgrpc.StreamingOutputCallResponse)
				if err := s.RecvMsg(r); err != nil {
					if err != io.EOF || i != len(sizes) {
						t.Fatalf("StreamingOutputCall after %d replies: %v", i, err)
					}
					break
				}
				if len(r.GetPayload().GetBody()) != int(sizes[i]) {
					t.Fatalf("reply %d: %d bytes; want %d", i, len(r.GetPayload().GetBody()), sizes[i])
				}
			}

			// Client streaming.
			cs, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true}, "/grpc.testing.TestService/StreamingInputCall")
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{27182, 8, 1828, 45904} {
				cs.SendMsg(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, n)}})
			}
			cs.CloseSend()
			agg := new(testgrpc.StreamingInputCallResponse)
			if err := cs.RecvMsg(agg); err != nil || agg.GetAggregatedPayloadSize() != 74922 {
				t.Fatalf("StreamingInputCall: %v, %v", agg, err)
			}

			// Bidi ping-pong; then a cancel the backend sees.
			bs, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/grpc.testing.TestService/FullDuplexCall")
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int32{9, 2653} {
				bs.SendMsg(&testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: n}}})
				r := new(testgrpc.StreamingOutputCallResponse)
				if err := bs.RecvMsg(r); err != nil || len(r.GetPayload().GetBody()) != int(n) {
					t.Fatalf("FullDuplexCall ping %d: %v", n, err)
				}
			}
			bs.CloseSend()
			if err := bs.RecvMsg(new(testgrpc.StreamingOutputCallResponse)); err != io.EOF {
				t.Fatalf("FullDuplexCall end: %v", err)
			}
			if code := <-be.ended; code != codes.OK {
				t.Fatalf("the backend saw the finished FullDuplexCall end with %v", code)
			}
			cctx, cancel := context.WithCancel(ctx)
			bs, err = conn.NewStream(cctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/grpc.testing.TestService/FullDuplexCall")
			if err != nil {
				t.Fatal(err)
			}
			bs.SendMsg(&testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: 1}}})
			if err := bs.RecvMsg(new(testgrpc.StreamingOutputCallResponse)); err != nil {
				t.Fatal(err)
			}
			cancel()
			if code := <-be.ended; code != codes.Canceled {
				t.Fatalf("the backend saw the cancelled FullDuplexCall end with %v; want Canceled", code)
			}

			// A deadline that expires while the backend sleeps between replies.
			dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
			s, err = conn.NewStream(dctx, client.StreamDesc{ServerStreams: true}, "/grpc.testing.TestService/StreamingOutputCall")
			if err == nil {
				s.SendMsg(&testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: 1, IntervalUs: 5_000_000}}})
				s.CloseSend()
				err = s.RecvMsg(new(testgrpc.StreamingOutputCallResponse))
			}
			dcancel()
			if status.Code(err) != codes.DeadlineExceeded {
				t.Fatalf("a deadline before the backend's reply: %v; want DeadlineExceeded", err)
			}

			// The backend's status, details and all, unchanged.
			err = conn.Invoke(metadata.AppendToOutgoingContext(ctx, "x-want-details", "1"), "/grpc.testing.TestService/UnaryCall", &testgrpc.SimpleRequest{}, new(testgrpc.SimpleResponse))
			st := status.Convert(err)
			if st.Code() != codes.FailedPrecondition || st.Message() != "not now" || len(st.Details()) != 1 {
				t.Fatalf("status with details: %v %q %v", st.Code(), st.Message(), st.Details())
			}
			if br, ok := st.Details()[0].(*errdetails.BadRequest); !ok || br.GetFieldViolations()[0].GetField() != "payload" {
				t.Fatalf("details: %v", st.Details())
			}
			err = conn.Invoke(ctx, "/grpc.testing.UnimplementedService/UnimplementedCall", &testgrpc.Empty{}, new(testgrpc.Empty))
			if st := status.Convert(err); st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "UnimplementedService") {
				t.Fatalf("an unknown service at the backend: %v", err)
			}

			// Messages over the front's limit, both ways.
			err = conn.Invoke(ctx, "/grpc.testing.TestService/UnaryCall", &testgrpc.SimpleRequest{ResponseSize: 2 << 20}, new(testgrpc.SimpleResponse))
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("a reply over the limit: %v; want ResourceExhausted", err)
			}
			big, err := client.Dial(front.URL, client.WithMaxMessageSize(8<<20))
			if err != nil {
				t.Fatal(err)
			}
			defer big.Close()
			err = big.Invoke(ctx, "/grpc.testing.TestService/UnaryCall", &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: make([]byte, 2<<20)}}, new(testgrpc.SimpleResponse))
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("a request over the limit: %v; want ResourceExhausted", err)
			}
		})
	}
}

func first(md metadata.MD, k string) string {
	if v := md[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// TestForwardTLS: a backend over TLS, and one that wants the front's client
// certificate (mutual TLS).
func TestForwardTLS(t *testing.T) {
	be := servertest.NewCertificate(t, "127.0.0.1", "backend.test")
	frontCert := servertest.NewCertificate(t, "front.test")
	tlsBackend := startBackend(t, backendOptions{tls: &tls.Config{Certificates: []tls.Certificate{be.TLS}}})
	mtlsBackend := startBackend(t, backendOptions{tls: &tls.Config{Certificates: []tls.Certificate{be.TLS}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: frontCert.Pool}})
	for _, tc := range []struct {
		name string
		b    front.Backend
		code codes.Code
	}{
		{"tls", front.Backend{Addr: tlsBackend.addr, TLS: &tls.Config{RootCAs: be.Pool}}, codes.OK},
		{"tls with a server name", front.Backend{Addr: tlsBackend.addr, TLS: &tls.Config{RootCAs: be.Pool, ServerName: "backend.test"}}, codes.OK},
		{"mtls", front.Backend{Addr: mtlsBackend.addr, TLS: &tls.Config{RootCAs: be.Pool, Certificates: []tls.Certificate{frontCert.TLS}}}, codes.OK},
		{"mtls without the front's certificate", front.Backend{Addr: mtlsBackend.addr, TLS: &tls.Config{RootCAs: be.Pool}}, codes.Unavailable},
		{"tls with an authority the front does not trust", front.Backend{Addr: tlsBackend.addr, TLS: &tls.Config{RootCAs: frontCert.Pool}}, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := startFront(t, server.Config{}, tc.b)
			conn := webClients(t, front.URL)["grpc-web"]
			err := conn.Invoke(testCtx(t), "/grpc.testing.TestService/EmptyCall", &testgrpc.Empty{}, new(testgrpc.Empty))
			if status.Code(err) != tc.code {
				t.Fatalf("EmptyCall: %v; want %v", err, tc.code)
			}
			if tc.code == codes.Unavailable && !strings.Contains(status.Convert(err).Message(), tc.b.Addr) {
				t.Errorf("the Unavailable status does not name the backend: %v", err)
			}
		})
	}
}

// grpcurl runs the pinned grpcurl against addr with args and returns its
// output.
func grpcurl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool(t, "grpcurl"), append([]string{"-max-time", "20"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestForwardReflection: grpcurl lists and describes the backend's
// services through the front, from a backend with v1 reflection and from
// one with only v1alpha; the front's -backend-header reaches reflection
// calls too (this backend refuses every call without the key).
func TestForwardReflection(t *testing.T) {
	for _, v1alphaOnly := range []bool{false, true} {
		be := startBackend(t, backendOptions{v1alphaOnly: v1alphaOnly, requireKey: "s3cret"})
		front := startFront(t, server.Config{}, front.Backend{Addr: be.addr, Header: metadata.Pairs("x-api-key", "s3cret")})
		out, err := grpcurl(t, "-plaintext", front.Addr, "list")
		if err != nil || !strings.Contains(out, "grpc.testing.TestService") {
			t.Fatalf("v1alpha only %v: grpcurl list: %v\n%s", v1alphaOnly, err, out)
		}
		out, err = grpcurl(t, "-plaintext", front.Addr, "describe", "grpc.testing.TestService.FullDuplexCall")
		if err != nil || !strings.Contains(out, "stream .grpc.testing.StreamingOutputCallRequest") {
			t.Fatalf("v1alpha only %v: grpcurl describe: %v\n%s", v1alphaOnly, err, out)
		}
		out, err = grpcurl(t, "-plaintext", "-d", `{"responseSize": 3}`, front.Addr, "grpc.testing.TestService/UnaryCall")
		if err != nil || !strings.Contains(out, `"body": "AAAA"`) {
			t.Fatalf("v1alpha only %v: grpcurl UnaryCall: %v\n%s", v1alphaOnly, err, out)
		}
	}
}

// TestForwardBackendDown: with its backend down, a front answers calls with
// Unavailable at once, naming the backend, and reports NOT_SERVING; when
// the backend comes back, calls work again and health says SERVING,
// without a restart.
func TestForwardBackendDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there yet
	front := startFront(t, server.Config{}, front.Backend{Addr: addr})
	conn := webClients(t, front.URL)["grpc-web"]
	cc, err := grpc.NewClient(front.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	ctx := testCtx(t)

	start := time.Now()
	err = conn.Invoke(ctx, "/grpc.testing.TestService/EmptyCall", &testgrpc.Empty{}, new(testgrpc.Empty))
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), addr) {
		t.Fatalf("a call while the backend is down: %v; want Unavailable naming %s", err, addr)
	}
	t.Logf("Unavailable after %v", time.Since(start).Round(time.Millisecond))
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health while the backend is down: %v, %v", r, err)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	startBackend(t, backendOptions{ln: ln})
	for deadline := time.Now().Add(20 * time.Second); ; {
		err := conn.Invoke(ctx, "/grpc.testing.TestService/EmptyCall", &testgrpc.Empty{}, new(testgrpc.Empty))
		r, herr := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && herr == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the backend came back: call %v, health %v %v", err, r, herr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestForwardHealthWithoutService: a backend that answers but has no
// health service counts as SERVING.
func TestForwardHealthWithoutService(t *testing.T) {
	be := startBackend(t, backendOptions{noHealth: true})
	front := startFront(t, server.Config{}, front.Backend{Addr: be.addr})
	cc, err := grpc.NewClient(front.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	r, err := healthpb.NewHealthClient(cc).Check(testCtx(t), &healthpb.HealthCheckRequest{})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", r, err)
	}
}

// builtTools are the tools built so far, by name, in toolsDir.
var builtTools sync.Map

// tool builds a command pinned in proto/tools/go.mod, once per test
// binary, and returns its path.
func tool(t *testing.T, name string) string {
	t.Helper()
	pkgs := map[string]string{
		"grpcurl": "github.com/fullstorydev/grpcurl/cmd/grpcurl",
		"buf":     "github.com/bufbuild/buf/cmd/buf",
	}
	once, _ := builtTools.LoadOrStore(name, sync.OnceValues(func() (string, error) {
		bin := filepath.Join(toolsDir, name)
		cmd := exec.Command("go", "build", "-o", bin, pkgs[name])
		cmd.Dir = "../proto/tools"
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", name, err, out)
		}
		return bin, nil
	}))
	bin, err := once.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestForwardText: gRPC-Web's text encoding through the front, to a
// backend that knows nothing of it: a unary call, a server stream, a
// backend error and a message over the front's limit.
func TestForwardText(t *testing.T) {
	be := startBackend(t, backendOptions{})
	front := startFront(t, server.Config{MaxMsgSize: 1 << 20}, front.Backend{Addr: be.addr})
	w := way{name: "text", client: h1Client(), base: front.URL, ctype: grpcwire.ContentTypeText, proto: 1}
	res := w.post(t, "/grpc.testing.TestService/UnaryCall", webFrames(t, &testgrpc.SimpleRequest{ResponseSize: 100}))
	var r testgrpc.SimpleResponse
	if res.code() != "0" || len(res.messages) != 1 || proto.Unmarshal(res.messages[0], &r) != nil || len(r.GetPayload().GetBody()) != 100 {
		t.Fatalf("UnaryCall: status %s, %d messages", res.code(), len(res.messages))
	}
	res = w.post(t, "/grpc.testing.TestService/StreamingOutputCall", webFrames(t, &testgrpc.StreamingOutputCallRequest{
		ResponseParameters: []*testgrpc.ResponseParameters{{Size: 1}, {Size: 2}, {Size: 3}}}))
	if res.code() != "0" || len(res.messages) != 3 {
		t.Fatalf("StreamingOutputCall: status %s, %d messages", res.code(), len(res.messages))
	}
	res = w.post(t, "/grpc.testing.TestService/UnaryCall", webFrames(t, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: 9, Message: "from the backend"}}))
	if res.code() != "9" || grpcwire.First(res.trailer, grpcwire.HeaderMessage) != "from the backend" {
		t.Fatalf("a backend status: %s %q", res.code(), grpcwire.First(res.trailer, grpcwire.HeaderMessage))
	}
	res = w.post(t, "/grpc.testing.TestService/UnaryCall", webFrames(t, &testgrpc.SimpleRequest{ResponseSize: 2 << 20}))
	if res.code() != "8" {
		t.Fatalf("a reply over the limit: status %s; want ResourceExhausted", res.code())
	}
}

// TestForwardJSONRefused: JSON messages cannot be forwarded, on any path:
// Unimplemented, saying why.
func TestForwardJSONRefused(t *testing.T) {
	be := startBackend(t, backendOptions{})
	front := startFront(t, server.Config{}, front.Backend{Addr: be.addr})
	h2c := h2cClient()
	pinToNetHTTP(t, h2c, front.URL)
	for _, w := range []way{
		{name: "grpc-web+json", client: h1Client(), base: front.URL, ctype: grpcwire.ContentTypeWebJSON, proto: 1},
		{name: "grpc+json on our core", client: h2c, base: front.URL, ctype: "application/grpc+json", proto: 2},
	} {
		res := w.post(t, "/grpc.testing.TestService/EmptyCall", jsonFrames(`{}`))
		if res.code() != "12" || !strings.Contains(grpcwire.First(res.trailer, grpcwire.HeaderMessage), "cannot be forwarded") {
			t.Errorf("%s: status %s %q; want Unimplemented", w.name, res.code(), grpcwire.First(res.trailer, grpcwire.HeaderMessage))
		}
	}
	cc, err := grpc.NewClient(front.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	err = cc.Invoke(testCtx(t), "/grpc.testing.TestService/EmptyCall", &testgrpc.Empty{}, new(testgrpc.Empty), grpc.ForceCodecV2(clientJSONCodec{}))
	if st := status.Convert(err); st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "cannot be forwarded") {
		t.Errorf("grpc+json, the connection's first request: %v; want Unimplemented", err)
	}
}

// TestForwardNativeDetailsAndLimits: over native gRPC through the front, a
// backend status keeps its details, and messages over the front's limit
// are ResourceExhausted both ways.
func TestForwardNativeDetailsAndLimits(t *testing.T) {
	be := startBackend(t, backendOptions{})
	front := startFront(t, server.Config{MaxMsgSize: 1 << 20}, front.Backend{Addr: be.addr})
	cc, err := grpc.NewClient(front.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(8<<20), grpc.MaxCallSendMsgSize(8<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	tc := testgrpc.NewTestServiceClient(cc)
	ctx := testCtx(t)
	_, err = tc.UnaryCall(metadata.AppendToOutgoingContext(ctx, "x-want-details", "1"), &testgrpc.SimpleRequest{})
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || st.Message() != "not now" || len(st.Details()) != 1 {
		t.Fatalf("status with details: %v %q %v", st.Code(), st.Message(), st.Details())
	}
	if _, err := tc.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: 2 << 20}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a reply over the limit: %v; want ResourceExhausted", err)
	}
	if _, err := tc.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: make([]byte, 2<<20)}}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a request over the limit: %v; want ResourceExhausted", err)
	}
}
