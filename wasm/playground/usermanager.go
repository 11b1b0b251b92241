//go:build js && wasm && !explorer

package main

import (
	"context"
	"io"

	"google.golang.org/grpc/metadata"

	pb "github.com/grpcplay/playground/pb/browserpb"
	"github.com/grpcplay/playground/wasm/client"
)

// UserManager's method paths. The service has no proto package, so its
// full name is "UserManager".
const (
	methodGetUser           = "/UserManager/GetUser"
	methodAddUser           = "/UserManager/AddUser"
	methodCountAlreadyUsers = "/UserManager/CountAlreadyUsers"
	methodGetUsersByType    = "/UserManager/GetUsersByType"
	methodGetUsersByIds     = "/UserManager/GetUsersByIds"
)

// userManager calls the UserManager service on the page's client.Conn, as
// the generated client would.
//
// It is written by hand because the generated client
// (pb.NewUserManagerClient on package grpcconn) would link
// google.golang.org/grpc, taking main.wasm from 2.0 MB gzip to about 4.4,
// over its budget; TestBrowserBuildImports keeps grpc out of the page. For
// the same reason its messages are pb/browserpb's, user.proto's messages
// generated alone by protoc-gen-go-lite, which the client's DefaultCodec
// encodes without protobuf-go (TestPageLinksNoProtobuf).
type userManager struct {
	c *client.Conn
}

// GetUser returns the user with req's id (unary).
func (u *userManager) GetUser(ctx context.Context, req *pb.UserRequest, opts ...client.CallOption) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := u.c.Invoke(ctx, methodGetUser, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// AddUser stores a new user (unary).
func (u *userManager) AddUser(ctx context.Context, req *pb.User, opts ...client.CallOption) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := u.c.Invoke(ctx, methodAddUser, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// GetUsersByType streams the users of req's type (server streaming).
func (u *userManager) GetUsersByType(ctx context.Context, req *pb.UserTypeRequest, opts ...client.CallOption) (*byTypeStream, error) {
	// A context of the call's own, to end it should the request not go.
	ctx, cancel := context.WithCancel(ctx)
	s, err := u.c.NewStream(ctx, client.StreamDesc{ServerStreams: true}, methodGetUsersByType, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	if err := s.SendMsg(req); err != nil && err != io.EOF {
		cancel()
		return nil, err
	}
	context.AfterFunc(s.Context(), cancel) // the call's end releases it
	s.CloseSend()
	return &byTypeStream{s}, nil
}

// CountAlreadyUsers counts how many of the streamed ids exist (client
// streaming).
func (u *userManager) CountAlreadyUsers(ctx context.Context, opts ...client.CallOption) (*countStream, error) {
	s, err := u.c.NewStream(ctx, client.StreamDesc{ClientStreams: true}, methodCountAlreadyUsers, opts...)
	if err != nil {
		return nil, err
	}
	return &countStream{s}, nil
}

// GetUsersByIds answers each streamed id that exists with its user
// (bidirectional streaming).
func (u *userManager) GetUsersByIds(ctx context.Context, opts ...client.CallOption) (*byIDsStream, error) {
	s, err := u.c.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, methodGetUsersByIds, opts...)
	if err != nil {
		return nil, err
	}
	return &byIDsStream{s}, nil
}

// byTypeStream receives the users of a GetUsersByType call.
type byTypeStream struct {
	s *client.Stream
}

// Recv returns the next response; io.EOF at a clean end, else the status error.
func (b *byTypeStream) Recv() (*pb.UserResponse, error) { return recvUser(b.s) }

// Header returns the response headers, waiting for them.
func (b *byTypeStream) Header() (metadata.MD, error) { return b.s.Header() }

// Trailer returns the trailers, complete once Recv returned an error.
func (b *byTypeStream) Trailer() metadata.MD { return b.s.Trailer() }

// countStream sends the ids of a CountAlreadyUsers call and receives its
// one response.
type countStream struct {
	s *client.Stream
}

// Send sends one id. io.EOF means the call ended: CloseAndRecv tells how.
func (c *countStream) Send(m *pb.UserRequest) error { return c.s.SendMsg(m) }

// CloseAndRecv half-closes the call and returns its response.
func (c *countStream) CloseAndRecv() (*pb.UserCntResponse, error) {
	c.s.CloseSend()
	resp := new(pb.UserCntResponse)
	if err := c.s.RecvMsg(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// Header returns the response headers, waiting for them.
func (c *countStream) Header() (metadata.MD, error) { return c.s.Header() }

// Trailer returns the trailers, complete once CloseAndRecv returned.
func (c *countStream) Trailer() metadata.MD { return c.s.Trailer() }

// byIDsStream sends the ids and receives the users of a GetUsersByIds
// call.
type byIDsStream struct {
	s *client.Stream
}

// Send sends one id. io.EOF means the call ended: Recv tells how.
func (b *byIDsStream) Send(m *pb.UserRequest) error { return b.s.SendMsg(m) }

// Recv returns the next response; io.EOF at a clean end, else the status error.
func (b *byIDsStream) Recv() (*pb.UserResponse, error) { return recvUser(b.s) }

// CloseSend says the client has finished sending.
func (b *byIDsStream) CloseSend() error { return b.s.CloseSend() }

// Header returns the response headers, waiting for them.
func (b *byIDsStream) Header() (metadata.MD, error) { return b.s.Header() }

// Trailer returns the trailers, complete once Recv returned an error.
func (b *byIDsStream) Trailer() metadata.MD { return b.s.Trailer() }

// recvUser receives s's next UserResponse.
func recvUser(s *client.Stream) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := s.RecvMsg(resp); err != nil {
		return nil, err
	}
	return resp, nil
}
