package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gorilla/websocket"
	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// neverReader opens an HTTP/2 connection to addr from the loopback
// address local, grants the server windows of 2 GiB, opens streams calls
// of GetUsersByType(NORMAL) with content type ct, and never reads a byte:
// whatever the server writes piles up on its side. Closing the returned
// connection ends the probe.
func neverReader(t *testing.T, addr, local, ct string, streams int) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	body, err := protoFrame(&pb.UserTypeRequest{UserType: pb.UserTypeRequest_NORMAL})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&out, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	fr.WriteWindowUpdate(0, 1<<31-1-65535)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for i := range streams {
		id := uint32(2*i + 1)
		hb.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", addr}, {":path", "/UserManager/GetUsersByType"}, {"content-type", ct}, {"te", "trailers"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
		fr.WriteData(id, true, body)
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(out.Bytes()); err != nil {
		t.Fatalf("write the probe: %v", err)
	}
	return c
}

// protoFrame is m as a request frame.
func protoFrame(m proto.Message) ([]byte, error) {
	b, err := proto.Marshal(m)
	return grpcwire.AppendFrame(nil, grpcwire.FlagData, b), err
}

// TestNeverReadStreamsBounded: 60 connections of 100 server streams each
// (GetUsersByType on 50,000 users), from one client that grants 2 GiB
// windows and never reads, over native gRPC and over gRPC-Web on h2c: the
// server's memory stays under rssBound, another client's unary calls are
// all answered meanwhile, and the memory goes back near where it started
// once the connections close.
func TestNeverReadStreamsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 6,000 streams")
	}
	dir := t.TempDir()
	seed, err := writeSeed(dir, "seed.json", 50_000)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "users.db"), "-seed-file", seed)
	addr := p.waitLine(t, readyLine)[1]
	for _, path := range []struct{ name, ct string }{
		{"native gRPC", grpcwire.ContentTypeGRPC},
		{"gRPC-Web on h2c", grpcwire.ContentTypeProto},
	} {
		t.Run(path.name, func(t *testing.T) {
			before, err := rssBytes(p.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			peak := watchRSS(t, p.cmd.Process.Pid, stop)
			var conns []net.Conn
			for range 60 {
				conns = append(conns, neverReader(t, addr, "127.0.0.2", path.ct, 100))
			}
			// Another client, from another address, calls meanwhile.
			other, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}
				return d.DialContext(ctx, "tcp", a)
			}))
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			um := pb.NewUserManagerClient(other)
			var failed []error
			var mu sync.Mutex
			for i := range 40 {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				if _, err := um.GetUser(ctx, &pb.UserRequest{Id: 1}); err != nil {
					mu.Lock()
					failed = append(failed, fmt.Errorf("call %d: %w", i, err))
					mu.Unlock()
				}
				cancel()
				time.Sleep(200 * time.Millisecond)
			}
			for _, c := range conns {
				c.Close()
			}
			time.Sleep(10 * time.Second)
			after, _ := rssBytes(p.cmd.Process.Pid)
			close(stop)
			max := <-peak
			t.Logf("RSS %d MB before, %d MB at most, %d MB 10 s after the connections closed", before>>20, max>>20, after>>20)
			for _, err := range failed {
				t.Errorf("another client's call: %v", err)
			}
			if max > rssBound {
				t.Errorf("server RSS reached %d MB; the bound is %d MB", max>>20, rssBound>>20)
			}
			if after > before+50<<20 {
				t.Errorf("server RSS %d MB 10 s after the connections closed; it was %d MB before", after>>20, before>>20)
			}
		})
	}
}

