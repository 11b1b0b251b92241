package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/wasm/client"
)

// The transports -transport chooses from.
const (
	// transportNative is native gRPC (HTTP/2) through grpc-go.
	transportNative = "native"
	// transportGRPCWeb is gRPC-Web over HTTP for unary and server-streaming
	// calls and the WebSocket bridge for the others, through wasm/client:
	// what the browser page does.
	transportGRPCWeb = "grpcweb"
	// transportWebSocket is every call over the WebSocket bridge, through
	// wasm/client.
	transportWebSocket = "websocket"
	// transportMux is every call on one multiplexed WebSocket
	// (grpc-mux.v1), through wasm/client.
	transportMux = "mux"
)

// transports lists the transports in the order the usage text names them,
// but mux, which needs a server that offers grpc-mux.v1: the tests run
// every call over each of these against the playground's server.
func transports() []string {
	return []string{transportNative, transportGRPCWeb, transportWebSocket}
}

// transportNames lists every value of -transport.
func transportNames() []string { return append(transports(), transportMux) }

// userManager is the five UserManager calls as the CLI makes them. One
// adapter per client library puts its transports behind it, so the calls
// (calls.go) are written once.
type userManager interface {
	GetUser(ctx context.Context, req *pb.UserRequest) (*pb.UserResponse, error)
	AddUser(ctx context.Context, req *pb.User) (*pb.UserResponse, error)
	GetUsersByType(ctx context.Context, req *pb.UserTypeRequest) (userStream, error)
	CountAlreadyUsers(ctx context.Context) (countStream, error)
	GetUsersByIds(ctx context.Context) (idsStream, error)
}

// userStream receives a stream of users; io.EOF ends it with status OK.
type userStream interface {
	Recv() (*pb.UserResponse, error)
}

// idSender sends a stream of ids; io.EOF means the call already ended and
// receiving tells how.
type idSender interface {
	Send(*pb.UserRequest) error
}

// countStream is the client side of CountAlreadyUsers.
type countStream interface {
	idSender
	CloseAndRecv() (*pb.UserCntResponse, error)
}

// idsStream is the client side of GetUsersByIds.
type idsStream interface {
	idSender
	userStream
	CloseSend() error
}

// conn is a connection to the server over one transport.
type conn struct {
	users userManager
	close func() error
}

// dial prepares a connection to addr (host:port) over transport. Neither
// client library connects before the first call, so an unreachable server
// shows as the call's Unavailable status.
func dial(transport, addr string) (*conn, error) {
	switch transport {
	case transportNative:
		cc, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithUserAgent("usercli"))
		if err != nil {
			return nil, fmt.Errorf("native gRPC client: %w", err)
		}
		return &conn{
			users: grpcUsers{pb.NewUserManagerClient(cc)},
			close: cc.Close,
		}, nil
	case transportGRPCWeb, transportWebSocket, transportMux:
		opts := []client.DialOption{client.WithMultiplexing(client.MultiplexNever)}
		switch transport {
		case transportWebSocket:
			opts = append(opts, client.WithWebSocketForAll())
		case transportMux:
			opts = []client.DialOption{client.WithMultiplexing(client.MultiplexAlways)}
		}
		c, err := client.Dial("http://"+addr, opts...)
		if err != nil {
			return nil, fmt.Errorf("%s client: %w", transport, err)
		}
		return &conn{
			users: webUsers{client.NewUserManagerClient(c)},
			close: c.Close,
		}, nil
	}
	return nil, fmt.Errorf("unknown transport %q", transport)
}

// grpcUsers is grpc-go's generated client as a userManager.
type grpcUsers struct{ c pb.UserManagerClient }

func (g grpcUsers) GetUser(ctx context.Context, req *pb.UserRequest) (*pb.UserResponse, error) {
	return g.c.GetUser(ctx, req)
}

func (g grpcUsers) AddUser(ctx context.Context, req *pb.User) (*pb.UserResponse, error) {
	return g.c.AddUser(ctx, req)
}

func (g grpcUsers) GetUsersByType(ctx context.Context, req *pb.UserTypeRequest) (userStream, error) {
	return g.c.GetUsersByType(ctx, req)
}

func (g grpcUsers) CountAlreadyUsers(ctx context.Context) (countStream, error) {
	return g.c.CountAlreadyUsers(ctx)
}

func (g grpcUsers) GetUsersByIds(ctx context.Context) (idsStream, error) {
	return g.c.GetUsersByIds(ctx)
}

// webUsers is wasm/client's typed client (gRPC-Web and the WebSocket
// bridge) as a userManager.
type webUsers struct{ c *client.UserManagerClient }

func (w webUsers) GetUser(ctx context.Context, req *pb.UserRequest) (*pb.UserResponse, error) {
	return w.c.GetUser(ctx, req)
}

func (w webUsers) AddUser(ctx context.Context, req *pb.User) (*pb.UserResponse, error) {
	return w.c.AddUser(ctx, req)
}

// The stream methods return a nil interface, not a nil pointer in one, on
// failure.

func (w webUsers) GetUsersByType(ctx context.Context, req *pb.UserTypeRequest) (userStream, error) {
	s, err := w.c.GetUsersByType(ctx, req)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (w webUsers) CountAlreadyUsers(ctx context.Context) (countStream, error) {
	s, err := w.c.CountAlreadyUsers(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (w webUsers) GetUsersByIds(ctx context.Context) (idsStream, error) {
	s, err := w.c.GetUsersByIds(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}
