//go:build !js

package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/internal/jstest"
)

func TestMux(t *testing.T) {
	_, url := startMuxServer(t, grpcwire.DefaultMuxSettings())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	checkMux(t, ctx, url, "native")
}

// TestJSMuxGlue runs the same scenarios compiled for GOOS=js under Node,
// through the browser's WebSocket glue.
func TestJSMuxGlue(t *testing.T) {
	_, url := startMuxServer(t, grpcwire.DefaultMuxSettings())
	jstest.Run(t, "^TestJSMux(Share)?$", []string{envMuxURL + "=" + url},
		"--- PASS: TestJSMux ",
		"--- PASS: TestJSMux/CallTypes ",
		"--- PASS: TestJSMux/OneSocketForAll ",
		"--- PASS: TestJSMux/StalledStreamDoesNotBlockOthers ",
		"--- PASS: TestJSMux/Cancel ",
		"--- PASS: TestJSMux/GoAway ",
		"--- PASS: TestJSMux/SocketDies ",
		"--- PASS: TestJSMuxShare ",
		"--- PASS: TestJSMuxShare/Scenarios/StalledStreamDoesNotBlockOthers ",
		"--- PASS: TestJSMuxShare/Scenarios/SocketDies ",
		"--- PASS: TestJSMuxShare/StalledStreamDoesNotBlockTheOtherConn ",
		"--- PASS: TestJSMuxShare/StalledStreamDoesNotBlockTheOtherConn#01 ",
		"--- PASS: TestJSMuxShare/SocketDiesForBoth ",
		"--- PASS: TestJSMuxShare/OtherSettingsRefused ",
		"--- PASS: TestJSMuxShare/OwnerGone ",
		"--- PASS: TestJSMuxShare/OwnerCannotOpen ",
	)
}

// idleProxy forwards TCP connections to target and cuts any that carried
// no byte either way for idle, as load balancers do.
func idleProxy(t *testing.T, target string, idle time.Duration) (addr string, cuts *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cuts = new(atomic.Int64)
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			var last atomic.Int64
			last.Store(time.Now().UnixNano())
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						last.Store(time.Now().UnixNano())
						if _, err := dst.Write(buf[:n]); err != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				in.Close()
				out.Close()
			}
			wg.Go(func() { pipe(out, in) })
			wg.Go(func() { pipe(in, out) })
			wg.Go(func() {
				tick := time.NewTicker(idle / 10)
				defer tick.Stop()
				for {
					select {
					case <-done:
						in.Close()
						out.Close()
						return
					case <-tick.C:
					}
					if time.Since(time.Unix(0, last.Load())) > idle {
						cuts.Add(1)
						in.Close()
						out.Close()
						return
					}
				}
			})
		}
	})
	return ln.Addr().String(), cuts
}

// TestMuxKeepaliveThroughIdleProxy: behind a proxy that cuts connections
// idle for 300 ms, a socket whose keepalive pings every 50 ms survives a
// second without calls, while one whose keepalive is too slow is cut, and
// its call fails with Unavailable.
func TestMuxKeepaliveThroughIdleProxy(t *testing.T) {
	srv, url := startMuxServer(t, grpcwire.DefaultMuxSettings())
	proxy, cuts := idleProxy(t, strings.TrimPrefix(url, "http://"), 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, tc := range []struct {
		name      string
		keepalive time.Duration
		survives  bool
	}{
		{"pinging", 50 * time.Millisecond, true},
		{"too slow", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, "http://"+proxy, client.WithMultiplexing(client.MultiplexAlways), client.WithMuxKeepalive(tc.keepalive, 5*time.Second))
			before, cutsBefore, pingsBefore := srv.upgrades.Load(), cuts.Load(), srv.pings.Load()
			s, err := c.NewStream(ctx, bidi, muxMethodEcho)
			if err != nil {
				t.Fatal(err)
			}
			echoed(t, s, &pb.User{Id: 1})
			time.Sleep(time.Second) // no call for more than three times the proxy's idle limit
			if !tc.survives {
				wantCode(t, s.RecvMsg(new(pb.User)), codes.Unavailable)
				if cuts.Load() == cutsBefore {
					t.Fatal("the proxy cut nothing")
				}
				return
			}
			echoed(t, s, &pb.User{Id: 2})
			s.CloseSend()
			if err := s.RecvMsg(new(pb.User)); err != io.EOF {
				t.Fatal(err)
			}
			if n := srv.upgrades.Load() - before; n != 1 {
				t.Errorf("%d sockets opened, want the one", n)
			}
			if cuts.Load() != cutsBefore {
				t.Error("the proxy cut the pinging socket")
			}
			if srv.pings.Load() == pingsBefore {
				t.Error("the server saw no ping")
			}
		})
	}
}