// TestRapidResetClosed: connections whose first request is native gRPC
// (served by grpc-go's transport) that open and reset streams thousands of
// times a second (HTTP/2's rapid reset) are closed, and another client's
// calls are all answered meanwhile.
func TestRapidResetClosed(t *testing.T) {
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db"))
	addr := p.waitLine(t, readyLine)[1]
	body, err := protoFrame(&pb.UserRequest{Id: 1})
	if err != nil {
		t.Fatal(err)
	}
	flood := func(local string) (resets int, closed bool) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Error(err)
			return 0, false
		}
		defer c.Close()
		go io.Copy(io.Discard, c) // read what comes, so only resets can close it
		var out bytes.Buffer
		out.WriteString(http2.ClientPreface)
		fr := http2.NewFramer(&out, nil)
		fr.WriteSettings()
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		deadline := time.Now().Add(10 * time.Second)
		for id := uint32(1); time.Now().Before(deadline); id += 2 {
			hb.Reset()
			for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", addr}, {":path", "/UserManager/GetUser"}, {"content-type", grpcwire.ContentTypeGRPC}, {"te", "trailers"}} {
				enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
			fr.WriteData(id, false, body)
			fr.WriteRSTStream(id, http2.ErrCodeCancel)
			if out.Len() > 32<<10 {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write(out.Bytes()); err != nil {
					return resets, true
				}
				out.Reset()
			}
			resets++
		}
		return resets, false
	}
	var wg sync.WaitGroup
	results := make(chan [2]int, 4)
	for i := range 4 {
		wg.Go(func() {
			n, closed := flood(fmt.Sprintf("127.0.0.%d", 10+i))
			c := 0
			if closed {
				c = 1
			}
			results <- [2]int{n, c}
		})
	}
	other, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}
		return d.DialContext(ctx, "tcp", a)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	um := pb.NewUserManagerClient(other)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		if _, err := um.GetUser(ctx, &pb.UserRequest{Id: 1}); err != nil {
			t.Errorf("another client's call %d during the flood: %v", i, err)
		}
		cancel()
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r[1] == 0 {
			t.Errorf("a flooding connection sent %d resets and was never closed", r[0])
		} else {
			t.Logf("a flooding connection was closed after %d resets", r[0])
		}
	}
}

// TestStalledBodiesAnswered: 2,000 HTTP/1.1 gRPC-Web calls whose bodies
// stop short of their Content-Length, from eight client addresses, are
// all answered by the message timeout (plus six seconds: a client's clock
// starts at its write, the server's when it has accepted the connection and
// read the headers, and 2,000 connections at once on two busy cores put
// seconds between them; unfixed, such a call was answered never): each
// DeadlineExceeded, or ResourceExhausted for those over their client's
// share, and their connections let go.
func TestStalledBodiesAnswered(t *testing.T) {
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db"), "-message-timeout", "3s")
	addr := p.waitLine(t, readyLine)[1]
	const n, timeout = 2000, 3 * time.Second
	var wg sync.WaitGroup
	late := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.1.%d", 10+i%8))}}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				late <- err.Error()
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /UserManager/GetUser HTTP/1.1\r\nHost: %s\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: 20\r\n\r\n\x00\x00\x00", addr)
			sent := time.Now()
			c.SetReadDeadline(sent.Add(timeout + 10*time.Second))
			b := make([]byte, 4096)
			m, err := c.Read(b)
			if err != nil {
				late <- fmt.Sprintf("no answer: %v", err)
				return
			}
			if took := time.Since(sent); took > timeout+6*time.Second {
				late <- fmt.Sprintf("answered after %v", took.Round(time.Millisecond))
			}
			if s := strings.ToLower(string(b[:m])); !strings.Contains(s, "grpc-status: 4\r\n") && !strings.Contains(s, "grpc-status: 8\r\n") {
				late <- fmt.Sprintf("answer: %q", s)
			}
		})
	}
	wg.Wait()
	close(late)
	var problems []string
	for s := range late {
		problems = append(problems, s)
	}
	if len(problems) > 0 {
		t.Errorf("%d of %d stalled calls were not answered in time; the first: %s", len(problems), n, problems[0])
	}
	// Their connections are let go: the server's open files fall back.
	fds := func() int {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
		return len(ents)
	}
	for deadline := time.Now().Add(10 * time.Second); fds() > 100 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if f := fds(); f > 100 {
		t.Errorf("the server holds %d files after the calls ended", f)
	}
}

