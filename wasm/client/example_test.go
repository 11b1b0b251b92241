//go:build !js

package client_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/wasm/client"
)

// A program calls the service's four kinds of method through the typed
// client. In the browser, Dial("") calls the page's own server; here a
// server of the example's own serves the tutorial's six users.
func ExampleUserManagerClient() {
	srv, err := servertest.New(server.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop()

	conn, err := client.Dial(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	um := client.NewUserManagerClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "42")

	// Unary, as gRPC-Web over fetch.
	resp, err := um.GetUser(ctx, &pb.UserRequest{Id: 1})
	if err != nil {
		fmt.Println(status.Code(err), status.Convert(err).Message())
		return
	}
	fmt.Println(resp.GetUser().GetNickname())

	// Server streaming, also over fetch: each user arrives as it is sent.
	users, err := um.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		r, err := users.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r.GetUser().GetId())
	}

	// Bidirectional streaming, over the WebSocket bridge.
	ids, err := um.GetUsersByIds(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids.Send(&pb.UserRequest{Id: 2})
	if r, err := ids.Recv(); err == nil {
		fmt.Println(r.GetUser().GetNickname())
	}
	ids.CloseSend()
	for {
		if _, err := ids.Recv(); err != nil {
			break
		}
	}
	// Output:
	// admin
	// 3
	// 5
	// 6
	// guest
}
