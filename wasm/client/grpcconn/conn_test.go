//go:build !js

package grpcconn_test

import (
	"context"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/wasm/client/grpcconn"
)

// testTimeout bounds a test's calls so that a broken adapter fails instead
// of hanging; no test asserts on time.
const testTimeout = time.Minute

// The metadata grpc-go's interop server echoes: the first in the response
// headers, the second in the trailers.
const (
	echoInitial  = "x-grpc-test-echo-initial"
	echoTrailing = "x-grpc-test-echo-trailing-bin"
)

func dial(t *testing.T, url string, tr int) *grpcconn.Conn {
	t.Helper()
	conn, err := grpcconn.Dial(url, transports[tr].opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if _, ok := status.FromError(err); !ok || status.Code(err) != want {
		t.Fatalf("error %v (%T), want a status error with code %v", err, err, want)
	}
}

// wantNoProtocolNames fails when md holds the protocol's own names, which
// grpc-go keeps out of the metadata it reports.
func wantNoProtocolNames(t *testing.T, what string, md metadata.MD) {
	t.Helper()
	for _, k := range []string{"grpc-status", "grpc-message", "grpc-encoding", "grpc-timeout"} {
		if _, ok := md[k]; ok {
			t.Errorf("%s hold %s: %v", what, k, md)
		}
	}
}

// wantHeaderOfEarlyEnd checks the headers reported for a unary or
// server-streaming call whose server failed before it sent headers. Over
// gRPC-Web the front answers trailers-only, and they are nil, as grpc-go
// reports them. Over the bridge the front, as improbable-eng's reference
// bridge does, starts every response with a header block, here an empty
// one (just its content type); a client cannot tell it from headers the
// handler sent empty, so the Conn reports them.
func wantHeaderOfEarlyEnd(t *testing.T, transport string, hdr metadata.MD) {
	t.Helper()
	var want metadata.MD
	if transport == "websocket" {
		want = metadata.MD{"content-type": {"application/grpc-web+proto"}}
	}
	if !maps.EqualFunc(hdr, want, slices.Equal) || (want == nil) != (hdr == nil) {
		t.Errorf("headers of a call that failed before sending any = %#v, want %#v", hdr, want)
	}
}

// The generated UserManager client, unchanged, calls the playground's own
// service through the Conn: all four call types, on both transports.
func TestGeneratedUserManager(t *testing.T) {
	url := startFront(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	normal := []uint32{3, 5, 6} // the tutorial's NORMAL users, and those added below
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			um := pb.NewUserManagerClient(dial(t, url, i))
			r, err := um.GetUser(ctx, &pb.UserRequest{Id: 1})
			if err != nil || r.GetUser().GetNickname() != "admin" {
				t.Fatalf("GetUser(1) = %v, %v", r, err)
			}
			_, err = um.GetUser(ctx, &pb.UserRequest{Id: 0})
			wantCode(t, err, codes.InvalidArgument)
			id := uint32(100 + i)
			r, err = um.AddUser(ctx, &pb.User{Id: id, Nickname: "new", MailAddress: "new@example.com", UserType: pb.User_NORMAL})
			if err != nil || r.GetError() || r.GetUser().GetId() != id {
				t.Fatalf("AddUser = %v, %v", r, err)
			}
			normal = append(normal, id)

			byType, err := um.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL})
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint32
			for {
				r, err := byType.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.GetUser().GetId())
			}
			if !slices.Equal(ids, normal) {
				t.Errorf("GetUsersByType(NORMAL) = %v, want %v", ids, normal)
			}

			count, err := um.CountAlreadyUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []uint32{1, 2, 99} {
				if err := count.Send(&pb.UserRequest{Id: id}); err != nil {
					t.Fatal(err)
				}
			}
			if c, err := count.CloseAndRecv(); err != nil || c.GetUserCnt() != 2 {
				t.Fatalf("CountAlreadyUsers(1, 2, 99) = %v, %v", c, err)
			}

			bidi, err := um.GetUsersByIds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []uint32{2, 1} {
				if err := bidi.Send(&pb.UserRequest{Id: id}); err != nil {
					t.Fatal(err)
				}
				if r, err := bidi.Recv(); err != nil || r.GetUser().GetId() != id {
					t.Fatalf("GetUsersByIds(%d) = %v, %v", id, r, err)
				}
			}
			if err := bidi.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if _, err := bidi.Recv(); err != io.EOF {
				t.Fatalf("GetUsersByIds end = %v, want io.EOF", err)
			}
		})
	}
}

