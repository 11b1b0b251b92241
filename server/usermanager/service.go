// Package usermanager is the UserManager service of the tutorial's contract
// (proto/user.proto, /work/shared/seed) on a store.Store: in-band replies for
// an unknown or taken id, InvalidArgument for input the contract cannot
// mean, bounded client streams. It knows nothing of how calls arrive.
package usermanager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
)

// The in-band replies the contract defines for its two expected misses.
const (
	msgNotFound     = "not found"
	msgAlreadyExist = "already exist"
)

// Service implements UserManager on a Store, with the behaviour of the seed
// contract: in-band error replies for an unknown or taken id, InvalidArgument
// for input the contract cannot mean, and bounded client streams.
type Service struct {
	pb.UnimplementedUserManagerServer
	store store.Store
	// maxStreamMsgs bounds how many requests one client stream may send.
	maxStreamMsgs int
	// pageSize is how many users GetUsersByType reads from the store at once.
	pageSize int
	log      *slog.Logger
}

// DefaultMaxStreamMsgs is how many requests one client or bidi stream may
// send before it is ended with ResourceExhausted.
const DefaultMaxStreamMsgs = 1 << 20

// New returns the UserManager service on st. maxStreamMsgs <= 0 means
// DefaultMaxStreamMsgs; a nil log means slog.Default(). Store failures are
// logged there in full, and reach clients without the store's own words,
// which may name hosts, users and databases.
func New(st store.Store, maxStreamMsgs int, log *slog.Logger) *Service {
	if maxStreamMsgs <= 0 {
		maxStreamMsgs = DefaultMaxStreamMsgs
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, maxStreamMsgs: maxStreamMsgs, pageSize: 256, log: log}
}

// storeError turns a store failure that is not part of the contract into a
// status: the caller's own cancellation keeps its code, a database that
// cannot be reached is Unavailable (worth a retry), the rest is Internal.
// The store's error is logged, not sent: it may name the database's host,
// user and schema.
func (s *Service) storeError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return status.FromContextError(ctxErr).Err()
	}
	if errors.Is(err, store.ErrUnavailable) {
		s.log.WarnContext(ctx, "store unreachable", "op", op, "err", err)
		return status.Errorf(codes.Unavailable, "%s: the user database is unreachable, try again later", op)
	}
	s.log.ErrorContext(ctx, "store failed", "op", op, "err", err)
	return status.Errorf(codes.Internal, "%s: the user database failed; the server's log has the details", op)
}

// GetUser returns the user with the requested id, or the in-band "not found".
func (s *Service) GetUser(ctx context.Context, req *pb.UserRequest) (*pb.UserResponse, error) {
	if err := validateID(req.GetId()); err != nil {
		return nil, err
	}
	u, err := s.store.Get(ctx, req.GetId())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &pb.UserResponse{Error: true, Message: msgNotFound}, nil
	case err != nil:
		return nil, s.storeError(ctx, "get user", err)
	}
	return &pb.UserResponse{User: u}, nil
}

// AddUser stores a new user, durably, or answers the in-band "already exist".
func (s *Service) AddUser(ctx context.Context, u *pb.User) (*pb.UserResponse, error) {
	if err := ValidateUser(u); err != nil {
		return nil, err
	}
	err := s.store.Add(ctx, u)
	switch {
	case errors.Is(err, store.ErrExists):
		return &pb.UserResponse{Error: true, Message: msgAlreadyExist}, nil
	case err != nil:
		return nil, s.storeError(ctx, "add user", err)
	}
	return &pb.UserResponse{User: u}, nil
}

// CountAlreadyUsers counts the received requests whose id exists, each
// message on its own, and answers once the client half-closes.
func (s *Service) CountAlreadyUsers(stream grpc.ClientStreamingServer[pb.UserRequest, pb.UserCntResponse]) error {
	ctx := stream.Context()
	var count uint32
	for n := 0; ; n++ {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&pb.UserCntResponse{UserCnt: count})
		}
		if err != nil {
			return err
		}
		if n >= s.maxStreamMsgs {
			return tooManyMessages(s.maxStreamMsgs)
		}
		exists, err := s.exists(ctx, req.GetId())
		if err != nil {
			return err
		}
		if exists {
			count++
		}
	}
}

// GetUsersByType streams every user of the requested type in ascending id
// order, reading the store a page at a time.
func (s *Service) GetUsersByType(req *pb.UserTypeRequest, stream grpc.ServerStreamingServer[pb.UserResponse]) error {
	if err := validateType(req.GetUserType()); err != nil {
		return err
	}
	ctx := stream.Context()
	typ := pb.User_UserType(req.GetUserType())
	var after uint32
	for {
		page, err := s.store.ListByType(ctx, typ, after, s.pageSize)
		if err != nil {
			return s.storeError(ctx, "list users", err)
		}
		for _, u := range page {
			if err := stream.Send(&pb.UserResponse{User: u}); err != nil {
				return err
			}
			after = u.GetId()
		}
		if len(page) < s.pageSize {
			return nil
		}
	}
}

// GetUsersByIds answers each received id that exists with its user as soon
// as the request arrives; unknown ids get no reply.
func (s *Service) GetUsersByIds(stream grpc.BidiStreamingServer[pb.UserRequest, pb.UserResponse]) error {
	ctx := stream.Context()
	for n := 0; ; n++ {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n >= s.maxStreamMsgs {
			return tooManyMessages(s.maxStreamMsgs)
		}
		if err := validateID(req.GetId()); err != nil {
			return err
		}
		u, err := s.store.Get(ctx, req.GetId())
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return s.storeError(ctx, "get user", err)
		}
		if err := stream.Send(&pb.UserResponse{User: u}); err != nil {
			return err
		}
	}
}

func (s *Service) exists(ctx context.Context, id uint32) (bool, error) {
	if err := validateID(id); err != nil {
		return false, err
	}
	_, err := s.store.Get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, s.storeError(ctx, "get user", err)
	}
	return true, nil
}

func tooManyMessages(limit int) error {
	return status.Error(codes.ResourceExhausted, fmt.Sprintf("stream: more than %d requests", limit))
}
