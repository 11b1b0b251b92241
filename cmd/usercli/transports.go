package main

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/grpcconn"
)

// The transports -transport chooses from.
const (
	// transportNative is native gRPC (HTTP/2) through grpc-go.
	transportNative = "native"
	// transportGRPCWeb is gRPC-Web over HTTP for unary and server-streaming
	// calls and the WebSocket bridge for the others, through
	// wasm/client/grpcconn: what the browser page does.
	transportGRPCWeb = "grpcweb"
	// transportWebSocket is every call over the WebSocket bridge, through
	// wasm/client/grpcconn.
	transportWebSocket = "websocket"
	// transportMux is every call on one multiplexed WebSocket
	// (grpc-mux.v1), through wasm/client.
	transportMux = "mux"
)

// transports lists the transports in the order the usage text names them:
// the tests run every call over each of them against the playground's
// server.
func transports() []string {
	return []string{transportNative, transportGRPCWeb, transportWebSocket, transportMux}
}

// transportNames lists every value of -transport.
func transportNames() []string { return transports() }

// conn is a connection to the server over one transport, on which the
// generated client (pb.NewUserManagerClient) makes its calls: a
// *grpc.ClientConn for native gRPC, a *grpcconn.Conn for the others.
type conn interface {
	grpc.ClientConnInterface
	Close() error
}

// dial prepares a connection to addr (host:port) over transport. Neither
// client library connects before the first call, so an unreachable server
// shows as the call's Unavailable status.
func dial(transport, addr string) (conn, error) {
	switch transport {
	case transportNative:
		cc, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithUserAgent("usercli"))
		if err != nil {
			return nil, fmt.Errorf("native gRPC client: %w", err)
		}
		return cc, nil
	case transportGRPCWeb, transportWebSocket, transportMux:
		opts := []client.DialOption{client.WithMultiplexing(client.MultiplexNever)}
		switch transport {
		case transportWebSocket:
			opts = append(opts, client.WithWebSocketForAll())
		case transportMux:
			opts = []client.DialOption{client.WithMultiplexing(client.MultiplexAlways)}
		}
		cc, err := grpcconn.Dial("http://"+addr, opts...)
		if err != nil {
			return nil, fmt.Errorf("%s client: %w", transport, err)
		}
		return cc, nil
	}
	return nil, fmt.Errorf("unknown transport %q", transport)
}
