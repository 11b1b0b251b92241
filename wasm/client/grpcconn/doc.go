// Package grpcconn lets the stubs that protoc-gen-go-grpc generates call
// through package client: Conn implements grpc.ClientConnInterface, so
//
//	conn, err := grpcconn.Dial("") // in the browser: the page's own server
//	greeter := hellopb.NewGreeterClient(conn)
//
// works unchanged in a GOOS=js GOARCH=wasm program and natively, for all
// four call types. Each call is one call of the client core: unary and
// server-streaming calls travel as gRPC-Web over fetch (net/http natively),
// client-streaming and bidirectional calls over the grpc-websockets bridge,
// and every call over the bridge when the client.Conn was dialed
// client.WithWebSocketForAll. Messages must be protobuf messages (those of
// protoc-gen-go, or older ones protoadapt converts); errors are grpc status
// errors; metadata.NewOutgoingContext's metadata is sent.
//
// # Streams
//
// The streams NewStream returns behave as grpc.ClientStream documents:
// Header blocks until the response headers arrive and returns nil, nil when
// the call ended without headers (a trailers-only response, or a failure
// before them), whose status RecvMsg then returns (the grpc-websockets
// bridge of our server, as improbable-eng's, starts every response with a
// header block, so over it a call that failed early reports that empty
// block); Trailer is complete once
// RecvMsg returned an error (io.EOF included), or CloseAndRecv returned;
// CloseSend always returns nil; Context is the caller's context, also
// cancelled when the call ends. SendMsg returns errors the client makes
// (an oversized or non-protobuf message) as they are and aborts the call,
// whose RecvMsg then returns the same error; when the server already ended
// the call it returns io.EOF, and nil for a call whose client does not
// stream. As in grpc-go, response metadata leaves out the protocol's own
// grpc-status, grpc-message, grpc-encoding, grpc-timeout and te.
//
// # Call options
//
// These grpc.CallOptions take effect:
//
//   - grpc.Header and grpc.Trailer store the response headers and trailers
//     when the call ends: when Invoke returns, or when a stream's RecvMsg
//     returns an error (or the one message of a call whose server does not
//     stream). A call that ended without headers stores nil headers.
//   - grpc.MaxCallRecvMsgSize and grpc.MaxCallSendMsgSize replace, for the
//     call, the limit of the client.Conn (client.WithMaxMessageSize, 4 MiB
//     by default), larger or smaller; an oversized message fails with
//     codes.ResourceExhausted. A size <= 0 keeps the Conn's limit, where
//     grpc-go would refuse every message that is not empty.
//   - grpc.UseCompressor("gzip") compresses the call's requests and lets
//     the server compress its responses (client.UseCompressor); responses
//     compressed with gzip are read whether the call asked or not.
//   - grpc.WaitForReady is accepted and changes nothing: every call here is
//     what grpc-go calls fail-fast. grpc-go's WaitForReady(true) makes a call
//     wait while its ClientConn is not connected; this Conn has no
//     connection state to wait for, since every call opens its own fetch or
//     WebSocket, and one that cannot reach the server fails at once with
//     codes.Unavailable. A browser's fetch does not say whether a failed
//     request reached the server, so the client cannot wait and retry
//     without risking a second delivery; a program that wants to wait
//     retries Unavailable itself.
//
// Every other CallOption is ignored, as grpc.EmptyCallOption is: those that
// configure parts of grpc-go's ClientConn this client does not have
// (codecs, as messages always travel as binary protobuf; per-call
// credentials, which outgoing metadata replaces; the
// peer; retry buffers; the authority; OnFinish callbacks) and the
// grpc.StaticMethod marker the generated code adds.
//
// # Cost
//
// This package imports google.golang.org/grpc, as every generated
// _grpc.pb.go does, and that is most of a GOOS=js program's size: a minimal
// program making one call of a generated client through it is 19.9 MB, 4.44
// MB gzip (-trimpath -ldflags='-s -w', gzip -9), where the same call through
// package client alone is 7.07 MB, 1.76 MB; the adapter's own code is about
// 12 KB gzip of that. The playground's page, within its 2 MB budget, does
// not use it.
package grpcconn
