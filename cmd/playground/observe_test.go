package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
)

// The ready line of a server started with -metrics-addr.
var metricsReadyLine = regexp.MustCompile(`playground ready.* url=http://(\S+) .*metrics=(\S+)`)

// TestBinaryMetrics: with -metrics-addr, calls on every path (native gRPC
// on grpc-go's transport and on net/http's, gRPC-Web binary, text and
// JSON, the WebSocket bridge) show in the scrape under the names
// dashboards use, and so do our own: calls by protocol, open WebSocket
// streams, calls in flight, a limit hit, the store's health, Go's and the
// process's.
func TestBinaryMetrics(t *testing.T) {
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db"),
		"-metrics-addr", "127.0.0.1:0", "-max-streams-per-client", "3")
	m := p.waitLine(t, metricsReadyLine)
	addr, scrapeURL := m[1], m[2]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// GetUser once on each path.
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	native := pb.NewUserManagerClient(cc)
	if _, err := native.GetUser(ctx, &pb.UserRequest{Id: 1}); err != nil {
		t.Fatalf("native gRPC: %v", err)
	}
	req, _ := proto.Marshal(&pb.UserRequest{Id: 1})
	h2c := &http.Client{Transport: &http.Transport{Protocols: protocols(false)}}
	pinToNetHTTPClient(t, h2c, "http://"+addr)
	h1 := &http.Client{Transport: &http.Transport{Protocols: protocols(true)}}
	for _, c := range []struct {
		name   string
		client *http.Client
		ctype  string
		body   []byte
	}{
		{"native gRPC on net/http", h2c, grpcwire.ContentTypeGRPC, req},
		{"gRPC-Web text", h1, grpcwire.ContentTypeText, req},
		{"gRPC-Web JSON", h1, grpcwire.ContentTypeWebJSON, []byte(`{"id": 1}`)},
	} {
		if code := rawCall(t, c.client, "http://"+addr, "/UserManager/GetUser", c.ctype, c.body); code != "0" {
			t.Fatalf("%s: grpc-status %q", c.name, code)
		}
	}
	web, err := client.Dial("http://"+addr, client.WithMultiplexing(client.MultiplexNever))
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	if err := web.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, new(pb.UserResponse)); err != nil {
		t.Fatalf("gRPC-Web: %v", err)
	}
	bridge, err := client.Dial("http://"+addr, client.WithWebSocketForAll(), client.WithMultiplexing(client.MultiplexNever))
	if err != nil {
		t.Fatal(err)
	}
	defer bridge.Close()
	if err := bridge.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, new(pb.UserResponse)); err != nil {
		t.Fatalf("the bridge: %v", err)
	}

	// Three bidi streams on the bridge, open: the client's share. A
	// fourth call is refused, and the scrape shows the streams.
	var streams []*client.Stream
	for range 3 {
		s, err := bridge.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/UserManager/GetUsersByIds")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(&pb.UserRequest{Id: 2}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecvMsg(new(pb.UserResponse)); err != nil {
			t.Fatalf("a bridge stream: %v", err)
		}
		streams = append(streams, s)
	}
	if err := web.Invoke(ctx, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, new(pb.UserResponse)); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a call past the client's share: %v; want ResourceExhausted", err)
	}
	waitMetrics(t, scrapeURL, func(f families) error {
		return all(
			f.want("playground_websocket_streams_open", nil, 3),
			f.want("playground_limit_refusals_total", labels{"limit": "calls_per_client"}, 1),
			f.want("playground_limit_refusals_total", labels{"limit": "calls"}, 0),
			f.atLeast("playground_calls_in_flight", nil, 3),
		)
	})
	for _, s := range streams {
		s.CloseSend()
		if err := s.RecvMsg(new(pb.UserResponse)); err != io.EOF {
			t.Fatalf("a bridge stream's end: %v", err)
		}
	}

	getUser := labels{"grpc_type": "unary", "grpc_service": "UserManager", "grpc_method": "GetUser"}
	bidi := labels{"grpc_type": "bidi_stream", "grpc_service": "UserManager", "grpc_method": "GetUsersByIds"}
	waitMetrics(t, scrapeURL, func(f families) error {
		return all(
			f.want("grpc_server_started_total", getUser, 6),
			f.want("grpc_server_handled_total", with(getUser, "grpc_code", "OK"), 6),
			f.want("grpc_server_msg_received_total", getUser, 6),
			f.want("grpc_server_msg_sent_total", getUser, 6),
			f.wantHistogram("grpc_server_handling_seconds", getUser, 6),
			f.want("grpc_server_started_total", bidi, 3),
			f.want("grpc_server_handled_total", with(bidi, "grpc_code", "OK"), 3),
			f.want("grpc_server_msg_received_total", bidi, 3),
			f.want("grpc_server_msg_sent_total", bidi, 3),
			f.want("playground_calls_total", labels{"protocol": "grpc", "grpc_code": "OK"}, 2),
			f.want("playground_calls_total", labels{"protocol": "grpc-web", "grpc_code": "ResourceExhausted"}, 1),
			f.want("playground_calls_total", labels{"protocol": "grpc-web", "grpc_code": "OK"}, 1),
			f.want("playground_calls_total", labels{"protocol": "grpc-web-text", "grpc_code": "OK"}, 1),
			f.want("playground_calls_total", labels{"protocol": "grpc-web+json", "grpc_code": "OK"}, 1),
			f.want("playground_calls_total", labels{"protocol": "grpc-websockets", "grpc_code": "OK"}, 4),
			f.want("playground_websocket_streams_open", nil, 0),
			f.want("playground_store_serving", nil, 1),
			f.atLeast("playground_connections_open", nil, 1),
			f.atLeast("go_goroutines", nil, 1),
			f.atLeast("process_resident_memory_bytes", nil, 1),
		)
	})
}

