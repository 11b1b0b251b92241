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

// checkEnv names, to this test binary started again, a store file to
// check in that process, as OpenBolt does where it cannot start a checker:
// TestMain checks it, prints the outcome and exits.
const checkEnv = "STORE_TEST_CHECK_IN_PROCESS"

func TestMain(m *testing.M) {
	if path := os.Getenv(checkEnv); path != "" {
		// A refused file may leave a goroutine still checking it (see
		// OpenBolt); this process exits at once, as the server does.
		if err := store.CheckInProcess(path); err != nil {
			fmt.Println("refused:", err)
		} else {
			fmt.Println("passed")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// refusals says how OpenBolt refuses each damaged file, after the file's
// name; " is damaged: " for those it does not name.
var refusals = map[string]string{
	"truncated-to-a-third": " is damaged: truncated: ",
	"empty":                " is empty (0 bytes) and was not created by this start",
	"zeroed-meta-pages":    " is not a bbolt file, or both its meta pages are damaged",
	// The checker's own lease (1s without a key) or its memory limit,
	// whichever the cursor spinning in the loop reaches first.
	"page-loop":             " is damaged: its check ",
	"branch-key-length":     " is damaged: bbolt's consistency check: ",
	"freelist-count":        " is damaged: its check did not finish: the checker ran out of memory",
	"unsearched-branch-key": " is damaged: its check did not finish: bbolt read outside the file's memory map (a memory fault)",
	"user-record":           " is damaged: user 5 does not decode",
	"type-index":            " is damaged: the type index",
}

// TestOpenBoltRefusesDamagedFiles opens store files damaged on disk: each
// is an error naming the file and saying what is wrong, and the file is
// left as it was. The check runs in a checker process, this test binary
// started again, so whatever the file does to bbolt, this test goes on.
func TestOpenBoltRefusesDamagedFiles(t *testing.T) {
	for _, f := range bolttest.Damaged(t, t.TempDir()) {
		t.Run(f.Name, func(t *testing.T) {
			before, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.OpenBolt(f.Path)
			if err == nil {
				s.Close()
				t.Fatal("OpenBolt did not refuse it")
			}
			t.Log(err)
			want, ok := refusals[f.Name]
			if !ok {
				want = " is damaged: "
			}
			if !strings.Contains(err.Error(), f.Path+want) {
				t.Fatalf("the error does not say %q after the file's name: %v", want, err)
			}
			if after, _ := os.ReadFile(f.Path); !bytes.Equal(before, after) {
				t.Fatal("OpenBolt changed the damaged file")
			}
		})
	}
}

// TestCheckInProcess checks the damaged files in the process that opens
// them, as OpenBolt does where it cannot start a checker, each in a
// process of its own (this test binary, started again) so that a crash is
// seen rather than suffered. The file is refused with OpenBolt's message,
// but for the damage only a checker survives, which may crash the process
// instead (why OpenBolt checks in a checker): a fault on Tx.Check's
// goroutine does; 8 TiB of freelist ids is a fatal out-of-memory, or, where
// the kernel grants that much memory, a fault caught as bbolt copies them.
func TestCheckInProcess(t *testing.T) {
	mayCrash := map[string]bool{"freelist-count": true, "unsearched-branch-key": true}
	for _, f := range bolttest.Damaged(t, t.TempDir()) {
		t.Run(f.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), checkEnv+"="+f.Path, "GORACE=atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()
			if mayCrash[f.Name] {
				if bytes.HasPrefix(out, []byte("passed")) || ctx.Err() != nil {
					t.Fatalf("the process checking it ended with %v; want a refusal or a crash:\n%s", err, out)
				}
				t.Logf("the process checking it ended with %v:\n%.300s", err, out)
				return
			}
			if err != nil {
				t.Fatalf("the process checking it ended with %v:\n%s", err, out)
			}
			want := refusals[f.Name]
			switch {
			case f.Name == "page-loop":
				want = " is damaged: its check read no key for 1s, so its page tree may loop"
			case want == "":
				want = " is damaged: "
			}
			if !bytes.HasPrefix(out, []byte("refused: ")) || !bytes.Contains(out, []byte(f.Path+want)) {
				t.Fatalf("the check does not say %q after the file's name:\n%s", want, out)
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
