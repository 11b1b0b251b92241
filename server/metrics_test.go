package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store/postgres/pgtest"
)

// TestMetricsOfAPostgreSQLStore: with a PostgreSQL store, the scrape has
// the pool's statistics and the store's health; Shutdown ends
// ServeMetrics.
func TestMetricsOfAPostgreSQLStore(t *testing.T) {
	cluster := pgtest.New(t, pgtest.Options{})
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := StoreConfig{URL: cluster.NewDatabase(t), Logger: quiet}.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{Metrics: true, Logger: quiet}, st)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served, metricsServed := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() { metricsServed <- srv.ServeMetrics(mln) }()

	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := pb.NewUserManagerClient(cc).GetUser(ctx, &pb.UserRequest{Id: 1}); err != nil {
		t.Fatal(err)
	}
	sample := func(body, name string) (float64, bool) {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(m[1], 64)
		return v, err == nil
	}
	var body string
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + mln.Addr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		conns, ok1 := sample(body, "pgxpool_total_conns")
		up, ok2 := sample(body, "playground_store_serving")
		if ok1 && ok2 && conns >= 1 && up == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no pgxpool_total_conns >= 1 and playground_store_serving 1 in the scrape:\n%s", body)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []chan error{served, metricsServed} {
		if err := <-c; err != nil {
			t.Fatalf("after Shutdown: %v", err)
		}
	}
}
