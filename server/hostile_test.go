package server_test

// Tests of what careless or hostile clients do: each was a probe of the
// built binary that found a defect, kept as a test over real connections.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// TestNeverReadingStreamEnds: a server stream whose client stops reading is
// ended after the write timeout, on every encoding, so nothing piles up and
// shutdown is not held up by it.
func TestNeverReadingStreamEnds(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{WriteTimeout: 200 * time.Millisecond}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	for _, ctype := range []string{grpcwire.ContentTypeProto, grpcwire.ContentTypeText, grpcwire.ContentTypeWebJSON} {
		w := way{name: ctype, client: h1Client(), base: ts.URL, ctype: ctype, proto: 1}
		body := webFrames(t, &pb.UserRequest{Id: 1})
		if ctype == grpcwire.ContentTypeWebJSON {
			body = jsonFrames(`{"id": 1}`)
		}
		resp := w.start(t, "/bridgetest.Probe/Flood", body) // and never read the body
		select {
		case err := <-probe.ended:
			if err == nil {
				t.Fatalf("%s: Flood ended without an error", ctype)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: Send never failed: %d messages of %d bytes accepted for a client that does not read", ctype, probe.sent.Load(), bridgeFloodSize)
		}
		resp.Body.Close()
		w.client.CloseIdleConnections()
	}
	bridgeWaitGoroutines(t, base)
}

// TestShutdownTellsCutOffCalls: calls still running when the grace period
// ends get "Unavailable: server is shutting down" in their trailers, on
// every protocol, before their connections close.
func TestShutdownTellsCutOffCalls(t *testing.T) {
	probe := newBridgeProbe()
	cert := servertest.NewCertificate(t, "127.0.0.1")
	for _, tc := range []struct {
		name string
		cfg  server.Config
		w    func(ts *servertest.Server) way
	}{
		{"grpc-web/h1", server.Config{}, func(ts *servertest.Server) way {
			return way{name: "h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 1}
		}},
		{"grpc-web-text/h1", server.Config{}, func(ts *servertest.Server) way {
			return way{name: "text", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeText, proto: 1}
		}},
		{"grpc-web/tls-h2", server.Config{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile}, func(ts *servertest.Server) way {
			return way{name: "h2", client: tlsClient(cert, false), base: "https://" + ts.Addr, ctype: grpcwire.ContentTypeProto, proto: 2}
		}},
		{"grpc/h2c/net-http", server.Config{}, func(ts *servertest.Server) way {
			c := h2cClient()
			pinToNetHTTP(t, c, ts.URL)
			return way{name: "native", client: c, base: ts.URL, ctype: grpcwire.ContentTypeGRPC, proto: 2}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := bridgeStart(t, tc.cfg, servertest.WithService(bridgeProbeDesc(), probe))
			w := tc.w(ts)
			resp := w.start(t, "/bridgetest.Probe/Hold", nil)
			// Read until the first message ("holding") has arrived.
			var got bytes.Buffer
			buf := make([]byte, 4096)
			for !strings.Contains(got.String(), "holding") && !strings.Contains(decodeTextLoose(got.Bytes()), "holding") {
				n, err := resp.Body.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					t.Fatalf("before shutdown: %v", err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown = %v; want the grace period's end", err)
			}
			rest, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("the cut-off call's body ended with %v; want its trailers first", err)
			}
			all := append(got.Bytes(), rest...)
			if w.text() {
				if all, err = decodeText(all); err != nil {
					t.Fatal(err)
				}
			}
			var tr map[string][]string
			if w.native() {
				tr = headerMD(t, resp.Trailer)
			} else {
				fr := grpcwire.NewResponseReader(bytes.NewReader(all), 1<<20)
				for {
					f, err := fr.Next()
					if err != nil {
						t.Fatalf("no trailer block after shutdown: %v", err)
					}
					if f.IsTrailer() {
						tr, _ = grpcwire.ParseHeaderBlock(f.Payload)
						break
					}
				}
			}
			st := grpcwire.StatusFromTrailers(tr)
			if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "shutting down") {
				t.Fatalf("cut-off call's status %v %q; want Unavailable: server is shutting down", st.Code(), st.Message())
			}
			<-probe.ended
		})
	}
}

// decodeTextLoose decodes what it can of a grpc-web-text body so far.
func decodeTextLoose(b []byte) string {
	d, _ := decodeText(b[:len(b)/4*4])
	return string(d)
}

// TestOneAnswerToBadHeaders: bad request headers get a gRPC status, the
// same every way, never an HTTP error or a status clients retry.
func TestOneAnswerToBadHeaders(t *testing.T) {
	const other = "https://app.example.com"
	ts := bridgeStart(t, server.Config{AllowedOrigins: []string{other}})
	cert := servertest.NewCertificate(t, "127.0.0.1")
	tts := bridgeStart(t, server.Config{AllowedOrigins: []string{other}, TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	id1 := webFrames(t, &pb.UserRequest{Id: 1})
	for _, w := range waysTo(t, ts.Addr, other, tts.Addr, cert) {
		for _, tc := range []struct {
			name, header, value string
			code                codes.Code
			msgPart             string
		}{
			{"bad grpc-timeout", "Grpc-Timeout", "soon", codes.InvalidArgument, "grpc-timeout"},
			{"bad -bin header", "X-Trace-Bin", "not base64!", codes.InvalidArgument, "x-trace-bin"},
			{"an encoding the server lacks", "Grpc-Encoding", "br", codes.Unimplemented, "br"},
		} {
			w := w
			w.header = w.header.Clone()
			if w.header == nil {
				w.header = http.Header{}
			}
			w.header.Set(tc.header, tc.value)
			res := w.post(t, "/UserManager/GetUser", id1)
			st := grpcwire.StatusFromTrailers(res.trailer)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msgPart) {
				t.Errorf("%s, %s: %v %q; want %v with %q", w.name, tc.name, st.Code(), st.Message(), tc.code, tc.msgPart)
			}
		}
		if !w.text() {
			continue
		}
		// Invalid base64 in a text body is the client's error, not a
		// transport failure that clients retry.
		resp := w.start(t, "/UserManager/GetUser", nil)
		resp.Body.Close()
		req, _ := http.NewRequest(http.MethodPost, w.base+"/UserManager/GetUser", strings.NewReader("AAAA*not base64*"))
		req.Header.Set("Content-Type", w.ctype)
		req.Header.Set("Origin", w.header.Get("Origin"))
		resp, err := w.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		md := headerMD(t, resp.Header)
		if resp.StatusCode == http.StatusOK && len(md[grpcwire.HeaderStatus]) == 0 {
			d, _ := decodeText(b)
			fr := grpcwire.NewResponseReader(bytes.NewReader(d), 1<<20)
			for f, err := fr.Next(); err == nil; f, err = fr.Next() {
				if f.IsTrailer() {
					md, _ = grpcwire.ParseHeaderBlock(f.Payload)
				}
			}
		}
		if st := grpcwire.StatusFromTrailers(md); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "base64") {
			t.Errorf("%s, invalid base64: %v %q; want InvalidArgument", w.name, st.Code(), st.Message())
		}
	}
}

// TestForeignOriginsRefused: a call from an origin that is neither the
// page's own nor listed is refused before it runs (an AddUser it carries is
// not stored), on every protocol; a listed one runs.
func TestForeignOriginsRefused(t *testing.T) {
	const listed = "https://app.example.com"
	ts := bridgeStart(t, server.Config{AllowedOrigins: []string{listed}})
	h2c := h2cClient()
	pinToNetHTTP(t, h2c, ts.URL)
	id := uint32(100)
	for _, origin := range []string{"http://evil.example", "null", "http://" + ts.Addr + ".evil.example"} {
		for _, w := range []way{
			{name: "grpc-web", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 1},
			{name: "grpc-web-text", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeText, proto: 1},
			{name: "grpc-web/h2c", client: h2cClient(), base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 2},
			{name: "grpc/h2c/net-http", client: h2c, base: ts.URL, ctype: grpcwire.ContentTypeGRPC, proto: 2},
		} {
			id++
			w.header = http.Header{"Origin": {origin}}
			resp := w.start(t, "/UserManager/AddUser", webFrames(t, &pb.User{Id: id, Nickname: "evil", MailAddress: "evil@example.com", UserType: pb.User_NORMAL}))
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			st := grpcwire.StatusFromTrailers(headerMD(t, resp.Header))
			// gRPC-Web gets 403; native gRPC a trailers-only response, as
			// grpc-go's transport answers a refused call.
			wantHTTP := http.StatusForbidden
			if w.ctype == grpcwire.ContentTypeGRPC {
				wantHTTP = http.StatusOK
			}
			if resp.StatusCode != wantHTTP || st.Code() != codes.PermissionDenied {
				t.Errorf("%s from %s: HTTP %d, %v; want %d and PermissionDenied", w.name, origin, resp.StatusCode, st.Code(), wantHTTP)
			}
			if r := webPost(t, ts.Addr, "/UserManager/GetUser", webFrames(t, &pb.UserRequest{Id: id}), nil); !strings.Contains(string(r.messages[0]), "not found") {
				t.Errorf("%s from %s: the refused AddUser was stored", w.name, origin)
			}
		}
		if _, resp, err := bridgeDial(ts.Addr, "/UserManager/AddUser", http.Header{"Origin": {origin}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("bridge from %s: %v; want 403", origin, err)
		}
	}
	// A listed origin's call runs.
	w := way{name: "listed", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeProto, header: http.Header{"Origin": {listed}}, proto: 1}
	res := w.post(t, "/UserManager/AddUser", webFrames(t, &pb.User{Id: 999, Nickname: "ok", MailAddress: "ok@example.com", UserType: pb.User_NORMAL}))
	if res.code() != "0" || res.resp.Header.Get("Access-Control-Allow-Origin") != listed {
		t.Fatalf("listed origin: status %s, CORS %q", res.code(), res.resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// logLines is a slog handler that keeps every message.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}

func (l *logLines) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// TestDNSRebinding: a server on a loopback address answers only loopback
// host names unless told others (-allowed-hosts): a page on another name
// that resolves to it gets 403 for the page, gRPC-Web and the bridge, and
// the refusal is logged.
func TestDNSRebinding(t *testing.T) {
	logs := &logLines{}
	ts := bridgeStart(t, server.Config{Logger: slog.New(logs)})
	_, port, _ := net.SplitHostPort(ts.Addr)
	get := func(host, path string, body []byte, ctype string) int {
		method := http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
		req, _ := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
		req.Host = host
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Origin", "http://"+host) // the page's "own" origin, as the rebound page sees it
		}
		resp, err := h1Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	id1 := webFrames(t, &pb.UserRequest{Id: 1})
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "LOCALHOST:" + port} {
		if code := get(host, "/", nil, ""); code != http.StatusOK {
			t.Errorf("page for host %s: %d; want 200", host, code)
		}
		if code := get(host, "/UserManager/GetUser", id1, grpcwire.ContentTypeProto); code != http.StatusOK {
			t.Errorf("gRPC-Web for host %s: %d; want 200", host, code)
		}
	}
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port} {
		if code := get(host, "/", nil, ""); code != http.StatusForbidden {
			t.Errorf("page for host %s: %d; want 403", host, code)
		}
		if code := get(host, "/UserManager/GetUser", id1, grpcwire.ContentTypeProto); code != http.StatusForbidden {
			t.Errorf("gRPC-Web for host %s: %d; want 403", host, code)
		}
		d := websocket.Dialer{Subprotocols: []string{grpcwire.WebSocketProtocol}}
		h := http.Header{"Host": {host}, "Origin": {"http://" + host}}
		nd := net.Dialer{}
		d.NetDialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return nd.DialContext(ctx, "tcp", ts.Addr) }
		if _, resp, err := d.Dial("ws://"+host+"/UserManager/GetUser", h); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("bridge for host %s: %v; want 403", host, err)
		}
	}
	if !logs.contains("host=evil.example") {
		t.Error("the refusals were not logged")
	}

	// With -allowed-hosts, the names listed, and only they.
	named := bridgeStart(t, server.Config{AllowedHosts: []string{"play.example.com"}})
	req, _ := http.NewRequest(http.MethodGet, named.URL+"/", nil)
	req.Host = "play.example.com"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("allowed host: %v, %v", resp, err)
	}
	req.Host = named.Addr
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a host not listed: %v, %v; want 403", resp, err)
	}
}

