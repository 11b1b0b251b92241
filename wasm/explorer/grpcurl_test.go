package explorer_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/wasm/explorer"
)

func TestGrpcurlCommand(t *testing.T) {
	for _, c := range []struct {
		name     string
		tls      bool
		method   string
		requests []string
		md       metadata.MD
		deadline time.Duration
		want     string
	}{
		{"unary", false, "/UserManager/GetUser", []string{"{\n  \"id\": 1\n}"}, nil, 0,
			`grpcurl -plaintext -d '{"id":1}' 127.0.0.1:8080 UserManager/GetUser`},
		{"streams, metadata, deadline, quotes", false, "/UserManager/GetUsersByIds", []string{`{"id": 3}`, `{"id":5, "note": "it's"}`},
			metadata.MD{"x-b": {"2"}, "authorization": {"Bearer k"}, "trace-bin": {"\x00\x01"}}, 1500 * time.Millisecond,
			`grpcurl -plaintext -H 'authorization: Bearer k' -H 'trace-bin: AAE=' -H 'x-b: 2' -max-time 1.5 -d '{"id":3} {"id":5,"note":"it'\''s"}' 127.0.0.1:8080 UserManager/GetUsersByIds`},
		{"tls, nothing sent", true, "/grpc.health.v1.Health/Watch", nil, nil, 0,
			`grpcurl -d '' 127.0.0.1:8080 grpc.health.v1.Health/Watch`},
	} {
		if got := explorer.GrpcurlCommand("127.0.0.1:8080", c.tls, c.method, c.requests, c.md, c.deadline); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestGrpcurlTarget(t *testing.T) {
	for _, c := range []struct {
		protocol, host, want string
		tls                  bool
	}{
		{"http:", "127.0.0.1:8080", "127.0.0.1:8080", false},
		{"http:", "example.com", "example.com:80", false},
		{"https:", "example.com", "example.com:443", true},
		{"https:", "[::1]", "[::1]:443", true},
		{"http:", "[::1]:9000", "[::1]:9000", false},
	} {
		if got, tls := explorer.GrpcurlTarget(c.protocol, c.host); got != c.want || tls != c.tls {
			t.Errorf("GrpcurlTarget(%q, %q) = %q, %v; want %q, %v", c.protocol, c.host, got, tls, c.want, c.tls)
		}
	}
}
