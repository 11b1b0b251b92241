package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/grpcconn"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// webClient is the generated UserManager client on our client core,
// through grpcconn (which costs about 1.00x the core's own Invoke:
// BenchmarkGRPCConn): gRPC-Web over HTTP/1.1 for unary and server
// streaming and the WebSocket bridge for the others, or every call over the
// bridge.
func webClient(b *testing.B, addr string, allWebSocket bool) pb.UserManagerClient {
	b.Helper()
	opts := []client.DialOption{client.WithMultiplexing(client.MultiplexNever)} // the rows name gRPC-Web and the per-call bridge
	if allWebSocket {
		opts = append(opts, client.WithWebSocketForAll())
	}
	conn, err := grpcconn.Dial("http://"+addr, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return pb.NewUserManagerClient(conn)
}

// muxClient is the generated UserManager client on our client core with
// every call on one multiplexed WebSocket (grpc-mux.v1).
func muxClient(b *testing.B, addr string) pb.UserManagerClient {
	b.Helper()
	conn, err := grpcconn.Dial("http://"+addr, client.WithMultiplexing(client.MultiplexAlways))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return pb.NewUserManagerClient(conn)
}

// BenchmarkUnary measures one sequential GetUser call.
func BenchmarkUnary(b *testing.B) {
	f := fix.get(b)
	ctx := context.Background()
	req := &pb.UserRequest{Id: 1}
	native := func(addr string) func() error {
		c := nativeClient(b, addr)
		return func() error { _, err := c.GetUser(ctx, req); return err }
	}
	web := func(addr string, ws bool) func() error {
		c := webClient(b, addr, ws)
		return func() error { _, err := c.GetUser(ctx, req); return err }
	}
	cases := []struct {
		name string
		call func() func() error
	}{
		{"native", func() func() error { return native(f.ours) }},
		{"native-plain", func() func() error { return native(f.peerPlain) }},
		{"native-runtime", func() func() error { return native(f.peerRuntime) }},
		{"grpcweb", func() func() error { return web(f.ours, false) }},
		{"grpcweb-observed", func() func() error { return web(f.observed, false) }},
		{"bridge", func() func() error { return web(f.ours, true) }},
		{"mux", func() func() error {
			c := muxClient(b, f.ours)
			return func() error { _, err := c.GetUser(ctx, req); return err }
		}},
		{"peer-grpcweb", func() func() error { return web(f.peerWeb, false) }},
		{"peer-bridge", func() func() error { return web(f.peerWeb, true) }},
		{"native-tls", func() func() error {
			c := tlsClient(b, f.oursTLS, f.cert)
			return func() error { _, err := c.GetUser(ctx, req); return err }
		}},
		{"native-plain-tls", func() func() error {
			c := tlsClient(b, f.peerPlainTLS, f.cert)
			return func() error { _, err := c.GetUser(ctx, req); return err }
		}},
		{"front-native", func() func() error { return native(f.front) }},
		{"front-grpcweb", func() func() error { return web(f.front, false) }},
		{"proxy-grpcweb", func() func() error { return web(f.proxy, false) }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			call := tc.call()
			if err := call(); err != nil { // warm the connection
				b.Fatal(err)
			}
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// tlsClient is grpc-go's UserManager client over TLS, trusting cert.
func tlsClient(b *testing.B, addr string, cert *servertest.Certificate) pb.UserManagerClient {
	b.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: cert.Pool})))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	return pb.NewUserManagerClient(cc)
}

// The generated client's streams, over native gRPC or our client core.
type (
	pingStream  = grpc.BidiStreamingClient[pb.UserRequest, pb.UserResponse]
	typeStream  = grpc.ServerStreamingClient[pb.UserResponse]
	countStream = grpc.ClientStreamingClient[pb.UserRequest, pb.UserCntResponse]
)

