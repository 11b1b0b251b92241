//go:build !js

package grpcconn_test

import (
	"context"
	"testing"
	"time"
)

// TestInterop runs grpc-go's interop cases through the Conn, natively,
// against its interop TestService behind our front.
func TestInterop(t *testing.T) {
	url := startFront(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runInterop(t, ctx, url)
}
