package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
)

// The bbolt layout: users by 4-byte big-endian id (so cursors walk ids in
// ascending order), an index of type byte + id for ListByType, and a meta
// bucket that marks the file as ours and initialised.
var (
	bucketUsers  = []byte("users")
	bucketByType = []byte("users_by_type")
	bucketMeta   = []byte("meta")
	keySchema    = []byte("schema")
	keyInit      = []byte("initialized")
	schemaV1     = []byte("userman/1")
	errForeign   = errors.New("foreign bucket")
)

// Bolt is the default Store: one bbolt file, every write fsynced before it
// returns.
type Bolt struct {
	db *bbolt.DB
}

// lockTimeout is how long OpenBolt waits for another process to release the
// file.
const lockTimeout = 2 * time.Second

// errLocked says another process holds the file.
var errLocked = errors.New("locked by another process")

// OpenBolt opens or creates the store file at path, creating its folder. A
// file that is not a bbolt database, or a bbolt database that is not ours,
// is an error: it never starts empty over data it cannot read. So is a
// damaged file: before bbolt maps an existing file its structure is verified
// page by page (verifyBoltFile), then every user and type index entry is
// checked, and a panic or memory fault inside bbolt while it opens the file
// becomes an error too. A 0-byte file is refused unless this call created
// it. Every error names the file.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	var file *os.File
	opts := &bbolt.Options{Timeout: lockTimeout, OpenFile: func(name string, flag int, mode fs.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, mode)
		if err != nil {
			return nil, err
		}
		// Lock before reading, so the check sees no other process's writes;
		// bbolt's own lock on this same descriptor then succeeds at once.
		if err := lockFile(f, lockTimeout); err != nil {
			f.Close()
			return nil, err
		}
		if err := checkFile(f, created); err != nil {
			f.Close()
			return nil, err
		}
		file = f
		return f, nil
	}}
	var db *bbolt.DB
	err := catchFaults(func() error {
		var err error
		if db, err = bbolt.Open(path, 0o600, opts); err != nil {
			return err
		}
		// Check an existing store without writing to it; create the
		// buckets of a new one.
		isNew := false
		if err := db.View(func(tx *bbolt.Tx) (err error) { isNew, err = check(tx); return err }); err != nil || !isNew {
			return err
		}
		return db.Update(create)
	})
	if err == nil {
		return &Bolt{db: db}, nil
	}
	if db != nil {
		db.Close()
	} else if file != nil {
		file.Close() // bbolt panicked before it returned the database
	}
	switch {
	case errors.Is(err, errLocked) || errors.Is(err, bbolt.ErrTimeout):
		return nil, fmt.Errorf("store: %s is %w", path, errLocked)
	case errors.Is(err, errEmpty):
		return nil, fmt.Errorf("store: %s is empty (0 bytes) and was not created by this start; it may have been truncated: move it away to start a new store", path)
	case errors.Is(err, errDamaged), errors.Is(err, errNotOurs):
		return nil, fmt.Errorf("store: %s is %w", path, err)
	}
	return nil, fmt.Errorf("store: open %s: %w", path, err)
}

// errEmpty says an existing store file has no bytes.
var errEmpty = errors.New("empty file")

// checkFile refuses a 0-byte file that was not just created and verifies the
// structure of a file that has bytes.
func checkFile(f *os.File, created bool) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() == 0 {
		if created {
			return nil
		}
		return errEmpty
	}
	return verifyBoltFile(f, info.Size())
}

// catchFaults runs fn and turns a panic in it, a memory fault included
// (bbolt reads its file through a memory map), into an error wrapping
// errDamaged. Only faults on fn's own goroutine are caught: bbolt opens and
// reads a file on the caller's goroutine.
func catchFaults(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: bbolt failed reading it: %v", errDamaged, r)
		}
	}()
	return fn()
}

// errNotOurs marks a bbolt file that is not a user store of our schema.
var errNotOurs = errors.New("not a user store")

// check reports whether the file is new (no buckets at all), and otherwise
// that it is a user store of our schema whose data passes checkUsers.
func check(tx *bbolt.Tx) (isNew bool, err error) {
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
	return false, checkUsers(tx)
}

// create makes the buckets of a new store and marks it ours.
func create(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketUsers, bucketByType} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keySchema, schemaV1)
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
			return fmt.Errorf("%w: a user key %x is not a 4-byte id", errDamaged, k)
		}
		id := binary.BigEndian.Uint32(k)
		if err := proto.Unmarshal(v, u); err != nil {
			return fmt.Errorf("%w: user %d does not decode: %v", errDamaged, id, err)
		}
		if u.GetId() != id {
			return fmt.Errorf("%w: user %d is stored under id %d", errDamaged, u.GetId(), id)
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
		return fmt.Errorf("%w: the type index (%d entries) does not match the %d users", errDamaged, indexed, users)
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

func idKey(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

func typeKey(t pb.User_UserType, id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(t)}, id)
}

// Get implements Store.
func (b *Bolt) Get(ctx context.Context, id uint32) (*pb.User, error) {
	u := new(pb.User)
	err := b.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketUsers).Get(idKey(id))
		if v == nil {
			return ErrNotFound
		}
		return proto.Unmarshal(v, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Add implements Store. The check and the write are one transaction, so of
// concurrent adds of one id exactly one succeeds.
func (b *Bolt) Add(ctx context.Context, u *pb.User) error {
	v, err := proto.Marshal(u)
	if err != nil {
		return fmt.Errorf("store: encode user %d: %w", u.GetId(), err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.db.Update(func(tx *bbolt.Tx) error { return put(tx, u, v) })
}

func put(tx *bbolt.Tx, u *pb.User, v []byte) error {
	users := tx.Bucket(bucketUsers)
	k := idKey(u.GetId())
	if users.Get(k) != nil {
		return ErrExists
	}
	if err := users.Put(k, v); err != nil {
		return err
	}
	return tx.Bucket(bucketByType).Put(typeKey(u.GetUserType(), u.GetId()), nil)
}

// ListByType implements Store, walking the type index from after+1.
func (b *Bolt) ListByType(ctx context.Context, t pb.User_UserType, after uint32, limit int) ([]*pb.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	var page []*pb.User
	err := b.db.View(func(tx *bbolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		c := tx.Bucket(bucketByType).Cursor()
		k, _ := c.Seek(typeKey(t, after))
		if k != nil && binary.BigEndian.Uint32(k[1:]) == after && k[0] == byte(t) {
			k, _ = c.Next()
		}
		for ; k != nil && k[0] == byte(t) && len(page) < limit; k, _ = c.Next() {
			u := new(pb.User)
			if err := proto.Unmarshal(users.Get(k[1:]), u); err != nil {
				return fmt.Errorf("store: decode user %d: %w", binary.BigEndian.Uint32(k[1:]), err)
			}
			page = append(page, u)
		}
		return nil
	})
	return page, err
}

// Init implements Store.
func (b *Bolt) Init(ctx context.Context, users []*pb.User) (bool, error) {
	loaded := false
	err := b.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyInit) != nil {
			return nil
		}
		for _, u := range users {
			v, err := proto.Marshal(u)
			if err != nil {
				return err
			}
			if err := put(tx, u, v); err != nil {
				return fmt.Errorf("store: seed user %d: %w", u.GetId(), err)
			}
		}
		loaded = true
		return meta.Put(keyInit, []byte{1})
	})
	return loaded, err
}

// Close implements Store.
func (b *Bolt) Close() error { return b.db.Close() }