// BenchmarkBidiRoundTrip measures one id in, one user out, on an open
// GetUsersByIds stream.
func BenchmarkBidiRoundTrip(b *testing.B) {
	f := fix.get(b)
	cases := []struct {
		name string
		open func(ctx context.Context) (pingStream, error)
	}{
		{"native", func(ctx context.Context) (pingStream, error) { return nativeClient(b, f.ours).GetUsersByIds(ctx) }},
		{"native-plain", func(ctx context.Context) (pingStream, error) { return nativeClient(b, f.peerPlain).GetUsersByIds(ctx) }},
		{"bridge", func(ctx context.Context) (pingStream, error) { return webClient(b, f.ours, false).GetUsersByIds(ctx) }},
		{"mux", func(ctx context.Context) (pingStream, error) { return muxClient(b, f.ours).GetUsersByIds(ctx) }},
		{"peer-bridge", func(ctx context.Context) (pingStream, error) {
			return webClient(b, f.peerWeb, false).GetUsersByIds(ctx)
		}},
		{"front-bridge", func(ctx context.Context) (pingStream, error) { return webClient(b, f.front, false).GetUsersByIds(ctx) }},
		{"proxy-bridge", func(ctx context.Context) (pingStream, error) { return webClient(b, f.proxy, false).GetUsersByIds(ctx) }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s, err := tc.open(ctx)
			if err != nil {
				b.Fatal(err)
			}
			req := &pb.UserRequest{Id: 3}
			for b.Loop() {
				if err := s.Send(req); err != nil {
					b.Fatal(err)
				}
				if r, err := s.Recv(); err != nil || r.GetUser().GetId() != 3 {
					b.Fatal(r, err)
				}
			}
			s.CloseSend()
			if _, err := s.Recv(); err != io.EOF {
				b.Fatal("stream end:", err)
			}
		})
	}
}

