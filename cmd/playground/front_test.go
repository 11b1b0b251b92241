package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
)

var tlsReadyLine = regexp.MustCompile(`playground ready.* url=https://(\S+)`)

// TestBinaryTLS: -tls-cert and -tls-key serve TLS on the port (the log says
// https), and SIGHUP reloads replaced certificate files without a restart.
func TestBinaryTLS(t *testing.T) {
	first := servertest.NewCertificate(t, "127.0.0.1")
	second := servertest.NewCertificate(t, "127.0.0.1")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install := func(c *servertest.Certificate) {
		for src, dst := range map[string]string{c.CertFile: certFile, c.KeyFile: keyFile} {
			b, _ := os.ReadFile(src)
			os.WriteFile(dst+".new", b, 0o600)
			os.Rename(dst+".new", dst)
		}
	}
	install(first)
	p := start(t, buildPlayground(t), []string{"PLAYGROUND_TLS_CERT=" + certFile}, "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "users.db"), "-tls-key", keyFile)
	addr := p.waitLine(t, tlsReadyLine)[1]
	call := func(c *servertest.Certificate) error {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: c.Pool})))
		if err != nil {
			return err
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = pb.NewUserManagerClient(cc).GetUser(ctx, &pb.UserRequest{Id: 1})
		return err
	}
	if err := call(first); err != nil {
		t.Fatalf("native gRPC over TLS: %v", err)
	}
	install(second)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine(t, regexp.MustCompile(`TLS certificate reloaded`))
	if err := call(second); err != nil {
		t.Fatalf("after SIGHUP, with the new certificate's authority: %v", err)
	}
}

// TestBinaryFront: -backend fronts a gRPC server that is not ours (grpc-go's
// interop service): the log names the backend and says it answered,
// -backend-header reaches it, and its calls work over native gRPC and
// gRPC-Web; no store is opened.
func TestBinaryFront(t *testing.T) {
	be, key := startInteropBackend(t)
	dir := t.TempDir()
	p := start(t, buildPlayground(t), []string{"PLAYGROUND_BACKEND_HEADER=x-api-key: k3y\nx-other: 1"}, "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "users.db"), "-backend", be)
	p.waitLine(t, regexp.MustCompile(`backend answers" backend=`+regexp.QuoteMeta(be)))
	addr := p.waitLine(t, readyLine)[1]
	if !strings.Contains(p.log.String(), "data=\"backend "+be+"\"") {
		t.Errorf("the ready line does not name the backend:\n%s", p.log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "users.db")); err == nil {
		t.Error("a front opened a store")
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	interop.DoLargeUnaryCall(ctx, testgrpc.NewTestServiceClient(cc))
	if <-key != "k3y" {
		t.Fatal("the backend did not get -backend-header's key")
	}
	conn, err := client.Dial("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Invoke(ctx, "/grpc.testing.TestService/EmptyCall", &testgrpc.Empty{}, new(testgrpc.Empty)); err != nil {
		t.Fatalf("gRPC-Web through the front: %v", err)
	}
	r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("the front's health: %v, %v", r, err)
	}
}

// startInteropBackend serves grpc-go's interop TestService on a loopback
// port. Each call's x-api-key goes to the returned channel.
func startInteropBackend(t *testing.T) (string, chan string) {
	t.Helper()
	keys := make(chan string, 64)
	record := func(ctx context.Context) {
		md, _ := metadata.FromIncomingContext(ctx)
		key := ""
		if v := md.Get("x-api-key"); len(v) > 0 {
			key = v[0]
		}
		select {
		case keys <- key:
		default:
		}
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if !strings.HasPrefix(info.FullMethod, "/grpc.health") {
				record(ctx)
			}
			return h(ctx, req)
		}),
	)
	testgrpc.RegisterTestServiceServer(gs, interop.NewTestServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return ln.Addr().String(), keys
}

// TestBinaryFrontSlowReader: a backend stream of 100,000 messages of 1 KiB
// to a gRPC-Web client that reads slowly: the front holds a flow-control
// window of it, not the stream, so its memory stays near idle.
func TestBinaryFrontSlowReader(t *testing.T) {
	be, _ := startInteropBackend(t)
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-backend", be)
	addr := p.waitLine(t, readyLine)[1]
	idle, err := rssBytes(p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := client.Dial("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, "/grpc.testing.TestService/StreamingOutputCall")
	if err != nil {
		t.Fatal(err)
	}
	req := &testgrpc.StreamingOutputCallRequest{ResponseParameters: make([]*testgrpc.ResponseParameters, 100_000)}
	for i := range req.ResponseParameters {
		req.ResponseParameters[i] = &testgrpc.ResponseParameters{Size: 1024}
	}
	if err := s.SendMsg(req); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	s.CloseSend()
	stop := make(chan struct{})
	peak := watchRSS(t, p.cmd.Process.Pid, stop)
	read := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); read++ {
		if err := s.RecvMsg(new(testgrpc.StreamingOutputCallResponse)); err != nil {
			t.Fatalf("after %d messages: %v", read, err)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	max := <-peak
	t.Logf("read %d of 100,000 messages (1 KiB) slowly; the front's RSS: %d MB idle, %d MB at most", read, idle>>20, max>>20)
	if grew := max - idle; grew > 32<<20 {
		t.Errorf("the front's RSS grew by %d MB for a slow reader; a window of the stream is at most 1 MiB", grew>>20)
	}
}
