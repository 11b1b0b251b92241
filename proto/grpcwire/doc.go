// Package grpcwire is the one home of the gRPC-Web, grpc-websockets and
// grpc-mux.v1 wire formats. The server's gRPC-Web handler and WebSocket
// bridge (package server), the Go client in the browser and natively
// (package client) and the command-line client (cmd/usercli) all use it:
//
//   - envelope.go: the 5-byte length-prefixed frame, and a Reader whose
//     errors already carry their gRPC code;
//   - headers.go: header names, the "name: value\r\n" blocks that carry
//     headers and trailers, and "-bin" values;
//   - content_type.go: the content types of gRPC and gRPC-Web, parsed once;
//   - status.go and timeout.go: trailers to statuses and back, deadlines to
//     grpc-timeout and back;
//   - batch_writer.go: the writer both sides put a stream's frames on a
//     transport with, batching what queues up while it writes;
//   - mux.go and mux_flow.go: grpc-mux.v1, many calls on one WebSocket
//     (specified in MUX.md): its frames, a reader that checks them against
//     its limits before it allocates, and per-stream window accounting.
//
// Metadata is grpc-go's metadata.MD. The package builds for GOOS=js as well
// as natively, so it imports neither net/http nor package
// google.golang.org/grpc: only its light codes, status and metadata
// packages.
package grpcwire
