//go:build js && wasm

package client_test

import (
	"context"
	"os"
	"strings"
	"syscall/js"
	"testing"
	"time"

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
	conn := checkMuxShare(t, ctx, url, "js", client.WithPageSocket)
	upgrades := func(c *client.Conn) uint32 { return muxProbe(t, ctx, c, muxMethodUpgrades, "") }
	dial := muxDialer(t, url)
	share := js.Global().Get(client.PageSocketProperty)
	if share.Type() != js.TypeObject || share.Get("url").String() != strings.Replace(url, "http://", "ws://", 1)+grpcwire.MuxPath {
		t.Fatalf("globalThis.%s = %v after the owner's socket opened", client.PageSocketProperty, share)
	}

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
		if err := conn.Invoke(ctx, muxMethodEcho, &pb.User{Id: 5}, new(pb.User)); err != nil {
			t.Fatalf("the socket after its owner refused a link: %v", err)
		}
	})

	t.Run("OwnerGone", func(t *testing.T) {
		// A program that published its socket and exited: calling its
		// function throws. A Conn that finds it opens its own and
		// publishes that.
		dead := js.Global().Get("Object").New()
		dead.Set("url", share.Get("url"))
		dead.Set("connect", js.Global().Get("Function").New("throw new Error('Go program has already exited')"))
		before := upgrades(conn)
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
		before := upgrades(conn)
		js.Global().Set(client.PageSocketProperty, refusing)
		c := dial(client.WithPageSocket())
		if err := c.Invoke(ctx, muxMethodEcho, &pb.User{Id: 4}, new(pb.User)); err != nil {
			t.Fatalf("with the owner's link closed: %v", err)
		}
		if got := upgrades(conn); got != before+1 {
			t.Errorf("%d sockets opened; want the Conn's own", got-before)
		}
	})
}
