package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/server/store"
	"github.com/grpcplay/playground/server/usermanager"
)

// quietLog discards the servers' logs.
func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a fresh store, seeded with the tutorial's six users, in
// the test's temporary folder, and closes it when the test ends.
func openStore(t *testing.T) *store.Bolt {
	t.Helper()
	st, err := server.OpenStore(context.Background(), filepath.Join(t.TempDir(), "users.db"), "")
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startPlayground serves the real playground server on 127.0.0.1 until
// the test ends and returns its host:port.
func startPlayground(t *testing.T) string {
	t.Helper()
	return servertest.Start(t, server.Config{Logger: quietLog()}).Addr
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lineWriter collects a call's output and checks that every Write is
// exactly one whole line: each message is written, so flushed, on its own.
type lineWriter struct {
	t      *testing.T
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.IndexByte(b, '\n') != len(b)-1 {
		w.t.Errorf("Write(%q): want exactly one whole line", b)
	}
	w.writes++
	return w.buf.Write(b)
}

// usercli runs the command with args and returns its exit status, stdout
// and stderr.
func usercli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	out := &lineWriter{t: t}
	var errOut bytes.Buffer
	code = run(t.Context(), args, out, &errOut)
	return code, out.buf.String(), errOut.String()
}

// The seed users as printed for people, and the one the tests add.
const (
	admin = "id=1 nickname=admin mail_address=admin@example.com user_type=ADMINISTRATOR\n"
	guest = "id=2 nickname=guest mail_address=guest@example.com user_type=GUEST\n"
	foo   = "id=3 nickname=foo mail_address=foo@example.com user_type=NORMAL\n"
	troll = "id=4 nickname=troll mail_address=troll@example.com user_type=DISABLED\n"
	zaru  = "id=5 nickname=Zaru mail_address=zaru@example.com user_type=NORMAL\n"
	saru  = "id=6 nickname=Saru mail_address=saru@example.com user_type=NORMAL\n"
	nick  = "id=7 nickname=\"Nick Name\" mail_address=nick@example.com user_type=NORMAL\n"
)

// ids returns the decimal strings of from..to.
func ids(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return s
}

// TestSubcommands runs every subcommand over every transport against the
// real server, in order on one store per transport: AddUser adds user 7,
// which the later cases see.
func TestSubcommands(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"GetUser", []string{"GetUser", "1"}, 0, admin, ""},
		{"GetUser lower case", []string{"getuser", "2"}, 0, guest, ""},
		{"GetUser not found", []string{"GetUser", "99"}, 0, "in-band error: not found\n", ""},
		{"GetUser id 0", []string{"GetUser", "0"}, 1, "", "usercli: GetUser: InvalidArgument: id: must be greater than 0\n"},
		{"AddUser", []string{"AddUser", "7", "Nick Name", "nick@example.com", "1"}, 0, nick, ""},
		{"AddUser already exist", []string{"AddUser", "7", "other", "other@example.com", "GUEST"}, 0, "in-band error: already exist\n", ""},
		{"AddUser bad mail", []string{"AddUser", "8", "x", "not-a-mail", "normal"}, 1, "",
			"usercli: AddUser: InvalidArgument: mail_address: \"not-a-mail\" is not a plain mail address such as name@example.com\n"},
		{"AddUser unknown type", []string{"AddUser", "8", "x", "x@example.com", "9"}, 1, "",
			"usercli: AddUser: InvalidArgument: user_type: 9 is not a known user type\n"},
		{"GetUser added", []string{"GetUser", "7"}, 0, nick, ""},
		{"GetUsersByType name", []string{"GetUsersByType", "NORMAL"}, 0, foo + zaru + saru + nick, ""},
		{"GetUsersByType any case", []string{"GetUsersByType", "disabled"}, 0, troll, ""},
		{"GetUsersByType number", []string{"GetUsersByType", "2"}, 0, admin, ""},
		{"GetUsersByType empty", []string{"GetUsersByType", "none"}, 0, "(no users of type NONE)\n", ""},
		{"GetUsersByType unknown type", []string{"GetUsersByType", "9"}, 1, "",
			"usercli: GetUsersByType: InvalidArgument: user_type: 9 is not a known user type\n"},
		{"CountAlreadyUsers", []string{"CountAlreadyUsers", "1", "2", "99", "1"}, 0, "user_cnt=3 (of 4 ids sent)\n", ""},
		{"CountAlreadyUsers many", append([]string{"CountAlreadyUsers"}, ids(1, 200)...), 0, "user_cnt=7 (of 200 ids sent)\n", ""},
		{"CountAlreadyUsers none", []string{"CountAlreadyUsers", "98", "99"}, 0, "user_cnt=0 (of 2 ids sent)\n", ""},
		{"CountAlreadyUsers id 0", []string{"CountAlreadyUsers", "1", "0"}, 1, "",
			"usercli: CountAlreadyUsers: InvalidArgument: id: must be greater than 0\n"},
		{"GetUsersByIds", []string{"GetUsersByIds", "1", "99", "3"}, 0, admin + foo, ""},
		{"GetUsersByIds many", append([]string{"GetUsersByIds"}, ids(1, 200)...), 0, admin + guest + foo + troll + zaru + saru + nick, ""},
		{"GetUsersByIds none", []string{"GetUsersByIds", "98", "99"}, 0, "(no user has any of those ids)\n", ""},
		{"GetUsersByIds id 0", []string{"GetUsersByIds", "1", "0", "3"}, 1, admin,
			"usercli: GetUsersByIds: InvalidArgument: id: must be greater than 0\n"},
	}
	for _, tr := range transports() {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			addr := startPlayground(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					args := append([]string{"-addr", addr, "-transport", tr}, c.args...)
					code, stdout, stderr := usercli(t, args...)
					if code != c.code || stdout != c.stdout || stderr != c.stderr {
						t.Errorf("usercli %s\n= exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d\nstdout:\n%s\nstderr:\n%s",
							strings.Join(args, " "), code, stdout, stderr, c.code, c.stdout, c.stderr)
					}
				})
			}
		})
	}
}

