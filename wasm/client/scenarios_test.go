package client_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/protocodec"
)

// These scenarios run natively and, in the js test under Node, through the
// browser glue: the same assertions on both.

// wantCode fails the test unless err is a status error with code want.
func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if _, ok := grpcstatus.FromError(err); !ok {
		t.Fatalf("error %v (%T) is not a status error", err, err)
	}
	if got := grpcstatus.Code(err); got != want {
		t.Fatalf("got %v (%v), want %v", got, err, want)
	}
}

// getUser calls GetUser for id on conn.
func getUser(ctx context.Context, conn *client.Conn, id uint32, opts ...client.CallOption) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := conn.Invoke(ctx, pb.UserManager_GetUser_FullMethodName, &pb.UserRequest{Id: id}, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// addUser calls AddUser for u on conn.
func addUser(ctx context.Context, conn *client.Conn, u *pb.User, opts ...client.CallOption) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := conn.Invoke(ctx, pb.UserManager_AddUser_FullMethodName, u, resp, opts...); err != nil {
		return nil, err
	}
	return resp, nil
}

// usersByType starts GetUsersByType for typ on conn, its one request sent.
// A call that already ended (io.EOF) is returned for RecvMsg to tell how.
func usersByType(ctx context.Context, conn *client.Conn, typ pb.UserTypeRequest_UserType, opts ...client.CallOption) (*client.Stream, error) {
	s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, pb.UserManager_GetUsersByType_FullMethodName, opts...)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(&pb.UserTypeRequest{UserType: typ}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return s, s.CloseSend()
}

// countUsers starts CountAlreadyUsers on conn.
func countUsers(ctx context.Context, conn *client.Conn, opts ...client.CallOption) (*client.Stream, error) {
	return conn.NewStream(ctx, client.StreamDesc{ClientStreams: true}, pb.UserManager_CountAlreadyUsers_FullMethodName, opts...)
}

// usersByIDs starts GetUsersByIds on conn.
func usersByIDs(ctx context.Context, conn *client.Conn, opts ...client.CallOption) (*client.Stream, error) {
	return conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, pb.UserManager_GetUsersByIds_FullMethodName, opts...)
}

