package store_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// TestOpenBoltRefusesDamagedFiles opens store files damaged on disk: each is
// an error naming the file, never a panic or a crash, and the file is left
// as it was.
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
				t.Fatal("OpenBolt succeeded; want an error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), f.Path) {
				t.Fatalf("error %q does not name the file", err)
			}
			if after, _ := os.ReadFile(f.Path); !bytes.Equal(before, after) {
				t.Fatal("OpenBolt changed the damaged file")
			}
		})
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