// grpc.Header and grpc.Trailer on unary calls: the server's metadata
// without the protocol's own names; nil headers for a call that ended
// without any.
func TestHeaderTrailerOptions(t *testing.T) {
	url := startFront(t)
	base, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ctx := metadata.NewOutgoingContext(base, metadata.Pairs(echoInitial, "hello", echoTrailing, "\x00\xff"))
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tc := testgrpc.NewTestServiceClient(dial(t, url, i))
			var hdr, trl metadata.MD
			if _, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1}, grpc.Header(&hdr), grpc.Trailer(&trl)); err != nil {
				t.Fatal(err)
			}
			if got := hdr[echoInitial]; !slices.Equal(got, []string{"hello"}) {
				t.Errorf("header %s = %q, want hello", echoInitial, got)
			}
			if got := trl[echoTrailing]; !slices.Equal(got, []string{"\x00\xff"}) {
				t.Errorf("trailer %s = %q, want the two bytes", echoTrailing, got)
			}
			wantNoProtocolNames(t, "headers", hdr)
			wantNoProtocolNames(t, "trailers", trl)

			hdr, trl = metadata.MD{"stale": {"x"}}, nil
			_, err := tc.UnaryCall(base, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.Aborted), Message: "no"}},
				grpc.Header(&hdr), grpc.Trailer(&trl))
			wantCode(t, err, codes.Aborted)
			wantHeaderOfEarlyEnd(t, tr.name, hdr)
			if trl == nil {
				t.Error("trailers of a failed call are nil, want the (empty) trailers")
			}
			wantNoProtocolNames(t, "trailers", trl)
		})
	}
}

// A stream's Header, Trailer, CloseSend and Context, and the Header and
// Trailer options on a stream, as grpc.ClientStream documents them.
func TestStreamMetadata(t *testing.T) {
	url := startFront(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	type key struct{}
	ctx = context.WithValue(ctx, key{}, "caller")
	mdCtx := metadata.NewOutgoingContext(ctx, metadata.Pairs(echoInitial, "hello", echoTrailing, "\x01"))
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tc := testgrpc.NewTestServiceClient(dial(t, url, i))
			var hdrOpt, trlOpt metadata.MD
			s, err := tc.FullDuplexCall(mdCtx, grpc.Header(&hdrOpt), grpc.Trailer(&trlOpt))
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := s.Header()
			if err != nil || !slices.Equal(hdr[echoInitial], []string{"hello"}) {
				t.Fatalf("Header() = %v, %v; want %s: hello", hdr, err, echoInitial)
			}
			if err := s.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 3}}}); err != nil {
				t.Fatal(err)
			}
			if r, err := s.Recv(); err != nil || len(r.GetPayload().GetBody()) != 3 {
				t.Fatalf("Recv() = %v, %v", r, err)
			}
			if s.Context().Err() != nil || s.Context().Value(key{}) != "caller" {
				t.Fatalf("Context() of a call in flight: err %v, value %v", s.Context().Err(), s.Context().Value(key{}))
			}
			if err := s.CloseSend(); err != nil {
				t.Fatalf("CloseSend() = %v", err)
			}
			if err := s.CloseSend(); err != nil {
				t.Fatalf("second CloseSend() = %v", err)
			}
			if _, err := s.Recv(); err != io.EOF {
				t.Fatalf("Recv() at the end = %v, want io.EOF", err)
			}
			if got := s.Trailer()[echoTrailing]; !slices.Equal(got, []string{"\x01"}) {
				t.Errorf("Trailer() %s = %q", echoTrailing, got)
			}
			wantNoProtocolNames(t, "Trailer()", s.Trailer())
			wantNoProtocolNames(t, "Header()", hdr)
			if s.Context().Err() == nil {
				t.Error("Context() is not done once the call ended")
			}
			if !slices.Equal(hdrOpt[echoInitial], []string{"hello"}) || !slices.Equal(trlOpt[echoTrailing], []string{"\x01"}) {
				t.Errorf("grpc.Header, grpc.Trailer on a stream: %v, %v", hdrOpt, trlOpt)
			}

			// A call that ends before its server sent headers: the handler
			// fails on the response type, before its first message.
			out, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{
				ResponseType:       testpb.PayloadType(99),
				ResponseParameters: []*testpb.ResponseParameters{{Size: 1}},
			})
			if err != nil {
				t.Fatal(err)
			}
			hdr, err = out.Header()
			if err != nil {
				t.Errorf("Header() = %v, want no error: RecvMsg returns the status", err)
			}
			wantHeaderOfEarlyEnd(t, tr.name, hdr)
			_, err = out.Recv()
			wantCode(t, err, codes.Unknown)
			wantNoProtocolNames(t, "Trailer()", out.Trailer())
		})
	}
}

