package grpcstatus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

func TestFromError(t *testing.T) {
	if st, ok := grpcstatus.FromError(nil); st != nil || !ok || grpcstatus.Code(nil) != codes.OK {
		t.Errorf("nil: %v %v", st, ok)
	}
	base := grpcstatus.Error(codes.Unavailable, "down")
	wrapped := fmt.Errorf("dial: %w", base)
	if st, ok := grpcstatus.FromError(wrapped); !ok || st.Code() != codes.Unavailable || st.Message() != "dial: rpc error: code = Unavailable desc = down" {
		t.Errorf("wrapped: %v %q %v", st.Code(), st.Message(), ok)
	}
	if st, ok := grpcstatus.FromError(errors.New("plain")); ok || st.Code() != codes.Unknown || st.Message() != "plain" {
		t.Errorf("plain: %v %q %v", st.Code(), st.Message(), ok)
	}
	if !errors.Is(wrapped, grpcstatus.Error(codes.Unavailable, "down")) || errors.Is(wrapped, grpcstatus.Error(codes.Unavailable, "up")) {
		t.Error("errors.Is does not compare code and message")
	}
	if grpcstatus.New(codes.OK, "fine").Err() != nil {
		t.Error("an OK status made an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c := grpcstatus.FromContextError(ctx.Err()).Code(); c != codes.Canceled {
		t.Errorf("cancelled context: %v", c)
	}
	if c := grpcstatus.FromContextError(fmt.Errorf("x: %w", context.DeadlineExceeded)).Code(); c != codes.DeadlineExceeded {
		t.Errorf("deadline: %v", c)
	}
}
