//go:build js && wasm

package grpcconn_test

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestJSInterop runs grpc-go's interop cases through the Conn under Node,
// through the browser glue: fetch with a streamed body for gRPC-Web,
// WebSocket for the bridge.
func TestJSInterop(t *testing.T) {
	url := os.Getenv(envServerURL)
	if url == "" {
		t.Skip("run by TestJSGlue, which starts the server: go test -run TestJSGlue ./wasm/client/grpcconn/")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runInterop(t, ctx, url)
}