// A call that cannot reach the server: Header says nil, nil, RecvMsg says
// Unavailable, at once, with or without WaitForReady (see the package
// comment): the deadline is far.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tc := testgrpc.NewTestServiceClient(dial(t, url, i))
			for _, wait := range []bool{false, true} {
				_, err := tc.EmptyCall(ctx, &testpb.Empty{}, grpc.WaitForReady(wait))
				wantCode(t, err, codes.Unavailable)
				_, err = tc.StreamingInputCall(ctx, grpc.WaitForReady(wait))
				wantCode(t, err, codes.Unavailable)
			}
			s, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
			if tr.name == "websocket" { // the bridge's socket opens in NewStream
				wantCode(t, err, codes.Unavailable)
				return
			}
			if err != nil { // over gRPC-Web the request leaves with the first Header or Recv
				t.Fatalf("StreamingOutputCall: %v", err)
			}
			if hdr, err := s.Header(); hdr != nil || err != nil {
				t.Errorf("Header() = %v, %v; want nil, nil", hdr, err)
			}
			_, err = s.Recv()
			wantCode(t, err, codes.Unavailable)
		})
	}
}

// grpc.MaxCallRecvMsgSize and grpc.MaxCallSendMsgSize bound the call's
// messages; a send over the limit aborts the call, and RecvMsg returns the
// same error.
func TestMessageSizeOptions(t *testing.T) {
	url := startFront(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	payload := &testpb.Payload{Body: make([]byte, 1000)}
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tc := testgrpc.NewTestServiceClient(dial(t, url, i))
			_, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1000}, grpc.MaxCallRecvMsgSize(100))
			wantCode(t, err, codes.ResourceExhausted)
			_, err = tc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload}, grpc.MaxCallSendMsgSize(100))
			wantCode(t, err, codes.ResourceExhausted)
			if _, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: payload, ResponseSize: 1000}, grpc.MaxCallSendMsgSize(2000), grpc.MaxCallRecvMsgSize(2000)); err != nil {
				t.Errorf("UnaryCall within the limits: %v", err)
			}

			_, err = tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{Payload: payload}, grpc.MaxCallSendMsgSize(100))
			wantCode(t, err, codes.ResourceExhausted)

			in, err := tc.StreamingInputCall(ctx, grpc.MaxCallSendMsgSize(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := in.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte("small")}}); err != nil {
				t.Fatal(err)
			}
			err = in.Send(&testpb.StreamingInputCallRequest{Payload: payload})
			wantCode(t, err, codes.ResourceExhausted)
			if err := in.Send(&testpb.StreamingInputCallRequest{}); err != io.EOF {
				t.Errorf("Send after the abort = %v, want io.EOF", err)
			}
			_, recvErr := in.CloseAndRecv()
			if recvErr != err {
				t.Errorf("CloseAndRecv after the abort = %v, want the send's error %v", recvErr, err)
			}
		})
	}
}

