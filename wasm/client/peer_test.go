package client_test

// The peer's methods. The real service cannot show some things a test must
// see: request metadata (it echoes none), a response held open until the
// client proves it already received the first message, HTTP errors without
// grpc-status. The peer is a small gRPC-Web and grpc-websockets server,
// written with package grpcwire (servers_test.go), that shows them.
const (
	peerEcho     = "/test.Peer/Echo"     // gRPC-Web: echoes the message and the x-test-* metadata
	peerGate     = "/test.Peer/Gate"     // gRPC-Web: message 1, then waits for Release, then message 2
	peerRelease  = "/test.Peer/Release"  // gRPC-Web: opens the gate named by x-test-gate
	peerHang     = "/test.Peer/Hang"     // gRPC-Web: answers nothing until the client goes away, then opens the gate x-test-gate
	peerWaitGate = "/test.Peer/WaitGate" // gRPC-Web: echoes once the gate x-test-gate is open; DeadlineExceeded after 10 s
	peerHTTP     = "/test.Peer/HTTP"     // gRPC-Web: HTTP status x-test-http-status, no grpc-status
	peerWSEcho   = "/test.Peer/WSEcho"   // grpc-websockets: echoes every message and the metadata; opens the gate x-test-gate if the client goes away
	peerTwice    = "/test.Peer/Twice"    // gRPC-Web: two messages and status OK
	peerNone     = "/test.Peer/None"     // gRPC-Web: no message and status OK
	// peerStatusTwice: gRPC-Web: grpc-status 8 in the headers, as a
	// trailers-only response has it, and yet a body: the message, then
	// trailers with status OK.
	peerStatusTwice = "/test.Peer/StatusTwice"
)

// Environment variables through which TestJSGlue (js_glue_test.go) hands
// this test, run under Node, the servers it started.
const (
	envServerURL = "GRPCPLAY_TEST_SERVER_URL"
	envPeerURL   = "GRPCPLAY_TEST_PEER_URL"
	// envImprobableURL: the service behind improbable-eng's own wrapper.
	envImprobableURL = "GRPCPLAY_TEST_IMPROBABLE_URL"
)