// TestBinaryFrontMetrics: a front counts what it forwards under the
// backend's method names (as bidi streams: the front does not know the
// schema), on every path, and shows its backend's health.
func TestBinaryFrontMetrics(t *testing.T) {
	be, _ := startInteropBackend(t)
	p := start(t, buildPlayground(t), nil, "-addr", "127.0.0.1:0", "-backend", be, "-metrics-addr", "127.0.0.1:0")
	m := p.waitLine(t, metricsReadyLine)
	addr, scrapeURL := m[1], m[2]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := testgrpc.NewTestServiceClient(cc).EmptyCall(ctx, &testgrpc.Empty{}); err != nil {
		t.Fatalf("native gRPC through the front: %v", err)
	}
	for _, opts := range [][]client.DialOption{{client.WithMultiplexing(client.MultiplexNever)}, {client.WithWebSocketForAll(), client.WithMultiplexing(client.MultiplexNever)}} {
		conn, err := client.Dial("http://"+addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Invoke(ctx, "/grpc.testing.TestService/EmptyCall", &testgrpc.Empty{}, new(testgrpc.Empty)); err != nil {
			t.Fatalf("through the front (%d options): %v", len(opts), err)
		}
	}
	empty := labels{"grpc_type": "bidi_stream", "grpc_service": "grpc.testing.TestService", "grpc_method": "EmptyCall"}
	waitMetrics(t, scrapeURL, func(f families) error {
		return all(
			f.want("grpc_server_started_total", empty, 3),
			f.want("grpc_server_handled_total", with(empty, "grpc_code", "OK"), 3),
			f.want("grpc_server_msg_received_total", empty, 3),
			f.want("grpc_server_msg_sent_total", empty, 3),
			f.wantHistogram("grpc_server_handling_seconds", empty, 3),
			f.want("playground_calls_total", labels{"protocol": "grpc", "grpc_code": "OK"}, 1),
			f.want("playground_calls_total", labels{"protocol": "grpc-web", "grpc_code": "OK"}, 1),
			f.want("playground_calls_total", labels{"protocol": "grpc-websockets", "grpc_code": "OK"}, 1),
			f.want("playground_backend_serving", labels{"backend": be}, 1),
		)
	})
}

// TestBinaryTraces: with OTEL_TRACES_EXPORTER=console, a call that
// carries a traceparent, on gRPC-Web, native gRPC or the bridge, gets a
// server span in the caller's trace, printed on standard output; through
// the front, the backend (a grpc-go server) sees the same trace, its
// parent the front's client span; the access log names the trace.
func TestBinaryTraces(t *testing.T) {
	be, seen := startTraceBackend(t)
	env := []string{"OTEL_TRACES_EXPORTER=console", "OTEL_SERVICE_NAME=front-under-test"}
	p, stdout := startWithStdout(t, buildPlayground(t), env, "-addr", "127.0.0.1:0", "-backend", be, "-access-log", "info")
	addr := p.waitLine(t, readyLine)[1]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	web, err := client.Dial("http://"+addr, client.WithMultiplexing(client.MultiplexNever))
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	bridge, err := client.Dial("http://"+addr, client.WithWebSocketForAll(), client.WithMultiplexing(client.MultiplexNever))
	if err != nil {
		t.Fatal(err)
	}
	defer bridge.Close()
	const method = "/grpc.testing.TestService/EmptyCall"
	paths := []struct {
		name   string
		invoke func(ctx context.Context) error
	}{
		{"gRPC-Web", func(ctx context.Context) error {
			return web.Invoke(ctx, method, &testgrpc.Empty{}, new(testgrpc.Empty))
		}},
		{"native gRPC", func(ctx context.Context) error { return cc.Invoke(ctx, method, &testgrpc.Empty{}, new(testgrpc.Empty)) }},
		{"the bridge", func(ctx context.Context) error {
			return bridge.Invoke(ctx, method, &testgrpc.Empty{}, new(testgrpc.Empty))
		}},
	}
	type sent struct{ name, traceID, spanID, backendParent string }
	var calls []sent
	for i, path := range paths {
		traceID := fmt.Sprintf("4bf92f3577b34da6a3ce929d0e0e47%02x", i)
		spanID := fmt.Sprintf("00f067aa0ba902%02x", i)
		md := metadata.Pairs("traceparent", "00-"+traceID+"-"+spanID+"-01")
		if err := path.invoke(metadata.NewOutgoingContext(ctx, md)); err != nil {
			t.Fatalf("%s: %v", path.name, err)
		}
		var tp string
		select {
		case tp = <-seen:
		case <-ctx.Done():
			t.Fatalf("%s: the backend saw no call", path.name)
		}
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || parts[1] != traceID || parts[2] == spanID {
			t.Fatalf("%s: the backend got traceparent %q; want trace %s, a parent of the front's (not %s)", path.name, tp, traceID, spanID)
		}
		calls = append(calls, sent{path.name, traceID, spanID, parts[2]})
		p.waitLine(t, regexp.MustCompile(`msg=call .*trace_id=`+traceID))
	}

	// The spans are exported by the end: the exporter flushes at exit.
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, p.log.String())
	}
	type spanContext struct{ TraceID, SpanID string }
	type span struct {
		Name        string
		SpanContext spanContext
		Parent      spanContext
		SpanKind    int
		Resource    []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	var spans []span
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	for {
		var s span
		if err := dec.Decode(&s); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("standard output is not spans as JSON: %v\n%s", err, stdout.Bytes())
		}
		spans = append(spans, s)
	}
	const server, client = 2, 3 // trace.SpanKind
	for _, c := range calls {
		var gotServer, gotClient bool
		for _, s := range spans {
			if s.SpanContext.TraceID != c.traceID {
				continue
			}
			switch {
			case s.SpanKind == server && s.Parent.SpanID == c.spanID && s.Name == "grpc.testing.TestService/EmptyCall":
				gotServer = true
				if !resourceHas(s.Resource, "service.name", "front-under-test") {
					t.Errorf("%s: the span's resource %v has not OTEL_SERVICE_NAME", c.name, s.Resource)
				}
			case s.SpanKind == client && s.SpanContext.SpanID == c.backendParent:
				gotClient = true
			}
		}
		if !gotServer || !gotClient {
			t.Errorf("%s: server span under the caller's %v, client span the backend saw %v; the spans:\n%s", c.name, gotServer, gotClient, stdout.Bytes())
		}
	}
}