// Messages that are not protobuf messages fail with grpc-go's errors, a
// response only once it arrived: a call that fails first says how.
func TestNotProtobuf(t *testing.T) {
	url := startFront(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			conn := dial(t, url, i)
			const empty = "/grpc.testing.TestService/EmptyCall"
			var notProto struct{}
			err := conn.Invoke(ctx, empty, &notProto, new(emptypb.Empty))
			wantCode(t, err, codes.Internal)
			if !strings.Contains(err.Error(), "error while marshaling") {
				t.Errorf("request error %q", err)
			}
			err = conn.Invoke(ctx, empty, new(emptypb.Empty), &notProto)
			wantCode(t, err, codes.Internal)
			if !strings.Contains(err.Error(), "failed to unmarshal the received message") {
				t.Errorf("response error %q", err)
			}
			err = conn.Invoke(ctx, empty, nil, nil)
			wantCode(t, err, codes.Internal)
			if err := conn.Invoke(ctx, empty, nil, new(emptypb.Empty)); err != nil {
				t.Errorf("a nil request is an empty message: %v", err)
			}

			desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
			s, err := conn.NewStream(ctx, desc, "/grpc.testing.TestService/FullDuplexCall")
			if err != nil {
				t.Fatal(err)
			}
			err = s.SendMsg(notProto)
			wantCode(t, err, codes.Internal)
			if got := s.RecvMsg(new(testpb.StreamingOutputCallResponse)); got != err {
				t.Errorf("RecvMsg after the abort = %v, want %v", got, err)
			}

			s, err = conn.NewStream(ctx, desc, "/grpc.testing.TestService/FullDuplexCall")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SendMsg(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 1}}}); err != nil {
				t.Fatal(err)
			}
			err = s.RecvMsg(&notProto)
			wantCode(t, err, codes.Internal)
			if got := s.RecvMsg(new(testpb.StreamingOutputCallResponse)); got != err {
				t.Errorf("RecvMsg after the abort = %v, want %v", got, err)
			}
			if s.Context().Err() == nil {
				t.Error("the aborted call goes on")
			}

			// A call whose client does not stream: SendMsg says nil once
			// the call is over, as the generated code expects.
			s, err = conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/grpc.testing.TestService/StreamingOutputCall", grpc.MaxCallSendMsgSize(1))
			if err != nil {
				t.Fatal(err)
			}
			err = s.SendMsg(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("big")}})
			wantCode(t, err, codes.ResourceExhausted)
			if err := s.SendMsg(&testpb.StreamingOutputCallRequest{}); err != nil {
				t.Errorf("SendMsg after the abort = %v, want nil", err)
			}
		})
	}
}

// CallOptions the Conn does not support are ignored, the generated code's
// grpc.StaticMethod among them: the call goes on as without them, and
// OnFinish is not called.
func TestIgnoredOptions(t *testing.T) {
	url := startFront(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	finished := false
	ignored := []grpc.CallOption{
		grpc.CallContentSubtype("json"),
		grpc.MaxRetryRPCBufferSize(1),
		grpc.OnFinish(func(error) { finished = true }),
		grpc.StaticMethod(),
		grpc.EmptyCallOption{},
	}
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tc := testgrpc.NewTestServiceClient(dial(t, url, i))
			r, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 5}, ignored...)
			if err != nil || len(r.GetPayload().GetBody()) != 5 {
				t.Fatalf("UnaryCall = %v, %v", r, err)
			}
			s, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 2}}}, ignored...)
			if err != nil {
				t.Fatal(err)
			}
			if r, err := s.Recv(); err != nil || len(r.GetPayload().GetBody()) != 2 {
				t.Fatalf("Recv() = %v, %v", r, err)
			}
			if _, err := s.Recv(); err != io.EOF {
				t.Fatalf("Recv() at the end = %v", err)
			}
		})
	}
	if finished {
		t.Error("OnFinish was called")
	}
}
