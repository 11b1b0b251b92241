package grpcwire

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

// StatusFromTrailers reads the call's status from trailers (or, for a
// trailers-only response, headers). A missing grpc-status is itself an
// error: the response ended without saying how the call went.
func StatusFromTrailers(md metadata.MD) *grpcstatus.Status {
	raw := First(md, HeaderStatus)
	if raw == "" {
		return grpcstatus.New(codes.Internal, "server closed the stream without sending trailers")
	}
	code, err := strconv.ParseUint(raw, 10, 32)
	if err != nil {
		return grpcstatus.Newf(codes.Internal, "malformed grpc-status %q", truncate(raw))
	}
	return grpcstatus.FromWire(codes.Code(code), decodeMessage(First(md, HeaderMessage)), []byte(First(md, HeaderStatusDetails)))
}

// AppendStatus adds st to trailers md: grpc-status, grpc-message
// (percent-encoded) and, when st carries details, grpc-status-details-bin.
func AppendStatus(md metadata.MD, st *grpcstatus.Status) {
	md[HeaderStatus] = []string{strconv.Itoa(int(st.Code()))}
	if msg := st.Message(); msg != "" {
		md[HeaderMessage] = []string{encodeMessage(msg)}
	}
	if d := st.Details(); len(d) > 0 {
		md[HeaderStatusDetails] = []string{string(d)}
	}
}

// CodeFromHTTP maps an HTTP status that came without grpc-status to a gRPC
// code, as gRPC's HTTP mapping says.
func CodeFromHTTP(httpStatus int) codes.Code {
	switch httpStatus {
	case 400:
		return codes.Internal
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.Unimplemented
	case 429, 502, 503, 504:
		return codes.Unavailable
	}
	return codes.Unknown
}

// encodeMessage percent-encodes grpc-message: bytes outside printable ASCII
// and '%' itself, as the gRPC protocol says.
func encodeMessage(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c >= ' ' && c <= '~' && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// decodeMessage undoes encodeMessage, leaving malformed escapes as they are.
func decodeMessage(s string) string { return UnescapePercent(s) }

// UnescapePercent decodes %XX escapes (any case of hex digits), leaving a
// malformed escape as it is: grpc-message's encoding, and the page's
// shared links'.
func UnescapePercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
