package client

import (
	"context"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
)

// UserManager's method paths. The service has no proto package, so its
// full name is "UserManager".
const (
	MethodGetUser           = "/UserManager/GetUser"
	MethodAddUser           = "/UserManager/AddUser"
	MethodCountAlreadyUsers = "/UserManager/CountAlreadyUsers"
	MethodGetUsersByType    = "/UserManager/GetUsersByType"
	MethodGetUsersByIds     = "/UserManager/GetUsersByIds"
)

// UserManagerClient calls the UserManager service, as the generated gRPC
// client would, on a Conn.
//
// It is written by hand rather than being the generated
// pb.UserManagerClient on package grpcconn because the generated stubs
// import google.golang.org/grpc, and so does grpcconn: in a GOOS=js program
// that takes a minimal call from 1.76 MB to 4.44 MB gzip, over the page's
// 2 MB budget for main.wasm, which TestBrowserBuildImports keeps free of
// grpc. Native programs that want grpc-go's API can call
// pb.NewUserManagerClient(grpcconn.New(conn)) instead (pb's stubs are
// built for non-js only).
type UserManagerClient struct {
	c *Conn
}

// NewUserManagerClient returns a UserManager client on c.
func NewUserManagerClient(c *Conn) *UserManagerClient { return &UserManagerClient{c: c} }

// GetUser returns the user with req's id (unary).
func (u *UserManagerClient) GetUser(ctx context.Context, req *pb.UserRequest, opts ...CallOption) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := u.c.Invoke(ctx, MethodGetUser, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// AddUser stores a new user (unary).
func (u *UserManagerClient) AddUser(ctx context.Context, req *pb.User, opts ...CallOption) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := u.c.Invoke(ctx, MethodAddUser, req, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// GetUsersByType streams the users of req's type (server streaming).
func (u *UserManagerClient) GetUsersByType(ctx context.Context, req *pb.UserTypeRequest, opts ...CallOption) (*ServerStreamClient[pb.UserResponse], error) {
	s, err := u.c.NewStream(ctx, StreamDesc{ServerStreams: true}, MethodGetUsersByType, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(req); err != nil && err != io.EOF {
		s.cancel()
		return nil, err
	}
	s.CloseSend()
	return &ServerStreamClient[pb.UserResponse]{s}, nil
}

// CountAlreadyUsers counts how many of the streamed ids exist (client
// streaming).
func (u *UserManagerClient) CountAlreadyUsers(ctx context.Context, opts ...CallOption) (*ClientStreamClient[pb.UserRequest, pb.UserCntResponse], error) {
	s, err := u.c.NewStream(ctx, StreamDesc{ClientStreams: true}, MethodCountAlreadyUsers, opts...)
	if err != nil {
		return nil, err
	}
	return &ClientStreamClient[pb.UserRequest, pb.UserCntResponse]{s}, nil
}

// GetUsersByIds answers each streamed id that exists with its user
// (bidirectional streaming).
func (u *UserManagerClient) GetUsersByIds(ctx context.Context, opts ...CallOption) (*BidiStreamClient[pb.UserRequest, pb.UserResponse], error) {
	s, err := u.c.NewStream(ctx, StreamDesc{ClientStreams: true, ServerStreams: true}, MethodGetUsersByIds, opts...)
	if err != nil {
		return nil, err
	}
	return &BidiStreamClient[pb.UserRequest, pb.UserResponse]{s}, nil
}

// ServerStreamClient receives the responses of a server-streaming call.
// Res is a generated message type (its pointer is a proto.Message).
type ServerStreamClient[Res any] struct {
	s *Stream
}

// Recv returns the next response; io.EOF at a clean end, else the status error.
func (c *ServerStreamClient[Res]) Recv() (*Res, error) { return recv[Res](c.s) }

// Header returns the response headers, waiting for them.
func (c *ServerStreamClient[Res]) Header() (metadata.MD, error) { return c.s.Header() }

// Trailer returns the trailers, complete once Recv returned an error.
func (c *ServerStreamClient[Res]) Trailer() metadata.MD { return c.s.Trailer() }

// Stream returns the underlying stream.
func (c *ServerStreamClient[Res]) Stream() *Stream { return c.s }

// ClientStreamClient sends the requests of a client-streaming call and
// receives its one response.
type ClientStreamClient[Req, Res any] struct {
	s *Stream
}

// Send sends one request. io.EOF means the call ended: CloseAndRecv tells how.
func (c *ClientStreamClient[Req, Res]) Send(m *Req) error { return send(c.s, m) }

// CloseAndRecv half-closes the call and returns its response.
func (c *ClientStreamClient[Req, Res]) CloseAndRecv() (*Res, error) {
	c.s.CloseSend()
	return recv[Res](c.s)
}

// Header returns the response headers, waiting for them.
func (c *ClientStreamClient[Req, Res]) Header() (metadata.MD, error) { return c.s.Header() }

// Trailer returns the trailers, complete once CloseAndRecv returned.
func (c *ClientStreamClient[Req, Res]) Trailer() metadata.MD { return c.s.Trailer() }

// Stream returns the underlying stream.
func (c *ClientStreamClient[Req, Res]) Stream() *Stream { return c.s }

// BidiStreamClient sends and receives the messages of a bidirectional call.
type BidiStreamClient[Req, Res any] struct {
	s *Stream
}

// Send sends one request. io.EOF means the call ended: Recv tells how.
func (c *BidiStreamClient[Req, Res]) Send(m *Req) error { return send(c.s, m) }

// Recv returns the next response; io.EOF at a clean end, else the status error.
func (c *BidiStreamClient[Req, Res]) Recv() (*Res, error) { return recv[Res](c.s) }

// CloseSend says the client has finished sending.
func (c *BidiStreamClient[Req, Res]) CloseSend() error { return c.s.CloseSend() }

// Header returns the response headers, waiting for them.
func (c *BidiStreamClient[Req, Res]) Header() (metadata.MD, error) { return c.s.Header() }

// Trailer returns the trailers, complete once Recv returned an error.
func (c *BidiStreamClient[Req, Res]) Trailer() metadata.MD { return c.s.Trailer() }

// Stream returns the underlying stream.
func (c *BidiStreamClient[Req, Res]) Stream() *Stream { return c.s }

func send[Req any](s *Stream, m *Req) error {
	pm, ok := any(m).(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "%T is not a protobuf message", m)
	}
	return s.SendMsg(pm)
}

func recv[Res any](s *Stream) (*Res, error) {
	m := new(Res)
	pm, ok := any(m).(proto.Message)
	if !ok {
		return nil, status.Errorf(codes.Internal, "%T is not a protobuf message", m)
	}
	if err := s.RecvMsg(pm); err != nil {
		return nil, err
	}
	return m, nil
}
