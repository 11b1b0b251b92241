package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store/postgres/pgtest"
)

// TestReplicas runs two playground processes on one PostgreSQL database, as
// behind a load balancer: they start at once on a new database, see each
// other's writes at once, agree on who got a contested id, and a replica
// killed with SIGKILL loses no user it acknowledged.
func TestReplicas(t *testing.T) {
	cluster := pgtest.New(t, pgtest.Options{})
	ctx := context.Background()
	url, err := cluster.CreateDatabase(ctx, "playground")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildPlayground(t)
	// One replica takes the URL from its flag, the other from the
	// environment; both start together on the empty database.
	procA := start(t, bin, nil, "-addr", "127.0.0.1:0", "-store", url)
	procB := start(t, bin, []string{"PLAYGROUND_STORE=" + url}, "-addr", "127.0.0.1:0")
	addrA := procA.waitLine(t, readyLine)[1]
	addrB := procB.waitLine(t, readyLine)[1]
	for name, p := range map[string]*process{"A": procA, "B": procB} {
		if log := p.log.String(); strings.Contains(log, cluster.Password()) || !strings.Contains(log, "postgres://postgres:xxxxx@") {
			t.Errorf("replica %s's log should name the database without its password:\n%s", name, log)
		}
	}
	a, b := replicaClient(t, addrA), replicaClient(t, addrB)

	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var versions, users int
	if err := db.QueryRow(ctx, "SELECT (SELECT count(*) FROM schema_version), (SELECT count(*) FROM users)").Scan(&versions, &users); err != nil {
		t.Fatal(err)
	}
	if versions != 1 || users != 6 {
		t.Fatalf("after two concurrent starts: %d schema versions, %d users; want 1 and the 6 seed users once", versions, users)
	}

	t.Run("AddOnAGetOnB", func(t *testing.T) {
		u := &pb.User{Id: 100, Nickname: "hundred", MailAddress: "hundred@example.com", UserType: pb.User_GUEST}
		if r, err := a.AddUser(ctx, u); err != nil || r.GetError() {
			t.Fatalf("AddUser on A: %v, %v", r, err)
		}
		r, err := b.GetUser(ctx, &pb.UserRequest{Id: 100})
		if err != nil || r.GetError() || r.GetUser().GetNickname() != "hundred" {
			t.Fatalf("GetUser on B right after: %v, %v", r, err)
		}
	})

	t.Run("OneIDFiftyAdds", func(t *testing.T) {
		const n = 50
		replies := make(chan *pb.UserResponse, n)
		var wg sync.WaitGroup
		for i := range n {
			c := []pb.UserManagerClient{a, b}[i%2]
			wg.Go(func() {
				r, err := c.AddUser(ctx, &pb.User{Id: 200, Nickname: fmt.Sprint("racer", i), MailAddress: "racer@example.com", UserType: pb.User_NORMAL})
				if err != nil {
					t.Errorf("AddUser %d: %v", i, err)
					return
				}
				replies <- r
			})
		}
		wg.Wait()
		close(replies)
		ok, taken := 0, 0
		for r := range replies {
			switch {
			case !r.GetError():
				ok++
			case r.GetMessage() == "already exist":
				taken++
			default:
				t.Errorf("unexpected reply %v", r)
			}
		}
		if ok != 1 || taken != n-1 {
			t.Fatalf("%d successes and %d \"already exist\"; want 1 and %d", ok, taken, n-1)
		}
	})

	t.Run("StreamOnASeesAddsOnB", func(t *testing.T) {
		// The seed's DISABLED users, then more than a page of the service's
		// keyset paging added on B.
		rows, _ := db.Query(ctx, "SELECT id FROM users WHERE user_type = $1 ORDER BY id", int16(pb.User_DISABLED))
		want, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (uint32, error) { var id int64; err := r.Scan(&id); return uint32(id), err })
		if err != nil {
			t.Fatal(err)
		}
		for id := uint32(1000); id < 1600; id++ {
			if r, err := b.AddUser(ctx, &pb.User{Id: id, Nickname: "d", MailAddress: "d@example.com", UserType: pb.User_DISABLED}); err != nil || r.GetError() {
				t.Fatalf("AddUser %d on B: %v, %v", id, r, err)
			}
			want = append(want, id)
		}
		s, err := a.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_DISABLED})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for {
			r, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.GetUser().GetId())
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("GetUsersByType(DISABLED) on A streamed %d users; want B's %d, in ascending id order", len(got), len(want))
		}
	})

	t.Run("SIGKILLLosesNoAcknowledgedUser", func(t *testing.T) {
		var (
			mu    sync.Mutex
			acked []uint32
			wg    sync.WaitGroup
		)
		for w := range 8 {
			wg.Go(func() {
				for i := uint32(0); ; i++ {
					id := 100_000 + uint32(w)*100_000 + i
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					r, err := a.AddUser(cctx, &pb.User{Id: id, Nickname: "k", MailAddress: "k@example.com", UserType: pb.User_NORMAL})
					cancel()
					if err != nil {
						return // A is gone
					}
					if r.GetError() {
						t.Errorf("AddUser %d on A: %v", id, r)
						return
					}
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			})
		}
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= 200 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := procA.cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		wg.Wait()
		for _, id := range acked {
			r, err := b.GetUser(ctx, &pb.UserRequest{Id: id})
			if err != nil || r.GetError() {
				t.Fatalf("user %d, acknowledged by A before it was killed, on B: %v, %v", id, r, err)
			}
		}
		t.Logf("%d users acknowledged by A before SIGKILL, all found on B", len(acked))
		procA.cmd.Wait()
		if ws, ok := procA.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Errorf("A did not end by SIGKILL: %v", procA.cmd.ProcessState)
		}
	})
}

func replicaClient(t *testing.T, addr string) pb.UserManagerClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pb.NewUserManagerClient(cc)
}
