package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/servertest"
)

// gzipFrame is m as a gzip-compressed request frame.
func gzipFrame(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var g grpcwire.GzipWriters
	out, err := g.AppendFrame(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gunzipReply decodes a reply frame's payload, compressed or not.
func gunzipReply(t *testing.T, p []byte, compressed bool, m proto.Message) {
	t.Helper()
	if compressed {
		zr, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		if p, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	if err := proto.Unmarshal(p, m); err != nil {
		t.Fatal(err)
	}
}

// compressionSeen is a client stats handler that keeps the grpc-encoding
// of the last response.
type compressionSeen struct{ got string }

func (c *compressionSeen) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}
func (c *compressionSeen) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (c *compressionSeen) HandleConn(context.Context, stats.ConnStats) {}
func (c *compressionSeen) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		c.got = h.Compression
	}
}

// TestGzipEveryPath: a client that compresses its requests with gzip is
// understood on every path, and gets its replies compressed so too, as
// grpc-go's transport answers: native gRPC on grpc-go's transport and on
// the runtime, gRPC-Web binary and text, the WebSocket bridge, and
// through a front. A compressed flag without grpc-encoding is Internal.
func TestGzipEveryPath(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	backend := servertest.Start(t, server.Config{})
	fr := servertest.Start(t, server.Config{Backend: &front.Backend{Addr: backend.Addr}}, servertest.WithoutStore())

	for _, addr := range []string{ts.Addr, fr.Addr} {
		seen := &compressionSeen{}
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithStatsHandler(seen),
			grpc.WithDefaultCallOptions(grpc.UseCompressor(grpcgzip.Name)))
		if err != nil {
			t.Fatal(err)
		}
		r, err := pb.NewUserManagerClient(cc).GetUser(t.Context(), &pb.UserRequest{Id: 1})
		cc.Close()
		if err != nil || r.GetUser().GetNickname() != "admin" || seen.got != "gzip" {
			t.Errorf("%s, grpc-go's client compressing: %v, %v, reply grpc-encoding %q; want admin, gzip", addr, r, err, seen.got)
		}
	}

	mixed := h2cClient()
	httpCall(t, way{name: "pin", client: mixed, base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 2}, 1)
	gz := http.Header{"Grpc-Encoding": {"gzip"}, "Grpc-Accept-Encoding": {"gzip"}}
	for _, w := range []way{
		{name: "grpc/h2c on the runtime", client: mixed, base: ts.URL, ctype: grpcwire.ContentTypeGRPC, header: gz, proto: 2},
		{name: "grpc-web/h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeProto, header: gz, proto: 1},
		{name: "grpc-web-text/h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeText, header: gz, proto: 1},
		{name: "grpc-web/h2c", client: h2cClient(), base: ts.URL, ctype: grpcwire.ContentTypeProto, header: gz, proto: 2},
		{name: "front, grpc-web/h1", client: h1Client(), base: fr.URL, ctype: grpcwire.ContentTypeProto, header: gz, proto: 1},
	} {
		res := w.post(t, "/UserManager/GetUser", gzipFrame(t, &pb.UserRequest{Id: 2}))
		var out pb.UserResponse
		if res.code() != "0" || len(res.messages) != 1 || res.resp.Header.Get("Grpc-Encoding") != "gzip" {
			t.Errorf("%s: status %s, %d replies, grpc-encoding %q; want 0, 1, gzip", w.name, res.code(), len(res.messages), res.resp.Header.Get("Grpc-Encoding"))
			continue
		}
		gunzipReply(t, res.messages[0], true, &out)
		if out.GetUser().GetNickname() != "guest" {
			t.Errorf("%s: reply %v", w.name, &out)
		}
	}

	// The bridge: the encoding in the header block, the reply compressed.
	md := bridgeDefaultHeaders()
	md[grpcwire.HeaderEncoding] = []string{"gzip"}
	c := bridgeOpen(t, ts.Addr, "/UserManager/GetUser", md)
	c.data(gzipFrame(t, &pb.UserRequest{Id: 3}))
	c.halfClose()
	var reply []byte
	var flag byte
	for {
		f, err := c.nextFrame()
		if err != nil {
			t.Fatalf("bridge: %v", err)
		}
		if f.IsTrailer() {
			block, _ := grpcwire.ParseHeaderBlock(f.Payload)
			if grpcwire.First(block, grpcwire.HeaderStatus) != "" {
				if st := grpcwire.StatusFromTrailers(block); st.Code() != codes.OK {
					t.Fatalf("bridge: %v", st.Err())
				}
				break
			}
			if grpcwire.First(block, grpcwire.HeaderEncoding) != "gzip" {
				t.Errorf("bridge: header block %v; want grpc-encoding gzip", block)
			}
			continue
		}
		reply, flag = bytes.Clone(f.Payload), f.Flag
	}
	var out pb.UserResponse
	gunzipReply(t, reply, flag == grpcwire.FlagCompressed, &out)
	if flag != grpcwire.FlagCompressed || out.GetUser().GetNickname() != "foo" {
		t.Errorf("bridge: reply flag %d, %v; want a compressed foo", flag, &out)
	}
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))

	// A compressed flag with no encoding named: Internal, as grpc-go says.
	res := way{name: "grpc-web/h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 1}.post(t, "/UserManager/GetUser", gzipFrame(t, &pb.UserRequest{Id: 2}))
	if st := grpcwire.StatusFromTrailers(res.trailer); st.Code() != codes.Internal || !strings.Contains(st.Message(), "compressed flag") {
		t.Errorf("a compressed frame without grpc-encoding: %v", st.Err())
	}
}
