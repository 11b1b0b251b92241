// Package client calls gRPC services from a GOOS=js GOARCH=wasm program in
// the browser, and from native programs with the very same protocol code.
//
// When the server offers it, a Conn's calls share one WebSocket in the
// grpc-mux.v1 protocol (proto/grpcwire/MUX.md), opened by the first call
// that needs it: client and bidi streams always, and unary and
// server-streaming calls too over plain HTTP/1.1, where fetch would hold a
// connection per call (see Multiplexing). Each call on it has its own flow
// control, so a stream nobody reads never holds up the others; keepalive
// pings carry the socket through proxies that cut idle connections; a
// server that goes away lets the calls in flight finish. Otherwise unary
// and server-streaming calls travel as gRPC-Web
// (application/grpc-web+proto) over the browser's fetch, whose response body
// is read as a stream, so each server message reaches the caller when it
// arrives, and client-streaming and bidirectional calls, which fetch cannot
// carry, over a WebSocket each in improbable-eng's grpc-websockets
// protocol; WithWebSocketForAll sends every call over a WebSocket.
//
// With WithPageSocket the Go programs of one page share one multiplexed
// socket (the playground's main.wasm and explorer.wasm do): the first to
// open it publishes it on globalThis (PageSocketProperty), and the others'
// Conns put their calls on it through a MessageChannel, each program
// keeping its own streams and their flow control, the owner forwarding
// their frames (mux_share.go, mux_share_js.go).
//
// The protocol core (request headers, framing with package grpcwire, the
// response state machine, status mapping, the multiplexed socket in
// mux_conn.go and mux_stream.go) is shared by all builds. Only the
// transport glue differs: syscall/js fetch (fetch_js.go) and WebSocket
// (websocket_js.go), with the promise glue (glue_js.go) and the scheduler
// that keeps the page responsive (scheduler_js.go), in the browser;
// net/http and a WebSocket client in transport_native.go.
//
// The browser build links neither net/http, package google.golang.org/grpc,
// grpc-go's status nor protobuf-go, which keeps the page's wasm small (a
// third of main.wasm's code was protobuf-go). Failures are status errors of
// package grpcstatus (grpcstatus.Code and FromError read them; outside the
// browser they are grpc-go status errors too). Messages are encoded by a
// Codec: DefaultCodec takes messages with generated marshalling code
// (VTMessage, as pb/browserpb's) and, outside the browser, protobuf-go's;
// a browser program that sends protobuf-go's dials WithCodec(protocodec.Codec{}).
// Metadata is grpc-go's metadata.MD: metadata.NewOutgoingContext sends it,
// Header and Trailer receive it.
//
// In the browser every call blocks its goroutine until the network answers,
// so call from a goroutine of your own, never from inside a js.Func
// callback, which would deadlock the page.
package client
