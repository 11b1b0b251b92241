//go:build !js

package grpcstatus_test

import (
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

// detailed returns grpc-go's status with one detail, and its
// grpc-status-details-bin.
func detailed(t *testing.T, c codes.Code, msg string) (*status.Status, []byte) {
	t.Helper()
	st, err := status.New(c, msg).WithDetails(&errdetails.ErrorInfo{Reason: "QUOTA", Domain: "example"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(st.Proto())
	if err != nil {
		t.Fatal(err)
	}
	return st, b
}

func TestFromWire(t *testing.T) {
	want, details := detailed(t, codes.ResourceExhausted, "from details")
	for _, tc := range []struct {
		name     string
		code     codes.Code
		details  []byte
		wantMsg  string
		wantKept bool
	}{
		{"no details", codes.NotFound, nil, "from header", false},
		{"details of the same code", codes.ResourceExhausted, details, "from details", true},
		{"details of another code", codes.Internal, details, "from header", false},
		{"truncated details", codes.ResourceExhausted, details[:len(details)-3], "from header", false},
		{"not a message", codes.ResourceExhausted, []byte{0xff, 0xff}, "from header", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := grpcstatus.FromWire(tc.code, "from header", tc.details)
			if st.Code() != tc.code || st.Message() != tc.wantMsg {
				t.Errorf("got %v %q, want %v %q", st.Code(), st.Message(), tc.code, tc.wantMsg)
			}
			if kept := st.Details() != nil; kept != tc.wantKept {
				t.Fatalf("details kept: %v, want %v", kept, tc.wantKept)
			}
			if !tc.wantKept {
				return
			}
			// grpc-go reads the same status, its detail decoded.
			got := status.Convert(st.Err())
			if !proto.Equal(got.Proto(), want.Proto()) {
				t.Errorf("grpc-go reads %v, want %v", got.Proto(), want.Proto())
			}
		})
	}
}

func TestGRPCInterop(t *testing.T) {
	err := grpcstatus.Errorf(codes.PermissionDenied, "no %s", "entry")
	if got := status.Code(err); got != codes.PermissionDenied {
		t.Errorf("grpc-go's status.Code = %v", got)
	}
	if got := err.Error(); got != status.Error(codes.PermissionDenied, "no entry").Error() {
		t.Errorf("text %q differs from grpc-go's", got)
	}
	// And back: grpc-go's errors, details included, plain and wrapped.
	want, details := detailed(t, codes.Aborted, "again")
	st, ok := grpcstatus.FromError(want.Err())
	if !ok || st.Code() != codes.Aborted || st.Message() != "again" || string(st.Details()) != string(details) {
		t.Errorf("FromError(grpc-go's) = %v %v %x, %v", st.Code(), st.Message(), st.Details(), ok)
	}
	wrapped := fmt.Errorf("saving: %w", want.Err())
	if st, ok := grpcstatus.FromError(wrapped); !ok || st.Code() != codes.Aborted || st.Message() != wrapped.Error() {
		t.Errorf("FromError(wrapped grpc-go's) = %v %q, %v", st.Code(), st.Message(), ok)
	}
	if got := grpcstatus.FromGRPC(want).GRPC(); !proto.Equal(got.Proto(), want.Proto()) {
		t.Errorf("FromGRPC then GRPC = %v, want %v", got.Proto(), want.Proto())
	}
}
