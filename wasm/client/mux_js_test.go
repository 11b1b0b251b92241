//go:build js && wasm

package client_test

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestJSMux runs the multiplexed socket's scenarios through the browser
// glue (WebSocket through syscall/js); TestJSMuxGlue starts the server.
func TestJSMux(t *testing.T) {
	url := os.Getenv(envMuxURL)
	if url == "" {
		t.Skip("run by TestJSMuxGlue, which starts the server: go test -run TestJSMuxGlue ./wasm/client/")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	checkMux(t, ctx, url, "js")
}
