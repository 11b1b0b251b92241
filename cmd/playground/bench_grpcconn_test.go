package main

import (
	"context"
	"testing"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/grpcconn"
)

// BenchmarkGRPCConn measures one sequential GetUser call as gRPC-Web over
// HTTP/1.1, two ways on the same client core: the generated client
// (pb.NewUserManagerClient) on the grpcconn adapter, and our client's own
// Invoke, the adapter's baseline.
func BenchmarkGRPCConn(b *testing.B) {
	f := fix.get(b)
	ctx := context.Background()
	req := &pb.UserRequest{Id: 1}
	dial := func(b *testing.B) *client.Conn {
		conn, err := client.Dial("http://"+f.ours, client.WithMultiplexing(client.MultiplexNever))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		return conn
	}
	cases := []struct {
		name string
		call func(b *testing.B) func() error
	}{
		{"adapter", func(b *testing.B) func() error {
			um := pb.NewUserManagerClient(grpcconn.New(dial(b)))
			return func() error { _, err := um.GetUser(ctx, req); return err }
		}},
		{"invoke", func(b *testing.B) func() error {
			conn := dial(b)
			return func() error {
				return conn.Invoke(ctx, pb.UserManager_GetUser_FullMethodName, req, new(pb.UserResponse))
			}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			call := tc.call(b)
			if err := call(); err != nil { // warm the connection
				b.Fatal(err)
			}
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
