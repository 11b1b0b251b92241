package server_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// The gRPC-Web handler's tests post with net/http to a real server on
// 127.0.0.1, as a browser's fetch would, and read the response's frames
// with package grpcwire.

// webPost posts body (frames) to method as binary gRPC-Web over HTTP/1.1
// and reads the response whole.
func webPost(t *testing.T, addr, method string, body []byte, header http.Header) webResult {
	t.Helper()
	return way{name: "grpc-web", client: http.DefaultClient, base: "http://" + addr, ctype: grpcwire.ContentTypeProto, header: header, proto: 1}.post(t, method, body)
}

// webStart posts body to method, as a browser's fetch would, and returns
// the response as soon as its headers arrive, its body unread.
func webStart(t *testing.T, addr, method string, body []byte, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", grpcwire.ContentTypeProto)
	req.Header.Set("X-Grpc-Web", "1")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func webFrames(t *testing.T, msgs ...proto.Message) []byte {
	t.Helper()
	var out []byte
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = grpcwire.AppendFrame(out, grpcwire.FlagData, b)
	}
	return out
}

// TestWebCalls makes the same calls, good and bad, every way a call comes
// over HTTP (gRPC-Web binary and text, HTTP/1.1 and HTTP/2, cleartext and
// TLS, same-origin and cross-origin, and native gRPC served by our call
// core): each gets the same answer.
func TestWebCalls(t *testing.T) {
	const other = "https://app.example.com"
	ts := bridgeStart(t, server.Config{AllowedOrigins: []string{other}})
	cert := servertest.NewCertificate(t, "127.0.0.1")
	tts := bridgeStart(t, server.Config{AllowedOrigins: []string{other}, TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	users := func(res webResult) []uint32 {
		var ids []uint32
		for _, m := range res.messages {
			var r pb.UserResponse
			if err := proto.Unmarshal(m, &r); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.GetUser().GetId())
		}
		return ids
	}
	tests := []struct {
		name, method string
		body         []byte
		code         string
		ids          string // the users of the replies
		msgPart      string
	}{
		{"unary", "/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 2}), "0", "[2]", ""},
		{"unknown id", "/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 99}), "0", "[0]", ""},
		{"server stream", "/UserManager/GetUsersByType", webFrames(t, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL}), "0", "[3 5 6]", ""},
		{"empty server stream", "/UserManager/GetUsersByType", webFrames(t, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_NONE}), "0", "[]", ""},
		{"invalid", "/UserManager/GetUser", webFrames(t, &pb.UserRequest{}), "3", "[]", "id"},
		{"unknown method", "/UserManager/Nope", webFrames(t, &pb.UserRequest{Id: 1}), "12", "[]", "unknown method Nope for service UserManager"},
		{"unknown service", "/Nope/GetUser", webFrames(t, &pb.UserRequest{Id: 1}), "12", "[]", "unknown service Nope"},
		{"no request", "/UserManager/GetUser", nil, "13", "[]", "no request"},
		{"two requests to a unary method", "/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 1}, &pb.UserRequest{Id: 2}), "13", "[]", "multiple"},
		{"truncated frame", "/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 1})[:6], "3", "[]", "ends inside a frame"},
		{"truncated prefix", "/UserManager/GetUser", []byte{0, 0}, "3", "[]", "ends inside a frame prefix"},
		{"frame over the limit", "/UserManager/GetUser", []byte{0, 0x01, 0, 0, 0}, "8", "[]", "larger than max"},
		{"compressed frame, no grpc-encoding", "/UserManager/GetUser", []byte{1, 0, 0, 0, 0}, "13", "[]", "compressed flag"},
		{"trailer frame in a request", "/UserManager/GetUser", []byte{0x80, 0, 0, 0, 0}, "13", "[]", "unexpected payload format"},
		{"request that is not protobuf", "/UserManager/GetUser", grpcwire.AppendFrame(nil, grpcwire.FlagData, []byte{0xff, 0xff}), "13", "[]", "unmarshal"},
	}
	for _, w := range waysTo(t, ts.Addr, other, tts.Addr, cert) {
		t.Run(w.name, func(t *testing.T) {
			for _, tc := range tests {
				res := w.post(t, tc.method, tc.body)
				if res.code() != tc.code || fmt.Sprint(users(res)) != tc.ids || !strings.Contains(grpcwire.First(res.trailer, grpcwire.HeaderMessage), tc.msgPart) {
					t.Errorf("%s: status %s %q, users %v; want %s %q, %s", tc.name, res.code(), grpcwire.First(res.trailer, grpcwire.HeaderMessage), users(res), tc.code, tc.msgPart, tc.ids)
				}
				if ct := res.resp.Header.Get("Content-Type"); ct != w.ctype {
					t.Errorf("%s: content-type %q; want %q", tc.name, ct, w.ctype)
				}
				if w.header.Get("Origin") != "" && res.resp.Header.Get("Access-Control-Allow-Origin") != other {
					t.Errorf("%s: a listed origin's call got no CORS headers: %v", tc.name, res.resp.Header)
				}
			}
			// A client stream in one request body: every message counts.
			res := w.post(t, "/UserManager/CountAlreadyUsers", webFrames(t, &pb.UserRequest{Id: 1}, &pb.UserRequest{Id: 99}, &pb.UserRequest{Id: 1}))
			var cnt pb.UserCntResponse
			if res.code() != "0" || len(res.messages) != 1 || proto.Unmarshal(res.messages[0], &cnt) != nil || cnt.GetUserCnt() != 2 {
				t.Errorf("CountAlreadyUsers 1 99 1: status %s, reply %v", res.code(), &cnt)
			}
		})
	}
}

// TestWebCallMetadata: request headers reach the handler as metadata, the
// handler's header metadata comes back as response headers and its
// trailers in the trailer block, "-bin" values base64 on the grpcwire.
func TestWebCallMetadata(t *testing.T) {
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), newBridgeProbe()))
	header := http.Header{
		"X-Test":       {"v1"},
		"X-Raw-Bin":    {base64.RawStdEncoding.EncodeToString([]byte("\x00\xff"))},
		"Grpc-Timeout": {"5S"},
	}
	res := webPost(t, ts.Addr, "/bridgetest.Probe/Echo", webFrames(t, &pb.UserRequest{Id: 1}), header)
	var r pb.UserResponse
	if res.code() != "0" || len(res.messages) != 1 || proto.Unmarshal(res.messages[0], &r) != nil {
		t.Fatalf("Echo: status %s, %d messages", res.code(), len(res.messages))
	}
	seen, err := url.ParseQuery(r.GetMessage())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"x-test": "v1", "x-raw-bin": "\x00\xff", "method": "/bridgetest.Probe/Echo", "deadline": "true", ":authority": ts.Addr} {
		if got := seen.Get(k); got != want {
			t.Errorf("handler saw %s = %q; want %q", k, got, want)
		}
	}
	if seen.Get("content-type") != grpcwire.ContentTypeProto || seen.Get("grpc-timeout") != "" || !strings.HasPrefix(seen.Get("peer"), "127.0.0.1:") {
		t.Errorf("handler saw content-type %q, grpc-timeout %q, peer %q", seen.Get("content-type"), seen.Get("grpc-timeout"), seen.Get("peer"))
	}
	if got := res.resp.Header.Get("X-Head"); got != "h1" {
		t.Errorf("response header x-head = %q; want h1", got)
	}
	if grpcwire.First(res.trailer, "x-tail") != "t1" || grpcwire.First(res.trailer, "x-tail-bin") != "\x00\x01" {
		t.Errorf("trailers %v", res.trailer)
	}

	// A failure before any message, after the handler set headers: the
	// headers, then the trailers with the status message kept byte for
	// byte, as grpc-go's transport answers.
	res = webPost(t, ts.Addr, "/bridgetest.Probe/Echo", webFrames(t, &pb.UserRequest{Id: 13}), nil)
	st := grpcwire.StatusFromTrailers(res.trailer)
	if st.Code() != codes.FailedPrecondition || st.Message() != bridgeProbeErrMsg || res.resp.Header.Get("X-Head") != "h1" || grpcwire.First(res.trailer, "x-tail") != "t1" {
		t.Fatalf("failed Echo: %v %q, headers %v, trailers %v", st.Code(), st.Message(), res.resp.Header, res.trailer)
	}
}

