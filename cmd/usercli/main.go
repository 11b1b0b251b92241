// Command usercli calls the playground's UserManager service from a shell,
// as the tutorial's grpc_client.py does, over native gRPC, gRPC-Web or the
// grpc-websockets bridge:
//
//	usercli GetUser 1
//	usercli AddUser 7 nick nick@example.com NORMAL
//	usercli -transport grpcweb GetUsersByType normal
//	usercli -transport websocket -json CountAlreadyUsers 1 2 3
//	usercli -H 'x-trace: abc' GetUsersByIds 1 2 99
//
// Flags come before the subcommand; usercli -h lists them all. The exit
// status is 0 when the call ended with status OK (the server's in-band
// "not found" and "already exist" replies included), 1 when it failed and
// 2 for bad arguments.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
