package client

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// ReservedHeader reports whether the protocol itself sets name (lower case),
// so request metadata may not: the content type, the deadline, gRPC's own
// grpc-* names, the user agents, and HTTP's connection-level headers. The
// client leaves such metadata out of its requests; an editor can refuse it.
func ReservedHeader(name string) bool {
	switch name {
	case grpcwire.HeaderContentType, grpcwire.HeaderXGRPCWeb, grpcwire.HeaderUserAgent, "user-agent",
		"te", "host", "connection", "upgrade", "content-length", "transfer-encoding", "keep-alive":
		return true
	}
	return strings.HasPrefix(name, "grpc-") || strings.HasPrefix(name, "sec-websocket-")
}

// userAgent is the x-user-agent this client sends.
const userAgent = "grpcplay-wasm-client/1"

// requestMetadata is the request's header metadata: the protocol's own
// headers, grpc-timeout for ctx's deadline, and the outgoing metadata of
// ctx (grpc-go's metadata.NewOutgoingContext and AppendToOutgoingContext),
// "-bin" values still raw. A deadline that already passed is an error.
func requestMetadata(ctx context.Context) (metadata.MD, error) {
	md := metadata.MD{
		grpcwire.HeaderContentType: {grpcwire.ContentTypeProto},
		grpcwire.HeaderXGRPCWeb:    {"1"},
		grpcwire.HeaderUserAgent:   {userAgent},
	}
	if out, ok := metadata.FromOutgoingContext(ctx); ok {
		for k, v := range out {
			if !ReservedHeader(k) && grpcwire.ValidName(k) {
				md[k] = append(md[k], v...)
			}
		}
	}
	if deadline, ok := ctx.Deadline(); ok {
		d := time.Until(deadline)
		if d <= 0 {
			return nil, grpcstatus.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
		}
		md[grpcwire.HeaderTimeout] = []string{grpcwire.EncodeTimeout(d)}
	}
	return md, nil
}