func resourceHas(attrs []struct {
	Key   string
	Value struct{ Value any }
}, key, value string) bool {
	for _, a := range attrs {
		if a.Key == key && a.Value.Value == value {
			return true
		}
	}
	return false
}

// startTraceBackend serves grpc-go's interop TestService on a loopback
// port; the traceparent of each call (but health checks) goes to the
// returned channel.
func startTraceBackend(t *testing.T) (string, chan string) {
	t.Helper()
	seen := make(chan string, 64)
	record := func(ctx context.Context, method string) {
		if strings.HasPrefix(method, "/grpc.health") {
			return
		}
		md, _ := metadata.FromIncomingContext(ctx)
		tp := ""
		if v := md.Get("traceparent"); len(v) > 0 {
			tp = v[0]
		}
		select {
		case seen <- tp:
		default:
		}
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx, info.FullMethod)
			return h(ctx, req)
		}),
	)
	testgrpc.RegisterTestServiceServer(gs, interop.NewTestServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return ln.Addr().String(), seen
}

// startWithStdout is start, with the process's standard output kept: read
// it once the process has ended (wait).
func startWithStdout(t *testing.T, bin string, env []string, args ...string) (*process, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		io.Copy(io.Discard, stderr)
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p, &stdout
}

// protocols is HTTP/1.1 alone, or HTTP/2 with prior knowledge alone.
func protocols(h1 bool) *http.Protocols {
	p := new(http.Protocols)
	if h1 {
		p.SetHTTP1(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	return p
}

// pinToNetHTTPClient opens c's connection with a request that is not
// native gRPC: the port gives the connection to net/http, so native calls
// on it reach our call core rather than grpc-go's transport.
func pinToNetHTTPClient(t *testing.T, c *http.Client, base string) {
	t.Helper()
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// rawCall makes a unary call of method over c with one request message
// (payload, already encoded) as content type ctype, and returns the
// grpc-status it ends with.
func rawCall(t *testing.T, c *http.Client, base, method, ctype string, payload []byte) string {
	t.Helper()
	body := grpcwire.AppendFrame(nil, 0, payload)
	text := strings.HasPrefix(ctype, grpcwire.ContentTypeText)
	if text {
		body = []byte(base64.StdEncoding.EncodeToString(body))
	}
	req, err := http.NewRequest(http.MethodPost, base+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("TE", "trailers")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype == grpcwire.ContentTypeGRPC {
		return resp.Trailer.Get("grpc-status") + resp.Header.Get("grpc-status")
	}
	if text {
		raw = decodeBase64Chunks(t, string(raw))
	}
	r := grpcwire.NewResponseReader(bytes.NewReader(raw), 1<<20)
	for {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("%s %s: no trailer block: %v", ctype, method, err)
		}
		if f.IsTrailer() {
			md, err := grpcwire.ParseHeaderBlock(f.Payload)
			if err != nil {
				t.Fatal(err)
			}
			return grpcwire.First(md, "grpc-status")
		}
	}
}

// decodeBase64Chunks decodes gRPC-Web text: base64 chunks, each padded.
func decodeBase64Chunks(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		end := len(s)
		if i := strings.IndexByte(s, '='); i >= 0 {
			for end = i; end < len(s) && s[end] == '='; end++ {
			}
		}
		b, err := base64.StdEncoding.DecodeString(s[:end])
		if err != nil {
			t.Fatalf("gRPC-Web text body: %v", err)
		}
		out, s = append(out, b...), s[end:]
	}
	return out
}

// families are a scrape's metric families, by name.
type families map[string]*dto.MetricFamily

// labels are the labels a sample must have (it may have more).
type labels map[string]string

func with(l labels, name, value string) labels {
	out := labels{name: value}
	for k, v := range l {
		out[k] = v
	}
	return out
}

// value is the value of the one sample of name with ls, or an error.
func (f families) value(name string, ls labels) (float64, error) {
	fam := f[name]
	if fam == nil {
		return 0, fmt.Errorf("no %s in the scrape", name)
	}
	var found []*dto.Metric
	for _, m := range fam.GetMetric() {
		match := 0
		for _, lp := range m.GetLabel() {
			if v, ok := ls[lp.GetName()]; ok && v == lp.GetValue() {
				match++
			}
		}
		if match == len(ls) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("%s%v: %d samples", name, ls, len(found))
	}
	m := found[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), nil
	case m.Gauge != nil:
		return m.Gauge.GetValue(), nil
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), nil
	}
	return 0, fmt.Errorf("%s%v: neither a counter, a gauge nor a histogram", name, ls)
}

