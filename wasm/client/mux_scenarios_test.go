package client_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/protocodec"
)

// The multiplexed socket's scenarios, against the test mux server
// (mux_server_test.go) with its default settings: natively (mux_test.go)
// and, through the browser glue, under Node (mux_js_test.go). The server
// is steered and asked what it saw through its own methods, over the
// socket under test.

// envMuxURL hands TestJSMux (mux_js_test.go), under Node, the test mux
// server's URL.
const envMuxURL = "GRPCPLAY_TEST_MUX_URL"

// The test server's methods. x-test-gate names a gate, or the stream a
// probe asks about.
const (
	muxMethodEcho       = "/test.Mux/Echo"       // headers, then each request back, then trailers; echoes x-test-* metadata and grpc-timeout
	muxMethodCount      = "/test.Mux/Count"      // counts the requests: UserRequest{Id: n}
	muxMethodSink       = "/test.Mux/Sink"       // reads nothing until its gate opens, then counts as Count
	muxMethodFlood      = "/test.Mux/Flood"      // x-test-count Users of x-test-size bytes each
	muxMethodFail       = "/test.Mux/Fail"       // status x-test-code, trailers only
	muxMethodCancel     = "/test.Mux/Cancel"     // a CANCEL with ResourceExhausted
	muxMethodHang       = "/test.Mux/Hang"       // waits until cancelled; Cancelled tells with which code
	muxMethodCancelled  = "/test.Mux/Cancelled"  // waits until the Hang stream of the gate is cancelled: UserRequest{Id: code}
	muxMethodBuffered   = "/test.Mux/Buffered"   // request bytes buffered, unread, on the gate's stream
	muxMethodSent       = "/test.Mux/Sent"       // response bytes sent on the gate's stream
	muxMethodRelease    = "/test.Mux/Release"    // opens the gate
	muxMethodUpgrades   = "/test.Mux/Upgrades"   // sockets opened so far
	muxMethodKill       = "/test.Mux/Kill"       // drops the socket's TCP connection
	muxMethodGoAway     = "/test.Mux/GoAway"     // GOAWAY refusing this very stream
	muxMethodOverflow   = "/test.Mux/Overflow"   // DATA beyond the client's window
	muxMethodBadHeaders = "/test.Mux/BadHeaders" // a malformed response header block
)

// Streams of the scenarios: a bidi or client stream opens at once.
var (
	bidi         = client.StreamDesc{ClientStreams: true, ServerStreams: true}
	clientStream = client.StreamDesc{ClientStreams: true}
	serverStream = client.StreamDesc{ServerStreams: true}
)

// muxProbe asks the test server a number through method about the stream
// of gate (or, for Upgrades, about itself).
func muxProbe(t *testing.T, ctx context.Context, c *client.Conn, method, gate string) uint32 {
	t.Helper()
	n, err := muxProbeErr(ctx, c, method, gate)
	if err != nil {
		t.Fatalf("%s(%s): %v", method, gate, err)
	}
	return n
}

func muxProbeErr(ctx context.Context, c *client.Conn, method, gate string) (uint32, error) {
	resp := new(pb.UserRequest)
	err := c.Invoke(metadata.AppendToOutgoingContext(ctx, "x-test-gate", gate), method, &pb.UserRequest{}, resp)
	return resp.GetId(), err
}

// muxProbeIs reports whether the probe answers want; a stream the server
// has not yet started is no error, only not yet.
func muxProbeIs(t *testing.T, ctx context.Context, c *client.Conn, method, gate string, want int) bool {
	t.Helper()
	n, err := muxProbeErr(ctx, c, method, gate)
	if err != nil && grpcstatus.Code(err) != codes.NotFound {
		t.Fatalf("%s(%s): %v", method, gate, err)
	}
	return err == nil && int(n) == want
}

