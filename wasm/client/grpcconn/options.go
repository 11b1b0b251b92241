package grpcconn

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/protocodec"
)

// callOptions are the grpc.CallOptions that take effect here (see the
// package comment).
type callOptions struct {
	header  *metadata.MD // grpc.Header's address
	trailer *metadata.MD // grpc.Trailer's address
	// core are the client's own CallOptions: the per-call message size
	// limits. Header and trailer are not among them: they are stored when
	// the call ends, without the protocol's own names.
	core []client.CallOption
}

// protoCodec is the core option of every call: messages are protobuf-go's,
// which the client's DefaultCodec leaves to protocodec in the browser build.
var protoCodec = []client.CallOption{client.ForceCodec(protocodec.Codec{})}

// callOptionsOf maps opts onto callOptions, ignoring the rest.
func callOptionsOf(opts []grpc.CallOption) callOptions {
	o := callOptions{core: protoCodec[:1:1]} // an append copies it
	for _, opt := range opts {
		switch v := opt.(type) {
		case grpc.HeaderCallOption:
			o.header = v.HeaderAddr
		case grpc.TrailerCallOption:
			o.trailer = v.TrailerAddr
		case grpc.MaxRecvMsgSizeCallOption:
			o.core = append(o.core, client.MaxCallRecvMsgSize(v.MaxRecvMsgSize))
		case grpc.MaxSendMsgSizeCallOption:
			o.core = append(o.core, client.MaxCallSendMsgSize(v.MaxSendMsgSize))
		case grpc.CompressorCallOption:
			o.core = append(o.core, client.UseCompressor(v.CompressorType))
		case grpc.FailFastCallOption:
			// grpc.WaitForReady: every call is fail-fast here; see the
			// package comment.
		}
	}
	return o
}
