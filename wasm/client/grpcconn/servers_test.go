//go:build !js

package grpcconn_test

import (
	"testing"

	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// startFront serves our front on 127.0.0.1 until the test ends, with
// grpc-go's interop TestService registered beside UserManager (the
// tutorial's six users on a fresh store), and returns its URL.
func startFront(t testing.TB) string {
	t.Helper()
	return servertest.Start(t, server.Config{},
		servertest.WithService(&testgrpc.TestService_ServiceDesc, interop.NewTestServer()),
	).URL
}
