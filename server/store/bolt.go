package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
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
// damaged file: an existing file is first checked, opened read-only, with
// bbolt's own means (checkFile in bolt_check.go: its length, every key of
// every bucket read and searched for, bbolt's Tx.Check), then every user
// and type index entry is checked. A 0-byte file is refused unless this
// call created it. Every error names the file.
//
// The check runs in a process of its own, the program's executable started
// again (bolt_checker.go), so that a damaged file that makes bbolt fault,
// run out of memory or spin ends that process, not the caller's; it takes
// a few tens of milliseconds more than a check in this process. Where no
// process can be started, the check runs in this one: there such a file
// can crash the process, and a check that stops making progress (a loop in
// the page tree) is given up after stallLimit (1s) with an error, leaving a
// goroutine that still reads the file and the file open, so a caller that
// gets an error from OpenBolt should exit, as the server does.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	info, err := os.Stat(path)
	switch {
	case err == nil && info.IsDir():
		return nil, fmt.Errorf("store: %s is a directory", path)
	case err == nil:
		started, err := checkInChecker(path)
		if !started {
			err = checkFile(path, nil)
		}
		if err != nil {
			return nil, describe(path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: %w", err)
	}
	// Another process may take the file between the check and this open;
	// bbolt's lock makes this open wait for it, and the file it leaves is
	// one bbolt wrote.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, describe(path, err)
	}
	// Create the buckets of a new store; write nothing to an existing one.
	isNew := false
	err = db.View(func(tx *bbolt.Tx) (err error) { isNew, err = checkSchema(tx); return err })
	if err == nil && isNew {
		err = db.Update(create)
	}
	if err != nil {
		db.Close()
		return nil, describe(path, err)
	}
	return &Bolt{db: db}, nil
}

// describe makes an error of OpenBolt's that names the file.
func describe(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("store: %s is %w", path, errLocked)
	case errors.Is(err, errEmpty):
		return fmt.Errorf("store: %s is empty (0 bytes) and was not created by this start; it may have been truncated: move it away to start a new store", path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("store: %s is not a bbolt file, or both its meta pages are damaged (%w)", path, err)
	case errors.Is(err, errDamaged), errors.Is(err, errNotOurs):
		return fmt.Errorf("store: %s is %w", path, err)
	}
	if u, ok := errors.AsType[*unfinishedError](err); ok {
		return fmt.Errorf("store: %s was not opened: %w", path, u)
	}
	return fmt.Errorf("store: open %s: %w", path, err)
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
