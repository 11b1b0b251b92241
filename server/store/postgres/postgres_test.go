package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
	"github.com/grpcplay/playground/server/store/postgres"
	"github.com/grpcplay/playground/server/store/postgres/pgtest"
	"github.com/grpcplay/playground/server/store/storetest"
)

// cluster is the server every test of this package shares, a database each;
// clusterErr says why it did not start.
var (
	cluster    *pgtest.Cluster
	clusterErr error
)

func TestMain(m *testing.M) {
	cluster, clusterErr = pgtest.Start(pgtest.Options{})
	code := m.Run()
	if cluster != nil {
		cluster.Close()
	}
	os.Exit(code)
}

// shared returns the shared cluster, failing t when it did not start.
func shared(t *testing.T) *pgtest.Cluster {
	t.Helper()
	if clusterErr != nil {
		t.Fatalf("start PostgreSQL: %v", clusterErr)
	}
	return cluster
}

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	c := shared(t)
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		url := c.NewDatabase(t)
		return func() (store.Store, error) { return postgres.Open(context.Background(), url, nil) }
	})
}

// TestConcurrentStarts opens one new database from several replicas at
// once: the schema is applied once, the seed users loaded once.
func TestConcurrentStarts(t *testing.T) {
	url := shared(t).NewDatabase(t)
	ctx := context.Background()
	seed := []*pb.User{
		{Id: 1, Nickname: "admin", MailAddress: "admin@example.com", UserType: pb.User_ADMINISTRATOR},
		{Id: 2, Nickname: "guest", MailAddress: "guest@example.com", UserType: pb.User_GUEST},
	}
	const replicas = 4
	var wg sync.WaitGroup
	loaded := make(chan bool, replicas)
	start := make(chan struct{})
	for range replicas {
		wg.Go(func() {
			<-start
			s, err := postgres.Open(ctx, url, nil)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			defer s.Close()
			ok, err := s.Init(ctx, seed)
			if err != nil {
				t.Errorf("Init: %v", err)
			}
			loaded <- ok
		})
	}
	close(start)
	wg.Wait()
	close(loaded)
	n := 0
	for ok := range loaded {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of %d replicas loaded the seed users; want exactly 1", n, replicas)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var versions, users int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_version").Scan(&versions); err != nil || versions != 1 {
		t.Fatalf("schema_version rows = %d, %v; want 1", versions, err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&users); err != nil || users != len(seed) {
		t.Fatalf("users = %d, %v; want %d", users, err, len(seed))
	}
}

// TestSchemaIndexes checks the lookups the store makes have their index:
// the primary key for ids, (user_type, id) for the keyset pages.
func TestSchemaIndexes(t *testing.T) {
	url := shared(t).NewDatabase(t)
	open(t, url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT indexdef FROM pg_indexes WHERE tablename = 'users'")
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(defs, "\n")
	for _, want := range []string{"UNIQUE INDEX users_pkey ON public.users USING btree (id)", "INDEX users_by_type ON public.users USING btree (user_type, id)"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q among the indexes:\n%s", want, all)
		}
	}
}

// TestNewerSchemaIsRefused: a database migrated by a newer build is not
// touched by this one.
func TestNewerSchemaIsRefused(t *testing.T) {
	url := shared(t).NewDatabase(t)
	open(t, url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES (999, '0999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(ctx, url, nil); err == nil || !strings.Contains(err.Error(), "schema version 999") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open on a newer schema: %v; want an error naming version 999", err)
	}
}

// TestOpenErrorsHideThePassword: an unreachable server, a wrong password
// and a malformed URL are clear errors that never show the password.
func TestOpenErrorsHideThePassword(t *testing.T) {
	c := shared(t)
	ctx := context.Background()
	tests := []struct {
		name, url   string
		unavailable bool
		want        string
	}{
		{"nothing listening", "postgres://postgres:s3cret-pw@127.0.0.1:1/none?sslmode=disable", true, "127.0.0.1:1"},
		{"wrong password", strings.Replace(c.URL("postgres"), c.Password(), "s3cret-pw", 1), false, "password authentication failed"},
		{"malformed", "postgres://postgres:s3cret-pw@127.0.0.1:notaport/x", false, "not a valid PostgreSQL URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(ctx, tc.url, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded; want an error")
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("the error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if got := errors.Is(err, store.ErrUnavailable); got != tc.unavailable {
				t.Errorf("errors.Is(ErrUnavailable) = %v; want %v (%v)", got, tc.unavailable, err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://h/db?password=pw&user=u":        "postgres://h/db?password=xxxxx&user=u",
		"postgres://u@h/db":                         "postgres://u@h/db",
		"postgres://u:pw@h:port/db":                 "postgres://(unparsable URL)",
		"host=h user=u password=pw":                 "(not a URL)",
	} {
		if got := postgres.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestConnectionLoss stops the server under the store: calls fail fast with
// ErrUnavailable (a call with a deadline returns by it), no add that was
// acknowledged is lost, and once the server is back the same store works
// again.
func TestConnectionLoss(t *testing.T) {
	c := pgtest.New(t, pgtest.Options{}) // its own: this test stops it
	url := c.NewDatabase(t)
	s := open(t, url)
	ctx := context.Background()
	if _, err := s.Init(ctx, []*pb.User{{Id: 1, Nickname: "admin", MailAddress: "admin@example.com"}}); err != nil {
		t.Fatal(err)
	}

	// Writers add users until the server goes; every add that returned nil
	// must be there after the restart.
	var (
		mu    sync.Mutex
		acked []uint32
		wg    sync.WaitGroup
	)
	stopWriters := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := uint32(0); ; i++ {
				select {
				case <-stopWriters:
					return
				default:
				}
				id := 1000 + uint32(w)*100_000 + i
				err := s.Add(ctx, &pb.User{Id: id, Nickname: "w", MailAddress: "w@example.com"})
				switch {
				case err == nil:
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				case !errors.Is(err, store.ErrUnavailable):
					t.Errorf("Add(%d) while the server stops: %v; want nil or ErrUnavailable", id, err)
					return
				}
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
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	// The server is down: every operation says so.
	checks := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, 1); return err }},
		{"Add", func(ctx context.Context) error {
			return s.Add(ctx, &pb.User{Id: 2, Nickname: "n", MailAddress: "n@example.com"})
		}},
		{"ListByType", func(ctx context.Context) error { _, err := s.ListByType(ctx, pb.User_NORMAL, 0, 10); return err }},
		{"Ping", s.Ping},
	}
	for _, ck := range checks {
		if err := ck.call(ctx); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with the server down: %v; want ErrUnavailable", ck.name, err)
		}
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := ck.call(dctx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with a deadline, the server down: %v; want ErrUnavailable or DeadlineExceeded", ck.name, err)
		}
	}
	close(stopWriters)
	wg.Wait()

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if u, err := s.Get(ctx, 1); err != nil || u.GetNickname() != "admin" {
		t.Fatalf("Get(1) after the restart, same store: %v, %v", u, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	for _, id := range acked {
		if _, err := s.Get(ctx, id); err != nil {
			t.Fatalf("acknowledged user %d after the restart: %v", id, err)
		}
	}
	t.Logf("%d acknowledged adds, all found after the restart", len(acked))
	if err := s.Add(ctx, &pb.User{Id: 3, Nickname: "after", MailAddress: "after@example.com"}); err != nil {
		t.Fatalf("Add after the restart: %v", err)
	}
}

// TestListByTypeManyPages walks a type over many keyset pages, with the
// other types interleaved, and gets every id once, in order.
func TestListByTypeManyPages(t *testing.T) {
	s := open(t, shared(t).NewDatabase(t))
	ctx := context.Background()
	var seed []*pb.User
	for id := uint32(1); id <= 5000; id++ {
		seed = append(seed, &pb.User{Id: id, Nickname: fmt.Sprint("u", id), MailAddress: "u@example.com", UserType: pb.User_UserType(id % 3)})
	}
	if _, err := s.Init(ctx, seed); err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for after := uint32(0); ; {
		page, err := s.ListByType(ctx, pb.User_GUEST, after, 97)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			got = append(got, u.Id)
			after = u.Id
		}
		if len(page) < 97 {
			break
		}
	}
	var want []uint32
	for id := uint32(1); id <= 5000; id++ {
		if pb.User_UserType(id%3) == pb.User_GUEST {
			want = append(want, id)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("GUEST ids: got %d ids, want %d (first got %v)", len(got), len(want), got[:min(5, len(got))])
	}
}
