package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
)

// The start-up check of an existing store file, with bbolt's own means.
//
// bbolt memory-maps its file and trusts the page ids, counts and offsets it
// finds there. On a damaged page it panics, or reads outside the file: a
// memory fault (SIGBUS, SIGSEGV) that crashes the process unless the
// goroutine asked for a panic instead with debug.SetPanicOnFault. On a loop
// in the page tree its cursors spin for ever. bbolt's consistency check,
// Tx.Check, finds loops, pages reachable twice, pages both used and free,
// lost pages and keys out of order, but it dereferences each page id before
// it checks the id, and it runs on a goroutine bbolt starts, where
// SetPanicOnFault cannot reach. So checkFile reads the file in this order,
// each step making the next one safer:
//
//  1. The file's length against the pages its meta page counts (Tx.Size):
//     a truncated file stops here, before anything reads past its end.
//  2. walk reads every bucket's keys with bbolt's cursors, on a goroutine of
//     ours under SetPanicOnFault: a bad page id, count or offset panics or
//     faults here, where it is caught. A loop in the page tree repeats keys
//     (caught) or spins inside the cursor, which the lease catches. walk
//     then finds every key again by search, as Get will, which also reads
//     the branch pages' keys before Tx.Check reads them.
//  3. Tx.Check, now reading only what walk and bbolt's open (which loads
//     the freelist) read without fault.
//  4. Our own data: checkData.
//
// What this cannot survive in the process it runs in: Tx.Check reading a
// key that walk did not (a branch element whose child holds no key) and
// faulting on bbolt's goroutine, which crashes the process; a freelist
// whose count is damaged to billions, which makes bbolt's open allocate
// them, a fatal out-of-memory rather than a panic; and a spinning cursor,
// which can only be left running. So OpenBolt runs checkFile in a process
// of its own (bolt_checker.go), where any of these ends only that process.
// What it does not catch at all: an offset that points outside the file
// into memory that happens to be mapped is read as garbage rather than
// faulting, so a file whose garbage still sorts and searches passes (a
// branch page's first key moved far away does: no search depends on it).

// errDamaged marks a file whose structure or data is broken.
var errDamaged = errors.New("damaged")

// errEmpty says an existing store file has no bytes.
var errEmpty = errors.New("empty file")

// errNotOurs marks a bbolt file that is not a user store of our schema.
var errNotOurs = errors.New("not a user store")

// errForeign stops a walk over the root bucket at its first bucket.
var errForeign = errors.New("foreign bucket")

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errDamaged}, args...)...)
}

const (
	// stallLimit is how long walk may go without reading a key before the
	// check is given up: a loop in the page tree can make a cursor spin
	// (growing its stack by hundreds of megabytes a second) without
	// returning, while a healthy walk reads a key every microsecond or so,
	// or every few milliseconds from a cold disk.
	stallLimit = time.Second
	// checkLimit bounds Tx.Check and checkData together. Both read only
	// trees walk has read to the end, so they cannot loop; the limit is a
	// backstop.
	checkLimit = time.Minute
	// stalled says what a check that ran out of stallLimit met.
	stalled = "read no key for %v, so its page tree may loop"
	// opening says what a check that ran out of time opening the file met.
	opening = "did not open the file within %v"
)

