package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/grpcplay/playground/pb"
)

// TestInspectAcceptsHealthyFiles runs the structure check over a bbolt file
// with every shape it must walk: nested buckets, inline buckets, values that
// take overflow pages, branch pages, freed pages.
func TestInspectAcceptsHealthyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shapes.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		big, err := tx.CreateBucket([]byte("big"))
		if err != nil {
			return err
		}
		for i := range 5000 {
			if err := big.Put(fmt.Appendf(nil, "key%06d", i), bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
				return err
			}
		}
		if err := big.Put([]byte("huge"), bytes.Repeat([]byte("x"), 50_000)); err != nil { // overflow pages
			return err
		}
		outer, err := tx.CreateBucket([]byte("outer"))
		if err != nil {
			return err
		}
		inline, err := outer.CreateBucket([]byte("inline")) // small: stored inside its parent's leaf
		if err != nil {
			return err
		}
		return inline.Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	// Free some pages: delete half of the big bucket in a later transaction.
	err = db.Update(func(tx *bbolt.Tx) error {
		for i := 0; i < 5000; i += 2 {
			if err := tx.Bucket([]byte("big")).Delete(fmt.Appendf(nil, "key%06d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err = readOnly(path, true, func(db *bbolt.DB, _ int64) error {
		return inspect(db, newLease(nil), func(*bbolt.Tx) error { return nil })
	})
	if err != nil {
		t.Fatalf("inspect on a healthy file: %v", err)
	}
	// The walk reads each key twice (in order, then by search): "big" and
	// "outer" in the root bucket, 2,501 in big, "inline" in outer, "k" in
	// inline.
	w := &walker{lease: newLease(nil), roots: map[uint64]bool{}}
	err = readOnly(path, true, func(db *bbolt.DB, _ int64) error {
		return db.View(func(tx *bbolt.Tx) error { return w.walk(tx, "") })
	})
	if err != nil || w.keys != 2*2505 {
		t.Fatalf("walk = %v after %d key reads; want nil after %d", err, w.keys, 2*2505)
	}
}

// writeStore makes a store at path with n seed users and a few added ones.
func writeStore(t testing.TB, path string, n int) {
	t.Helper()
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	users := make([]*pb.User, n)
	for i := range users {
		users[i] = &pb.User{Id: uint32(i + 1), Nickname: fmt.Sprint("user", i+1), MailAddress: fmt.Sprintf("user%d@example.com", i+1), UserType: pb.User_UserType(i % 4)}
	}
	ctx := context.Background()
	if _, err := s.Init(ctx, users); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := s.Add(ctx, &pb.User{Id: uint32(n + 1 + i), Nickname: "added", MailAddress: "added@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCatchFaultsTurnsAFaultIntoAnError reads a memory map past the end of
// its file, the fault bbolt meets on a truncated file, and wants an error
// instead of a crash.
func TestCatchFaultsTurnsAFaultIntoAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mapped")
	if err := os.WriteFile(path, make([]byte, 1<<16), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := syscall.Mmap(int(f.Fd()), 0, 1<<16, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(data)
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	var sink byte
	err = catchFaults(func() error {
		sink = data[1<<15] // past the end of the file: SIGBUS
		return nil
	})
	if !errors.Is(err, errDamaged) {
		t.Fatalf("catchFaults = %v (read %d); want errDamaged", err, sink)
	}
	if err := catchFaults(func() error { panic("boom") }); !errors.Is(err, errDamaged) {
		t.Fatalf("catchFaults on a panic = %v; want errDamaged", err)
	}
}

// BenchmarkOpenBolt opens an existing store of 6 users (a new store's
// second start) and one of 100,000: OpenBolt (the check in a checker
// process, then bbolt's open for writing), and the check alone, in a
// checker and in this process; for 100,000 users, the check's parts too.
// "checker-start" is a checker's floor: one asked to check a file that is
// not there. The checker is this test binary started again; child-cpu-ms/op
// is its CPU time, user and system.
func BenchmarkOpenBolt(b *testing.B) {
	dir := b.TempDir()
	b.Run("checker-start", func(b *testing.B) {
		benchChecker(b, func() error {
			if started, err := checkInChecker(filepath.Join(dir, "none.db")); !started || err == nil {
				return fmt.Errorf("a checker of a missing file: started %v, %v", started, err)
			}
			return nil
		})
	})
	for _, users := range []int{6, 100_000} {
		path := filepath.Join(dir, fmt.Sprintf("users%d.db", users))
		writeStore(b, path, users)
		b.Run(fmt.Sprintf("users=%d/open", users), func(b *testing.B) {
			benchChecker(b, func() error {
				s, err := OpenBolt(path)
				if err != nil {
					return err
				}
				return s.Close()
			})
		})
		b.Run(fmt.Sprintf("users=%d/check-in-checker", users), func(b *testing.B) {
			benchChecker(b, func() error {
				if started, err := checkInChecker(path); !started || err != nil {
					return fmt.Errorf("checkInChecker: started %v, %v", started, err)
				}
				return nil
			})
		})
		b.Run(fmt.Sprintf("users=%d/check-in-process", users), func(b *testing.B) {
			for b.Loop() {
				if err := checkFile(path, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	path := filepath.Join(dir, "users100000.db")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, part := range []struct {
		name string
		fn   func(tx *bbolt.Tx) error
	}{
		{"walk", func(tx *bbolt.Tx) error {
			return (&walker{lease: newLease(nil), roots: map[uint64]bool{}}).walk(tx, "")
		}},
		{"bbolt-check", bboltCheck},
		{"check-users", checkUsers},
	} {
		b.Run("users=100000/"+part.name, func(b *testing.B) {
			for b.Loop() {
				if err := db.View(part.fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchChecker runs op, which starts checkers, in b's loop and reports the
// CPU time of the checkers per op.
func benchChecker(b *testing.B, op func() error) {
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "child-cpu-ms/op")
}