// TestWebCallClientGone: a client that goes away mid-stream ends the
// handler's stream.
func TestWebCallClientGone(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	resp := webStart(t, ts.Addr, "/bridgetest.Probe/Flood", webFrames(t, &pb.UserRequest{Id: 1}), nil)
	if _, err := grpcwire.NewResponseReader(resp.Body, 1<<20).Next(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	resp.Body.Close() // the client goes away mid-stream
	select {
	case err := <-probe.ended:
		if err == nil {
			t.Fatal("the stream ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler went on after its client left")
	}
}

// TestWebCallStreamsMessageByMessage: a server stream's first message
// reaches the client while the handler still runs (it waits for its
// client to leave), and the client's leaving ends the handler.
func TestWebCallStreamsMessageByMessage(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	resp := webStart(t, ts.Addr, "/bridgetest.Probe/Hold", nil, nil)
	f, err := grpcwire.NewResponseReader(resp.Body, 1<<20).Next()
	var r pb.UserResponse
	if err != nil || proto.Unmarshal(f.Payload, &r) != nil || r.GetMessage() != "holding" {
		t.Fatalf("first message while the handler holds: %q, %v", f.Payload, err)
	}
	resp.Body.Close()
	select {
	case err := <-probe.ended:
		if err == nil {
			t.Fatal("Hold ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler went on after its client left")
	}
	http.DefaultClient.CloseIdleConnections()
	bridgeWaitGoroutines(t, base)
}

// TestWebCallSlowReader: a client that reads nothing makes its server
// stream's sends wait and then fail; the server does not buffer for it.
func TestWebCallSlowReader(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{WriteTimeout: 200 * time.Millisecond}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	resp := webStart(t, ts.Addr, "/bridgetest.Probe/Flood", webFrames(t, &pb.UserRequest{Id: 1}), nil) // and never read the body
	select {
	case err := <-probe.ended:
		if err == nil {
			t.Fatal("Flood ended without an error")
		}
		t.Logf("Send failed after %d messages of %d bytes: %v", probe.sent.Load(), bridgeFloodSize, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("Send never failed: %d messages of %d bytes accepted for a client that does not read", probe.sent.Load(), bridgeFloodSize)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	bridgeWaitGoroutines(t, base)
}