// TestStalledNativeUnaryAnswered: a native gRPC unary call on a
// connection served by grpc-go's transport whose request stops after three
// of its bytes gets DeadlineExceeded once the message timeout and the
// share of the largest allowed message have passed (here 1 s + 1 s), as
// a stalled request does on every other path, instead of holding its
// call for ever; a stream whose client waits between messages is not cut.
func TestStalledNativeUnaryAnswered(t *testing.T) {
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db"),
		"-message-timeout", "1s", "-max-msg-size", "65536")
	addr := p.waitLine(t, readyLine)[1]
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fr := http2.NewFramer(c, c)
	c.Write([]byte(http2.ClientPreface))
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	open := func(id uint32, path string) {
		hb.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", addr}, {":path", path}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
	}
	open(1, "/UserManager/GetUser")
	fr.WriteData(1, false, []byte{0, 0, 0}) // three bytes of the five-byte prefix, then nothing
	open(3, "/UserManager/GetUsersByIds")   // a bidi stream that sends nothing yet
	sent := time.Now()
	c.SetReadDeadline(sent.Add(30 * time.Second))
	dec := hpack.NewDecoder(4096, nil)
	statusOf := map[uint32]string{}
	for statusOf[1] == "" {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no answer to the stalled unary call after %v: %v", time.Since(sent).Round(time.Millisecond), err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
			}
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range fields {
				if hf.Name == "grpc-status" {
					statusOf[f.StreamID] = hf.Value
				}
			}
		}
	}
	took := time.Since(sent)
	if statusOf[1] != fmt.Sprint(int(codes.DeadlineExceeded)) {
		t.Fatalf("the stalled unary call: grpc-status %q; want DeadlineExceeded", statusOf[1])
	}
	if took < 2*time.Second {
		t.Fatalf("the stalled unary call was ended after %v, before its 2 s", took)
	}
	if st := statusOf[3]; st != "" {
		t.Fatalf("the idle bidi stream was ended (grpc-status %s); a stream may wait between messages", st)
	}
	t.Logf("answered after %v", took.Round(time.Millisecond))
}

// TestBinaryNativeFirstPolicy: on the built binary, a native gRPC call that
// opens its connection (served by grpc-go's transport) gets the policy of
// every other path: an AddUser for a host the server does not answer to,
// or from a foreign or null origin, is refused with PermissionDenied and
// not stored.
func TestBinaryNativeFirstPolicy(t *testing.T) {
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db"))
	addr := p.waitLine(t, readyLine)[1]
	for i, tc := range []struct{ authority, origin string }{
		{"evil.example", ""}, {"", "http://evil.example"}, {"", "null"},
	} {
		opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		if tc.authority != "" {
			opts = append(opts, grpc.WithAuthority(tc.authority))
		}
		cc, err := grpc.NewClient(addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if tc.origin != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "origin", tc.origin)
		}
		id := uint32(100 + i)
		_, err = pb.NewUserManagerClient(cc).AddUser(ctx, &pb.User{Id: id, Nickname: "evil", MailAddress: "evil@example.com", UserType: pb.User_NORMAL})
		cc.Close()
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("authority %q, origin %q: %v; want PermissionDenied", tc.authority, tc.origin, err)
		}
		good, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		r, err := pb.NewUserManagerClient(good).GetUser(t.Context(), &pb.UserRequest{Id: id})
		good.Close()
		if err != nil || !r.GetError() {
			t.Errorf("authority %q, origin %q: the refused AddUser was stored (%v, %v)", tc.authority, tc.origin, r, err)
		}
	}
}

