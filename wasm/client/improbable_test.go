//go:build !js

package client_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"google.golang.org/grpc"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/usermanager"
)

// startImprobable serves the UserManager service behind improbable-eng's
// own grpcweb wrapper, websockets on: the reference implementation of the
// grpc-websockets protocol this client speaks, so the client is checked
// against it as well as against our bridge.
func startImprobable(t *testing.T) string {
	t.Helper()
	st, err := server.OpenStore(context.Background(), filepath.Join(t.TempDir(), "users.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pb.RegisterUserManagerServer(gs, usermanager.New(st, 0, nil))
	web := grpcweb.WrapServer(gs, grpcweb.WithWebsockets(true),
		// Its default wants an Origin header; a native client sends none.
		grpcweb.WithWebsocketOriginFunc(func(*http.Request) bool { return true }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: web, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(slog.New(slog.NewTextHandler(io.Discard, nil)).Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() { hs.Serve(ln); close(done) }()
	t.Cleanup(func() {
		hs.Close()
		<-done
		gs.Stop()
		st.Close()
	})
	return "http://" + ln.Addr().String()
}

func TestImprobableInterop(t *testing.T) {
	url := startImprobable(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			checkAllFive(t, ctx, dial(t, url, tr.opts...), uint32(300+i))
		})
	}
}
