// Package store keeps UserManager's users. Store is the small interface the
// service needs; Bolt is the default backend, an embedded bbolt file, and
// package postgres the one several replicas share. Every backend passes the
// conformance suite in package storetest.
//
// OpenBolt refuses a bbolt file that is damaged, truncated, locked or not
// ours, with an error naming it, before it serves from it: the check
// (bolt_check.go) uses bbolt's own means, its cursors and Tx.Check, never a
// parser of bbolt's format, and runs in a checker process, the program's
// own executable started again (bolt_checker.go), so that what bbolt does
// on a damaged file (a memory fault, a fatal out-of-memory, a spin) ends
// the checker, never the caller. This package's init function is that
// checker's entry point: a process started with GRPCPLAY_STORE_CHECK in
// its environment checks the file it names and exits before main. Package
// bolttest makes the damaged files its tests open.
package store

import (
	"context"
	"errors"

	"github.com/grpcplay/playground/pb"
)

// ErrNotFound is returned by Get for an id no user has.
var ErrNotFound = errors.New("user not found")

// ErrExists is returned by Add when the id is already taken.
var ErrExists = errors.New("user already exists")

// ErrUnavailable wraps the errors of a store that cannot reach its database
// (a network store whose server is down or unreachable): the call may
// succeed later, and a write that failed with it may or may not have been
// committed. The service answers it with codes.Unavailable.
var ErrUnavailable = errors.New("database unreachable")

// Pinger is a Store whose database can be unreachable; Ping reports whether
// it answers now, with an error wrapping ErrUnavailable when it does not.
// The server's health reporting uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Store is what the service needs from a user database. Implementations are
// safe for concurrent use.
type Store interface {
	// Get returns the user with that id, or ErrNotFound.
	Get(ctx context.Context, id uint32) (*pb.User, error)
	// Add stores a new user; it is durable when Add returns nil. An id
	// already taken gives ErrExists and changes nothing.
	Add(ctx context.Context, u *pb.User) error
	// ListByType returns at most limit users of type t whose id is greater
	// than after, in ascending id order. Paging keeps memory bounded however
	// many users match: call again with the last id returned until a page
	// comes back shorter than limit.
	ListByType(ctx context.Context, t pb.User_UserType, after uint32, limit int) ([]*pb.User, error)
	// Init loads users into a store that has never been initialised, in one
	// transaction, and does nothing on a store that has. It reports whether
	// it loaded them.
	Init(ctx context.Context, users []*pb.User) (bool, error)
	// Close releases the store.
	Close() error
}