// TestSlowBodies: request bodies dripped a byte at a time end with
// DeadlineExceeded once a message has taken longer than the message
// timeout to arrive, on gRPC-Web and the bridge; a stream whose client
// merely waits between messages is not cut.
func TestSlowBodies(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := bridgeStart(t, server.Config{MessageTimeout: timeout})
	base := bridgeBaseline(t, ts.Addr)
	frame := webFrames(t, &pb.UserRequest{Id: 1})

	// Many connections dripping gRPC-Web bodies, unary and client
	// streaming: every one is answered, none is held.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 40 {
		wg.Go(func() {
			method := "/UserManager/GetUser"
			if i%2 == 1 {
				method = "/UserManager/CountAlreadyUsers"
			}
			c, err := net.DialTimeout("tcp", ts.Addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/grpc-web+proto\r\nTransfer-Encoding: chunked\r\n\r\n", method, ts.Addr)
			go func() {
				for _, b := range frame {
					if _, err := fmt.Fprintf(c, "1\r\n%c\r\n", b); err != nil {
						return
					}
					time.Sleep(time.Second)
				}
			}()
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := io.ReadAll(c)
			if !strings.Contains(string(resp), "grpc-status: 4") || !strings.Contains(string(resp), "too slowly") {
				errs <- fmt.Errorf("%s dripped: %q, %v; want DeadlineExceeded", method, resp, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The bridge: a message dripped over many WebSocket messages.
	drip := bridgeOpen(t, ts.Addr, "/UserManager/CountAlreadyUsers", nil)
	go func() {
		for _, b := range frame {
			if drip.conn.WriteMessage(websocket.BinaryMessage, []byte{grpcwire.WSData, b}) != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}()
	bridgeWantCode(t, drip.finish(), codes.DeadlineExceeded, "too slowly")
	drip.conn.Close()

	// A client stream that waits between messages, each sent at once, is
	// served in full.
	c := bridgeOpen(t, ts.Addr, "/UserManager/CountAlreadyUsers", nil)
	for range 3 {
		c.send(&pb.UserRequest{Id: 1})
		time.Sleep(2 * timeout)
	}
	c.halfClose()
	var cnt pb.UserCntResponse
	if !c.recv(&cnt) || cnt.GetUserCnt() != 3 {
		t.Fatalf("a patient client stream: %v, %v", &cnt, c.st)
	}
	bridgeWantCode(t, c.finish(), codes.OK, "")
	bridgeWaitGoroutines(t, base)
}

// TestStreamsPerClient: one client address gets its share of the bridge's
// streams, not all of them; other clients still get theirs.
func TestStreamsPerClient(t *testing.T) {
	ts := bridgeStart(t, server.Config{MaxStreams: 8, MaxStreamsPerClient: 2})
	a := bridgeHoldOpen(t, ts.Addr)
	b := bridgeHoldOpen(t, ts.Addr)
	c := bridgeOpen(t, ts.Addr, "/UserManager/GetUsersByIds", nil)
	bridgeWantCode(t, c.finish(), codes.ResourceExhausted, "its share")

	// Another address (all of 127/8 is loopback) is served.
	d := websocket.Dialer{Subprotocols: []string{grpcwire.WebSocketProtocol}, NetDial: func(network, addr string) (net.Conn, error) {
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		return nd.Dial(network, addr)
	}}
	conn, _, err := d.Dial("ws://"+ts.Addr+"/UserManager/GetUsersByIds", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	other := bridgeClientOn(t, conn)
	other.write(websocket.BinaryMessage, grpcwire.AppendHeaderBlock(nil, bridgeDefaultHeaders()))
	other.send(&pb.UserRequest{Id: 2})
	var r pb.UserResponse
	if !other.recv(&r) || r.GetUser().GetId() != 2 {
		t.Fatalf("another client's stream: %v, %v", &r, other.st)
	}
	for _, s := range []*bridgeClient{a, b, other} {
		s.halfClose()
		bridgeWantCode(t, s.finish(), codes.OK, "")
	}
}

// TestKeepAliveAfterSlowAndExpiredCalls: on an HTTP/1.1 connection, a call
// whose handler runs past the message timeout is not cut, one whose
// deadline expires ends with DeadlineExceeded, and the next call on the
// same connection is served normally after either.
func TestKeepAliveAfterSlowAndExpiredCalls(t *testing.T) {
	ts := servertest.Start(t, server.Config{MessageTimeout: 200 * time.Millisecond},
		servertest.WithService(&testgrpc.TestService_ServiceDesc, interop.NewTestServer()))
	w := way{name: "h1", client: h1Client(), base: ts.URL, ctype: grpcwire.ContentTypeProto, proto: 1}
	slow := webFrames(t, &testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: 1, IntervalUs: 600_000}}})
	for i := range 3 {
		if res := w.post(t, "/grpc.testing.TestService/StreamingOutputCall", slow); res.code() != "0" || len(res.messages) != 1 {
			t.Fatalf("call %d, slower than the message timeout: status %s %q", i, res.code(), grpcwire.First(res.trailer, grpcwire.HeaderMessage))
		}
		w.header = http.Header{"Grpc-Timeout": {"100m"}}
		if res := w.post(t, "/grpc.testing.TestService/StreamingOutputCall", slow); res.code() != "4" {
			t.Fatalf("call %d, past its deadline: status %s %q; want DeadlineExceeded", i, res.code(), grpcwire.First(res.trailer, grpcwire.HeaderMessage))
		}
		w.header = nil
		if res := w.post(t, "/grpc.testing.TestService/EmptyCall", webFrames(t, &testgrpc.Empty{})); res.code() != "0" {
			t.Fatalf("call %d, the next on the connection: status %s %q", i, res.code(), grpcwire.First(res.trailer, grpcwire.HeaderMessage))
		}
	}
}
