//go:build !js

package client_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/wasm/client"
)

// The per-call limits replace the Conn's for that call, in both
// directions, larger or smaller, on every transport; n <= 0 keeps the Conn's.
func TestPerCallMessageSize(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	long := &pb.User{Id: 7, Nickname: strings.Repeat("n", 32), MailAddress: "n@example.com", UserType: pb.User_GUEST}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			// A Conn with the default limit (4 MiB), calls with smaller ones.
			conn := dial(t, url, tr.opts...)
			_, err := getUser(ctx, conn, 1, client.MaxCallRecvMsgSize(16)) // the admin's reply is longer
			wantCode(t, err, codes.ResourceExhausted)
			_, err = addUser(ctx, conn, long, client.MaxCallSendMsgSize(16))
			wantCode(t, err, codes.ResourceExhausted)
			if _, err := getUser(ctx, conn, 1, client.MaxCallSendMsgSize(16)); err != nil {
				t.Errorf("a send limit limits the response: %v", err)
			}
			s, err := usersByIDs(ctx, conn, client.MaxCallRecvMsgSize(16))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SendMsg(&pb.UserRequest{Id: 1}); err != nil {
				t.Fatal(err)
			}
			_, err = recvUser(s)
			wantCode(t, err, codes.ResourceExhausted)

			// A Conn with a small limit, calls with larger ones.
			small := dial(t, url, append(tr.opts, client.WithMaxMessageSize(16))...)
			if _, err := getUser(ctx, small, 1, client.MaxCallRecvMsgSize(1<<10)); err != nil {
				t.Errorf("GetUser with a larger receive limit: %v", err)
			}
			_, err = getUser(ctx, small, 1, client.MaxCallRecvMsgSize(0))
			wantCode(t, err, codes.ResourceExhausted) // 0 keeps the Conn's 16 bytes
			r, err := addUser(ctx, small, long, client.MaxCallSendMsgSize(1<<10), client.MaxCallRecvMsgSize(1<<10))
			if err != nil || r.GetError() {
				t.Errorf("AddUser with larger limits = %v, %v", r, err)
			}
			long.Id++ // the next transport adds a user of its own
		})
	}
}

// A nil codec, for the Conn or for a call, keeps the one it replaces,
// rather than failing at the first message.
func TestNilCodecKeepsDefault(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn := dial(t, url, client.WithCodec(nil))
	r, err := getUser(ctx, conn, 1, client.ForceCodec(nil))
	if err != nil || r.GetUser().GetId() != 1 {
		t.Fatalf("GetUser with nil codecs = %v, %v", r, err)
	}
}
