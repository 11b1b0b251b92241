package server_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
)

// BenchmarkObservability measures what metrics and tracing configured to
// sample nothing add to a gRPC-Web unary call, server and client in one
// process (allocs/op counts both sides' allocations: the difference is
// the server's). make bench's row measures the built binary's latency.
func BenchmarkObservability(b *testing.B) {
	never := &server.Tracing{
		Provider:   sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())),
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	for _, tc := range []struct {
		name string
		cfg  server.Config
	}{
		{"off", server.Config{}},
		{"metrics", server.Config{Metrics: true}},
		{"tracing-unsampled", server.Config{Tracing: never}},
		{"both", server.Config{Metrics: true, Tracing: never}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := servertest.Start(b, tc.cfg)
			conn, err := client.Dial(ts.URL, client.WithMultiplexing(client.MultiplexNever)) // gRPC-Web, as the row says
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			ctx, req := context.Background(), &pb.UserRequest{Id: 1}
			b.ReportAllocs()
			for b.Loop() {
				if err := conn.Invoke(ctx, "/UserManager/GetUser", req, new(pb.UserResponse)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
