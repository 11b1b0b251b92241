//go:build !js

package explorertest_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcplay/playground/server/servertest/explorertest"
)

// The rich schema compiles, and its backend answers health.
func TestRichBackend(t *testing.T) {
	r := explorertest.StartRich(t)
	for _, name := range []string{"rich.v1.Order", "rich.v1.AllKnown", "rich.v1.Settings"} {
		if _, err := r.Files.FindDescriptorByName(protoreflect.FullName(name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	cc, err := grpc.NewClient(r.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	resp, err := healthgrpc.NewHealthClient(cc).Check(context.Background(), &healthgrpc.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthgrpc.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", resp, err)
	}
}
