package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// jsonFrames frames JSON messages as gRPC's +json content types carry them.
func jsonFrames(msgs ...string) []byte {
	var out []byte
	for _, m := range msgs {
		out = grpcwire.AppendFrame(out, grpcwire.FlagData, []byte(m))
	}
	return out
}

// TestJSONCalls: application/grpc-web+json (connect-web's JSON mode) and
// application/grpc+json are answered in JSON, over HTTP/1.1, h2c and TLS
// HTTP/2: a unary call, a server stream and errors.
func TestJSONCalls(t *testing.T) {
	ts := bridgeStart(t, server.Config{})
	cert := servertest.NewCertificate(t, "127.0.0.1")
	tts := bridgeStart(t, server.Config{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	h2cNative := h2cClient()
	pinToNetHTTP(t, h2cNative, "http://"+ts.Addr)
	tlsNative := tlsClient(cert, false)
	pinToNetHTTP(t, tlsNative, "https://"+tts.Addr)
	const webJSON, grpcJSON = grpcwire.ContentTypeWebJSON, "application/grpc+json"
	ways := []way{
		{name: "grpc-web+json/h1", client: h1Client(), base: "http://" + ts.Addr, ctype: webJSON, proto: 1},
		{name: "grpc-web+json/h2c", client: h2cClient(), base: "http://" + ts.Addr, ctype: webJSON, proto: 2},
		{name: "grpc-web+json/tls-h2", client: tlsClient(cert, false), base: "https://" + tts.Addr, ctype: webJSON, proto: 2},
		{name: "grpc+json/h2c/net-http", client: h2cNative, base: "http://" + ts.Addr, ctype: grpcJSON, proto: 2},
		{name: "grpc+json/tls-h2/net-http", client: tlsNative, base: "https://" + tts.Addr, ctype: grpcJSON, proto: 2},
	}
	tests := []struct {
		name, method string
		body         []byte
		code         string
		replies      string // the replies' nicknames
		msgPart      string
	}{
		{"unary", "/UserManager/GetUser", jsonFrames(`{"id": 1}`), "0", "[admin]", ""},
		{"unary, id as a string", "/UserManager/GetUser", jsonFrames(`{"id": "2"}`), "0", "[guest]", ""},
		{"server stream", "/UserManager/GetUsersByType", jsonFrames(`{"userType": "NORMAL"}`), "0", "[foo Zaru Saru]", ""},
		{"server stream, proto field name, enum number", "/UserManager/GetUsersByType", jsonFrames(`{"user_type": 3}`), "0", "[guest]", ""},
		{"invalid", "/UserManager/GetUser", jsonFrames(`{"id": 0}`), "3", "[]", "id"},
		{"not JSON", "/UserManager/GetUser", jsonFrames(`{"id": `), "13", "[]", "JSON"},
		{"unknown field", "/UserManager/GetUser", jsonFrames(`{"idd": 1}`), "13", "[]", "idd"},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			for _, tc := range tests {
				res := w.post(t, tc.method, tc.body)
				var names []string
				for _, m := range res.messages {
					var r pb.UserResponse
					if err := protojson.Unmarshal(m, &r); err != nil {
						t.Fatalf("%s: reply %q is not protojson: %v", tc.name, m, err)
					}
					names = append(names, r.GetUser().GetNickname())
				}
				if res.code() != tc.code || fmt.Sprint(names) != tc.replies || !strings.Contains(grpcwire.First(res.trailer, grpcwire.HeaderMessage), tc.msgPart) {
					t.Errorf("%s: status %s %q, replies %v; want %s %q, %s", tc.name, res.code(), grpcwire.First(res.trailer, grpcwire.HeaderMessage), names, tc.code, tc.msgPart, tc.replies)
				}
				if ct := res.resp.Header.Get("Content-Type"); ct != w.ctype {
					t.Errorf("%s: content-type %q", tc.name, ct)
				}
			}
		})
	}

	// Native gRPC with JSON messages, the connection's first request: on
	// grpc-go's transport.
	cc, err := grpc.NewClient(ts.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	um := pb.NewUserManagerClient(cc)
	r, err := um.GetUser(context.Background(), &pb.UserRequest{Id: 5}, grpc.ForceCodecV2(clientJSONCodec{}))
	if err != nil || r.GetUser().GetNickname() != "Zaru" {
		t.Fatalf("GetUser over application/grpc+json: %v, %v", r, err)
	}
	if _, err := um.GetUser(context.Background(), &pb.UserRequest{}, grpc.ForceCodecV2(clientJSONCodec{})); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("invalid GetUser over application/grpc+json: %v", err)
	}

	// JSON on a connection that opened with protobuf: served there too.
	proto1, err := grpc.NewClient(ts.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer proto1.Close()
	um = pb.NewUserManagerClient(proto1)
	if _, err := um.GetUser(context.Background(), &pb.UserRequest{Id: 5}); err != nil {
		t.Fatal(err)
	}
	if r, err := um.GetUser(context.Background(), &pb.UserRequest{Id: 5}, grpc.ForceCodecV2(clientJSONCodec{})); err != nil || r.GetUser().GetNickname() != "Zaru" {
		t.Fatalf("JSON after protobuf on one connection: %v, %v", r, err)
	}
}

// clientJSONCodec is a grpc-go client's protojson codec, forced on a call:
// it sends application/grpc+json.
type clientJSONCodec struct{}

func (clientJSONCodec) Name() string { return "json" }

func (clientJSONCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := protojson.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (clientJSONCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return protojson.Unmarshal(data.Materialize(), v.(proto.Message))
}