// TestJSON checks that -json prints one compact protojson object per reply
// message, with the proto field names, in-band replies as they are.
func TestJSON(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		lines []string // stdout's lines, exactly: compact, stable bytes
		msg   func() proto.Message
	}{
		{"GetUser", []string{"GetUser", "1"},
			[]string{`{"user":{"id":1,"nickname":"admin","mail_address":"admin@example.com","user_type":"ADMINISTRATOR"}}`},
			func() proto.Message { return new(pb.UserResponse) }},
		{"GetUser not found", []string{"GetUser", "99"},
			[]string{`{"error":true,"message":"not found"}`},
			func() proto.Message { return new(pb.UserResponse) }},
		{"AddUser already exist", []string{"AddUser", "1", "x", "x@example.com", "NORMAL"},
			[]string{`{"error":true,"message":"already exist"}`},
			func() proto.Message { return new(pb.UserResponse) }},
		{"GetUsersByType", []string{"GetUsersByType", "NORMAL"},
			[]string{
				`{"user":{"id":3,"nickname":"foo","mail_address":"foo@example.com","user_type":"NORMAL"}}`,
				`{"user":{"id":5,"nickname":"Zaru","mail_address":"zaru@example.com","user_type":"NORMAL"}}`,
				`{"user":{"id":6,"nickname":"Saru","mail_address":"saru@example.com","user_type":"NORMAL"}}`,
			},
			func() proto.Message { return new(pb.UserResponse) }},
		{"GetUsersByType empty", []string{"GetUsersByType", "NONE"}, nil,
			func() proto.Message { return new(pb.UserResponse) }},
		{"CountAlreadyUsers", []string{"CountAlreadyUsers", "1", "2", "99"},
			[]string{`{"user_cnt":2}`},
			func() proto.Message { return new(pb.UserCntResponse) }},
		{"GetUsersByIds", []string{"GetUsersByIds", "2", "99", "4"},
			[]string{
				`{"user":{"id":2,"nickname":"guest","mail_address":"guest@example.com","user_type":"GUEST"}}`,
				`{"user":{"id":4,"nickname":"troll","mail_address":"troll@example.com","user_type":"DISABLED"}}`,
			},
			func() proto.Message { return new(pb.UserResponse) }},
	}
	for _, tr := range transports() {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			addr := startPlayground(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					code, stdout, stderr := usercli(t, append([]string{"-addr", addr, "-transport", tr, "-json"}, c.args...)...)
					if code != 0 || stderr != "" {
						t.Fatalf("exit %d, stderr %q", code, stderr)
					}
					lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
					if stdout == "" {
						lines = nil
					}
					if len(lines) != len(c.lines) {
						t.Fatalf("stdout:\n%s\nwant %d lines", stdout, len(c.lines))
					}
					for i, line := range lines {
						if err := protojson.Unmarshal([]byte(line), c.msg()); err != nil {
							t.Errorf("line %d %q: not protojson: %v", i, line, err)
						}
						if line != c.lines[i] {
							t.Errorf("line %d = %s, want %s", i, line, c.lines[i])
						}
					}
				})
			}
		})
	}
}

