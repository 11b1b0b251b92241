// Package grpchttp serves gRPC services over HTTP in every form that
// browsers, proxies and gRPC clients use, as one http.Handler that any Go
// server can mount: the maintained, bounded successor of improbable-eng's
// grpcweb.WrapServer.
//
//	gs := grpc.NewServer(grpchttp.ServerOptions(opts...)...) // optional: the same policy natively
//	h := grpchttp.New(gs, opts...)
//	pb.RegisterGreeterServer(h, impl) // on gs too
//	srv := &http.Server{Addr: ":8080"}
//	h.ConfigureServer(srv)
//	srv.ListenAndServe()
//
// One Handler serves, on one port:
//
//   - gRPC-Web (application/grpc-web, +proto, +json; -text with base64
//     bodies) over HTTP/1.1 and HTTP/2, trailers in the body
//     (http_call.go);
//   - native gRPC (application/grpc, +proto, +json) over net/http's HTTP/2,
//     cleartext with prior knowledge or TLS (http_call.go too: the protocol
//     is a value, not a copy of the code);
//   - improbable-eng's grpc-websockets, one call per WebSocket, so that a
//     browser can make client-streaming and bidirectional calls
//     (bridge*.go);
//   - grpc-mux.v1, many calls of every kind on one WebSocket, each a
//     stream with its own flow-control windows, with keepalive and GOAWAY
//     (mux*.go; the protocol is proto/grpcwire/MUX.md).
//
// Every call, whatever carried it, is one call (call.go): the handler's
// grpc.ServerStream, with the interceptor chain between two panic
// recoveries, the stats handlers' events in grpc-go's order, and the same
// statuses, headers and trailers. The policy (policy.go: allowed hosts
// against DNS rebinding, allowed origins with CORS) and the limits
// (options.go: message sizes, header sizes, streams, read and write
// timeouts, keepalive) hold on every path, and ServerOptions gives a
// grpc.Server serving native gRPC on grpc-go's own transport the same.
// Nothing is buffered without a bound: request bodies are read only as fast
// as handlers take messages, and a server stream's sends wait while 64 KiB
// are queued for a slow reader.
//
// The wire format (frames, header blocks, content types, grpc-timeout) is
// package grpcwire's, shared with the Go client.
package grpchttp
