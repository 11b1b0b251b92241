package grpchttp

import (
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// callRequest is what a call's request headers say.
type callRequest struct {
	md metadata.MD // the handler's incoming metadata
	// deadline is when the client's deadline (grpc-timeout) passes; the
	// zero value means it set none.
	deadline time.Time
	ct       grpcwire.ContentType
	codec    encoding.CodecV2
	// gzip says the requests are gzip-compressed (grpc-encoding), and so
	// the replies will be.
	gzip bool
}

// parseRequest reads a call's request headers, whatever carried them
// (HTTP headers, or the header block that opens a grpc-websockets stream):
// md has lower-case names and "-bin" values decoded, and parseRequest takes
// it over. The rules are the same on every path:
//
//   - the content type must be gRPC or gRPC-Web, with protobuf or JSON
//     messages; an absent one means protobuf;
//   - messages may be compressed with gzip (grpc-encoding), the one
//     encoding served; another gets Unimplemented, naming it;
//   - grpc-timeout, when present, must be well formed;
//   - names of the protocol and of the HTTP connection are not metadata,
//     nor are the headers browsers add on their own (cookies, sec-*,
//     referer...), unless the Handler keeps them (WithBrowserHeaders).
//
// forced, when not nil, is the codec of every call (WithCodec). What
// parseRequest refuses gets a status error for the client.
func parseRequest(md metadata.MD, authority string, forced encoding.CodecV2, keep *browserHeaders) (callRequest, error) {
	req := callRequest{md: md, ct: grpcwire.ContentType{Web: true, Codec: grpcwire.CodecProto}, codec: protoCodec{}}
	if v := grpcwire.First(md, grpcwire.HeaderContentType); v != "" {
		ct, ok := grpcwire.ParseContentType(v)
		if !ok {
			return req, status.Errorf(codes.InvalidArgument, "content-type %q is neither gRPC nor gRPC-Web", v)
		}
		req.ct = ct
	}
	switch req.ct.Codec {
	case grpcwire.CodecProto:
	case grpcwire.CodecJSON:
		req.codec = jsonCodec{}
	default:
		return req, status.Errorf(codes.Unimplemented, "content-type %q: messages encoded as %q are not supported; use proto or json", grpcwire.First(md, grpcwire.HeaderContentType), req.ct.Codec)
	}
	if forced != nil {
		req.codec = forced
	}
	switch enc := grpcwire.First(md, grpcwire.HeaderEncoding); enc {
	case "", grpcwire.EncodingIdentity:
	case grpcwire.EncodingGzip:
		req.gzip = true
	default:
		return req, status.Errorf(codes.Unimplemented, "grpc: Decompressor is not installed for grpc-encoding %q; this server reads gzip", enc)
	}
	if v := grpcwire.First(md, grpcwire.HeaderTimeout); v != "" {
		d, err := grpcwire.DecodeTimeout(v)
		if err != nil {
			return req, status.Error(codes.InvalidArgument, err.Error())
		}
		req.deadline = time.Now().Add(d)
	}
	for k := range md {
		if reservedRequestHeader(k) || keep.drops(k) {
			delete(md, k)
		}
	}
	md[":authority"] = []string{authority}
	return req, nil
}

// protocolName names a content type's protocol for Protocol.
func protocolName(ct grpcwire.ContentType) string {
	p := ProtocolGRPC
	switch {
	case ct.Text:
		p = ProtocolGRPCWebText
	case ct.Web:
		p = ProtocolGRPCWeb
	}
	if ct.Codec == grpcwire.CodecJSON {
		p += jsonSuffix
	}
	return p
}

// reservedRequestHeader reports whether a request header belongs to the
// protocol or to the HTTP connection rather than to the call's metadata,
// as grpc-go's transport decides (content-type stays: grpc-go shows it to
// handlers too).
func reservedRequestHeader(name string) bool {
	switch name {
	case grpcwire.HeaderTimeout, grpcwire.HeaderEncoding, grpcwire.HeaderAcceptEncoding, "grpc-message-type",
		grpcwire.HeaderStatus, grpcwire.HeaderMessage, grpcwire.HeaderStatusDetails,
		"te", "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
		"content-length", "http2-settings":
		return true
	}
	return strings.HasPrefix(name, ":") || strings.HasPrefix(name, "sec-websocket-")
}

// httpRequestMD reads an HTTP request's headers as metadata: lower-case
// names, "-bin" values decoded.
func httpRequestMD(h http.Header) (metadata.MD, error) {
	md := make(metadata.MD, len(h)+1)
	for k, vs := range h {
		name := strings.ToLower(k)
		for _, v := range vs {
			dv, err := grpcwire.DecodeValue(name, v)
			if err != nil {
				return md, status.Errorf(codes.InvalidArgument, "header %v", err)
			}
			md[name] = append(md[name], dv)
		}
	}
	return md, nil
}

// messageRate is how fast, at the least, a request message must arrive
// once begun, besides the message timeout: a 4 MiB message may take a
// minute more than a small one.
const messageRate = 64 << 10 // bytes per second

// messageDeadline is when a request message of n bytes begun at start must
// have arrived in full.
func messageDeadline(start time.Time, timeout time.Duration, n int) time.Time {
	return start.Add(timeout + time.Duration(n)*time.Second/messageRate)
}

// browserHeaders are the request headers browsers send on their own, which
// say nothing a call meant to say and may carry secrets (cookies reach a
// WebSocket handshake whatever the page does): they never become a call's
// metadata, on any path, but for those a program names.
type browserHeaders struct {
	keep map[string]bool
}

func newBrowserHeaders(keep []string) *browserHeaders {
	b := &browserHeaders{keep: make(map[string]bool)}
	for _, k := range keep {
		b.keep[strings.ToLower(strings.TrimSpace(k))] = true
	}
	return b
}

// drops reports whether name (lower case) is a browser's header that calls
// do not keep.
func (b *browserHeaders) drops(name string) bool {
	switch {
	case name == "cookie", name == "referer", name == "accept-language", name == "user-agent", name == "origin",
		strings.HasPrefix(name, "sec-") && !strings.HasPrefix(name, "sec-websocket-"):
		return b == nil || !b.keep[name]
	}
	return false
}

// strip returns md without the browser's headers it drops, md itself when
// it has none (the common case, for clients that are not browsers).
func (b *browserHeaders) strip(md metadata.MD) metadata.MD {
	n := 0
	for k := range md {
		if b.drops(k) {
			n++
		}
	}
	if n == 0 {
		return md
	}
	out := make(metadata.MD, len(md)-n)
	for k, v := range md {
		if !b.drops(k) {
			out[k] = v
		}
	}
	return out
}