// BenchmarkServerStream streams bigUsers users of one type per op.
func BenchmarkServerStream(b *testing.B) {
	f := fix.get(b)
	req := &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL}
	cases := []struct {
		name string
		open func(ctx context.Context) (typeStream, error)
	}{
		{"native", func(ctx context.Context) (typeStream, error) { return nativeClient(b, f.big).GetUsersByType(ctx, req) }},
		{"grpcweb", func(ctx context.Context) (typeStream, error) {
			return webClient(b, f.big, false).GetUsersByType(ctx, req)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			start := time.Now()
			msgs := 0
			for b.Loop() {
				s, err := tc.open(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := s.Recv()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != bigUsers {
					b.Fatalf("streamed %d users; want %d", n, bigUsers)
				}
				msgs += n
			}
			b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkClientStream sends bigUsers ids per op, half of them known.
func BenchmarkClientStream(b *testing.B) {
	f := fix.get(b)
	cases := []struct {
		name string
		open func(ctx context.Context) (countStream, error)
	}{
		{"native", func(ctx context.Context) (countStream, error) { return nativeClient(b, f.ours).CountAlreadyUsers(ctx) }},
		{"bridge", func(ctx context.Context) (countStream, error) {
			return webClient(b, f.ours, false).CountAlreadyUsers(ctx)
		}},
	}
	reqs := make([]*pb.UserRequest, 12)
	for i := range reqs {
		reqs[i] = &pb.UserRequest{Id: uint32(i + 1)} // ids 1-6 exist, 7-12 do not
	}
	want := uint32(0)
	for i := range bigUsers {
		if reqs[i%len(reqs)].Id <= 6 {
			want++
		}
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			start := time.Now()
			msgs := 0
			for b.Loop() {
				s, err := tc.open(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for i := range bigUsers {
					if err := s.Send(reqs[i%len(reqs)]); err != nil {
						b.Fatal(err)
					}
				}
				r, err := s.CloseAndRecv()
				if err != nil || r.GetUserCnt() != want {
					b.Fatalf("count = %v, %v; want %d", r, err, want)
				}
				msgs += bigUsers
			}
			b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// nextID hands out ids no data set uses, for AddUser.
var nextID atomic.Uint32

func init() { nextID.Store(10_000_000) }

// BenchmarkAddUser measures one durable AddUser with 1,000 and with
// bigUsers users already stored.
func BenchmarkAddUser(b *testing.B) {
	f := fix.get(b)
	for _, tc := range []struct{ name, addr string }{{"1k", f.small}, {"100k", f.big}} {
		b.Run(tc.name, func(b *testing.B) {
			c := nativeClient(b, tc.addr)
			ctx := context.Background()
			for b.Loop() {
				r, err := c.AddUser(ctx, &pb.User{Id: nextID.Add(1), Nickname: "bench", MailAddress: "bench@example.com", UserType: pb.User_GUEST})
				if err != nil || r.GetError() {
					b.Fatal(r, err)
				}
			}
		})
	}
}

// BenchmarkIdleBridgeStreams opens 1,000 bidi streams over the bridge, each
// answered once, and reports how much the server's resident memory grew per
// stream while they sit idle. Run it with -benchtime=1x.
func BenchmarkIdleBridgeStreams(b *testing.B) {
	benchIdleStreams(b, func(addr string) pb.UserManagerClient { return webClient(b, addr, false) })
}

// BenchmarkIdleMuxStreams is BenchmarkIdleBridgeStreams with the 1,000
// streams on one multiplexed socket (-mux-streams raised to hold them).
func BenchmarkIdleMuxStreams(b *testing.B) {
	benchIdleStreams(b, func(addr string) pb.UserManagerClient { return muxClient(b, addr) }, "-mux-streams", "2000")
}

// BenchmarkIdleNativeStreams is BenchmarkIdleBridgeStreams with the 1,000
// streams native gRPC's, on grpc-go's transport: what a stream costs
// there, for scale.
func BenchmarkIdleNativeStreams(b *testing.B) {
	benchIdleStreams(b, func(addr string) pb.UserManagerClient { return nativeClient(b, addr) }, "-max-concurrent-streams", "2000")
}

// benchIdleStreams opens 1,000 bidi streams with the client dial makes,
// each answered once, on a fresh server started with args, and reports
// how much the server's resident memory grew per stream while they sit
// idle.
func benchIdleStreams(b *testing.B, dial func(addr string) pb.UserManagerClient, args ...string) {
	const streams = 1000
	f := fix.get(b)
	run := 0
	for b.Loop() {
		// A fresh server each time: a process's RSS does not shrink when
		// streams close, so a second measurement in the same one would
		// count memory the first already took.
		run++
		addr, proc, err := f.startFresh(fmt.Sprintf("idle-%s-%d-%d", strings.ReplaceAll(b.Name(), "/", "-"), b.N, run), args...)
		if err != nil {
			b.Fatal(err)
		}
		c := dial(addr)
		// Warm the server, the stream's code paths included.
		if _, err := c.GetUser(context.Background(), &pb.UserRequest{Id: 1}); err != nil {
			b.Fatal(err)
		}
		if warm, err := c.GetUsersByIds(context.Background()); err != nil {
			b.Fatal(err)
		} else {
			warm.Send(&pb.UserRequest{Id: 1})
			warm.Recv()
			warm.CloseSend()
			warm.Recv()
		}
		time.Sleep(200 * time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		before, err := anonBytes(proc.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		open := make([]pingStream, 0, streams)
		for range streams {
			s, err := c.GetUsersByIds(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Send(&pb.UserRequest{Id: 1}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Recv(); err != nil {
				b.Fatal(err)
			}
			open = append(open, s)
		}
		time.Sleep(500 * time.Millisecond) // let the server settle before reading its memory
		after, err := anonBytes(proc.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(after-before)/streams, "B/stream")
		for _, s := range open {
			s.CloseSend()
			s.Recv()
		}
		cancel()
		proc.Process.Signal(syscall.SIGTERM)
	}
}

// BenchmarkConcurrentServerStreams makes 200 GetUsersByType calls at once
// from one client over HTTP/1.1: on one multiplexed socket, and as
// gRPC-Web, where each takes a connection of its own (a browser holds 6
// per host at a time; Go's client holds no limit).
func BenchmarkConcurrentServerStreams(b *testing.B) {
	const calls = 200
	f := fix.get(b)
	req := &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL}
	for _, tc := range []struct {
		name string
		c    func() pb.UserManagerClient
	}{
		{"mux", func() pb.UserManagerClient { return muxClient(b, f.ours) }},
		{"grpcweb", func() pb.UserManagerClient { return webClient(b, f.ours, false) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := tc.c()
			ctx := context.Background()
			for b.Loop() {
				var wg sync.WaitGroup
				errs := make(chan error, calls)
				for range calls {
					wg.Go(func() {
						s, err := c.GetUsersByType(ctx, req)
						for err == nil {
							_, err = s.Recv()
						}
						if err != io.EOF {
							errs <- err
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
			}
		})
	}
}
