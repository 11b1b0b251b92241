package main

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// headerFlag is the repeatable -H 'name: value' flag: request metadata.
type headerFlag struct {
	md metadata.MD
}

func (h *headerFlag) String() string { return "" }

// Set adds one "name: value" pair.
func (h *headerFlag) Set(s string) error {
	name, value, err := parseHeader(s)
	if err != nil {
		return err
	}
	if h.md == nil {
		h.md = metadata.MD{}
	}
	h.md[name] = append(h.md[name], value)
	return nil
}

// parseHeader parses one -H argument, "name: value", into a metadata name
// (lower case) and value. The value of a name ending in "-bin" is given in
// base64 (padded or not) and returned as the raw bytes it stands for; any
// other value must be printable ASCII, as gRPC's metadata rules say.
func parseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("%q: want 'name: value'", s)
	}
	name = strings.ToLower(strings.TrimSpace(name))
	value = strings.TrimSpace(value)
	if err := checkHeaderName(name); err != nil {
		return "", "", err
	}
	if strings.HasSuffix(name, "-bin") {
		raw, err := grpcwire.DecodeValue(name, value)
		if err != nil {
			return "", "", fmt.Errorf("%s: value is not base64: %w", name, err)
		}
		return name, raw, nil
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e {
			return "", "", fmt.Errorf("%s: value must be printable ASCII (use a name ending in -bin, with a base64 value, for bytes)", name)
		}
	}
	return name, value, nil
}

// checkHeaderName rejects a name gRPC metadata cannot have (gRPC allows
// 0-9 a-z - _ .) or that the protocols set themselves and the client
// libraries would silently drop.
func checkHeaderName(name string) error {
	if name == "" {
		return fmt.Errorf("empty metadata name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("metadata name %q: only 0-9 a-z - _ . are allowed", name)
		}
	}
	switch {
	case strings.HasPrefix(name, "grpc-"):
		return fmt.Errorf("metadata name %q: grpc-* names belong to gRPC itself (use -timeout for the deadline)", name)
	case strings.HasPrefix(name, "sec-websocket-"):
		return fmt.Errorf("metadata name %q: set by the WebSocket handshake", name)
	}
	switch name {
	case grpcwire.HeaderContentType, grpcwire.HeaderXGRPCWeb, grpcwire.HeaderUserAgent, "user-agent",
		"te", "host", "connection", "upgrade", "content-length", "transfer-encoding", "keep-alive":
		return fmt.Errorf("metadata name %q: set by the transport itself", name)
	}
	return nil
}