// gzipBomb is a request frame of a UserRequest whose unknown field holds a
// gigabyte of zeros, gzip-compressed to a few megabytes.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	head := protowire.AppendTag(nil, 99, protowire.BytesType)
	head = protowire.AppendVarint(head, 1<<30)
	zw.Write(head)
	zeros := make([]byte, 1<<20)
	for range 1 << 10 {
		zw.Write(zeros)
	}
	zw.Close()
	return grpcwire.AppendFrame(nil, grpcwire.FlagCompressed, buf.Bytes())
}

// TestGzipBombBounded: a request that gzip-decompresses to a gigabyte is
// ResourceExhausted on every path, native gRPC on both transports,
// gRPC-Web binary and text, and the bridge, and the server's memory stays
// bounded.
func TestGzipBombBounded(t *testing.T) {
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db"))
	addr := p.waitLine(t, readyLine)[1]
	bomb := gzipBomb(t)
	t.Logf("the bomb: %d bytes on the wire, 1 GiB inside", len(bomb))
	stop := make(chan struct{})
	peak := watchRSS(t, p.cmd.Process.Pid, stop)

	for _, w := range []struct {
		name, ctype    string
		h2c, text, pin bool
	}{
		{"grpc, a connection's first request (grpc-go's transport)", grpcwire.ContentTypeGRPC, true, false, false},
		{"grpc on the runtime", grpcwire.ContentTypeGRPC, true, false, true},
		{"grpc-web", grpcwire.ContentTypeProto, false, false, false},
		{"grpc-web-text", grpcwire.ContentTypeText, false, true, false},
	} {
		body := bomb
		if w.text {
			body = []byte(base64.StdEncoding.EncodeToString(bomb))
		}
		client := http.DefaultClient
		if w.h2c {
			tr := &http.Transport{}
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetUnencryptedHTTP2(true)
			client = &http.Client{Transport: tr}
		}
		if w.pin {
			// Open the connection with a GET, so the runtime serves it.
			if resp, err := client.Get("http://" + addr + "/"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/UserManager/GetUser", bytes.NewReader(body))
		req.Header.Set("Content-Type", w.ctype)
		req.Header.Set("Grpc-Encoding", "gzip")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		all := strings.ToLower(fmt.Sprint(resp.Header, resp.Trailer, string(b)))
		if w.text {
			d, _ := base64.StdEncoding.DecodeString(string(b))
			all += strings.ToLower(string(d))
		}
		if !strings.Contains(all, "grpc-status:8") && !strings.Contains(all, "grpc-status:[8]") && !strings.Contains(all, "grpc-status: 8") {
			t.Errorf("%s: %s; want grpc-status 8", w.name, all)
		}
	}
	// The bridge: the encoding in the header block.
	d := websocket.Dialer{Subprotocols: []string{grpcwire.WebSocketProtocol}}
	ws, _, err := d.Dial("ws://"+addr+"/UserManager/GetUser", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.BinaryMessage, grpcwire.AppendHeaderBlock(nil, metadata.MD{"content-type": {grpcwire.ContentTypeProto}, "grpc-encoding": {"gzip"}}))
	ws.WriteMessage(websocket.BinaryMessage, append([]byte{grpcwire.WSData}, bomb...))
	ws.WriteMessage(websocket.BinaryMessage, []byte{grpcwire.WSHalfClose})
	var got []byte
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, m, err := ws.ReadMessage()
		if err != nil {
			break
		}
		got = append(got, m...)
	}
	if !strings.Contains(string(got), "grpc-status: 8") {
		t.Errorf("the bridge: %q; want grpc-status 8", got)
	}
	close(stop)
	if max := <-peak; max > rssBound {
		t.Errorf("server RSS reached %d MB; the bound is %d MB", max>>20, rssBound>>20)
	} else {
		t.Logf("server RSS peaked at %d MB", max>>20)
	}
}
