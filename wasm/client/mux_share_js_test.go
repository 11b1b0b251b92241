//go:build js && wasm

package client_test

import (
	"context"
	"io"
	"os"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
)

// TestJSMuxShare runs the page's one socket (WithPageSocket) under Node:
// Conns of one program stand for the page's programs, each finding the
// others' socket on globalThis as a program of the page does; the links
// are MessageChannels, as on the page. TestJSMuxGlue starts the server.
func TestJSMuxShare(t *testing.T) {
	url := os.Getenv(envMuxURL)
	if url == "" {
		t.Skip("run by TestJSMuxGlue, which starts the server: go test -run TestJSMuxGlue ./wasm/client/")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dial := func(opts ...client.DialOption) *client.Conn {
		c, err := client.Dial(url, append([]client.DialOption{client.WithMultiplexing(client.MultiplexAlways)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	upgrades := func(c *client.Conn) uint32 { return muxProbe(t, ctx, c, muxMethodUpgrades, "") }

	owner := dial(client.WithPageSocket())
	before := upgrades(owner) // the owner opens the socket, and publishes it
	share := js.Global().Get(client.PageSocketProperty)
	if share.Type() != js.TypeObject || share.Get("url").String() != strings.Replace(url, "http://", "ws://", 1)+grpcwire.MuxPath {
		t.Fatalf("globalThis.%s = %v after the owner's socket opened", client.PageSocketProperty, share)
	}
	guest := dial(client.WithPageSocket())
	if got := upgrades(guest); got != before {
		t.Fatalf("the guest's first call opened %d sockets, want none: it joins the owner's", got-before)
	}

	t.Run("Scenarios", func(t *testing.T) {
		// Every scenario of one Conn, on a Conn whose calls cross a link:
		// its windows, cancels, the GOAWAY and the dead socket.
		checkMux(t, ctx, url, "js-guest", client.WithPageSocket())
	})

	t.Run("StalledGuestDoesNotBlockOwner", func(t *testing.T) {
		gate := "share-stalled"
		s, err := guest.NewStream(metadata.AppendToOutgoingContext(ctx, "x-test-gate", gate), clientStream, muxMethodSink)
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
		eventually(t, ctx, "the guest fills the server's window", func() bool {
			return muxProbeIs(t, ctx, owner, muxMethodBuffered, gate, window)
		})
		b, err := owner.NewStream(ctx, bidi, muxMethodEcho)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1000 {
			echoed(t, b, &pb.User{Id: uint32(i)})
		}
		b.CloseSend()
		if err := b.RecvMsg(new(pb.User)); err != io.EOF {
			t.Fatalf("the owner's stream: %v", err)
		}
		if got := int(muxProbe(t, ctx, owner, muxMethodBuffered, gate)); got != window {
			t.Errorf("the stalled stream: the server holds %d bytes, want its window of %d", got, window)
		}
		muxProbe(t, ctx, owner, muxMethodRelease, gate)
		if err := <-sendDone; err != nil {
			t.Fatal(err)
		}
		count := new(pb.UserRequest)
		if err := s.RecvMsg(count); err != nil || count.GetId() != 200 {
			t.Fatalf("the stalled stream: %v, %v; want 200", count, err)
		}
	})

	t.Run("SocketDiesForBoth", func(t *testing.T) {
		before := upgrades(owner)
		if got := upgrades(guest); got != before {
			t.Fatalf("owner and guest on %d sockets", got-before+1)
		}
		var streams []*client.Stream
		for _, c := range []*client.Conn{owner, guest} {
			s, err := c.NewStream(ctx, bidi, muxMethodEcho)
			if err != nil {
				t.Fatal(err)
			}
			echoed(t, s, &pb.User{Id: 1})
			streams = append(streams, s)
		}
		wantCode(t, guest.Invoke(ctx, muxMethodKill, &pb.User{}, new(pb.User)), codes.Unavailable)
		for i, s := range streams {
			err := s.RecvMsg(new(pb.User))
			wantCode(t, err, codes.Unavailable)
			if msg := status.Convert(err).Message(); !strings.Contains(msg, "grpc-mux") {
				t.Errorf("stream %d ended with %q, which does not say the socket failed", i, msg)
			}
		}
		// The next calls dial again, both on one new socket.
		if err := guest.Invoke(ctx, muxMethodEcho, &pb.User{Id: 3}, new(pb.User)); err != nil {
			t.Fatalf("the guest's call after the socket died: %v", err)
		}
		if got := upgrades(owner); got != before+1 {
			t.Errorf("after the socket died, %d sockets opened; want 1", got-before)
		}
		if got := upgrades(guest); got != before+1 {
			t.Errorf("the guest on another socket than the owner's")
		}
	})

	t.Run("OtherSettingsRefused", func(t *testing.T) {
		// A program of another build, announcing other settings than the
		// owner told the server, is refused before the server's SETTINGS:
		// the link closes, and it opens a socket of its own.
		ch := js.Global().Get("MessageChannel").New()
		got := make(chan js.Value, 4)
		onMsg := js.FuncOf(func(_ js.Value, args []js.Value) any {
			got <- args[0].Get("data")
			return nil
		})
		defer onMsg.Release()
		ch.Get("port1").Set("onmessage", onMsg)
		js.Global().Get(client.PageSocketProperty).Call("connect", ch.Get("port2"))
		other := grpcwire.AppendMuxSettings(nil, grpcwire.MuxSettings{InitialWindow: 1 << 20, MaxFrameSize: 16 << 10, MaxHeaderSize: 64 << 10})
		a := js.Global().Get("Uint8Array").New(len(other))
		js.CopyBytesToJS(a, other)
		ch.Get("port1").Call("postMessage", a)
		select {
		case m := <-got:
			if m.Type() != js.TypeString || m.String() != "close" {
				t.Fatalf("the owner answered other settings with %v; want the link closed", m)
			}
		case <-ctx.Done():
			t.Fatal("the owner never answered")
		}
		if err := owner.Invoke(ctx, muxMethodEcho, &pb.User{Id: 5}, new(pb.User)); err != nil {
			t.Fatalf("the owner after refusing a link: %v", err)
		}
	})

	t.Run("OwnerGone", func(t *testing.T) {
		// A program that published its socket and exited: calling its
		// function throws. A Conn that finds it opens its own and
		// publishes that.
		dead := js.Global().Get("Object").New()
		dead.Set("url", share.Get("url"))
		dead.Set("connect", js.Global().Get("Function").New("throw new Error('Go program has already exited')"))
		before := upgrades(owner)
		js.Global().Set(client.PageSocketProperty, dead)
		c := dial(client.WithPageSocket())
		if got := upgrades(c); got != before+1 {
			t.Fatalf("with the owner gone, %d sockets opened; want its own", got-before)
		}
		if js.Global().Get(client.PageSocketProperty).Equal(dead) {
			t.Error("the Conn that opened its own socket did not publish it")
		}
		if got := upgrades(dial(client.WithPageSocket())); got != before+1 {
			t.Errorf("the next program opened a socket of its own, not the one published")
		}
	})

	t.Run("OwnerCannotOpen", func(t *testing.T) {
		// An owner whose socket cannot open closes the link before the
		// SETTINGS: the Conn opens its own.
		refusing := js.Global().Get("Object").New()
		refusing.Set("url", share.Get("url"))
		refusing.Set("connect", js.Global().Get("Function").New("port", "port.postMessage('close')"))
		before := upgrades(owner)
		js.Global().Set(client.PageSocketProperty, refusing)
		c := dial(client.WithPageSocket())
		if err := c.Invoke(ctx, muxMethodEcho, &pb.User{Id: 4}, new(pb.User)); err != nil {
			t.Fatalf("with the owner's link closed: %v", err)
		}
		if got := upgrades(owner); got != before+1 {
			t.Errorf("%d sockets opened; want the Conn's own", got-before)
		}
	})
}
