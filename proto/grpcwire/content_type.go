package grpcwire

import "strings"

// Content types and the WebSocket subprotocol.
const (
	ContentTypeGRPC      = "application/grpc"
	ContentTypeProto     = "application/grpc-web+proto"
	ContentTypeWeb       = "application/grpc-web"
	ContentTypeText      = "application/grpc-web-text"
	ContentTypeTextProto = "application/grpc-web-text+proto"
	ContentTypeWebJSON   = "application/grpc-web+json"
	// WebSocketProtocol is the subprotocol of improbable-eng's grpc-websockets.
	WebSocketProtocol = "grpc-websockets"
)

// Codec names: the content type's subtype ("+proto", "+json").
const (
	CodecProto = "proto"
	CodecJSON  = "json"
)

// ContentType is a parsed gRPC or gRPC-Web content type.
type ContentType struct {
	// Web says gRPC-Web (trailers in the body) rather than gRPC (HTTP/2
	// trailers).
	Web bool
	// Text says the body is base64 (application/grpc-web-text).
	Text bool
	// Codec is the message encoding: CodecProto, CodecJSON, or another
	// subtype, which the caller refuses.
	Codec string
}

// ParseContentType parses a gRPC or gRPC-Web content type, in any case,
// parameters ignored. ok is false for anything else, the empty string
// included.
func ParseContentType(s string) (ct ContentType, ok bool) {
	base, _, _ := strings.Cut(s, ";")
	base = strings.Trim(base, " \t")
	if !isMediaType(base) {
		return ContentType{}, false
	}
	base = strings.ToLower(base) // ASCII, as a token is
	rest, found := strings.CutPrefix(base, "application/grpc")
	if !found {
		return ContentType{}, false
	}
	switch {
	case strings.HasPrefix(rest, "-web-text"):
		ct.Web, ct.Text, rest = true, true, rest[len("-web-text"):]
	case strings.HasPrefix(rest, "-web"):
		ct.Web, rest = true, rest[len("-web"):]
	}
	switch {
	case rest == "":
		ct.Codec = CodecProto
	case len(rest) > 1 && rest[0] == '+':
		ct.Codec = rest[1:]
	default:
		return ContentType{}, false
	}
	return ct, true
}

// isMediaType reports whether s is a media type without parameters: two
// tokens (RFC 2045) around a slash, as package mime reads one; mime is not
// linked into the wasm programs for it. Parameters are not checked.
func isMediaType(s string) bool {
	typ, sub, found := strings.Cut(s, "/")
	return found && isToken(typ) && isToken(sub)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// String returns the content type's canonical form, as responses carry it.
// The forms of protobuf messages are constants: a call's response content
// type costs nothing to keep.
func (ct ContentType) String() string {
	if ct.Codec == CodecProto {
		switch {
		case ct.Text:
			return ContentTypeTextProto
		case ct.Web:
			return ContentTypeProto
		}
		return ContentTypeGRPC + "+" + CodecProto
	}
	s := "application/grpc"
	switch {
	case ct.Text:
		s += "-web-text"
	case ct.Web:
		s += "-web"
	}
	if ct.Codec != "" {
		s += "+" + ct.Codec
	}
	return s
}
