// Package bolttest makes damaged bbolt store files for tests: the ways a
// store file is found broken on disk (a scribbled freelist or page, a zeroed
// page, a file cut short, a file emptied, a loop in the page tree, a record
// or index entry that is wrong), each a copy of a real store of ours. It
// writes the bbolt layout of package store (buckets "users" by 4-byte
// big-endian id, "users_by_type" by type byte and id) where it damages
// records, and knows of bbolt's page format only the 16-byte page header
// (page id, flags, element count, overflow), a branch element's 16 bytes
// (key offset, key length, child page id), a freelist page's ids after its
// header (the first of them its count when the header's is 0xFFFF), all
// little-endian, and that bbolt maps its file into memory in powers of two;
// were that format to change, these files would still be damaged,
// differently.
package bolttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
)

// File is one damaged store file.
type File struct {
	// Name says what is wrong with it.
	Name string
	// Path is where it is.
	Path string
}

// users is how many users the healthy store holds: enough for branch pages.
const users = 3000

// Damaged writes a healthy store into dir and damaged copies of it beside,
// and returns the copies.
func Damaged(t testing.TB, dir string) []File {
	t.Helper()
	healthy := filepath.Join(dir, "healthy.db")
	write(t, healthy)
	data, err := os.ReadFile(healthy)
	if err != nil {
		t.Fatal(err)
	}
	pageSize, freelist, branch, leaf, usersRoot := layout(t, healthy)
	scribble := func(at int, b byte, n int) func([]byte) []byte {
		return func(d []byte) []byte { copy(d[at:], bytes.Repeat([]byte{b}, n)); return d }
	}
	const pageHeader, countAt, branchElement = 16, 10, 16
	le := binary.LittleEndian
	damages := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"freelist-page", scribble(freelist*pageSize, 0xff, pageSize)},
		{"freelist-ids", scribble(freelist*pageSize+pageHeader, 0xff, 64)},
		{"branch-page", scribble(branch*pageSize+pageHeader, 0x7f, 256)},
		{"zeroed-page", scribble(leaf*pageSize, 0, pageSize)},
		{"zeroed-meta-pages", scribble(0, 0, 2*pageSize)},
		// The branch page's first child is itself: a cursor descending
		// to the first key never reaches a leaf.
		{"page-loop", func(d []byte) []byte {
			le.PutUint64(d[branch*pageSize+pageHeader+8:], uint64(branch))
			return d
		}},
		// The branch page's second child is page 2^30: 4 TiB past the
		// start of the file, for a page size of 4 KiB.
		{"child-page-out-of-range", func(d []byte) []byte {
			le.PutUint64(d[branch*pageSize+pageHeader+branchElement+8:], 1<<30)
			return d
		}},
		// The branch page's second key is 64 MiB long: far past the end
		// of the file.
		{"branch-key-length", func(d []byte) []byte {
			le.PutUint32(d[branch*pageSize+pageHeader+branchElement+4:], 64<<20)
			return d
		}},
		// The freelist counts 2^40 free pages: bbolt's open allocates
		// an id for each (8 TiB), a fatal out-of-memory.
		{"freelist-count", func(d []byte) []byte {
			le.PutUint16(d[freelist*pageSize+countAt:], 0xFFFF)
			le.PutUint64(d[freelist*pageSize+pageHeader:], 1<<40)
			return d
		}},
		// The last key of the users bucket's root branch page is one
		// page past the end of the file, inside bbolt's memory map of it
		// (the file is padded so that the map, a power of two, reaches
		// there): a memory fault wherever it is read. Its child holds no
		// keys, and the child before holds only its first, so no search
		// for a key reads it; bbolt's Tx.Check does, on a goroutine of
		// its own.
		{"unsearched-branch-key", func(d []byte) []byte {
			padded := pageSize
			for padded < len(d) {
				padded *= 2
			}
			d = append(d, make([]byte, padded+pageSize-len(d))...)
			root := usersRoot * pageSize
			last := root + pageHeader + (int(le.Uint16(d[root+countAt:]))-1)*branchElement
			child := func(elem int) int { return int(le.Uint64(d[elem+8:])) * pageSize }
			le.PutUint16(d[child(last)+countAt:], 0)
			le.PutUint16(d[child(last-branchElement)+countAt:], 1)
			le.PutUint32(d[last:], uint32(len(d)+pageSize-last))
			return d
		}},
		{"truncated-to-a-third", func(d []byte) []byte { return d[:len(d)/3] }},
		{"empty", func([]byte) []byte { return nil }},
	}
	var files []File
	for _, d := range damages {
		path := filepath.Join(dir, d.name+".db")
		if err := os.WriteFile(path, d.damage(bytes.Clone(data)), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: d.name, Path: path})
	}
	// Damage a page-level check cannot see: well-formed bbolt files whose
	// data is wrong, written through bbolt itself.
	for _, d := range []struct {
		name   string
		damage func(tx *bbolt.Tx) error
	}{
		{"user-record", func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("users")).Put([]byte{0, 0, 0, 5}, bytes.Repeat([]byte{0xff}, 12))
		}},
		{"type-index", func(tx *bbolt.Tx) error {
			index, key := tx.Bucket([]byte("users_by_type")), []byte{byte(pb.User_ADMINISTRATOR), 0, 0, 0, 7} // user 7's entry
			if index.Get(key) == nil {
				return fmt.Errorf("no type index entry %x", key)
			}
			return index.Delete(key)
		}},
	} {
		path := filepath.Join(dir, d.name+".db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(d.damage)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: d.name, Path: path})
	}
	return files
}

// write makes a store of our schema at path, with seeded and added users.
func write(t testing.TB, path string) {
	t.Helper()
	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	seed := make([]*pb.User, users)
	for i := range seed {
		seed[i] = &pb.User{Id: uint32(i + 1), Nickname: fmt.Sprint("user", i+1), MailAddress: fmt.Sprintf("user%d@example.com", i+1), UserType: pb.User_UserType(i % 4)}
	}
	ctx := context.Background()
	if _, err := s.Init(ctx, seed); err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // later transactions free pages: the freelist has entries
		if err := s.Add(ctx, &pb.User{Id: uint32(users + 1 + i), Nickname: "added", MailAddress: "added@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// layout finds the page size, the freelist page, a branch page, a leaf
// page in the middle and the users bucket's root page (a branch page) of
// the healthy store through bbolt's own API.
func layout(t testing.TB, path string) (pageSize, freelist, branch, leaf, usersRoot int) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var leaves []int
	err = db.View(func(tx *bbolt.Tx) error {
		usersRoot = int(tx.Bucket([]byte("users")).Root())
		if info, err := tx.Page(usersRoot); err != nil || info == nil || info.Type != "branch" || info.Count < 3 {
			return fmt.Errorf("the users bucket's root page %d is %+v (%v); want a branch page of 3 elements or more", usersRoot, info, err)
		}
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil {
				break
			}
			switch info.Type {
			case "freelist":
				freelist = id
			case "branch":
				branch = id
			case "leaf":
				leaves = append(leaves, id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if freelist == 0 || branch == 0 || len(leaves) == 0 {
		t.Fatalf("the store has freelist page %d, branch page %d, %d leaf pages; want all", freelist, branch, len(leaves))
	}
	return db.Info().PageSize, freelist, branch, leaves[len(leaves)/2], usersRoot
}
