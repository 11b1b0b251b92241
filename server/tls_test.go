package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	reflectv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// tlsPeerProbe is an interceptor that records the peer of the last call.
type tlsPeerProbe struct{ last chan *peer.Peer }

func (p *tlsPeerProbe) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	pr, _ := peer.FromContext(ctx)
	select {
	case p.last <- pr:
	default:
	}
	return h(ctx, req)
}

// TestTLSNative: over TLS on the one port, native gRPC (grpc-go's client,
// as grpcurl without -plaintext) and reflection work, the handler sees the
// TLS peer, and a cleartext client is told to use TLS.
func TestTLSNative(t *testing.T) {
	cert := servertest.NewCertificate(t, "127.0.0.1", "localhost")
	probe := &tlsPeerProbe{last: make(chan *peer.Peer, 1)}
	ts := bridgeStart(t, server.Config{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile, UnaryInterceptors: []grpc.UnaryServerInterceptor{probe.unary}})
	cc, err := grpc.NewClient(ts.Addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: cert.Pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := testCtx(t)
	r, err := pb.NewUserManagerClient(cc).GetUser(ctx, &pb.UserRequest{Id: 1})
	if err != nil || r.GetUser().GetNickname() != "admin" {
		t.Fatalf("GetUser over TLS: %v, %v", r, err)
	}
	pr := <-probe.last
	if info, ok := pr.AuthInfo.(credentials.TLSInfo); !ok || len(info.State.PeerCertificates) != 0 || info.State.Version < tls.VersionTLS12 {
		t.Fatalf("the handler's peer AuthInfo = %#v; want TLS", pr.AuthInfo)
	}

	stream, err := reflectv1.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectv1.ServerReflectionRequest{MessageRequest: &reflectv1.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, " "), "UserManager") {
		t.Fatalf("reflection over TLS lists %v", names)
	}
	stream.CloseSend()

	// grpcurl without -plaintext, trusting the test's authority.
	if out, err := grpcurl(t, "-cacert", cert.CAFile, "-d", `{"id": 2}`, ts.Addr, "UserManager/GetUser"); err != nil || !strings.Contains(out, `"nickname": "guest"`) {
		t.Fatalf("grpcurl over TLS: %v\n%s", err, out)
	}

	// Cleartext on the TLS port: HTTP/1.1 gets a 400 that says why.
	c := dialRaw(t, ts.Addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+ts.Addr+"\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.0 400") || !strings.Contains(string(b), "TLS") {
		t.Fatalf("cleartext request on the TLS port: %q", b)
	}
}

// TestTLSWebAndBridge: the page and gRPC-Web over HTTP/2 with TLS, and the
// bridge over wss.
func TestTLSWebAndBridge(t *testing.T) {
	cert := servertest.NewCertificate(t, "127.0.0.1")
	ts := bridgeStart(t, server.Config{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	hc := tlsClient(cert, false)
	resp, err := hc.Get("https://" + ts.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || !strings.Contains(string(page), "gRPC playground") {
		t.Fatalf("page over TLS: HTTP/%d %d", resp.ProtoMajor, resp.StatusCode)
	}

	d := websocket.Dialer{Subprotocols: []string{grpcwire.WebSocketProtocol}, TLSClientConfig: &tls.Config{RootCAs: cert.Pool}, HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial("wss://"+ts.Addr+"/UserManager/GetUsersByIds", nil)
	if err != nil {
		t.Fatalf("wss handshake: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := bridgeClientOn(t, conn)
	c.write(websocket.BinaryMessage, grpcwire.AppendHeaderBlock(nil, bridgeDefaultHeaders()))
	c.send(&pb.UserRequest{Id: 6})
	var r pb.UserResponse
	if !c.recv(&r) || r.GetUser().GetNickname() != "Saru" {
		t.Fatalf("bridge over wss: %v, %v", &r, c.st)
	}
	c.halfClose()
	bridgeWantCode(t, c.finish(), codes.OK, "")
}

// TestTLSReload: replaced certificate files are picked up without a
// restart, on a signal (ReloadTLS) or by themselves; connections opened
// before go on with the old certificate; files that do not load leave the
// certificate in use.
func TestTLSReload(t *testing.T) {
	first := servertest.NewCertificate(t, "127.0.0.1")
	second := servertest.NewCertificate(t, "127.0.0.1")
	dir := t.TempDir()
	certFile, keyFile := dir+"/cert.pem", dir+"/key.pem"
	install := func(c *servertest.Certificate) {
		for src, dst := range map[string]string{c.CertFile: certFile, c.KeyFile: keyFile} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst+".new", b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(dst+".new", dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(first)
	logs := &countingLog{}
	ts := bridgeStart(t, server.Config{TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: slog.New(logs)})
	old := tlsClient(first, false)
	get := func(c *http.Client) error {
		resp, err := c.Get("https://" + ts.Addr + "/style.css")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	if err := get(old); err != nil {
		t.Fatalf("first certificate: %v", err)
	}

	install(second)
	if err := ts.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if err := get(tlsClient(second, false)); err != nil {
		t.Fatalf("a new connection after the reload: %v", err)
	}
	if err := get(old); err != nil {
		t.Fatalf("the connection opened before the reload: %v", err)
	}

	// Changed files are noticed without the signal.
	install(first)
	os.Chtimes(certFile, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	for deadline := time.Now().Add(20 * time.Second); ; {
		if get(tlsClient(first, false)) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("changed certificate files were not picked up")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A broken file: the reload fails, the certificate in use stays.
	os.WriteFile(certFile, []byte("not a certificate"), 0o600)
	if err := ts.ReloadTLS(); err == nil {
		t.Fatal("ReloadTLS accepted a broken certificate file")
	}
	if err := get(tlsClient(first, false)); err != nil {
		t.Fatalf("after a failed reload: %v", err)
	}
	// The watcher notices the broken files, and says so once, not at
	// every check.
	os.Chtimes(certFile, time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute))
	time.Sleep(7 * time.Second) // three checks
	if n := logs.count("cannot be loaded"); n != 1 {
		t.Errorf("the broken certificate was logged %d times in three checks; want once", n)
	}
}

// countingLog is a slog handler that counts records by message.
type countingLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *countingLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *countingLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *countingLog) WithGroup(string) slog.Handler            { return l }
func (l *countingLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

// count returns how many records' messages hold part.
func (l *countingLog) count(part string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, part) {
			n++
		}
	}
	return n
}
