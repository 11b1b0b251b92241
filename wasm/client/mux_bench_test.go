//go:build !js

package client_test

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
)

// The client on the multiplexed socket, against the test mux server (a
// write per frame, no batching: the real server's numbers come from make
// bench), beside the per-call transports against the test peer.

func benchConn(b *testing.B, url string, opts ...client.DialOption) *client.Conn {
	c, err := client.Dial(url, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func benchUnary(b *testing.B, c *client.Conn, method string, req, resp proto.Message) {
	ctx := context.Background()
	if err := c.Invoke(ctx, method, req, resp); err != nil { // the socket or connection opens
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Invoke(ctx, method, req, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRoundTrips(b *testing.B, c *client.Conn, method string, m proto.Message) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.NewStream(ctx, bidi, method)
	if err != nil {
		b.Fatal(err)
	}
	resp := proto.Clone(m)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SendMsg(m); err != nil {
			b.Fatal(err)
		}
		if err := s.RecvMsg(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMuxUnary(b *testing.B) {
	_, url := startMuxServer(b, grpcwire.DefaultMuxSettings())
	benchUnary(b, benchConn(b, url, client.WithMultiplexing(client.MultiplexAlways)), muxMethodEcho, &pb.User{Id: 1}, new(pb.User))
}

func BenchmarkGRPCWebUnary(b *testing.B) {
	c := benchConn(b, startPeer(b), client.WithMultiplexing(client.MultiplexNever))
	benchUnary(b, c, peerEcho, &pb.UserRequest{Id: 1}, new(pb.UserRequest))
}

func BenchmarkMuxBidiRoundTrip(b *testing.B) {
	_, url := startMuxServer(b, grpcwire.DefaultMuxSettings())
	benchRoundTrips(b, benchConn(b, url, client.WithMultiplexing(client.MultiplexAlways)), muxMethodEcho, &pb.User{Id: 1})
}

func BenchmarkPerCallSocketBidiRoundTrip(b *testing.B) {
	c := benchConn(b, startPeer(b), client.WithMultiplexing(client.MultiplexNever))
	benchRoundTrips(b, c, peerWSEcho, &pb.UserRequest{Id: 1})
}
