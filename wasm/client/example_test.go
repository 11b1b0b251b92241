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

// A program calls a service's methods through a Conn: Invoke for a unary
// call, NewStream for the streaming ones. In the browser, Dial("") calls
// the page's own server; here a server of the example's own serves the
// tutorial's six users. (Package grpcconn runs the clients protoc-gen-go-grpc
// generates on a Conn.)
func Example() {
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "42")

	// Unary, as gRPC-Web over fetch.
	resp := new(pb.UserResponse)
	if err := conn.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, resp); err != nil {
		fmt.Println(status.Code(err), status.Convert(err).Message())
		return
	}
	fmt.Println(resp.GetUser().GetNickname())

	// Server streaming, also over fetch: each user arrives as it is sent.
	users, err := conn.NewStream(ctx, client.StreamDesc{ServerStreams: true}, "/UserManager/GetUsersByType")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := users.SendMsg(&pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL}); err != nil {
		fmt.Println(err)
		return
	}
	users.CloseSend()
	for {
		r := new(pb.UserResponse)
		err := users.RecvMsg(r)
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
	ids, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/UserManager/GetUsersByIds")
	if err != nil {
		fmt.Println(err)
		return
	}
	ids.SendMsg(&pb.UserRequest{Id: 2})
	if r := new(pb.UserResponse); ids.RecvMsg(r) == nil {
		fmt.Println(r.GetUser().GetNickname())
	}
	ids.CloseSend()
	for ids.RecvMsg(new(pb.UserResponse)) == nil {
	}
	// Output:
	// admin
	// 3
	// 5
	// 6
	// guest
}
