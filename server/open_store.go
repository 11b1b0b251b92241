package server

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/grpcplay/playground/server/store"
)

// OpenStore opens the default store, a bbolt file at path, and on its first
// start loads the seed users: the tutorial's, or those of seedFile when it is
// not empty. Every seed user must pass ValidateUser.
func OpenStore(ctx context.Context, path, seedFile string) (*store.Bolt, error) {
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
		if err := ValidateUser(u); err != nil {
			return nil, fmt.Errorf("seed: user %d: %w", u.GetId(), err)
		}
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
