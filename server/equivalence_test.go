package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"google.golang.org/grpc"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/usermanager"
)

// startImprobable serves UserManager, on a store of its own seeded like
// ours, through improbable-eng's grpcweb wrapper in front of a
// grpc.Server: the reference our gRPC-Web answers are compared with. Calls
// from origin are allowed. It returns the address.
func startImprobable(t *testing.T, origin string) string {
	t.Helper()
	st, err := server.OpenStore(context.Background(), filepath.Join(t.TempDir(), "users.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gs := grpc.NewServer()
	pb.RegisterUserManagerServer(gs, usermanager.New(st, 0, nil))
	wrapped := grpcweb.WrapServer(gs, grpcweb.WithOriginFunc(func(o string) bool { return o == origin }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: wrapped}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); gs.Stop() })
	return ln.Addr().String()
}

// TestWebCallsMatchImprobable: the same valid calls, binary and text,
// same-origin and cross-origin, to our server and to improbable-eng's
// wrapper (the reference) give the same messages, status and trailers, and
// a cross-origin caller the same CORS answer.
func TestWebCallsMatchImprobable(t *testing.T) {
	const other = "https://app.example.com"
	ours := bridgeStart(t, server.Config{AllowedOrigins: []string{other}}).Addr
	theirs := startImprobable(t, other)
	calls := []struct {
		method string
		body   []byte
	}{
		{"/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 1})},
		{"/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 99})},
		{"/UserManager/GetUser", webFrames(t, &pb.UserRequest{})},
		{"/UserManager/GetUsersByType", webFrames(t, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL})},
		{"/UserManager/GetUsersByType", webFrames(t, &pb.UserTypeRequest{UserType: 99})},
		{"/UserManager/AddUser", webFrames(t, &pb.User{Id: 3, Nickname: "n", MailAddress: "n@example.com"})},
		{"/UserManager/AddUser", webFrames(t, &pb.User{Id: 40, Nickname: "forty", MailAddress: "forty@example.com", UserType: pb.User_GUEST})},
	}
	client := h1Client()
	for _, ctype := range []string{grpcwire.ContentTypeProto, grpcwire.ContentTypeText} {
		for _, origin := range []string{"", other} {
			var header http.Header
			if origin != "" {
				header = http.Header{"Origin": {origin}}
			}
			for _, c := range calls {
				name := fmt.Sprintf("%s %s origin=%q", ctype, c.method, origin)
				a := way{name: "ours " + name, client: client, base: "http://" + ours, ctype: ctype, header: header, proto: 1}.post(t, c.method, c.body)
				b := way{name: "improbable " + name, client: client, base: "http://" + theirs, ctype: ctype, header: header, proto: 1}.post(t, c.method, c.body)
				if fmt.Sprint(a.messages) != fmt.Sprint(b.messages) || a.code() != b.code() ||
					grpcwire.First(a.trailer, grpcwire.HeaderMessage) != grpcwire.First(b.trailer, grpcwire.HeaderMessage) {
					t.Errorf("%s: ours %v %s %q; improbable's %v %s %q", name,
						a.messages, a.code(), grpcwire.First(a.trailer, grpcwire.HeaderMessage),
						b.messages, b.code(), grpcwire.First(b.trailer, grpcwire.HeaderMessage))
				}
				if got, want := a.resp.Header.Get("Access-Control-Allow-Origin"), b.resp.Header.Get("Access-Control-Allow-Origin"); got != want {
					t.Errorf("%s: Access-Control-Allow-Origin %q; improbable's %q", name, got, want)
				}
			}
		}
	}
}
