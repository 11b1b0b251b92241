package client

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/wire"
)

// outgoingKey is the context key of outgoing metadata.
type outgoingKey struct{}

// outgoing is the metadata a context carries for the calls made with it.
type outgoing struct {
	md  wire.MD
	bad string // why AppendToOutgoingContext could not add its pairs
}

// NewOutgoingContext returns a copy of ctx whose calls send md as request
// metadata, replacing metadata ctx already carried. Names are lower-cased;
// values of names ending in "-bin" are raw bytes.
func NewOutgoingContext(ctx context.Context, md wire.MD) context.Context {
	out := outgoing{md: wire.MD{}}
	for k, v := range md {
		k = strings.ToLower(k)
		out.md[k] = append(out.md[k], v...)
	}
	return context.WithValue(ctx, outgoingKey{}, out)
}

// AppendToOutgoingContext returns a copy of ctx whose calls also send the
// name/value pairs kv. An odd number of strings is a mistake that the calls
// made with the returned context report as codes.Internal.
func AppendToOutgoingContext(ctx context.Context, kv ...string) context.Context {
	prev, _ := ctx.Value(outgoingKey{}).(outgoing)
	out := outgoing{md: wire.MD{}, bad: prev.bad}
	for k, v := range prev.md {
		out.md[k] = append([]string(nil), v...)
	}
	if len(kv)%2 == 1 {
		out.bad = "AppendToOutgoingContext: odd number of strings, last name has no value"
		kv = kv[:len(kv)-1]
	}
	for i := 0; i < len(kv); i += 2 {
		k := strings.ToLower(kv[i])
		out.md[k] = append(out.md[k], kv[i+1])
	}
	return context.WithValue(ctx, outgoingKey{}, out)
}

// FromOutgoingContext returns a copy of the metadata ctx's calls send.
func FromOutgoingContext(ctx context.Context) (wire.MD, bool) {
	out, ok := ctx.Value(outgoingKey{}).(outgoing)
	if !ok {
		return nil, false
	}
	md := wire.MD{}
	for k, v := range out.md {
		md[k] = append([]string(nil), v...)
	}
	return md, true
}

// reservedHeader reports whether the protocol itself sets name, so request
// metadata may not: the content type, the deadline, gRPC's own grpc-*
// names, and HTTP's connection-level headers.
func reservedHeader(name string) bool {
	switch name {
	case wire.HeaderContentType, wire.HeaderXGRPCWeb, wire.HeaderUserAgent,
		"te", "host", "connection", "upgrade", "content-length", "transfer-encoding", "keep-alive":
		return true
	}
	return strings.HasPrefix(name, "grpc-") || strings.HasPrefix(name, "sec-websocket-")
}

// userAgent is the x-user-agent this client sends.
const userAgent = "grpcplay-wasm-client/1"

// requestMetadata is the request's header metadata: the protocol's own
// headers, grpc-timeout for ctx's deadline, and ctx's outgoing metadata,
// "-bin" values still raw. A deadline that already passed is an error.
func requestMetadata(ctx context.Context) (wire.MD, error) {
	md := wire.MD{
		wire.HeaderContentType: {wire.ContentTypeProto},
		wire.HeaderXGRPCWeb:    {"1"},
		wire.HeaderUserAgent:   {userAgent},
	}
	if out, ok := ctx.Value(outgoingKey{}).(outgoing); ok {
		if out.bad != "" {
			return nil, status.Error(codes.Internal, out.bad)
		}
		for k, v := range out.md {
			if !reservedHeader(k) && wire.ValidName(k) {
				md[k] = append(md[k], v...)
			}
		}
	}
	if deadline, ok := ctx.Deadline(); ok {
		d := time.Until(deadline)
		if d <= 0 {
			return nil, status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
		}
		md[wire.HeaderTimeout] = []string{wire.EncodeTimeout(d)}
	}
	return md, nil
}
