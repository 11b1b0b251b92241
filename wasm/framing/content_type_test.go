package framing_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/framing"
)

func TestParseContentType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want framing.ContentType
	}{
		{"application/grpc", true, framing.ContentType{Codec: "proto"}},
		{"application/grpc+proto", true, framing.ContentType{Codec: "proto"}},
		{"application/grpc+json; charset=utf-8", true, framing.ContentType{Codec: "json"}},
		{"application/grpc-web", true, framing.ContentType{Web: true, Codec: "proto"}},
		{"Application/GRPC-Web+Proto", true, framing.ContentType{Web: true, Codec: "proto"}},
		{"application/grpc-web+json", true, framing.ContentType{Web: true, Codec: "json"}},
		{"application/grpc-web-text", true, framing.ContentType{Web: true, Text: true, Codec: "proto"}},
		{"application/grpc-web-text+proto", true, framing.ContentType{Web: true, Text: true, Codec: "proto"}},
		{"application/grpc-web+thrift", true, framing.ContentType{Web: true, Codec: "thrift"}},
		{"", false, framing.ContentType{}},
		{"application/json", false, framing.ContentType{}},
		{"application/grpcx", false, framing.ContentType{}},
		{"application/grpc-web+", false, framing.ContentType{}},
		{"text/html", false, framing.ContentType{}},
	} {
		got, ok := framing.ParseContentType(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseContentType(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok {
			if back, _ := framing.ParseContentType(got.String()); back != got {
				t.Errorf("%q: String() = %q parses as %+v", tc.in, got.String(), back)
			}
		}
	}
}

func TestFrameMessage(t *testing.T) {
	if p, err := (framing.Frame{Flag: framing.FlagData, Payload: []byte("x")}).Message(); err != nil || string(p) != "x" {
		t.Errorf("data frame: %q, %v", p, err)
	}
	for flag, want := range map[byte]codes.Code{framing.FlagCompressed: codes.Unimplemented, framing.FlagTrailer: codes.InvalidArgument, 0x02: codes.InvalidArgument} {
		if _, err := (framing.Frame{Flag: flag}).Message(); status.Code(err) != want {
			t.Errorf("flag %#x: %v; want %v", flag, err, want)
		}
	}
}