// TestRefused checks every subcommand over every transport against a port
// where nothing listens: exit 1 and one Unavailable line.
func TestRefused(t *testing.T) {
	addr := closedAddr(t)
	calls := [][]string{
		{"GetUser", "1"},
		{"AddUser", "7", "nick", "nick@example.com", "NORMAL"},
		{"GetUsersByType", "NORMAL"},
		{"CountAlreadyUsers", "1", "2"},
		{"GetUsersByIds", "1", "2"},
	}
	for _, tr := range transports() {
		for _, call := range calls {
			t.Run(tr+"/"+call[0], func(t *testing.T) {
				code, stdout, stderr := usercli(t, append([]string{"-addr", addr, "-transport", tr}, call...)...)
				prefix := "usercli: " + call[0] + ": Unavailable: "
				if code != 1 || stdout != "" || !strings.HasPrefix(stderr, prefix) || strings.Count(stderr, "\n") != 1 {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", code, stdout, stderr, prefix)
				}
			})
		}
	}
}

// TestUsage checks that bad flags and arguments print the usage text and
// exit 2 without calling anyone, and that -h prints it to stdout.
func TestUsage(t *testing.T) {
	// Should a bad case get as far as calling, it fails fast here.
	addr := closedAddr(t)
	cases := []struct {
		name string
		args []string
		err  string // in stderr, before the usage text
	}{
		{"no subcommand", nil, "usercli: no subcommand"},
		{"unknown subcommand", []string{"DeleteUser", "1"}, `usercli: unknown subcommand "DeleteUser"`},
		{"flag after subcommand", []string{"GetUser", "-json", "1"}, `usercli: GetUser: want one ID, got 2 arguments`},
		{"unknown flag", []string{"-verbose", "GetUser", "1"}, "flag provided but not defined: -verbose"},
		{"bad transport", []string{"-transport", "carrier-pigeon", "GetUser", "1"}, `-transport "carrier-pigeon": want one of native, grpcweb, websocket, mux`},
		{"bad addr", []string{"-addr", "localhost", "GetUser", "1"}, `-addr "localhost": want host:port`},
		{"bad timeout", []string{"-timeout", "soon", "GetUser", "1"}, `invalid value "soon" for flag -timeout`},
		{"negative timeout", []string{"-timeout", "-1s", "GetUser", "1"}, "-timeout -1s: must not be negative"},
		{"bad header", []string{"-H", "no colon", "GetUser", "1"}, `invalid value "no colon" for flag -H`},
		{"reserved header", []string{"-H", "grpc-timeout: 1S", "GetUser", "1"}, `grpc-* names belong to gRPC itself`},
		{"GetUser no id", []string{"GetUser"}, "usercli: GetUser: want one ID, got 0 arguments"},
		{"GetUser two ids", []string{"GetUser", "1", "2"}, "usercli: GetUser: want one ID, got 2 arguments"},
		{"GetUser not a number", []string{"GetUser", "one"}, `usercli: GetUser: ID "one": want a whole number`},
		{"GetUser negative", []string{"GetUser", "-1"}, `usercli: GetUser: ID "-1": want a whole number`},
		{"GetUser too big", []string{"GetUser", "4294967296"}, `usercli: GetUser: ID "4294967296": want a whole number`},
		{"AddUser short", []string{"AddUser", "7", "nick", "nick@example.com"}, "usercli: AddUser: want ID NICKNAME MAIL TYPE, got 3 arguments"},
		{"AddUser bad type", []string{"AddUser", "7", "nick", "nick@example.com", "ROOT"}, `usercli: AddUser: TYPE "ROOT": want NONE, NORMAL, ADMINISTRATOR, GUEST, DISABLED or a number`},
		{"GetUsersByType no type", []string{"GetUsersByType"}, "usercli: GetUsersByType: want one TYPE, got 0 arguments"},
		{"CountAlreadyUsers no ids", []string{"CountAlreadyUsers"}, "usercli: CountAlreadyUsers: want at least one ID"},
		{"GetUsersByIds bad id", []string{"GetUsersByIds", "1", "x"}, `usercli: GetUsersByIds: ID "x": want a whole number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := usercli(t, append([]string{"-addr", addr}, c.args...)...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit 2 and no output", code, stdout)
			}
			if !strings.Contains(stderr, c.err) {
				t.Errorf("stderr lacks %q:\n%s", c.err, stderr)
			}
			checkUsage(t, stderr)
		})
	}
	t.Run("-h", func(t *testing.T) {
		var stdout, stderr bytes.Buffer // the usage text is not per-message output
		code := run(t.Context(), []string{"-h"}, &stdout, &stderr)
		if code != 0 || stderr.Len() != 0 {
			t.Errorf("exit %d, stderr %q; want exit 0 and the usage on stdout", code, stderr.String())
		}
		checkUsage(t, stdout.String())
	})
}

// checkUsage checks that s is the usage text: every subcommand and flag.
func checkUsage(t *testing.T, s string) {
	t.Helper()
	want := []string{"usage: usercli [flags] SUBCOMMAND", "Exit status:"}
	for _, c := range commands() {
		want = append(want, "  "+c.name+" "+c.args)
	}
	for _, f := range []string{"-addr", "-transport", "-timeout", "-json", "-H"} {
		want = append(want, "\n  "+f)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("usage lacks %q:\n%s", w, s)
		}
	}
}

func TestParseHeader(t *testing.T) {
	cases := []struct {
		in, name, value, err string
	}{
		{in: "x-trace: abc", name: "x-trace", value: "abc"},
		{in: "X-Trace:abc", name: "x-trace", value: "abc"},
		{in: "  authorization :  Bearer t0k3n  ", name: "authorization", value: "Bearer t0k3n"},
		{in: "x-empty:", name: "x-empty", value: ""},
		{in: "x-url: http://h:1/p", name: "x-url", value: "http://h:1/p"},
		{in: "token-bin: AAEC/w", name: "token-bin", value: "\x00\x01\x02\xff"},
		{in: "token-bin: AAEC/w==", name: "token-bin", value: "\x00\x01\x02\xff"},
		{in: "no colon", err: `want 'name: value'`},
		{in: ": value", err: "empty metadata name"},
		{in: "x trace: a", err: "only 0-9 a-z - _ . are allowed"},
		{in: "x-é: a", err: "only 0-9 a-z - _ . are allowed"},
		{in: "x-a: caf\u00e9", err: "printable ASCII"},
		{in: "x-a: a\tb", err: "printable ASCII"},
		{in: "token-bin: !!", err: "not base64"},
		{in: "grpc-timeout: 1S", err: "belong to gRPC itself"},
		{in: "Content-Type: text/plain", err: "set by the transport"},
		{in: "user-agent: me", err: "set by the transport"},
		{in: "te: trailers", err: "set by the transport"},
		{in: "sec-websocket-protocol: x", err: "WebSocket handshake"},
	}
	for _, c := range cases {
		name, value, err := parseHeader(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseHeader(%q) = %q, %q, %v; want error with %q", c.in, name, value, err, c.err)
			}
			continue
		}
		if err != nil || name != c.name || value != c.value {
			t.Errorf("parseHeader(%q) = %q, %q, %v; want %q, %q", c.in, name, value, err, c.name, c.value)
		}
	}
	var h headerFlag
	for _, s := range []string{"x-trace: a", "X-TRACE: b", "other: c"} {
		if err := h.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if want := (metadata.MD{"x-trace": {"a", "b"}, "other": {"c"}}); !reflect.DeepEqual(h.md, want) {
		t.Errorf("-H x3 = %v, want %v", h.md, want)
	}
}

// recorder keeps the incoming metadata, and whether there was a deadline,
// of the last call of each method a gRPC server handled.
type recorder struct {
	mu       sync.Mutex
	md       map[string]metadata.MD
	deadline map[string]bool
}

func (r *recorder) record(ctx context.Context, method string) {
	md, _ := metadata.FromIncomingContext(ctx)
	_, hasDeadline := ctx.Deadline()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.md[method] = md
	r.deadline[method] = hasDeadline
}

func (r *recorder) last(method string) (metadata.MD, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.md[method], r.deadline[method]
}

// startRecording serves the real UserManager service on a gRPC server whose
// interceptors record each call's incoming metadata: natively on one
// loopback port, and on another behind improbable-eng's grpcweb wrapper
// with its grpc-websockets support (the reference implementation of the
// protocol our bridge speaks). The playground server itself has no hook
// that shows request metadata, so this is where -H can be observed
// arriving. The multiplexed socket, which improbable-eng's wrapper does
// not serve, is our runtime's (grpchttp), with the same interceptors. It
// returns the addresses by transport.
func startRecording(t *testing.T) (rec *recorder, addrs map[string]string) {
	t.Helper()
	rec = &recorder{md: map[string]metadata.MD{}, deadline: map[string]bool{}}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		rec.record(ctx, info.FullMethod)
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		rec.record(ss.Context(), info.FullMethod)
		return h(srv, ss)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(unary), grpc.StreamInterceptor(stream))
	h := grpchttp.New(gs, grpchttp.WithUnaryInterceptors(unary), grpchttp.WithStreamInterceptors(stream), grpchttp.WithLogger(quietLog()))
	pb.RegisterUserManagerServer(h, usermanager.New(openStore(t), 0, nil)) // on gs too
	return rec, serveAll(t, gs, h)
}

// serveAll serves gs as serveBoth does and h on a third port, for the mux
// transport, and returns the address of each transport.
func serveAll(t *testing.T, gs *grpc.Server, h *grpchttp.Handler) map[string]string {
	t.Helper()
	nativeAddr, webAddr := serveBoth(t, gs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(quietLog().Handler(), slog.LevelWarn)}
	h.ConfigureServer(hs)
	done := make(chan struct{})
	go func() { hs.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h.Shutdown(ctx)
		hs.Close()
		<-done
	})
	return map[string]string{transportNative: nativeAddr, transportGRPCWeb: webAddr, transportWebSocket: webAddr, transportMux: ln.Addr().String()}
}

// serveBoth serves gs natively on one loopback port and on another behind
// improbable-eng's grpcweb wrapper, with its grpc-websockets support, until
// the test ends. It returns the two addresses.
func serveBoth(t *testing.T, gs *grpc.Server) (nativeAddr, webAddr string) {
	t.Helper()
	web := grpcweb.WrapServer(gs, grpcweb.WithWebsockets(true),
		// Its default wants an Origin header; a native client sends none.
		grpcweb.WithWebsocketOriginFunc(func(*http.Request) bool { return true }))

	nativeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		nativeLn.Close()
		t.Fatal(err)
	}
	hs := &http.Server{Handler: web, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(quietLog().Handler(), slog.LevelWarn)}
	var wg sync.WaitGroup
	wg.Go(func() { gs.Serve(nativeLn) })
	wg.Go(func() { hs.Serve(webLn) })
	t.Cleanup(func() {
		hs.Close()
		gs.Stop()
		wg.Wait()
	})
	return nativeLn.Addr().String(), webLn.Addr().String()
}

// TestMetadataReachesServer checks that -H metadata, "-bin" values
// decoded, and the -timeout deadline reach the handler over every
// transport, for a unary and a bidirectional call.
func TestMetadataReachesServer(t *testing.T) {
	rec, addrs := startRecording(t)
	calls := []struct {
		method string
		args   []string
	}{
		{"/UserManager/GetUser", []string{"GetUser", "1"}},
		{"/UserManager/GetUsersByType", []string{"GetUsersByType", "GUEST"}},
		{"/UserManager/GetUsersByIds", []string{"GetUsersByIds", "1", "2"}},
	}
	for _, tr := range transports() {
		addr := addrs[tr]
		for _, call := range calls {
			t.Run(tr+"/"+call.args[0], func(t *testing.T) {
				for _, timeout := range []string{"30s", "0"} {
					args := append([]string{"-addr", addr, "-transport", tr, "-timeout", timeout,
						"-H", "x-trace: abc", "-H", "X-Trace: def", "-H", "token-bin: AAEC/w"}, call.args...)
					if code, _, stderr := usercli(t, args...); code != 0 {
						t.Fatalf("exit %d: %s", code, stderr)
					}
					md, hasDeadline := rec.last(call.method)
					if got := md.Get("x-trace"); !reflect.DeepEqual(got, []string{"abc", "def"}) {
						t.Errorf("x-trace = %q, want [abc def] (metadata %v)", got, md)
					}
					if got := md.Get("token-bin"); !reflect.DeepEqual(got, []string{"\x00\x01\x02\xff"}) {
						t.Errorf("token-bin = %q, want the decoded bytes", got)
					}
					if want := timeout != "0"; hasDeadline != want {
						t.Errorf("-timeout %s: handler had a deadline: %v, want %v", timeout, hasDeadline, want)
					}
				}
			})
		}
	}
}

// gatedService streams two users in GetUsersByType and GetUsersByIds, and
// sends the second only once the test has seen the first printed (release
// is closed), or fails the call after a bound.
type gatedService struct {
	pb.UnimplementedUserManagerServer
	release chan struct{}
}

var gatedUsers = []*pb.User{
	{Id: 1, Nickname: "first", MailAddress: "first@example.com"},
	{Id: 2, Nickname: "second", MailAddress: "second@example.com"},
}

func (g *gatedService) send(ctx context.Context, send func(*pb.UserResponse) error) error {
	if err := send(&pb.UserResponse{User: gatedUsers[0]}); err != nil {
		return err
	}
	select {
	case <-g.release:
	case <-time.After(10 * time.Second):
		return status.Error(codes.DeadlineExceeded, "the first user was not printed before the second was due")
	case <-ctx.Done():
		return ctx.Err()
	}
	return send(&pb.UserResponse{User: gatedUsers[1]})
}

func (g *gatedService) GetUsersByType(_ *pb.UserTypeRequest, s grpc.ServerStreamingServer[pb.UserResponse]) error {
	return g.send(s.Context(), s.Send)
}

func (g *gatedService) GetUsersByIds(s grpc.BidiStreamingServer[pb.UserRequest, pb.UserResponse]) error {
	if _, err := s.Recv(); err != nil {
		return err
	}
	if err := g.send(s.Context(), s.Send); err != nil {
		return err
	}
	for {
		if _, err := s.Recv(); err != nil {
			return nil
		}
	}
}

// signalWriter closes first at its first Write.
type signalWriter struct {
	bytes.Buffer
	once  sync.Once
	first chan struct{}
}

func (w *signalWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.first) })
	return w.Buffer.Write(b)
}

// TestStreamsPrintAsTheyArrive holds a stream's second message back until
// the first one is printed: usercli must print each message on arrival,
// not when the call ends.
func TestStreamsPrintAsTheyArrive(t *testing.T) {
	for _, tr := range transports() {
		for _, args := range [][]string{{"GetUsersByType", "NORMAL"}, {"GetUsersByIds", "1"}} {
			t.Run(tr+"/"+args[0], func(t *testing.T) {
				svc := &gatedService{release: make(chan struct{})}
				gs := grpc.NewServer()
				h := grpchttp.New(gs, grpchttp.WithLogger(quietLog()))
				pb.RegisterUserManagerServer(h, svc) // on gs too
				addr := serveAll(t, gs, h)[tr]
				out := &signalWriter{first: svc.release}
				var errOut bytes.Buffer
				code := run(t.Context(), append([]string{"-addr", addr, "-transport", tr}, args...), out, &errOut)
				if code != 0 || strings.Count(out.String(), "\n") != 2 {
					t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
				}
			})
		}
	}
}