// checkFile checks the existing store file at path, with bbolt opening it
// read-only so that nothing is written to a file that may be damaged. bbolt
// holds a shared lock on the file meanwhile, waiting up to lockTimeout for
// a writer to release it. report, when not nil, hears each promise the
// check makes: that it will read a key, or end, within a duration (see
// lease). A check that is given up (see stallLimit) leaves its goroutine
// running and the file open: the caller is expected to exit.
func checkFile(path string, report func(time.Duration)) error {
	l := newLease(report)
	l.renew(lockTimeout+stallLimit, opening)
	err := readOnly(path, false, func(db *bbolt.DB, size int64) error {
		return db.View(func(tx *bbolt.Tx) error {
			if tx.Size() > size {
				return damaged("truncated: %d bytes, but its meta page counts %d pages of %d bytes (%d bytes)",
					size, tx.Size()/int64(db.Info().PageSize), db.Info().PageSize, tx.Size())
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	// Loading the freelist as bbolt opens the file reads it here, where a
	// fault is caught, rather than in Tx.Check's goroutine.
	l.renew(lockTimeout+stallLimit, opening)
	return readOnly(path, true, func(db *bbolt.DB, _ int64) error { return inspect(db, l, checkData) })
}

// readOnly opens the file at path with bbolt, read-only, and runs fn on it;
// size is the file's length. A panic or memory fault while bbolt opens the
// file is an error wrapping errDamaged.
func readOnly(path string, loadFreelist bool, fn func(db *bbolt.DB, size int64) error) error {
	var file *os.File
	opts := &bbolt.Options{ReadOnly: true, PreLoadFreelist: loadFreelist, Timeout: lockTimeout,
		OpenFile: func(name string, flag int, mode fs.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, mode)
			file = f
			return f, err
		}}
	var db *bbolt.DB
	err := catchFaults(func() (err error) {
		db, err = bbolt.Open(path, 0o600, opts)
		return err
	})
	if err != nil {
		if db == nil && file != nil {
			file.Close() // bbolt panicked before it returned the database (closing twice is harmless)
		}
		// bbolt opening an empty file read-only fails as it tries to
		// write the first pages; it held the lock when it saw it empty.
		if info, statErr := os.Stat(path); statErr == nil && info.Size() == 0 && !errors.Is(err, berrors.ErrTimeout) {
			return errEmpty
		}
		return err
	}
	info, err := file.Stat()
	if err != nil {
		db.Close()
		return err
	}
	err = fn(db, info.Size())
	if !errors.Is(err, errGivenUp) {
		db.Close()
	}
	return err
}

// catchFaults runs fn and turns a panic in it, a memory fault included
// (bbolt reads its file through a memory map), into an error wrapping
// errDamaged. Only faults on fn's own goroutine are caught.
func catchFaults(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); ok {
				err = damaged("bbolt read outside the file's memory map (a memory fault)")
				return
			}
			err = damaged("bbolt stopped reading it: %v", r)
		}
	}()
	return fn()
}

// errGivenUp marks a check that did not end in time; its goroutine is still
// running.
var errGivenUp = errors.New("given up")

// inspect checks db's structure (walk, then Tx.Check) and then its data
// with data, in one read transaction on a goroutine of its own under
// catchFaults. It waits while that goroutine holds l, which walk renews as
// it reads keys; when l runs out, inspect returns an error wrapping
// errGivenUp and leaves the goroutine running, with the transaction open:
// the database cannot be closed.
func inspect(db *bbolt.DB, l *lease, data func(*bbolt.Tx) error) error {
	l.renew(stallLimit, stalled)
	done := make(chan error, 1)
	go func() {
		done <- catchFaults(func() error {
			return db.View(func(tx *bbolt.Tx) error {
				if err := (&walker{lease: l, roots: map[uint64]bool{}}).walk(tx, ""); err != nil {
					return err
				}
				l.renew(checkLimit, "did not end within %v")
				if err := bboltCheck(tx); err != nil {
					return err
				}
				return data(tx)
			})
		})
	}()
	tick := time.NewTicker(stallLimit / 10)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if why := l.expired(); why != "" {
				return fmt.Errorf("%w: its check %s (%w)", errDamaged, why, errGivenUp)
			}
		}
	}
}

// lease is a deadline that one goroutine renews and another watches. In a
// checker process it is also reported to the process that started it,
// which stops the checker when the lease runs out and the checker has not
// ended by itself.
type lease struct {
	start  time.Time
	term   atomic.Pointer[leaseTerm]
	report func(time.Duration) // nil: no one to tell
	// The last term reported, by the renewing goroutine (one at a time).
	reportedAt, reported time.Duration
}

type leaseTerm struct {
	until time.Duration // since start
	d     time.Duration
	why   string // a format of d: what happened when the lease runs out
}

// reportEvery is how often at most a lease renewed with the same duration
// is reported: walk renews it every 256 keys.
const reportEvery = 100 * time.Millisecond

func newLease(report func(time.Duration)) *lease {
	return &lease{start: time.Now(), report: report}
}

// renew extends the lease to d from now; why, formatted with d, says what
// happened if it runs out.
func (l *lease) renew(d time.Duration, why string) {
	now := time.Since(l.start)
	l.term.Store(&leaseTerm{until: now + d, d: d, why: why})
	if l.report != nil && (d != l.reported || now-l.reportedAt >= reportEvery) {
		l.report(d)
		l.reported, l.reportedAt = d, now
	}
}

// expired returns why the lease ran out, or "" while it holds.
func (l *lease) expired() string {
	if t := l.term.Load(); time.Since(l.start) > t.until {
		return fmt.Sprintf(t.why, t.d)
	}
	return ""
}

// bucket is what walk needs of a bucket: *bbolt.Tx is the root bucket.
type bucket interface {
	Cursor() *bbolt.Cursor
	Bucket(name []byte) *bbolt.Bucket
}

// walker reads every bucket of a transaction; see walk.
type walker struct {
	lease *lease
	roots map[uint64]bool // the root pages of the buckets walked
	keys  int
	sum   byte // of every key byte, so that each is read
}

