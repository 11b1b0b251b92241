//go:build !js

package grpcconn_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // the server's gzip
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/stats"

	"github.com/grpcplay/playground/wasm/client/grpcconn"
)

// payloads records the sizes of the messages a server received and sent,
// as they travelled and once decompressed.
type payloads struct {
	mu       sync.Mutex
	in, out  []int // sizes of the messages
	inWire   []int // what they weighed on the wire
	outWire  []int
	encoding string // the last request's grpc-encoding
}

func (p *payloads) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (p *payloads) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (p *payloads) HandleConn(context.Context, stats.ConnStats) {}
func (p *payloads) HandleRPC(_ context.Context, s stats.RPCStats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch s := s.(type) {
	case *stats.InHeader:
		p.encoding = s.Compression
	case *stats.InPayload:
		p.in, p.inWire = append(p.in, s.Length), append(p.inWire, s.CompressedLength)
	case *stats.OutPayload:
		p.out, p.outWire = append(p.out, s.Length), append(p.outWire, s.CompressedLength)
	}
}

// grpc.UseCompressor("gzip") compresses the requests and lets the server
// compress its responses, which the client reads: checked against grpc-go
// (with its gzip) behind improbable-eng's gRPC-Web wrapper, whose stats
// show what travelled compressed.
func TestUseCompressor(t *testing.T) {
	seen := new(payloads)
	gs := grpc.NewServer(grpc.StatsHandler(seen))
	testgrpc.RegisterTestServiceServer(gs, interop.NewTestServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: grpcweb.WrapServer(gs), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); gs.Stop() })
	conn, err := grpcconn.Dial("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc := testgrpc.NewTestServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	const size = 64 << 10 // zeros: they compress well
	r, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: size, Payload: &testpb.Payload{Body: make([]byte, size)}}, grpc.UseCompressor("gzip"))
	if err != nil || len(r.GetPayload().GetBody()) != size {
		t.Fatalf("UnaryCall with gzip: %d bytes, %v", len(r.GetPayload().GetBody()), err)
	}
	s, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
		ResponseParameters: []*testpb.ResponseParameters{{Size: size}, {Size: size}},
		Payload:            &testpb.Payload{Body: make([]byte, size)},
	}, grpc.UseCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if m, err := s.Recv(); err != nil || len(m.GetPayload().GetBody()) != size {
			t.Fatalf("stream message %d with gzip: %d bytes, %v", i, len(m.GetPayload().GetBody()), err)
		}
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("the stream's end: %v", err)
	}
	seen.mu.Lock()
	t.Logf("request sizes %v, on the wire %v; responses %v, on the wire %v", seen.in, seen.inWire, seen.out, seen.outWire)
	if seen.encoding != "gzip" {
		t.Errorf("the server saw grpc-encoding %q, want gzip", seen.encoding)
	}
	for i := range seen.in {
		if seen.inWire[i] >= seen.in[i] {
			t.Errorf("request %d travelled uncompressed: %d bytes for %d", i, seen.inWire[i], seen.in[i])
		}
	}
	for i := range seen.out {
		if seen.outWire[i] >= seen.out[i] {
			t.Errorf("response %d travelled uncompressed: %d bytes for %d", i, seen.outWire[i], seen.out[i])
		}
	}
	seen.mu.Unlock()

	// A compressor the client does not have fails the call before it is
	// sent, as in grpc-go.
	_, err = tc.EmptyCall(ctx, &testpb.Empty{}, grpc.UseCompressor("snappy"))
	wantCode(t, err, codes.Internal)
}
