//go:build js && wasm

package client_test

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/protocodec"
)

// TestJSCalls runs the native tests' scenarios through the browser glue:
// fetch with a streamed body for gRPC-Web, WebSocket for the bridge.
func TestJSCalls(t *testing.T) {
	serverURL, peerURL, improbableURL := os.Getenv(envServerURL), os.Getenv(envPeerURL), os.Getenv(envImprobableURL)
	if serverURL == "" || peerURL == "" || improbableURL == "" {
		t.Skip("run by TestJSGlue, which starts the servers: go test -run TestJSGlue ./wasm/client/")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, tr := range []struct {
		name string
		url  string
		opts []client.DialOption
	}{
		{"grpc-web", serverURL, []client.DialOption{client.WithMultiplexing(client.MultiplexNever)}},
		{"websocket", serverURL, []client.DialOption{client.WithWebSocketForAll(), client.WithMultiplexing(client.MultiplexNever)}},
		// The default: improbable-eng's server declines the multiplexed
		// socket, and the calls go per call.
		{"improbable-websocket", improbableURL, []client.DialOption{client.WithWebSocketForAll()}},
	} {
		t.Run(tr.name, func(t *testing.T) {
			c, err := client.Dial(tr.url, append([]client.DialOption{client.WithCodec(protocodec.Codec{})}, tr.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			checkAllFive(t, ctx, c, uint32(200+i))

			_, err = getUser(ctx, c, 0)
			wantCode(t, err, codes.InvalidArgument)

			short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancelShort()
			bidi, err := usersByIDs(short, c)
			if err != nil {
				t.Fatal(err)
			}
			_, err = recvUser(bidi)
			wantCode(t, err, codes.DeadlineExceeded)

			cctx, cancelC := context.WithCancel(ctx)
			bidi, err = usersByIDs(cctx, c)
			if err != nil {
				t.Fatal(err)
			}
			cancelC()
			_, err = recvUser(bidi)
			wantCode(t, err, codes.Canceled)
		})
	}
	t.Run("peer", func(t *testing.T) { checkPeer(t, ctx, peerURL, "js") })
	t.Run("no page origin in Node", func(t *testing.T) {
		_, err := client.Dial("")
		wantCode(t, err, codes.InvalidArgument)
	})
}
