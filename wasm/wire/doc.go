// Package wire is the one home of the gRPC-Web and grpc-websockets wire
// format, shared by the server's WebSocket bridge and the browser client:
// the 5-byte length-prefixed frame (envelope.go), the "name: value\r\n"
// header blocks that carry headers and trailers (headers.go), and the
// mapping of trailers to gRPC statuses and of deadlines to grpc-timeout
// (status.go, timeout.go).
//
// It builds for GOOS=js as well as natively, so it imports neither net/http
// nor package google.golang.org/grpc: only its light status and codes
// packages.
package wire
