package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/servertest"
)

// mdBackend is a plain grpc-go server of the paths probe that keeps the
// metadata of the last call it ran, and sends back headers of hugeHeader
// bytes when a call asks (x-huge).
type mdBackend struct {
	addr string
	mu   sync.Mutex
	last metadata.MD
}

func startMDBackend(t *testing.T) *mdBackend {
	t.Helper()
	b := &mdBackend{}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		b.mu.Lock()
		b.last = md.Copy()
		b.mu.Unlock()
		if len(md["x-huge"]) > 0 {
			grpc.SetHeader(ctx, metadata.Pairs("x-big", strings.Repeat("x", 100<<10)))
		}
		return h(ctx, req)
	}))
	gs.RegisterService(pathsProbeDesc(), struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	b.addr = ln.Addr().String()
	return b
}

func (b *mdBackend) seen() metadata.MD {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// TestFrontHeadersAreItsOwn: a client's headers never override the
// front's: -backend-header replaces the client's header of its name; a
// client's X-Forwarded-For, Forwarded and X-Real-IP are dropped and the
// front's set, unless the client is a trusted proxy, whose are passed on;
// and the headers browsers add on their own (cookies, sec-*, referer,
// accept-language, user-agent) reach no backend, on any path.
func TestFrontHeadersAreItsOwn(t *testing.T) {
	be := startMDBackend(t)
	browser := http.Header{
		"X-Api-Key": {"attacker"}, "X-Forwarded-For": {"6.6.6.6"}, "Forwarded": {"for=6.6.6.6"}, "X-Real-Ip": {"6.6.6.6"},
		"Cookie": {"session=c00kie"}, "Referer": {"http://127.0.0.1/"}, "Accept-Language": {"fr"},
		"Sec-Fetch-Mode": {"cors"}, "Sec-Ch-Ua": {`"Chromium"`}, "User-Agent": {"Mozilla/5.0"}, "X-Kept": {"yes"},
	}
	check := func(t *testing.T, name string, trusted bool) {
		t.Helper()
		md := be.seen()
		if got := md.Get("x-api-key"); len(got) != 1 || got[0] != "s3cret" {
			t.Errorf("%s: the backend saw x-api-key %q; want only the front's", name, got)
		}
		wantXFF := "127.0.0.1"
		if trusted {
			wantXFF = "6.6.6.6, 127.0.0.1"
		}
		if got := md.Get("x-forwarded-for"); len(got) != 1 || got[0] != wantXFF {
			t.Errorf("%s: x-forwarded-for %q; want %q", name, got, wantXFF)
		}
		if got := md.Get("forwarded"); len(got) != 1 || !strings.HasSuffix(got[0], "for=127.0.0.1") || strings.Contains(got[0], "6.6.6.6") != trusted {
			t.Errorf("%s: forwarded %q", name, got)
		}
		for _, k := range []string{"cookie", "referer", "accept-language", "sec-fetch-mode", "sec-ch-ua"} {
			if v := md.Get(k); len(v) > 0 {
				t.Errorf("%s: the backend saw the browser's %s: %q", name, k, v)
			}
		}
		if ua := md.Get("user-agent"); len(ua) > 0 && strings.Contains(ua[0], "Mozilla") {
			t.Errorf("%s: the browser's user-agent reached the backend: %q", name, ua)
		}
		if md.Get("x-kept")[0] != "yes" {
			t.Errorf("%s: a call's own metadata was lost", name)
		}
	}
	for _, trusted := range []bool{false, true} {
		b := front.Backend{Addr: be.addr, Header: metadata.Pairs("x-api-key", "s3cret")}
		if trusted {
			b.TrustForwarded = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		fr := startFront(t, server.Config{}, b)
		for _, w := range []way{
			{name: "grpc-web/h1", client: h1Client(), base: fr.URL, ctype: grpcwire.ContentTypeProto, proto: 1, header: browser},
			{name: "grpc/h2c", client: h2cClient(), base: fr.URL, ctype: grpcwire.ContentTypeGRPC, proto: 2, header: browser},
		} {
			if res := w.post(t, "/paths.Probe/Call", webFrames(t, &pb.UserRequest{Id: 1})); res.code() != "0" {
				t.Fatalf("%s: status %s", w.name, res.code())
			}
			check(t, w.name, trusted)
		}
		// Native gRPC on grpc-go's transport, and the bridge.
		cc, err := grpc.NewClient(fr.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		for k, vs := range browser {
			for _, v := range vs {
				ctx = metadata.AppendToOutgoingContext(ctx, k, v)
			}
		}
		if err := cc.Invoke(ctx, "/paths.Probe/Call", &pb.UserRequest{Id: 1}, new(pb.UserResponse)); err != nil {
			t.Fatal(err)
		}
		cc.Close()
		check(t, "grpc, grpc-go's transport", trusted)
		md := bridgeDefaultHeaders()
		for k, vs := range browser {
			md[strings.ToLower(k)] = vs
		}
		c := bridgeOpen(t, fr.Addr, "/paths.Probe/Call", md)
		c.send(&pb.UserRequest{Id: 1})
		c.halfClose()
		if !c.recv(new(pb.UserResponse)) {
			t.Fatalf("the bridge: %v", c.st.Err())
		}
		if st := c.finish(); st.Code() != codes.OK {
			t.Fatalf("the bridge: %v", st.Err())
		}
		check(t, "the bridge", trusted)
	}
}

// TestBrowserHeadersAreNotMetadata: on the playground's own server too, the
// headers browsers add on their own never reach a handler, unless named.
func TestBrowserHeadersAreNotMetadata(t *testing.T) {
	for _, keep := range [][]string{nil, {"cookie"}} {
		ts := servertest.Start(t, server.Config{KeepBrowserHeaders: keep}, servertest.WithService(bridgeProbeDesc(), newBridgeProbe()))
		h := http.Header{"Cookie": {"session=c00kie"}, "Sec-Fetch-Site": {"same-origin"}, "Referer": {"x"}, "X-Test": {"v1"}}
		res := webPost(t, ts.Addr, "/bridgetest.Probe/Echo", webFrames(t, &pb.UserRequest{Id: 1}), h)
		var out pb.UserResponse
		if err := proto.Unmarshal(res.messages[0], &out); err != nil {
			t.Fatal(err)
		}
		seen := out.GetMessage()
		if strings.Contains(seen, "sec-fetch-site") || strings.Contains(seen, "referer") || strings.Contains(seen, "cookie") != (keep != nil) || !strings.Contains(seen, "x-test") {
			t.Errorf("keep %v: the handler saw %s", keep, seen)
		}
	}
}

// TestBackendMetadataBounded: a backend's response metadata over the
// front's bound ends the call with Internal, saying so, on every path.
func TestBackendMetadataBounded(t *testing.T) {
	be := startMDBackend(t)
	fr := startFront(t, server.Config{}, front.Backend{Addr: be.addr})
	res := way{name: "grpc-web/h1", client: h1Client(), base: fr.URL, ctype: grpcwire.ContentTypeProto, proto: 1, header: http.Header{"X-Huge": {"1"}}}.
		post(t, "/paths.Probe/Call", webFrames(t, &pb.UserRequest{Id: 1}))
	if st := grpcwire.StatusFromTrailers(res.trailer); st.Code() != codes.Internal || !strings.Contains(st.Message(), "metadata is larger") {
		t.Errorf("gRPC-Web: %v; want Internal about the metadata", st.Err())
	}
	cc, err := grpc.NewClient(fr.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	err = cc.Invoke(metadata.AppendToOutgoingContext(t.Context(), "x-huge", "1"), "/paths.Probe/Call", &pb.UserRequest{Id: 1}, new(pb.UserResponse))
	if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "metadata is larger") {
		t.Errorf("native: %v; want Internal about the metadata", err)
	}
}

// h2Request writes an HTTP/2 connection's preface and one request (its
// method and content type as given) to w.
func h2Request(w io.Writer, addr, method, ctype string) {
	var out bytes.Buffer
	out.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&out, nil)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", method}, {":scheme", "http"}, {":authority", addr}, {":path", "/UserManager/GetUser"}, {"content-type", ctype}, {"te", "trailers"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: method == http.MethodGet})
	if method != http.MethodGet {
		b, _ := proto.Marshal(&pb.UserRequest{Id: 1})
		fr.WriteData(1, true, grpcwire.AppendFrame(nil, grpcwire.FlagData, b))
	}
	w.Write(out.Bytes())
}

// TestFirstRequestQuirks: a connection whose first request grpc-go's
// transport would refuse (a content type in upper case, a GET) is served
// by the runtime, which answers it and every later request on it; TLS with
// ALPN h2 that then speaks HTTP/1.1 gets an HTTP/1.1 answer; TLS without
// ALPN that speaks HTTP/2 gets HTTP/2.
func TestFirstRequestQuirks(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	for _, tc := range []struct{ method, ctype string }{{"POST", "Application/GRPC"}, {"GET", "application/grpc"}} {
		c, err := net.Dial("tcp", ts.Addr)
		if err != nil {
			t.Fatal(err)
		}
		h2Request(c, ts.Addr, tc.method, tc.ctype)
		// A second request on the same connection, by a real client over
		// it, must be served: read the first answer, then post again.
		fr := http2.NewFramer(io.Discard, c)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var got string
		for got == "" {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.ctype, err)
			}
			if mh, ok := f.(*http2.MetaHeadersFrame); ok && mh.StreamID == 1 {
				got = mh.PseudoValue("status")
			}
		}
		c.Close()
		if got == "415" {
			t.Errorf("%s %s as a first request: 415, grpc-go's answer; want the runtime's", tc.method, tc.ctype)
		}
	}
	// A first request in upper case, then a native call, on one client.
	h2c := h2cClient()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/UserManager/GetUser", bytes.NewReader(webFrames(t, &pb.UserRequest{Id: 1})))
	req.Header.Set("Content-Type", "Application/GRPC")
	resp, err := h2c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Trailer.Get("Grpc-Status") != "0" {
		t.Errorf("Application/GRPC: HTTP %d, grpc-status %q", resp.StatusCode, resp.Trailer.Get("Grpc-Status"))
	}
	if res := (way{name: "grpc/h2c", client: h2c, base: ts.URL, ctype: grpcwire.ContentTypeGRPC, proto: 2}).post(t, "/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: 1})); res.code() != "0" {
		t.Errorf("a native call after it on the same connection: grpc-status %s", res.code())
	}

	cert := servertest.NewCertificate(t, "127.0.0.1")
	tts := servertest.Start(t, server.Config{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	// ALPN h2, then HTTP/1.1.
	c, err := tls.Dial("tcp", tts.Addr, &tls.Config{RootCAs: cert.Pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+tts.Addr+"\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	head := make([]byte, 12)
	io.ReadFull(c, head)
	c.Close()
	if !strings.HasPrefix(string(head), "HTTP/1.1 ") {
		t.Errorf("ALPN h2, then HTTP/1.1: the answer starts %q; want an HTTP/1.1 status line", head)
	}
	// No ALPN, then the HTTP/2 preface.
	c, err = tls.Dial("tcp", tts.Addr, &tls.Config{RootCAs: cert.Pool})
	if err != nil {
		t.Fatal(err)
	}
	h2Request(c, tts.Addr, "POST", grpcwire.ContentTypeGRPC)
	fr := http2.NewFramer(io.Discard, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var grpcStatus string
	for grpcStatus == "" {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no ALPN, then HTTP/2: %v", err)
		}
		if mh, ok := f.(*http2.MetaHeadersFrame); ok {
			if v := mh.PseudoValue("status"); v != "" && v != "200" {
				t.Fatalf("no ALPN, then HTTP/2: HTTP %s", v)
			}
			for _, hf := range mh.RegularFields() {
				if hf.Name == "grpc-status" {
					grpcStatus = hf.Value
				}
			}
		}
	}
	c.Close()
	if grpcStatus != "0" {
		t.Errorf("no ALPN, then HTTP/2: grpc-status %s", grpcStatus)
	}
}

// TestBridgeClosesOnce: after the trailers the bridge sends one close
// frame, and answers the client's with none.
func TestBridgeClosesOnce(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	c := bridgeOpen(t, ts.Addr, "/UserManager/GetUser", nil)
	c.send(&pb.UserRequest{Id: 1})
	c.halfClose()
	closes := 0
	c.conn.SetCloseHandler(func(code int, text string) error {
		closes++
		// Answer as browsers do, then keep reading: a second close from
		// the server would arrive as a frame.
		c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
		return nil
	})
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			break
		}
	}
	// gorilla reports the first close as the read's error, having called
	// the handler; any later frame would need a read past it: read the
	// raw socket to see whether more arrived.
	raw := c.conn.NetConn()
	raw.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	rest, _ := io.ReadAll(raw)
	if closes != 1 || len(rest) > 0 {
		t.Errorf("%d close frames handled, then %d more bytes from the server; want one close and nothing after", closes, len(rest))
	}
}

// TestUnknownMethodLogged: a call of a method nobody serves leaves a debug
// line saying so.
func TestUnknownMethodLogged(t *testing.T) {
	logs := &countingLog{}
	ts := servertest.Start(t, server.Config{Logger: slog.New(logs)})
	res := webPost(t, ts.Addr, "/UserManager/Nope", webFrames(t, &pb.UserRequest{Id: 1}), nil)
	if res.code() != "12" {
		t.Fatalf("grpc-status %s; want 12", res.code())
	}
	if logs.count("call refused") != 1 {
		t.Errorf("log: %q; want one line for the refused call", logs.msgs)
	}
}