func (f families) want(name string, ls labels, want float64) error {
	v, err := f.value(name, ls)
	if err == nil && v != want {
		err = fmt.Errorf("%s%v = %v; want %v", name, ls, v, want)
	}
	return err
}

func (f families) atLeast(name string, ls labels, least float64) error {
	v, err := f.value(name, ls)
	if err == nil && v < least {
		err = fmt.Errorf("%s%v = %v; want at least %v", name, ls, v, least)
	}
	return err
}

// wantHistogram wants a histogram of n samples.
func (f families) wantHistogram(name string, ls labels, n float64) error {
	if fam := f[name]; fam != nil && fam.GetType() != dto.MetricType_HISTOGRAM {
		return fmt.Errorf("%s is a %v, not a histogram", name, fam.GetType())
	}
	return f.want(name, ls, n)
}

// all joins the errors that are not nil.
func all(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}

// scrape reads the metrics at url.
func scrape(url string) (families, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// waitMetrics scrapes url until check passes: a call's end is counted as
// its last bytes leave, so the client may see it first. It fails with
// check's last complaint after 10 seconds.
func waitMetrics(t *testing.T, url string, check func(families) error) {
	t.Helper()
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var f families
		if f, err = scrape(url); err == nil {
			if err = check(f); err == nil {
				return
			}
		}
	}
	t.Fatalf("the scrape of %s:\n%v", url, err)
}

// TestBinaryObservabilityErrors: a value the binary cannot honour stops
// it at start, naming the flag or the variable.
func TestBinaryObservabilityErrors(t *testing.T) {
	bin := buildPlayground(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"access log level", nil, []string{"-access-log", "loud"}, "-access-log"},
		{"exporter", []string{"OTEL_TRACES_EXPORTER=zipkin"}, nil, "OTEL_TRACES_EXPORTER=zipkin"},
		{"OTLP protocol", []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"}, nil, "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"},
		{"propagator", []string{"OTEL_TRACES_EXPORTER=console", "OTEL_PROPAGATORS=b3"}, nil, "OTEL_PROPAGATORS=b3"},
		{"metrics address", nil, []string{"-metrics-addr", "256.0.0.1:1"}, "-metrics-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db")}, tc.args...)
			p := start(t, bin, tc.env, args...)
			if code := p.wait(t); code == 0 || !strings.Contains(p.log.String(), tc.want) {
				t.Fatalf("exit code %d; want non-zero and a log naming %q:\n%s", code, tc.want, p.log.String())
			}
		})
	}
}