// recvUser receives s's next UserResponse: io.EOF at a clean end, else
// the status error.
func recvUser(s *client.Stream) (*pb.UserResponse, error) {
	resp := new(pb.UserResponse)
	if err := s.RecvMsg(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkAllFive calls each UserManager method on the real server through
// conn and checks the contract's answers. newID is an id no other test
// adds.
func checkAllFive(t *testing.T, ctx context.Context, conn *client.Conn, newID uint32) {
	t.Run("GetUser", func(t *testing.T) {
		var hdr, tr metadata.MD
		resp, err := getUser(ctx, conn, 1, client.Header(&hdr), client.Trailer(&tr))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetError() || resp.GetUser().GetNickname() != "admin" || resp.GetUser().GetUserType() != pb.User_ADMINISTRATOR {
			t.Fatalf("GetUser(1) = %v", resp)
		}
		// gRPC-Web answers application/grpc-web+proto; improbable's
		// WebSocket wrapper passes on gRPC's application/grpc+proto.
		if ct := grpcwire.First(hdr, grpcwire.HeaderContentType); !strings.HasPrefix(ct, "application/grpc") || !strings.HasSuffix(ct, "+proto") {
			t.Errorf("response content-type %q, want a gRPC protobuf one (headers %v)", ct, hdr)
		}
		if grpcwire.First(tr, grpcwire.HeaderStatus) != "0" {
			t.Errorf("trailers %v, want grpc-status 0", tr)
		}
		resp, err = getUser(ctx, conn, 999)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetError() || resp.GetMessage() != "not found" {
			t.Fatalf("GetUser(999) = %v, want in-band not found", resp)
		}
	})
	t.Run("AddUser", func(t *testing.T) {
		u := &pb.User{Id: newID, Nickname: "newbie", MailAddress: "newbie@example.com", UserType: pb.User_GUEST}
		resp, err := addUser(ctx, conn, u)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetError() || !proto.Equal(resp.GetUser(), u) {
			t.Fatalf("AddUser = %v", resp)
		}
		resp, err = addUser(ctx, conn, u)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.GetError() || resp.GetMessage() != "already exist" {
			t.Fatalf("second AddUser = %v, want in-band already exist", resp)
		}
		got, err := getUser(ctx, conn, newID)
		if err != nil || !proto.Equal(got.GetUser(), u) {
			t.Fatalf("GetUser(new) = %v, %v", got, err)
		}
		var tr metadata.MD
		_, err = addUser(ctx, conn, &pb.User{Id: 0, Nickname: "x", MailAddress: "x@example.com", UserType: pb.User_NORMAL}, client.Trailer(&tr))
		wantCode(t, err, codes.InvalidArgument)
		if grpcstatus.Convert(err).Message() == "" {
			t.Error("InvalidArgument without a message")
		}
		if grpcwire.First(tr, grpcwire.HeaderStatus) != "3" {
			t.Errorf("trailers %v, want grpc-status 3", tr)
		}
	})
	t.Run("GetUsersByType", func(t *testing.T) {
		st, err := usersByType(ctx, conn, pb.UserTypeRequest_NORMAL)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint32
		for {
			r, err := recvUser(st)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.GetUser().GetId())
		}
		if len(ids) != 3 || ids[0] != 3 || ids[1] != 5 || ids[2] != 6 {
			t.Fatalf("NORMAL users %v, want [3 5 6]", ids)
		}
		hdr, err := st.Header()
		if err != nil {
			t.Fatal(err)
		}
		if grpcwire.First(hdr, grpcwire.HeaderContentType) == "" {
			t.Errorf("headers %v without content-type", hdr)
		}
		if grpcwire.First(st.Trailer(), grpcwire.HeaderStatus) != "0" {
			t.Errorf("trailers %v, want grpc-status 0", st.Trailer())
		}
		// None of that type: an empty stream with status OK.
		st, err = usersByType(ctx, conn, pb.UserTypeRequest_NONE)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := recvUser(st); err != io.EOF {
			t.Fatalf("NONE: Recv = %v, %v; want io.EOF", r, err)
		}
	})
	t.Run("CountAlreadyUsers", func(t *testing.T) {
		st, err := countUsers(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []uint32{1, 2, 999, 1} {
			if err := st.SendMsg(&pb.UserRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
		}
		st.CloseSend()
		resp := new(pb.UserCntResponse)
		if err := st.RecvMsg(resp); err != nil {
			t.Fatal(err)
		}
		if resp.GetError() || resp.GetUserCnt() != 3 {
			t.Fatalf("CountAlreadyUsers = %v, want 3", resp)
		}
		if grpcwire.First(st.Trailer(), grpcwire.HeaderStatus) != "0" {
			t.Errorf("trailers %v, want grpc-status 0", st.Trailer())
		}
	})
	t.Run("GetUsersByIds", func(t *testing.T) {
		st, err := usersByIDs(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		// Ping-pong: each answer arrives before the next request is sent.
		for _, id := range []uint32{2, 999, 3} {
			if err := st.SendMsg(&pb.UserRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
			if id == 999 {
				continue // unknown ids get no reply
			}
			r, err := recvUser(st)
			if err != nil {
				t.Fatal(err)
			}
			if r.GetUser().GetId() != id {
				t.Fatalf("asked for %d, got %v", id, r)
			}
		}
		if err := st.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if r, err := recvUser(st); err != io.EOF {
			t.Fatalf("after CloseSend: %v, %v; want io.EOF", r, err)
		}
		// An invalid id ends the call with InvalidArgument.
		st, err = usersByIDs(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SendMsg(&pb.UserRequest{Id: 0}); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		_, err = recvUser(st)
		wantCode(t, err, codes.InvalidArgument)
	})
}

// checkPeer checks, against the test peer, what the real service cannot
// show: metadata both ways, delivery of a message while the response is
// still open, and HTTP errors without grpc-status.
func checkPeer(t *testing.T, ctx context.Context, peerURL string, gateName string) {
	conn, err := client.Dial(peerURL, client.WithCodec(protocodec.Codec{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := &pb.UserRequest{Id: 42}
	t.Run("MetadataOverHTTP", func(t *testing.T) {
		ctx := metadata.NewOutgoingContext(ctx, metadata.MD{"X-Test-Text": {"hello", "world"}})
		ctx = metadata.AppendToOutgoingContext(ctx, "x-test-raw-bin", "\x00\xff\r\n")
		var hdr, tr metadata.MD
		resp := new(pb.UserRequest)
		if err := conn.Invoke(ctx, peerEcho, req, resp, client.Header(&hdr), client.Trailer(&tr)); err != nil {
			t.Fatal(err)
		}
		if resp.GetId() != 42 {
			t.Fatalf("echo = %v", resp)
		}
		for name, md := range map[string]metadata.MD{"headers": hdr, "trailers": tr} {
			if got := grpcwire.First(md, "x-test-raw-bin"); got != "\x00\xff\r\n" {
				t.Errorf("%s: x-test-raw-bin = %q (all: %v)", name, got, md)
			}
			if got := md["x-test-text"]; len(got) == 0 || (got[0] != "hello" && got[0] != "hello, world") {
				t.Errorf("%s: x-test-text = %q", name, got)
			}
		}
	})
	t.Run("DeadlineBecomesGrpcTimeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 1<<40)
		defer cancel()
		var hdr metadata.MD
		if err := conn.Invoke(ctx, peerEcho, req, new(pb.UserRequest), client.Header(&hdr)); err != nil {
			t.Fatal(err)
		}
		d, err := grpcwire.DecodeTimeout(grpcwire.First(hdr, "x-seen-grpc-timeout"))
		if err != nil || d <= 0 || d > 1<<40 {
			t.Fatalf("server saw grpc-timeout %q (%v), want at most %v", grpcwire.First(hdr, "x-seen-grpc-timeout"), err, 1<<40)
		}
	})
	t.Run("MessageBeforeResponseEnds", func(t *testing.T) {
		gctx := metadata.AppendToOutgoingContext(ctx, "x-test-gate", gateName)
		s, err := conn.NewStream(gctx, client.StreamDesc{ServerStreams: true}, peerGate)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(req); err != nil {
			t.Fatal(err)
		}
		s.CloseSend()
		// The peer holds its response open until Release: this message can
		// only arrive if the body is read as it streams.
		if err := s.RecvMsg(new(pb.UserRequest)); err != nil {
			t.Fatal(err)
		}
		if err := conn.Invoke(gctx, peerRelease, req, new(pb.UserRequest)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecvMsg(new(pb.UserRequest)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecvMsg(new(pb.UserRequest)); err != io.EOF {
			t.Fatalf("end of gate stream: %v, want io.EOF", err)
		}
	})
	// A response cardinality violation is Unimplemented at the client, as
	// gRPC's status code table says (grpc-go's client says Internal).
	t.Run("UnaryWantsExactlyOneMessage", func(t *testing.T) {
		wantCode(t, conn.Invoke(ctx, peerTwice, req, new(pb.UserRequest)), codes.Unimplemented)
		wantCode(t, conn.Invoke(ctx, peerNone, req, new(pb.UserRequest)), codes.Unimplemented)
		// The same methods as server streams are fine.
		for method, want := range map[string]int{peerTwice: 2, peerNone: 0} {
			s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, method)
			if err != nil {
				t.Fatal(err)
			}
			s.SendMsg(req)
			s.CloseSend()
			n := 0
			for ; s.RecvMsg(new(pb.UserRequest)) == nil; n++ {
			}
			if n != want {
				t.Errorf("%s: %d messages, want %d", method, n, want)
			}
		}
	})
	// A grpc-status header makes a response trailers-only only when its
	// body is empty: a body's trailers carry the status.
	t.Run("BodyStatusWinsOverHeaderStatus", func(t *testing.T) {
		var hdr metadata.MD
		resp := new(pb.UserRequest)
		if err := conn.Invoke(ctx, peerStatusTwice, req, resp, client.Header(&hdr)); err != nil {
			t.Fatalf("status OK in the body's trailers, 8 in the headers: %v", err)
		}
		if !proto.Equal(resp, req) {
			t.Errorf("the body's message: %v, want %v", resp, req)
		}
		if _, ok := hdr[grpcwire.HeaderStatus]; ok {
			t.Errorf("the headers still carry the status the body overrode: %v", hdr)
		}
	})
	t.Run("HTTPStatusWithoutGrpcStatus", func(t *testing.T) {
		for code, want := range map[string]codes.Code{"404": codes.Unimplemented, "503": codes.Unavailable, "401": codes.Unauthenticated, "500": codes.Unknown} {
			hctx := metadata.AppendToOutgoingContext(ctx, "x-test-http-status", code)
			err := conn.Invoke(hctx, peerHTTP, req, new(pb.UserRequest))
			wantCode(t, err, want)
		}
	})
	t.Run("DeadlineExpires", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 50e6)
		defer cancel()
		err := conn.Invoke(ctx, peerHang, req, new(pb.UserRequest))
		wantCode(t, err, codes.DeadlineExceeded)
	})
	// waitAborted fails the test unless the peer saw the call named by gate
	// go away.
	waitAborted := func(t *testing.T, gate string) {
		t.Helper()
		gctx := metadata.AppendToOutgoingContext(ctx, "x-test-gate", gate)
		if err := conn.Invoke(gctx, peerWaitGate, req, new(pb.UserRequest)); err != nil {
			t.Fatalf("the peer did not see the cancelled call go away: %v", err)
		}
	}
	t.Run("CancelAbortsFetch", func(t *testing.T) {
		gate := gateName + "-abort-fetch"
		ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx, "x-test-gate", gate))
		s, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, peerHang)
		if err != nil {
			t.Fatal(err)
		}
		s.SendMsg(req)
		s.CloseSend()
		if _, err := s.Header(); err != nil {
			t.Fatal(err)
		}
		cancel()
		wantCode(t, s.RecvMsg(new(pb.UserRequest)), codes.Canceled)
		waitAborted(t, gate)
	})
	t.Run("CancelClosesSocket", func(t *testing.T) {
		gate := gateName + "-abort-socket"
		ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx, "x-test-gate", gate))
		s, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, peerWSEcho)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Header(); err != nil {
			t.Fatal(err)
		}
		cancel()
		wantCode(t, s.RecvMsg(new(pb.UserRequest)), codes.Canceled)
		waitAborted(t, gate)
	})
	t.Run("MetadataOverWebSocket", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(ctx, "x-test-text", "ws", "x-test-raw-bin", "\x01\x02")
		s, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, peerWSEcho)
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := s.Header()
		if err != nil {
			t.Fatal(err)
		}
		for i := uint32(1); i <= 3; i++ {
			if err := s.SendMsg(&pb.UserRequest{Id: i}); err != nil {
				t.Fatal(err)
			}
			got := new(pb.UserRequest)
			if err := s.RecvMsg(got); err != nil || got.GetId() != i {
				t.Fatalf("echo %d: %v, %v", i, got, err)
			}
		}
		s.CloseSend()
		if err := s.RecvMsg(new(pb.UserRequest)); err != io.EOF {
			t.Fatalf("end: %v, want io.EOF", err)
		}
		tr := s.Trailer()
		for name, md := range map[string]metadata.MD{"headers": hdr, "trailers": tr} {
			if grpcwire.First(md, "x-test-text") != "ws" || grpcwire.First(md, "x-test-raw-bin") != "\x01\x02" {
				t.Errorf("%s = %v", name, md)
			}
		}
	})
}
