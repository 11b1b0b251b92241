package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
	"github.com/grpcplay/playground/server/store/postgres"
	"github.com/grpcplay/playground/server/usermanager"
)

// StoreConfig says which store to open: PostgreSQL when URL is set, for
// replicas that share their users, or else the bbolt file at Path.
type StoreConfig struct {
	// URL is a PostgreSQL URL, postgres://user:password@host:port/db?...
	// (postgresql:// too). Empty: the bbolt file.
	URL string
	// Path is the bbolt file, used when URL is empty.
	Path string
	// SeedFile holds the users to load into a new store, in the tutorial's
	// users.json format; empty: the tutorial's six.
	SeedFile string
	// Logger hears about schema migrations; nil: slog.Default().
	Logger *slog.Logger
}

// String describes the store for a log line: the bbolt file's path, or the
// PostgreSQL URL with its password masked.
func (c StoreConfig) String() string {
	if c.URL != "" {
		return postgres.Redact(c.URL)
	}
	return c.Path
}

// Open opens the configured store and, on its first start, loads the seed
// users (with PostgreSQL: whichever replica gets there first). Every seed
// user must pass ValidateUser. The seed is read and checked before the
// store is opened, so a bad seed file never touches the store.
func (c StoreConfig) Open(ctx context.Context) (store.Store, error) {
	users, err := readSeed(c.SeedFile)
	if err != nil {
		return nil, err
	}
	var st store.Store
	switch {
	case c.URL == "":
		b, err := store.OpenBolt(c.Path)
		if err != nil {
			return nil, err
		}
		st = b
	case strings.HasPrefix(c.URL, "postgres://") || strings.HasPrefix(c.URL, "postgresql://"):
		log := c.Logger
		if log == nil {
			log = slog.Default()
		}
		p, err := postgres.Open(ctx, c.URL, log)
		if err != nil {
			return nil, err
		}
		st = p
	default:
		return nil, fmt.Errorf("store: %q is not a postgres:// URL", postgres.Redact(c.URL))
	}
	if _, err := st.Init(ctx, users); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// OpenStore opens the default store, a bbolt file at path, and on its first
// start loads the seed users: the tutorial's, or those of seedFile when it is
// not empty. It is StoreConfig{Path: path, SeedFile: seedFile}.Open, for
// callers that want the bbolt type.
func OpenStore(ctx context.Context, path, seedFile string) (*store.Bolt, error) {
	users, err := readSeed(seedFile)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenBolt(path)
	if err != nil {
		return nil, err
	}
	if _, err := st.Init(ctx, users); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// readSeed reads and validates the seed users of seedFile, or the
// tutorial's when it is empty.
func readSeed(seedFile string) ([]*pb.User, error) {
	seed := store.DefaultSeed
	if seedFile != "" {
		b, err := os.ReadFile(seedFile)
		if err != nil {
			return nil, fmt.Errorf("seed file: %w", err)
		}
		seed = b
	}
	users, err := store.ParseSeed(bytes.NewReader(seed))
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if err := usermanager.ValidateUser(u); err != nil {
			return nil, fmt.Errorf("seed: user %d: %w", u.GetId(), err)
		}
	}
	return users, nil
}