// eventually polls cond until it holds; the test's context bounds it.
func eventually(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: never happened", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// echoed sends m on s and checks the echo.
// roundTrips opens an echo stream on c, makes n round trips on it and
// ends it cleanly.
func roundTrips(t *testing.T, ctx context.Context, c *client.Conn, n int) {
	t.Helper()
	s, err := c.NewStream(ctx, bidi, muxMethodEcho)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		echoed(t, s, &pb.User{Id: uint32(i)})
	}
	s.CloseSend()
	if err := s.RecvMsg(new(pb.User)); err != io.EOF {
		t.Fatalf("the round-trip stream's end: %v", err)
	}
}

func echoed(t *testing.T, s *client.Stream, m *pb.User) {
	t.Helper()
	if err := s.SendMsg(m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := new(pb.User)
	if err := s.RecvMsg(got); err != nil {
		t.Fatalf("receive: %v", err)
	}
	if !proto.Equal(got, m) {
		t.Fatalf("echo of a %d-byte message differs", proto.Size(m))
	}
}

// muxDialer returns a function that dials url with opts, every call on the
// multiplexed socket, protobuf-go's messages encoded; t's end closes the
// Conns.
func muxDialer(t *testing.T, url string) func(opts ...client.DialOption) *client.Conn {
	return func(opts ...client.DialOption) *client.Conn {
		c, err := client.Dial(url, append([]client.DialOption{client.WithMultiplexing(client.MultiplexAlways), client.WithCodec(protocodec.Codec{})}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// checkMux runs the scenarios on a Conn dialed with opts; name keeps the
// gates of runs apart.
func checkMux(t *testing.T, ctx context.Context, url, name string, opts ...client.DialOption) {
	c := muxDialer(t, url)(opts...)
	defer c.Close()
	upgrades := func() uint32 { return muxProbe(t, ctx, c, muxMethodUpgrades, "") }
	serverWindow := int(grpcwire.DefaultMuxSettings().InitialWindow) // the test server's
	clientWindow := 64 << 10                                         // the client's own

	t.Run("CallTypes", func(t *testing.T) {
		mctx := metadata.AppendToOutgoingContext(ctx, "x-test-text", "hi", "x-test-raw-bin", "\x00\x01\r\n")
		var hdr, tr metadata.MD
		in := &pb.User{Id: 7, Nickname: "seven"}
		out := new(pb.User)
		if err := c.Invoke(mctx, muxMethodEcho, in, out, client.Header(&hdr), client.Trailer(&tr)); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(in, out) {
			t.Fatalf("unary echo = %v", out)
		}
		for what, md := range map[string]metadata.MD{"headers": hdr, "trailers": tr} {
			if grpcwire.First(md, "x-test-text") != "hi" || grpcwire.First(md, "x-test-raw-bin") != "\x00\x01\r\n" {
				t.Errorf("%s = %v", what, md)
			}
		}
		if grpcwire.First(tr, grpcwire.HeaderStatus) != "0" {
			t.Errorf("trailers %v without grpc-status 0", tr)
		}

		dctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		if err := c.Invoke(dctx, muxMethodEcho, in, out, client.Header(&hdr)); err != nil {
			t.Fatal(err)
		}
		if d, err := grpcwire.DecodeTimeout(grpcwire.First(hdr, "x-seen-grpc-timeout")); err != nil || d <= 0 || d > time.Hour {
			t.Errorf("the server saw grpc-timeout %q", grpcwire.First(hdr, "x-seen-grpc-timeout"))
		}

		// A message of 1 MiB crosses 64 KiB windows and 16 KiB frames both ways.
		big := &pb.User{Nickname: strings.Repeat("b", 1<<20)}
		if err := c.Invoke(ctx, muxMethodEcho, big, out); err != nil || out.GetNickname() != big.GetNickname() {
			t.Fatalf("1 MiB echo: %v", err)
		}

		fctx := metadata.AppendToOutgoingContext(ctx, "x-test-count", "100", "x-test-size", "1000")
		s, err := c.NewStream(fctx, serverStream, muxMethodFlood)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(&pb.UserRequest{}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for ; ; n++ {
			u := new(pb.User)
			if err := s.RecvMsg(u); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if u.GetId() != uint32(n) || len(u.GetNickname()) != 1000 {
				t.Fatalf("message %d = id %d, %d bytes", n, u.GetId(), len(u.GetNickname()))
			}
		}
		if n != 100 {
			t.Fatalf("server stream: %d messages, want 100", n)
		}

		s, err = c.NewStream(ctx, clientStream, muxMethodCount)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			if err := s.SendMsg(&pb.User{Id: uint32(i)}); err != nil {
				t.Fatal(err)
			}
		}
		s.CloseSend()
		count := new(pb.UserRequest)
		if err := s.RecvMsg(count); err != nil || count.GetId() != 50 {
			t.Fatalf("client stream: %v, %v; want 50", count, err)
		}

		s, err = c.NewStream(mctx, bidi, muxMethodEcho)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := s.Header(); err != nil || grpcwire.First(h, "x-test-text") != "hi" {
			t.Fatalf("bidi headers before any message: %v, %v", h, err)
		}
		for i := range 3 {
			echoed(t, s, &pb.User{Id: uint32(i)})
		}
		s.CloseSend()
		if err := s.RecvMsg(new(pb.User)); err != io.EOF {
			t.Fatalf("bidi end: %v", err)
		}
		if grpcwire.First(s.Trailer(), "x-test-text") != "hi" {
			t.Errorf("bidi trailers = %v", s.Trailer())
		}

		// A status without a message: trailers only, also the headers.
		ectx := metadata.AppendToOutgoingContext(ctx, "x-test-code", "5")
		err = c.Invoke(ectx, muxMethodFail, in, out, client.Header(&hdr), client.Trailer(&tr))
		wantCode(t, err, codes.NotFound)
		if grpcwire.First(hdr, grpcwire.HeaderStatus) != "5" || grpcwire.First(tr, grpcwire.HeaderStatus) != "5" {
			t.Errorf("trailers-only: headers %v, trailers %v", hdr, tr)
		}

		// A reply over the call's limit ends the call; the socket goes on.
		err = c.Invoke(ctx, muxMethodEcho, &pb.User{Nickname: strings.Repeat("x", 5000)}, out, client.MaxCallRecvMsgSize(1000))
		wantCode(t, err, codes.ResourceExhausted)
		// Request headers over the server's limit fail before they are sent.
		hctx := metadata.AppendToOutgoingContext(ctx, "x-test-big", strings.Repeat("h", 70<<10))
		wantCode(t, c.Invoke(hctx, muxMethodEcho, in, out), codes.ResourceExhausted)
		// A malformed response header block ends that call alone.
		wantCode(t, c.Invoke(ctx, muxMethodBadHeaders, in, out), codes.Internal)
		if err := c.Invoke(ctx, muxMethodEcho, in, out); err != nil {
			t.Fatalf("after the failed calls: %v", err)
		}
	})

	t.Run("OneSocketForAll", func(t *testing.T) {
		before := upgrades()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 10 {
			wg.Go(func() {
				s, err := c.NewStream(ctx, bidi, muxMethodEcho)
				if err != nil {
					errs <- err
					return
				}
				for j := range 30 {
					m := &pb.User{Id: uint32(j), Nickname: strings.Repeat("i", (i*7919+j*104729)%(40<<10))}
					if err := s.SendMsg(m); err != nil {
						errs <- err
						return
					}
					got := new(pb.User)
					if err := s.RecvMsg(got); err != nil || !proto.Equal(got, m) {
						errs <- status.Errorf(codes.DataLoss, "stream %d, message %d: %v", i, j, err)
						return
					}
				}
				s.CloseSend()
				if err := s.RecvMsg(new(pb.User)); err != io.EOF {
					errs <- err
				}
			})
			wg.Go(func() {
				m := &pb.User{Id: uint32(i), Nickname: strings.Repeat("u", i*3000)}
				got := new(pb.User)
				if err := c.Invoke(ctx, muxMethodEcho, m, got); err != nil || !proto.Equal(got, m) {
					errs <- status.Errorf(codes.DataLoss, "unary %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if after := upgrades(); after != before {
			t.Errorf("20 concurrent calls opened %d sockets, want none: they share the one open", after-before)
		}
	})

	t.Run("StalledStreamDoesNotBlockOthers", func(t *testing.T) {
		before := upgrades()
		// A: a client stream whose server reads nothing (its gate is shut).
		gateA := name + "-stalled-sink"
		actx := metadata.AppendToOutgoingContext(ctx, "x-test-gate", gateA)
		a, err := c.NewStream(actx, clientStream, muxMethodSink)
		if err != nil {
			t.Fatal(err)
		}
		msg := &pb.User{Nickname: strings.Repeat("a", 1000)}
		frameLen := proto.Size(msg) + grpcwire.PrefixLen
		const total = 200
		var sent atomic.Int64
		sendDone := make(chan error, 1)
		go func() {
			for range total {
				if err := a.SendMsg(msg); err != nil {
					sendDone <- err
					return
				}
				sent.Add(1)
			}
			sendDone <- a.CloseSend()
		}()
		eventually(t, ctx, "the client fills the server's window on the stalled stream", func() bool {
			return muxProbeIs(t, ctx, c, muxMethodBuffered, gateA, serverWindow)
		})

		// C: a server stream whose client reads nothing.
		gateC := name + "-stalled-flood"
		cctx := metadata.AppendToOutgoingContext(ctx, "x-test-gate", gateC, "x-test-count", "200", "x-test-size", "1000")
		cs, err := c.NewStream(cctx, serverStream, muxMethodFlood)
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.SendMsg(&pb.UserRequest{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, ctx, "the server fills the client's window on the unread stream", func() bool {
			return muxProbeIs(t, ctx, c, muxMethodSent, gateC, clientWindow)
		})

		// B: 1,000 round trips on the same socket meanwhile.
		roundTrips(t, ctx, c, 1000)

		// A and C are still at their windows, not a byte beyond.
		if got := int(muxProbe(t, ctx, c, muxMethodBuffered, gateA)); got != serverWindow {
			t.Errorf("stalled stream: the server holds %d bytes, want its window of %d", got, serverWindow)
		}
		if got := sent.Load(); got != int64(serverWindow/frameLen) {
			t.Errorf("stalled stream: %d messages sent whole, want the %d the window holds", got, serverWindow/frameLen)
		}
		if got := int(muxProbe(t, ctx, c, muxMethodSent, gateC)); got != clientWindow {
			t.Errorf("unread stream: the server sent %d bytes, want the client's window of %d", got, clientWindow)
		}

		// Unblocked, both complete intact.
		muxProbe(t, ctx, c, muxMethodRelease, gateA)
		if err := <-sendDone; err != nil {
			t.Fatalf("stalled sender: %v", err)
		}
		count := new(pb.UserRequest)
		if err := a.RecvMsg(count); err != nil || count.GetId() != total {
			t.Fatalf("stalled stream: the server counted %v (%v), want %d", count, err, total)
		}
		for i := range 200 {
			u := new(pb.User)
			if err := cs.RecvMsg(u); err != nil || u.GetId() != uint32(i) || len(u.GetNickname()) != 1000 {
				t.Fatalf("unread stream, message %d: %v, %v", i, u.GetId(), err)
			}
		}
		if err := cs.RecvMsg(new(pb.User)); err != io.EOF {
			t.Fatalf("unread stream end: %v", err)
		}
		if after := upgrades(); after != before {
			t.Errorf("%d sockets opened", after-before)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		for _, tc := range []struct {
			gate string
			ctx  func() (context.Context, context.CancelFunc)
			want codes.Code
		}{
			{"cancel", func() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }, codes.Canceled},
			{"deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 50*time.Millisecond) }, codes.DeadlineExceeded},
		} {
			gate := name + "-" + tc.gate
			hctx, cancel := tc.ctx()
			s, err := c.NewStream(metadata.AppendToOutgoingContext(hctx, "x-test-gate", gate), bidi, muxMethodHang)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == codes.Canceled {
				cancel()
			}
			wantCode(t, s.RecvMsg(new(pb.User)), tc.want)
			cancel()
			if got := codes.Code(muxProbe(t, ctx, c, muxMethodCancelled, gate)); got != tc.want {
				t.Errorf("%s: the server saw a CANCEL with %v, want %v", tc.gate, got, tc.want)
			}
		}
		err := c.Invoke(ctx, muxMethodCancel, &pb.User{}, new(pb.User))
		wantCode(t, err, codes.ResourceExhausted)
		if grpcstatus.Convert(err).Message() != "the server cancelled" {
			t.Errorf("server's CANCEL: %v", err)
		}
	})

	t.Run("GoAway", func(t *testing.T) {
		before := upgrades()
		a, err := c.NewStream(ctx, bidi, muxMethodEcho)
		if err != nil {
			t.Fatal(err)
		}
		echoed(t, a, &pb.User{Id: 1})
		// The server goes away, refusing the stream that asked it to.
		err = c.Invoke(ctx, muxMethodGoAway, &pb.User{}, new(pb.User))
		wantCode(t, err, codes.Unavailable)
		if !strings.Contains(grpcstatus.Convert(err).Message(), "GOAWAY") {
			t.Errorf("refused stream: %v", err)
		}
		// The stream in flight goes on to its end.
		echoed(t, a, &pb.User{Id: 2})
		a.CloseSend()
		if err := a.RecvMsg(new(pb.User)); err != io.EOF {
			t.Fatalf("the stream in flight after GOAWAY: %v", err)
		}
		// New calls go on a new socket.
		if after := upgrades(); after != before+1 {
			t.Errorf("after GOAWAY, %d sockets opened; want 1", after-before)
		}
	})

	t.Run("SocketDies", func(t *testing.T) {
		before := upgrades()
		a, err := c.NewStream(ctx, bidi, muxMethodEcho)
		if err != nil {
			t.Fatal(err)
		}
		echoed(t, a, &pb.User{Id: 1})
		wantCode(t, c.Invoke(ctx, muxMethodKill, &pb.User{}, new(pb.User)), codes.Unavailable)
		wantCode(t, a.RecvMsg(new(pb.User)), codes.Unavailable)
		if err := c.Invoke(ctx, muxMethodEcho, &pb.User{Id: 3}, new(pb.User)); err != nil {
			t.Fatalf("the call after the socket died: %v", err)
		}
		if after := upgrades(); after != before+1 {
			t.Errorf("after the socket died, %d sockets opened; want 1", after-before)
		}
	})
}

// checkMuxShare runs the scenarios of one socket shared between Conns as
// between the programs of a page: Conns dialed with share() stand for the
// programs, the first to open the socket owning it, the others linked to
// it. It returns one of two Conns that share the socket.
func checkMuxShare(t *testing.T, ctx context.Context, url, name string, share func() client.DialOption) *client.Conn {
	dial := muxDialer(t, url)
	upgrades := func(c *client.Conn) uint32 { return muxProbe(t, ctx, c, muxMethodUpgrades, "") }

	// Two Conns whose first calls go together open one socket: one owns
	// it, the other joins it while it opens.
	before := upgrades(dial())
	first, second := dial(share()), dial(share())
	var wg sync.WaitGroup
	for _, c := range []*client.Conn{first, second} {
		wg.Go(func() {
			if err := c.Invoke(ctx, muxMethodEcho, &pb.User{Id: 1}, new(pb.User)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := upgrades(first); got != before+1 {
		t.Fatalf("two Conns starting together opened %d sockets; want one", got-before)
	}
	if got := upgrades(second); got != before+1 {
		t.Fatalf("the second Conn on a socket of its own")
	}

	t.Run("Scenarios", func(t *testing.T) {
		// Every scenario of one Conn, on a Conn whose calls cross a link:
		// its windows, cancels, the GOAWAY and the dead socket.
		checkMux(t, ctx, url, name+"-guest", share())
	})

	// One Conn's stream stalled at its window holds up nothing of the
	// other's: each way, whichever of the two owns the socket.
	for i, pair := range [][2]*client.Conn{{first, second}, {second, first}} {
		stalled, other := pair[0], pair[1]
		t.Run("StalledStreamDoesNotBlockTheOtherConn", func(t *testing.T) {
			gate := fmt.Sprintf("%s-share-stalled-%d", name, i)
			s, err := stalled.NewStream(metadata.AppendToOutgoingContext(ctx, "x-test-gate", gate), clientStream, muxMethodSink)
			if err != nil {
				t.Fatal(err)
			}
			sendDone := make(chan error, 1)
			go func() {
				msg := &pb.User{Nickname: strings.Repeat("s", 1000)}
				for range 200 {
					if err := s.SendMsg(msg); err != nil {
						sendDone <- err
						return
					}
				}
				sendDone <- s.CloseSend()
			}()
			window := int(grpcwire.DefaultMuxSettings().InitialWindow)
			eventually(t, ctx, "the stalled stream fills the server's window", func() bool {
				return muxProbeIs(t, ctx, other, muxMethodBuffered, gate, window)
			})
			roundTrips(t, ctx, other, 1000)
			if got := int(muxProbe(t, ctx, other, muxMethodBuffered, gate)); got != window {
				t.Errorf("the stalled stream: the server holds %d bytes, want its window of %d", got, window)
			}
			muxProbe(t, ctx, other, muxMethodRelease, gate)
			if err := <-sendDone; err != nil {
				t.Fatal(err)
			}
			count := new(pb.UserRequest)
			if err := s.RecvMsg(count); err != nil || count.GetId() != 200 {
				t.Fatalf("the stalled stream: %v, %v; want 200", count, err)
			}
		})
	}

	t.Run("SocketDiesForBoth", func(t *testing.T) {
		before := upgrades(first)
		if got := upgrades(second); got != before {
			t.Fatalf("the two Conns on %d sockets", got-before+1)
		}
		var streams []*client.Stream
		for _, c := range []*client.Conn{first, second} {
			s, err := c.NewStream(ctx, bidi, muxMethodEcho)
			if err != nil {
				t.Fatal(err)
			}
			echoed(t, s, &pb.User{Id: 1})
			streams = append(streams, s)
		}
		wantCode(t, second.Invoke(ctx, muxMethodKill, &pb.User{}, new(pb.User)), codes.Unavailable)
		for i, s := range streams {
			err := s.RecvMsg(new(pb.User))
			wantCode(t, err, codes.Unavailable)
			if msg := grpcstatus.Convert(err).Message(); !strings.Contains(msg, "grpc-mux") {
				t.Errorf("stream %d ended with %q, which does not say the socket failed", i, msg)
			}
		}
		// The next calls dial again, both on one new socket.
		if err := second.Invoke(ctx, muxMethodEcho, &pb.User{Id: 3}, new(pb.User)); err != nil {
			t.Fatalf("the second Conn's call after the socket died: %v", err)
		}
		if got := upgrades(first); got != before+1 {
			t.Errorf("after the socket died, %d sockets opened; want 1", got-before)
		}
		if got := upgrades(second); got != before+1 {
			t.Errorf("the two Conns on two sockets after the socket died")
		}
	})

	return first
}
