package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store/postgres/pgtest"
)

// pgServers are playground processes on a throwaway PostgreSQL (fsync on, as
// in production), seeded like the fixture's bbolt servers: big with
// bigUsers NORMAL users, small with 1,000.
type pgServers struct {
	big, small string
}

// startPGServers starts the cluster and the two servers for b; they stop
// when b ends.
func startPGServers(b *testing.B, f *fixture) pgServers {
	b.Helper()
	cluster, err := pgtest.Start(pgtest.Options{Fsync: true})
	if err != nil {
		b.Fatalf("start PostgreSQL: %v", err)
	}
	var procs []*exec.Cmd
	b.Cleanup(func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
		cluster.Close()
	})
	dir, err := os.MkdirTemp("", "playground-bench-pg")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	var s pgServers
	for _, srv := range []struct {
		addr *string
		name string
		n    int
	}{{&s.big, "big", bigUsers}, {&s.small, "small", 1000}} {
		seed, err := writeSeed(dir, srv.name+".json", srv.n)
		if err != nil {
			b.Fatal(err)
		}
		url, err := cluster.CreateDatabase(context.Background(), srv.name)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(f.bin, "-addr", "127.0.0.1:0", "-store", url, "-seed-file", seed)
		m, err := f.spawn(cmd, regexp.MustCompile(`url=http://(\S+)`), true)
		if err != nil {
			b.Fatalf("start the %s server on PostgreSQL: %v", srv.name, err)
		}
		procs = append(procs, cmd)
		*srv.addr = m[1]
		// Measure the steady state of a live database, as autovacuum keeps
		// it, not the aftermath of the bulk load: hint bits set, the
		// visibility map and the planner's statistics up to date.
		if err := vacuum(url); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// vacuum runs VACUUM (ANALYZE) on the users table of the database at url.
func vacuum(url string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "VACUUM (ANALYZE) users")
	return err
}

// BenchmarkStore measures the PostgreSQL store behind a playground process
// called over native gRPC, on the data sets of the bbolt servers: GetUser
// latency with bigUsers users stored (and bbolt's, on the same users: the
// Unary benchmark's server has six), AddUser latency with 1,000 and with
// bigUsers users stored, GetUsersByType throughput over bigUsers users. The
// bbolt baselines of the last two are BenchmarkAddUser/100k and
// BenchmarkServerStream/native, the same calls on the same data, from the
// same run.
func BenchmarkStore(b *testing.B) {
	f := fix.get(b)
	pg := startPGServers(b, f)
	ctx := context.Background()

	getUser := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			c := nativeClient(b, addr)
			i := 0
			for b.Loop() {
				id := uint32(i%bigUsers + 1)
				i += 7919 // a prime: every id in turn, not in order
				r, err := c.GetUser(ctx, &pb.UserRequest{Id: id})
				if err != nil || r.GetUser().GetId() != id {
					b.Fatal(r, err)
				}
			}
		}
	}
	addUser := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			c := nativeClient(b, addr)
			for b.Loop() {
				// GUEST: the NORMAL users streamed below stay bigUsers.
				r, err := c.AddUser(ctx, &pb.User{Id: nextID.Add(1), Nickname: "bench", MailAddress: "bench@example.com", UserType: pb.User_GUEST})
				if err != nil || r.GetError() {
					b.Fatal(r, err)
				}
			}
		}
	}
	stream := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			c := nativeClient(b, addr)
			start := time.Now()
			msgs := 0
			for b.Loop() {
				s, err := c.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					if _, err := s.Recv(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != bigUsers {
					b.Fatalf("streamed %d users; want %d", n, bigUsers)
				}
				msgs += n
			}
			b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
		}
	}
	for _, bm := range []struct {
		name string
		fn   func(b *testing.B)
	}{
		{"GetUser/bbolt", getUser(f.big)},
		{"GetUser/postgres", getUser(pg.big)},
		{"AddUser/postgres-100k", addUser(pg.big)},
		{"AddUser/postgres-1k", addUser(pg.small)},
		{"ServerStream/postgres", stream(pg.big)},
	} {
		b.Run(bm.name, bm.fn)
	}
}
