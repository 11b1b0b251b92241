package grpcwire

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
)

// Header and trailer names of gRPC and gRPC-Web.
const (
	HeaderContentType    = "content-type"
	HeaderStatus         = "grpc-status"
	HeaderMessage        = "grpc-message"
	HeaderStatusDetails  = "grpc-status-details-bin"
	HeaderTimeout        = "grpc-timeout"
	HeaderEncoding       = "grpc-encoding"
	HeaderAcceptEncoding = "grpc-accept-encoding"
	HeaderXGRPCWeb       = "x-grpc-web"
	HeaderUserAgent      = "x-user-agent"
)

// In the grpc-websockets protocol every client message after the header
// block starts with one of these bytes.
const (
	// WSData prefixes request bytes: a frame, part of one, or several.
	WSData byte = 0x00
	// WSHalfClose, alone, means the client has finished sending.
	WSHalfClose byte = 0x01
)

// First returns the first value of name in md, or "". name is lower case.
func First(md metadata.MD, name string) string {
	if v := md[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// AppendHeaderBlock appends md to dst as "name: value\r\n" lines, names in
// lower case and sorted, "-bin" values base64-encoded. Names and values that
// would break the line format are left out.
func AppendHeaderBlock(dst []byte, md metadata.MD) []byte {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := strings.ToLower(k)
		if !ValidName(name) {
			continue
		}
		for _, v := range md[k] {
			v, ok := EncodeValue(name, v)
			if !ok {
				continue
			}
			dst = append(dst, name...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	return dst
}

// ParseHeaderBlock parses "name: value" lines separated by CRLF (or LF), as
// the header and trailer blocks of gRPC-Web and the first message of a
// grpc-websockets stream carry them. Names are lower-cased, values trimmed,
// "-bin" values base64-decoded (padded or not).
func ParseHeaderBlock(b []byte) (metadata.MD, error) { return parseHeaderLines(string(b)) }

// parseHeaderLines is ParseHeaderBlock of a string, whose values are
// substrings of b.
func parseHeaderLines(b string) (metadata.MD, error) {
	md := metadata.MD{}
	for line := range strings.SplitSeq(b, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || !ValidName(name) {
			return nil, fmt.Errorf("header block: malformed line %q", truncate(line))
		}
		value, err := DecodeValue(name, strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("header block: %w", err)
		}
		md[name] = append(md[name], value)
	}
	return md, nil
}

// EncodeValue returns value as it travels in a header or header block under
// name (lower case): base64 without padding for a "-bin" name, unchanged
// otherwise. ok is false for a text value that a header line cannot carry
// (one with CR or LF).
func EncodeValue(name, value string) (encoded string, ok bool) {
	if strings.HasSuffix(name, "-bin") {
		return base64.RawStdEncoding.EncodeToString([]byte(value)), true
	}
	return value, !strings.ContainsAny(value, "\r\n")
}

// DecodeValue undoes EncodeValue for a value received under name (lower
// case): "-bin" values are base64-decoded, padded or not.
func DecodeValue(name, value string) (string, error) {
	if !strings.HasSuffix(name, "-bin") {
		return value, nil
	}
	raw, err := decodeBinary(value)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return string(raw), nil
}

func decodeBinary(v string) ([]byte, error) {
	if strings.HasSuffix(v, "=") {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// ValidName reports whether name can be a header name: a non-empty HTTP
// token. Metadata under any other name cannot be sent.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