// walk reads every key of b, in order and every byte, then finds each again
// by search, then walks b's nested buckets. name is b's path, "" for the
// root bucket. Its errors wrap errDamaged.
func (w *walker) walk(b bucket, name string) error {
	var nested [][]byte
	var prev []byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) > bbolt.MaxKeySize {
			return damaged("%s: a key of %d bytes, more than bbolt allows", label(name), len(k))
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return damaged("%s: its keys are out of order at %s", label(name), shortHexString(k))
		}
		for _, x := range k {
			w.sum += x
		}
		prev = k
		if v == nil {
			nested = append(nested, k)
		}
		w.progress()
	}
	// Every key was reached in order, so the tree has no loop and a search
	// ends.
	s := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if found, _ := s.Seek(k); !bytes.Equal(found, k) {
			return damaged("%s: key %s is not found by a search", label(name), shortHexString(k))
		}
		w.progress()
	}
	for _, k := range nested {
		childName := strings.TrimPrefix(name+"/", "/") + fmt.Sprintf("%q", k)
		child := b.Bucket(k)
		if child == nil {
			return damaged("%s does not open", label(childName))
		}
		if root := uint64(child.Root()); root != 0 {
			if w.roots[root] {
				return damaged("%s: its root page %d is another bucket's", label(childName), root)
			}
			w.roots[root] = true
		}
		if err := w.walk(child, childName); err != nil {
			return err
		}
	}
	return nil
}

func label(name string) string {
	if name == "" {
		return "the root bucket"
	}
	return "bucket " + name
}

// progress renews the lease every 256 keys.
func (w *walker) progress() {
	if w.keys++; w.keys%256 == 0 {
		w.lease.renew(stallLimit, stalled)
	}
}

// bboltCheck runs bbolt's consistency check to its end and returns its first
// finding, wrapping errDamaged.
func bboltCheck(tx *bbolt.Tx) error {
	var first error
	more := 0
	for err := range tx.Check(bbolt.WithKVStringer(shortHex{})) {
		if first == nil {
			first = err
		} else {
			more++
		}
	}
	if first == nil {
		return nil
	}
	// A panic inside the check is reported as "panic: ..."; it is a
	// finding about the file, not a crash.
	msg := strings.TrimPrefix(first.Error(), "panic: ")
	if more > 0 {
		return damaged("bbolt's consistency check: %s (and %d more)", msg, more)
	}
	return damaged("bbolt's consistency check: %s", msg)
}

// shortHex shows at most the first 16 bytes of a key or value, in hex, in
// Tx.Check's findings: bbolt's default shows all of it, and a damaged
// element's length can reach past the end of the file.
type shortHex struct{}

func (shortHex) KeyToString(k []byte) string   { return shortHexString(k) }
func (shortHex) ValueToString(v []byte) string { return shortHexString(v) }

func shortHexString(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%x… (%d bytes)", b[:16], len(b))
	}
	return hex.EncodeToString(b)
}

// checkData checks that the file is either new (no buckets at all) or a
// user store of our schema whose data passes checkUsers.
func checkData(tx *bbolt.Tx) error {
	isNew, err := checkSchema(tx)
	if err != nil || isNew {
		return err
	}
	return checkUsers(tx)
}

// checkSchema reports whether the file is new (no buckets at all), and
// otherwise that it is a user store of our schema.
func checkSchema(tx *bbolt.Tx) (isNew bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if err := tx.ForEach(func([]byte, *bbolt.Bucket) error { return errForeign }); err != nil {
			return false, fmt.Errorf("%w: it holds other data", errNotOurs)
		}
		return true, nil
	}
	if v := meta.Get(keySchema); string(v) != string(schemaV1) {
		return false, fmt.Errorf("%w: it has schema %q, want %q", errNotOurs, v, schemaV1)
	}
	if tx.Bucket(bucketUsers) == nil || tx.Bucket(bucketByType) == nil {
		return false, fmt.Errorf("%w: its user buckets are missing", errNotOurs)
	}
	return false, nil
}

// checkUsers verifies the data: every user decodes, under its own id, and
// the type index holds exactly one entry per user, of the user's type. The
// index is compared as a whole, by count and by a sum of the entries'
// hashes, so each bucket is read once in order rather than sought per user.
func checkUsers(tx *bbolt.Tx) error {
	u := new(pb.User)
	var users, indexed int
	var want, got uint64
	err := tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
		if len(k) != 4 || v == nil {
			return damaged("a user key %x is not a 4-byte id", k)
		}
		id := binary.BigEndian.Uint32(k)
		if err := proto.Unmarshal(v, u); err != nil {
			return damaged("user %d does not decode: %v", id, err)
		}
		if u.GetId() != id {
			return damaged("user %d is stored under id %d", u.GetId(), id)
		}
		users++
		want += indexHash(typeKey(u.GetUserType(), id))
		return nil
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketByType).ForEach(func(k, v []byte) error {
		indexed++
		got += indexHash(k)
		return nil
	})
	if err != nil {
		return err
	}
	if indexed != users || got != want {
		return damaged("the type index (%d entries) does not match the %d users", indexed, users)
	}
	return nil
}

// indexHash is the FNV-1a hash of a type index key.
func indexHash(k []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range k {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}
