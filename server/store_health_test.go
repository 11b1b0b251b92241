package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store/postgres/pgtest"
	"github.com/grpcplay/playground/server/usermanager"
)

// TestStoreOutage stops a real PostgreSQL under the service and its health
// watcher, then starts it again: while it is down, health says NOT_SERVING
// and calls fail with Unavailable and a clear message (a call with a
// deadline returns by it); once it is back, health says SERVING and the
// same store serves again.
func TestStoreOutage(t *testing.T) {
	cluster := pgtest.New(t, pgtest.Options{})
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := StoreConfig{URL: cluster.NewDatabase(t), Logger: quiet}.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// The service on a plain grpc.Server, called over loopback TCP.
	g := grpc.NewServer()
	pb.RegisterUserManagerServer(g, usermanager.New(st, 0, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	defer g.Stop()
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := pb.NewUserManagerClient(cc)

	// The watcher, reporting to a health server as the playground's does.
	h := health.NewServer()
	changes := make(chan bool, 16)
	report := healthReporter(h)
	wctx, stop := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchStoreHealth(wctx, st, 50*time.Millisecond, func(serving bool) { report(serving); changes <- serving }, quiet)
	}()
	defer func() { stop(); <-watched }()
	expectHealth := func(want bool) {
		t.Helper()
		select {
		case got := <-changes:
			if got != want {
				t.Fatalf("health change to serving=%v; want %v", got, want)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("no health change to serving=%v", want)
		}
		wantStatus := healthpb.HealthCheckResponse_NOT_SERVING
		if want {
			wantStatus = healthpb.HealthCheckResponse_SERVING
		}
		for _, svc := range []string{"", "UserManager"} {
			r, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || r.GetStatus() != wantStatus {
				t.Fatalf("health of %q = %v, %v; want %v", svc, r.GetStatus(), err, wantStatus)
			}
		}
	}
	expectHealth(true)
	if r, err := c.GetUser(ctx, &pb.UserRequest{Id: 1}); err != nil || r.GetUser().GetNickname() != "admin" {
		t.Fatalf("GetUser(1) = %v, %v", r, err)
	}

	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	expectHealth(false)
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"GetUser", func(ctx context.Context) error { _, err := c.GetUser(ctx, &pb.UserRequest{Id: 1}); return err }},
		{"AddUser", func(ctx context.Context) error {
			_, err := c.AddUser(ctx, &pb.User{Id: 50, Nickname: "x", MailAddress: "x@example.com"})
			return err
		}},
		{"GetUsersByType", func(ctx context.Context) error {
			s, err := c.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL})
			if err != nil {
				return err
			}
			for {
				if _, err := s.Recv(); err != nil {
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
		}},
		{"GetUsersByIds", func(ctx context.Context) error {
			s, err := c.GetUsersByIds(ctx)
			if err != nil {
				return err
			}
			if err := s.Send(&pb.UserRequest{Id: 1}); err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
	}
	for _, tc := range calls {
		err := tc.call(ctx)
		if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "database is unreachable") {
			t.Errorf("%s with the database down: %v; want Unavailable saying the database is unreachable", tc.name, err)
		}
		// What failed, not where: the database's user, name and address
		// stay in the server's log.
		if msg := status.Convert(err).Message(); strings.Contains(msg, "user=") || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "database=") {
			t.Errorf("%s: the client was told %q", tc.name, msg)
		}
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err = tc.call(dctx)
		cancel()
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			t.Errorf("%s with a deadline, the database down: %v; want Unavailable or DeadlineExceeded", tc.name, err)
		}
	}

	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	expectHealth(true)
	for _, tc := range calls {
		if err := tc.call(ctx); err != nil {
			t.Errorf("%s after the database is back: %v", tc.name, err)
		}
	}
}

// TestStoreHealthIgnoresBolt: the bbolt file has no database to lose, so
// the watcher returns at once without reporting.
func TestStoreHealthIgnoresBolt(t *testing.T) {
	st, err := StoreConfig{Path: filepath.Join(t.TempDir(), "users.db")}.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	watchStoreHealth(context.Background(), st, time.Millisecond, func(bool) { t.Error("a bbolt store was reported on") }, slog.Default())
}
