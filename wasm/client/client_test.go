//go:build !js

package client_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
)

// transports are the two ways a Conn can carry unary and server-streaming
// calls without the multiplexed socket (mux_test.go tests that one);
// client and bidi streams take the WebSocket bridge.
var transports = []struct {
	name string
	opts []client.DialOption
}{
	{"grpc-web", []client.DialOption{client.WithMultiplexing(client.MultiplexNever)}},
	{"websocket", []client.DialOption{client.WithWebSocketForAll(), client.WithMultiplexing(client.MultiplexNever)}},
}

// testTimeout bounds a test's calls so a broken client fails instead of
// hanging; no test asserts on time.
const testTimeout = time.Minute

func dial(t *testing.T, url string, opts ...client.DialOption) *client.Conn {
	t.Helper()
	c, err := client.Dial(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestUserManager(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			checkAllFive(t, ctx, dial(t, url, tr.opts...), uint32(100+i))
		})
	}
}

func TestPeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	checkPeer(t, ctx, startPeer(t), "native")
}

// An error before any message comes as a trailers-only response: the status
// in the HTTP headers, no body.
func TestTrailersOnly(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn := dial(t, url)
	var hdr, tr metadata.MD
	_, err := getUser(ctx, conn, 0, client.Header(&hdr), client.Trailer(&tr))
	wantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(grpcstatus.Convert(err).Message(), "id") {
		t.Errorf("message %q does not name the id", grpcstatus.Convert(err).Message())
	}
	if grpcwire.First(tr, grpcwire.HeaderStatus) != "3" {
		t.Errorf("trailers %v, want grpc-status 3", tr)
	}
	if grpcwire.First(hdr, grpcwire.HeaderContentType) != grpcwire.ContentTypeProto || grpcwire.First(hdr, grpcwire.HeaderStatus) != "3" {
		t.Errorf("trailers-only headers %v, want content-type %s and grpc-status 3", hdr, grpcwire.ContentTypeProto)
	}

	// A server stream failing before its first message, the same way.
	st, err := usersByType(ctx, conn, 99)
	if err != nil {
		t.Fatal(err)
	}
	_, err = recvUser(st)
	wantCode(t, err, codes.InvalidArgument)
	if grpcwire.First(st.Trailer(), grpcwire.HeaderStatus) != "3" {
		t.Errorf("trailers %v, want grpc-status 3", st.Trailer())
	}

	// An unknown method.
	err = conn.Invoke(ctx, "/UserManager/Nope", &pb.UserRequest{Id: 1}, new(pb.UserResponse))
	wantCode(t, err, codes.Unimplemented)
}

func TestDeadlineAndCancel(t *testing.T) {
	url := startServer(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { checkDeadlineAndCancel(t, dial(t, url, tr.opts...)) })
	}
}

func checkDeadlineAndCancel(t *testing.T, conn *client.Conn) {
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := getUser(past, conn, 1)
	wantCode(t, err, codes.DeadlineExceeded)

	// A bidi stream that waits for requests that never come.
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	bidi, err := usersByIDs(short, conn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = recvUser(bidi)
	wantCode(t, err, codes.DeadlineExceeded)

	ctx, cancel := context.WithCancel(context.Background())
	bidi, err = usersByIDs(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := bidi.SendMsg(&pb.UserRequest{Id: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := recvUser(bidi); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = recvUser(bidi)
	wantCode(t, err, codes.Canceled)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = getUser(ctx, conn, 1)
	wantCode(t, err, codes.Canceled)
}

func TestMaxMessageSize(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			conn := dial(t, url, append(tr.opts, client.WithMaxMessageSize(16))...)
			// The admin's reply is longer than 16 bytes.
			_, err := getUser(ctx, conn, 1)
			wantCode(t, err, codes.ResourceExhausted)
			_, err = addUser(ctx, conn, &pb.User{Id: 7, Nickname: strings.Repeat("n", 32), MailAddress: "n@example.com", UserType: pb.User_GUEST})
			wantCode(t, err, codes.ResourceExhausted)
		})
	}
}

func TestDialAndCallErrors(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:1", "ftp://x", "http://"} {
		if _, err := client.Dial(target); grpcstatus.Code(err) != codes.InvalidArgument {
			t.Errorf("Dial(%q) = %v, want InvalidArgument", target, err)
		}
	}
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, tr := range transports {
		conn := dial(t, url, tr.opts...)
		_, err := getUser(ctx, conn, 1)
		wantCode(t, err, codes.Unavailable)
		_, err = countUsers(ctx, conn)
		wantCode(t, err, codes.Unavailable)
	}
	c := dial(t, "http://127.0.0.1:1")
	wantCode(t, c.Invoke(ctx, "no-slash", &pb.UserRequest{}, new(pb.UserResponse)), codes.Internal)
}

// countingListener counts the connections it accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// Sequential gRPC-Web calls share one HTTP/1.1 connection: the client reads
// every response to its end, trailers-only error responses included. (The
// Conn is kept off the multiplexed socket, whose handshake would be a
// connection of its own.)
func TestConnectionReuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: ln}
	conn := dial(t, startServerOn(t, counted), client.WithMultiplexing(client.MultiplexNever))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for range 20 {
		if _, err := getUser(ctx, conn, 1); err != nil {
			t.Fatal(err)
		}
		_, err := getUser(ctx, conn, 0)
		wantCode(t, err, codes.InvalidArgument)
		st, err := usersByType(ctx, conn, pb.UserTypeRequest_NORMAL)
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = recvUser(st)
		}
		if err != io.EOF {
			t.Fatal(err)
		}
	}
	if n := counted.n.Load(); n != 1 {
		t.Errorf("60 sequential calls opened %d connections, want 1", n)
	}
}
