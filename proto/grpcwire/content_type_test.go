package grpcwire_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

func TestParseContentType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want grpcwire.ContentType
	}{
		{"application/grpc", true, grpcwire.ContentType{Codec: "proto"}},
		{"application/grpc+proto", true, grpcwire.ContentType{Codec: "proto"}},
		{"application/grpc+json; charset=utf-8", true, grpcwire.ContentType{Codec: "json"}},
		{"application/grpc-web", true, grpcwire.ContentType{Web: true, Codec: "proto"}},
		{"Application/GRPC-Web+Proto", true, grpcwire.ContentType{Web: true, Codec: "proto"}},
		{"application/grpc-web+json", true, grpcwire.ContentType{Web: true, Codec: "json"}},
		{"application/grpc-web-text", true, grpcwire.ContentType{Web: true, Text: true, Codec: "proto"}},
		{"application/grpc-web-text+proto", true, grpcwire.ContentType{Web: true, Text: true, Codec: "proto"}},
		{"application/grpc-web+thrift", true, grpcwire.ContentType{Web: true, Codec: "thrift"}},
		{"", false, grpcwire.ContentType{}},
		{"application/json", false, grpcwire.ContentType{}},
		{"application/grpcx", false, grpcwire.ContentType{}},
		{"application/grpc-web+", false, grpcwire.ContentType{}},
		{"text/html", false, grpcwire.ContentType{}},
		{" application/grpc-web+proto ; charset=utf-8", true, grpcwire.ContentType{Web: true, Codec: "proto"}},
		{"application/grpc-web+pro to", false, grpcwire.ContentType{}},
		{"application/grpc-web+a/b", false, grpcwire.ContentType{}},
		{"application/grpc\x00", false, grpcwire.ContentType{}},
		{"application/grpc+ü", false, grpcwire.ContentType{}},
		{"application/grpc+\u212aproto", false, grpcwire.ContentType{}}, // the Kelvin sign, whose lower case is k
	} {
		got, ok := grpcwire.ParseContentType(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseContentType(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok {
			if back, _ := grpcwire.ParseContentType(got.String()); back != got {
				t.Errorf("%q: String() = %q parses as %+v", tc.in, got.String(), back)
			}
		}
	}
}

func TestFrameMessage(t *testing.T) {
	if p, err := (grpcwire.Frame{Flag: grpcwire.FlagData, Payload: []byte("x")}).Message(); err != nil || string(p) != "x" {
		t.Errorf("data frame: %q, %v", p, err)
	}
	for flag, want := range map[byte]codes.Code{grpcwire.FlagCompressed: codes.Unimplemented, grpcwire.FlagTrailer: codes.InvalidArgument, 0x02: codes.InvalidArgument} {
		if _, err := (grpcwire.Frame{Flag: flag}).Message(); grpcstatus.Code(err) != want {
			t.Errorf("flag %#x: %v; want %v", flag, err, want)
		}
	}
}
