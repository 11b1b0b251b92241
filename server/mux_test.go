package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
)

// The grpc-mux.v1 tests: the real server (servertest.Start) with the real
// Go client (wasm/client, built natively) putting every call on one
// multiplexed socket, and a raw client (mux_raw_test.go) that writes
// frames by hand to break the protocol.

// muxDial dials url with every call on the multiplexed socket.
func muxDial(t *testing.T, url string, opts ...client.DialOption) *client.Conn {
	t.Helper()
	c, err := client.Dial(url, append([]client.DialOption{client.WithMultiplexing(client.MultiplexAlways)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMuxCallTypes makes the four kinds of call over one socket, as the
// bridge's tests make them over one socket each.
func TestMuxCallTypes(t *testing.T) {
	ln := newCountingListener(t)
	ts := bridgeStart(t, server.Config{}, servertest.WithListener(ln))
	conn := muxDial(t, ts.URL)
	ctx := t.Context()

	t.Run("unary", func(t *testing.T) {
		var got pb.UserResponse
		var header, trailer metadata.MD
		if err := conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, &got, client.Header(&header), client.Trailer(&trailer)); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.GetUser(), bridgeSeedUsers[1]) {
			t.Fatalf("reply %v", &got)
		}
		err := conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{}, &got)
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("id 0: %v; want InvalidArgument", err)
		}
		err = conn.Invoke(ctx, "/UserManager/Nope", &pb.UserRequest{}, &got)
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("unknown method: %v; want Unimplemented", err)
		}
	})
	t.Run("server stream", func(t *testing.T) {
		s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, "/UserManager/GetUsersByType")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(&pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL}); err != nil {
			t.Fatal(err)
		}
		var ids []uint32
		for {
			var r pb.UserResponse
			err := s.RecvMsg(&r)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.GetUser().GetId())
		}
		if fmt.Sprint(ids) != "[3 5 6]" {
			t.Fatalf("ids %v; want [3 5 6]", ids)
		}
	})
	t.Run("client stream", func(t *testing.T) {
		s, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true}, "/UserManager/CountAlreadyUsers")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []uint32{1, 2, 99, 1, 6, 4242} {
			if err := s.SendMsg(&pb.UserRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
		}
		s.CloseSend()
		var got pb.UserCntResponse
		if err := s.RecvMsg(&got); err != nil {
			t.Fatal(err)
		}
		if got.GetUserCnt() != 4 {
			t.Fatalf("reply %v; want user_cnt 4", &got)
		}
	})
	t.Run("bidi", func(t *testing.T) {
		s, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/UserManager/GetUsersByIds")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []uint32{2, 5, 2} {
			if err := s.SendMsg(&pb.UserRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
			var r pb.UserResponse
			if err := s.RecvMsg(&r); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(r.GetUser(), bridgeSeedUsers[id]) {
				t.Fatalf("id %d: reply %v", id, &r)
			}
		}
		s.CloseSend()
		if err := s.RecvMsg(new(pb.UserResponse)); err != io.EOF {
			t.Fatalf("after the half-close: %v; want io.EOF", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
		time.Sleep(time.Millisecond)
		err := conn.Invoke(dctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, new(pb.UserResponse))
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("%v; want DeadlineExceeded", err)
		}
	})
	if n := ln.accepted.Load(); n != 1 {
		t.Fatalf("%d TCP connections; want every call on one socket", n)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &countingListener{Listener: ln}
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}
