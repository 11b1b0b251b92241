package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
	"github.com/grpcplay/playground/server/store/bolttest"
	"github.com/grpcplay/playground/server/store/storetest"
)

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "sub", "users.db")
		return func() (store.Store, error) { return store.OpenBolt(path) }
	})
}

func TestOpenBoltRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	db, err := bbolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	db.Close()
	unreadable := filepath.Join(dir, "dir.db")
	os.Mkdir(unreadable, 0o755)

	for _, path := range []string{garbage, foreign, unreadable} {
		s, err := store.OpenBolt(path)
		if err == nil {
			s.Close()
			t.Errorf("OpenBolt(%s) succeeded; want an error", filepath.Base(path))
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("OpenBolt error %q does not name the file", err)
		}
	}
}

func TestParseSeed(t *testing.T) {
	users, err := store.ParseSeed(bytes.NewReader(store.DefaultSeed))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 6 || users[0].Nickname != "admin" || users[5].Nickname != "Saru" {
		t.Fatalf("default seed = %v", users)
	}
	for _, bad := range []string{
		`{"1": {"id": 2, "nickname": "x", "mail_address": "x@example.com", "user_type": "NORMAL"}}`,
		`{"1": {"id": 1, "nickname": "x", "mail_address": "x@example.com", "user_type": "ROOT"}}`,
		`{"1": {"id": 1, "nick": "x"}}`,
		`[]`,
	} {
		if _, err := store.ParseSeed(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSeed(%s) succeeded; want an error", bad)
		}
	}
}

// openEnv names, to this test binary started again, a store file to open:
// TestMain then opens it, prints the outcome and exits.
const openEnv = "STORE_TEST_OPEN"

func TestMain(m *testing.M) {
	if path := os.Getenv(openEnv); path != "" {
		// A refused file may leave a goroutine still checking it (see
		// OpenBolt); this process exits at once, as the server does.
		if s, err := store.OpenBolt(path); err != nil {
			fmt.Println("refused:", err)
		} else {
			s.Close()
			fmt.Println("opened")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOpenBoltRefusesDamagedFiles opens store files damaged on disk, each in
// a process of its own (this test binary, started again), so that a crash or
// a hang fails the test rather than ending it: each is an error naming the
// file and saying what is wrong, the process is not crashed, and the file is
// left as it was.
func TestOpenBoltRefusesDamagedFiles(t *testing.T) {
	says := map[string]string{ // by damage; " is damaged: " otherwise
		"truncated-to-a-third": " is damaged: truncated: ",
		"empty":                " is empty (0 bytes) and was not created by this start",
		"zeroed-meta-pages":    " is not a bbolt file, or both its meta pages are damaged",
		"page-loop":            " is damaged: its check read no key for 1s, so its page tree may loop",
		"branch-key-length":    " is damaged: bbolt's consistency check: ",
		"user-record":          " is damaged: user 5 does not decode",
		"type-index":           " is damaged: the type index",
	}
	for _, f := range bolttest.Damaged(t, t.TempDir()) {
		t.Run(f.Name, func(t *testing.T) {
			before, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), openEnv+"="+f.Path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the process opening it ended with %v:\n%s", err, out)
			}
			t.Logf("%s", out)
			if !bytes.HasPrefix(out, []byte("refused: ")) {
				t.Fatalf("OpenBolt did not refuse it:\n%s", out)
			}
			want, ok := says[f.Name]
			if !ok {
				want = " is damaged: "
			}
			if !bytes.Contains(out, []byte(f.Path+want)) {
				t.Fatalf("the error does not say %q after the file's name:\n%s", want, out)
			}
			if after, _ := os.ReadFile(f.Path); !bytes.Equal(before, after) {
				t.Fatal("OpenBolt changed the damaged file")
			}
		})
	}
}

// TestOpenBoltRefusesALockedFile opens a store that is open already: bbolt's
// lock is per open file, so a second open in this process waits for it as
// another process would, then gives up.
func TestOpenBoltRefusesALockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	first, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	s, err := store.OpenBolt(path)
	if err == nil {
		s.Close()
		t.Fatal("OpenBolt of a locked file succeeded")
	}
	if want := path + " is locked by another process"; !strings.Contains(err.Error(), want) {
		t.Fatalf("OpenBolt = %v; want %q", err, want)
	}
}

// TestOpenBoltCreatesANewFile: a file this open creates is seeded
// as new; a 0-byte file that was there before is refused (above).
func TestOpenBoltCreatesANewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if loaded, err := s.Init(t.Context(), []*pb.User{{Id: 1, Nickname: "a", MailAddress: "a@example.com"}}); err != nil || !loaded {
		t.Fatalf("Init on a new file = %v, %v", loaded, err)
	}
}
