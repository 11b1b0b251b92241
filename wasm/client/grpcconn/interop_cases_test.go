package grpcconn_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/grpcconn"
)

// The interop cases run natively (interop_test.go) and under Node
// (js_test.go), against grpc-go's interop TestService (interop.NewTestServer)
// registered on our front, and call grpc-go's own test functions from
// google.golang.org/grpc/interop, the ones behind its interop client.

// envServerURL passes the front's URL to the GOOS=js tests.
const envServerURL = "GRPCCONN_TEST_SERVER_URL"

// transports are the ways a client.Conn carries the calls: gRPC-Web over
// HTTP for unary and server streaming with the WebSocket bridge for client
// and bidi streaming, and the bridge for every call. Both stay off the
// multiplexed socket, which would otherwise carry them when the server
// offers it.
var transports = []struct {
	name string
	opts []client.DialOption
}{
	{"grpc-web", []client.DialOption{client.WithMultiplexing(client.MultiplexNever)}},
	{"websocket", []client.DialOption{client.WithWebSocketForAll(), client.WithMultiplexing(client.MultiplexNever)}},
}

// interopCase is one of grpc-go's interop test cases, by its interop
// client's name.
type interopCase struct {
	name string
	run  func(ctx context.Context, tc testgrpc.TestServiceClient, conn *grpcconn.Conn)
}

var interopCases = []interopCase{
	{"empty_unary", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoEmptyUnaryCall(ctx, tc)
	}},
	{"large_unary", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoLargeUnaryCall(ctx, tc)
	}},
	{"client_streaming", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoClientStreaming(ctx, tc)
	}},
	{"server_streaming", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoServerStreaming(ctx, tc)
	}},
	{"ping_pong", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoPingPong(ctx, tc)
	}},
	{"empty_stream", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoEmptyStream(ctx, tc)
	}},
	{"timeout_on_sleeping_server", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoTimeoutOnSleepingServer(ctx, tc)
	}},
	{"cancel_after_begin", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoCancelAfterBegin(ctx, tc)
	}},
	{"cancel_after_first_response", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoCancelAfterFirstResponse(ctx, tc)
	}},
	{"custom_metadata", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoCustomMetadata(ctx, tc)
	}},
	{"status_code_and_message", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoStatusCodeAndMessage(ctx, tc)
	}},
	{"special_status_message", func(ctx context.Context, tc testgrpc.TestServiceClient, _ *grpcconn.Conn) {
		interop.DoSpecialStatusMessage(ctx, tc)
	}},
	{"unimplemented_method", func(ctx context.Context, _ testgrpc.TestServiceClient, conn *grpcconn.Conn) {
		// interop.DoUnimplementedMethod takes a *grpc.ClientConn, not the
		// interface, so this is its body on the Conn: nil messages, as it
		// passes them.
		if err := conn.Invoke(ctx, "/grpc.testing.TestService/UnimplementedCall", nil, nil); status.Code(err) != codes.Unimplemented {
			grpclog.Fatalf("ClientConn.Invoke(_, _, _, _, _) = %v, want error code %s", err, codes.Unimplemented)
		}
	}},
	{"unimplemented_service", func(ctx context.Context, _ testgrpc.TestServiceClient, conn *grpcconn.Conn) {
		interop.DoUnimplementedService(ctx, testgrpc.NewUnimplementedServiceClient(conn))
	}},
}

// runInterop runs every case on a Conn to url for each transport, one
// subtest each: TestX/grpc-web/empty_unary.
func runInterop(t *testing.T, ctx context.Context, url string) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			conn, err := grpcconn.Dial(url, tr.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			tc := testgrpc.NewTestServiceClient(conn)
			for _, c := range interopCases {
				t.Run(c.name, func(t *testing.T) { runCase(t, ctx, c, tc, conn) })
			}
		})
	}
}

// runCase runs c, turning its fatal log, which would end the process, into
// the test's failure.
func runCase(t *testing.T, ctx context.Context, c interopCase, tc testgrpc.TestServiceClient, conn *grpcconn.Conn) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(interopFailure)
			if !ok {
				panic(r)
			}
			t.Fatalf("interop case %s failed: %s", c.name, string(f))
		}
	}()
	c.run(ctx, tc, conn)
}

// interopFailure is what failLogger panics with: the fatal message.
type interopFailure string

// failLogger is the grpclog logger of the tests: grpc-go's interop
// functions report a failure with a fatal log, which exits the process;
// this one panics with the message instead, for runCase to recover. It is
// not a grpclog.DepthLoggerV2, so that grpclog calls its Fatal methods.
type failLogger struct{ grpclog.LoggerV2 }

func (failLogger) Fatal(args ...any)   { panic(interopFailure(fmt.Sprint(args...))) }
func (failLogger) Fatalln(args ...any) { panic(interopFailure(fmt.Sprintln(args...))) }
func (failLogger) Fatalf(format string, args ...any) {
	panic(interopFailure(fmt.Sprintf(format, args...)))
}

func TestMain(m *testing.M) {
	// Errors go to stderr, the rest nowhere; set before any gRPC call.
	grpclog.SetLoggerV2(failLogger{grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr)})
	os.Exit(m.Run())
}