// TestMuxKeepaliveDeadServer: a server that stops answering (the network
// path died without a word) fails the calls on its socket with
// Unavailable once a ping goes unanswered, and the next call opens a new
// socket.
func TestMuxKeepaliveDeadServer(t *testing.T) {
	srv, url := startMuxServer(t, grpcwire.DefaultMuxSettings())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c := dial(t, url, client.WithMultiplexing(client.MultiplexAlways), client.WithMuxKeepalive(50*time.Millisecond, 100*time.Millisecond))
	srv.silentNext.Store(true)
	s, err := c.NewStream(metadata.AppendToOutgoingContext(ctx, "x-test-gate", "dead"), bidi, muxMethodHang)
	if err != nil {
		t.Fatal(err)
	}
	err = s.RecvMsg(new(pb.User))
	wantCode(t, err, codes.Unavailable)
	if !strings.Contains(grpcstatus.Convert(err).Message(), "keepalive") {
		t.Errorf("error %v does not say keepalive", err)
	}
	if err := c.Invoke(ctx, muxMethodEcho, &pb.User{Id: 1}, new(pb.User)); err != nil {
		t.Fatalf("the next call: %v", err)
	}
	if n := srv.upgrades.Load(); n != 2 {
		t.Errorf("%d sockets opened, want 2", n)
	}
}

// TestMuxServerBreaksProtocol: DATA beyond the client's window is a
// connection error: the client tells the server with a GOAWAY, fails the
// socket's calls with Unavailable, and opens a new socket for the next.
func TestMuxServerBreaksProtocol(t *testing.T) {
	srv, url := startMuxServer(t, grpcwire.DefaultMuxSettings())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c := dial(t, url, client.WithMultiplexing(client.MultiplexAlways))
	// A stream the client does not read, so it returns no window.
	s, err := c.NewStream(ctx, serverStream, muxMethodOverflow)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(&pb.User{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, "the client's GOAWAY", func() bool { return len(srv.goAways()) > 0 })
	if st := srv.goAways()[0]; st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "window") {
		t.Errorf("the client's GOAWAY = %v, want ResourceExhausted naming the window", st)
	}
	err = s.RecvMsg(new(pb.User))
	wantCode(t, err, codes.Unavailable)
	if !strings.Contains(grpcstatus.Convert(err).Message(), "window") {
		t.Errorf("error %v does not name the window", err)
	}
	if err := c.Invoke(ctx, muxMethodEcho, &pb.User{Id: 1}, new(pb.User)); err != nil {
		t.Fatalf("the next call: %v", err)
	}
}

// TestMuxMaxStreams: beyond the server's MAX_STREAMS a call waits for a
// stream to end (here, its deadline ends it first), and never reaches
// the server; once one ends, the next goes.
func TestMuxMaxStreams(t *testing.T) {
	settings := grpcwire.DefaultMuxSettings()
	settings.MaxStreams = 3
	srv, url := startMuxServer(t, settings)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c := dial(t, url, client.WithMultiplexing(client.MultiplexAlways))
	var hangs []context.CancelFunc
	for i := range 2 {
		hctx, stop := context.WithCancel(metadata.AppendToOutgoingContext(ctx, "x-test-gate", "max"+string(rune('a'+i))))
		hangs = append(hangs, stop)
		if _, err := c.NewStream(hctx, bidi, muxMethodHang); err != nil {
			t.Fatal(err)
		}
	}
	b, err := c.NewStream(ctx, bidi, muxMethodEcho) // the third slot
	if err != nil {
		t.Fatal(err)
	}
	echoed(t, b, &pb.User{Id: 1})
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	wantCode(t, c.Invoke(short, muxMethodEcho, &pb.User{}, new(pb.User)), codes.DeadlineExceeded)
	hangs[0]()
	if got := codes.Code(muxProbe(t, ctx, c, muxMethodCancelled, "maxa")); got != codes.Canceled {
		t.Fatalf("cancelled stream: %v", got)
	}
	hangs[1]()
	b.CloseSend()
	if err := b.RecvMsg(new(pb.User)); err != io.EOF {
		t.Fatal(err)
	}
	srv.mu.Lock()
	maxOpen := srv.maxOpen
	srv.mu.Unlock()
	if maxOpen != 3 {
		t.Errorf("the server saw %d streams open at once, want its limit of 3", maxOpen)
	}
}

