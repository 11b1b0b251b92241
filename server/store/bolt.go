package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// OpenBolt opens or creates the store file at path, creating its folder. A
// file that is not a bbolt database, or a bbolt database that is not ours,
// is an error: it never starts empty over data it cannot read.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is locked by another process", path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if err := tx.ForEach(func([]byte, *bbolt.Bucket) error { return errForeign }); err != nil {
				return fmt.Errorf("%s holds data that is not a user store", path)
			}
			for _, name := range [][]byte{bucketMeta, bucketUsers, bucketByType} {
				if _, err := tx.CreateBucket(name); err != nil {
					return err
				}
			}
			return tx.Bucket(bucketMeta).Put(keySchema, schemaV1)
		}
		if v := meta.Get(keySchema); string(v) != string(schemaV1) {
			return fmt.Errorf("%s has schema %q, want %q", path, v, schemaV1)
		}
		if tx.Bucket(bucketUsers) == nil || tx.Bucket(bucketByType) == nil {
			return fmt.Errorf("%s is missing its user buckets", path)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Bolt{db: db}, nil
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