// TestMuxFallback: against a server that does not offer the protocol, the
// default sends calls as before (gRPC-Web, a grpc-websockets socket per
// client stream), and MultiplexAlways fails them with Unavailable.
func TestMuxFallback(t *testing.T) {
	url := startPeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c := dial(t, url)
	if err := c.Invoke(ctx, peerEcho, &pb.UserRequest{Id: 1}, new(pb.UserRequest)); err != nil {
		t.Fatalf("unary over gRPC-Web: %v", err)
	}
	s, err := c.NewStream(ctx, bidi, peerWSEcho)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(&pb.UserRequest{Id: 2}); err != nil {
		t.Fatal(err)
	}
	if got := new(pb.UserRequest); s.RecvMsg(got) != nil || got.GetId() != 2 {
		t.Fatalf("bidi over grpc-websockets: %v", got)
	}
	s.CloseSend()

	always := dial(t, url, client.WithMultiplexing(client.MultiplexAlways))
	err = always.Invoke(ctx, peerEcho, &pb.UserRequest{Id: 1}, new(pb.UserRequest))
	wantCode(t, err, codes.Unavailable)
	if !strings.Contains(grpcstatus.Convert(err).Message(), grpcwire.MuxProtocol) {
		t.Errorf("error %v does not name the protocol", err)
	}
}

// TestMuxNever: MultiplexNever keeps every call off the multiplexed socket.
func TestMuxNever(t *testing.T) {
	srv, url := startMuxServer(t, grpcwire.DefaultMuxSettings())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c := dial(t, url, client.WithMultiplexing(client.MultiplexNever))
	c.Invoke(ctx, muxMethodEcho, &pb.User{}, new(pb.User)) // gRPC-Web: the test server has none
	if s, err := c.NewStream(ctx, bidi, muxMethodEcho); err == nil {
		s.RecvMsg(new(pb.User))
	}
	if n := srv.upgrades.Load(); n != 0 {
		t.Errorf("%d multiplexed sockets opened", n)
	}
}

// TestMuxAutoCallsDoNotWaitForHandshake: by default, against plain
// HTTP/1.1, unary calls made while the multiplexed socket is still opening
// go as gRPC-Web instead of waiting for the handshake (a page's first call
// would otherwise wait for a WebSocket first), one handshake serves them
// all, and the calls after it share the socket.
func TestMuxAutoCallsDoNotWaitForHandshake(t *testing.T) {
	msrv, _ := startMuxServer(t, grpcwire.DefaultMuxSettings())
	web := &peer{gates: map[string]chan struct{}{}, up: websocket.Upgrader{Subprotocols: []string{grpcwire.WebSocketProtocol}}}
	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	var webCalls atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == grpcwire.MuxPath {
			<-release // the handshake waits for the test
			msrv.ServeHTTP(w, r)
			return
		}
		webCalls.Add(1)
		web.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { open(); hs.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c := dial(t, "http://"+ln.Addr().String())

	for i := range 3 {
		if err := c.Invoke(ctx, peerEcho, &pb.UserRequest{Id: uint32(i)}, new(pb.UserRequest)); err != nil {
			t.Fatalf("unary call %d while the socket opens: %v", i, err)
		}
	}
	if n := webCalls.Load(); n != 3 {
		t.Fatalf("%d of 3 calls went as gRPC-Web while the handshake was held", n)
	}
	open()
	// Once the handshake is done, calls take the socket: the mux server
	// answers muxMethodEcho, the gRPC-Web peer does not know it.
	for {
		in, out := &pb.User{Id: 7}, new(pb.User)
		err := c.Invoke(ctx, muxMethodEcho, in, out)
		if err == nil && proto.Equal(in, out) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no call reached the socket: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	if n := msrv.upgrades.Load(); n != 1 {
		t.Errorf("%d sockets opened, want 1", n)
	}
}

// TestMuxShare runs the scenarios of the page's one socket natively, with
// Conns sharing a socket over in-memory links (MemoryBoard), under the
// race detector when the tests run with it; TestJSMuxShare runs them
// through the browser's glue.
func TestMuxShare(t *testing.T) {
	_, url := startMuxServer(t, grpcwire.DefaultMuxSettings())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	board := new(client.MemoryBoard)
	checkMuxShare(t, ctx, url, "native", func() client.DialOption { return client.WithMemoryBoard(board) })
	if board.Links() == 0 {
		t.Error("no Conn linked to the published socket")
	}
}
