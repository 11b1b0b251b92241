//go:build !js

package explorer_test

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/server/servertest/explorertest"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/explorer"
)

// load reads the schema of the server at url, over the native build of the
// browser's client: reflection's bidi stream goes over the WebSocket bridge.
func load(t *testing.T, url string, opts explorer.LoadOptions) (*explorer.Schema, *client.Conn) {
	t.Helper()
	conn, err := client.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := explorer.Load(ctx, conn, opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s, conn
}

func serviceNames(s *explorer.Schema) []string {
	var names []string
	for _, svc := range s.Services {
		names = append(names, svc.Name)
	}
	return names
}

func service(t *testing.T, s *explorer.Schema, name string) *explorer.Service {
	t.Helper()
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	t.Fatalf("service %s not listed; have %v", name, serviceNames(s))
	return nil
}

// call makes one call of path with the JSON requests and returns the
// responses as JSON, the trailers and the status error.
func call(t *testing.T, s *explorer.Schema, conn *client.Conn, path string, requests ...string) ([]string, metadata.MD, error) {
	t.Helper()
	m := s.Method(path)
	if m == nil {
		t.Fatalf("method %s not in the schema", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var trailer metadata.MD
	st, err := conn.NewStream(ctx, m.StreamDesc(), path, client.Trailer(&trailer))
	if err != nil {
		return nil, nil, err
	}
	for _, r := range requests {
		req, err := s.ParseRequest(m, r)
		if err != nil {
			t.Fatalf("ParseRequest(%s): %v", r, err)
		}
		if err := st.SendMsg(req); err != nil {
			t.Fatalf("SendMsg: %v", err)
		}
	}
	st.CloseSend()
	var out []string
	for {
		resp := m.NewResponse()
		err := st.RecvMsg(resp)
		if err == io.EOF || (err == nil && !m.Desc.IsStreamingServer() && len(out) == 1) {
			return out, trailer, nil
		}
		if err != nil {
			return out, trailer, err
		}
		j, err := s.FormatMessage(resp, false)
		if err != nil {
			t.Fatalf("FormatMessage: %v", err)
		}
		out = append(out, j)
	}
}

func TestLoadFromReflection(t *testing.T) {
	ts := explorertest.Start(t)
	s, conn := load(t, ts.URL, explorer.LoadOptions{})
	if s.Version != explorer.V1 || s.Fallback != "" || len(s.Problems) != 0 {
		t.Fatalf("Version %q, Fallback %q, Problems %q; want v1 at once, no problems", s.Version, s.Fallback, s.Problems)
	}
	want := []string{"UserManager", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
	if got := serviceNames(s); !slices.Equal(got, want) {
		t.Fatalf("services %q; want %q", got, want)
	}
	// UserManager has no proto package: its methods are /UserManager/...
	um := service(t, s, "UserManager")
	wantMethods := []struct {
		path, in, out string
		kind          explorer.CallKind
	}{
		{"/UserManager/GetUser", "UserRequest", "UserResponse", explorer.Unary},
		{"/UserManager/AddUser", "User", "UserResponse", explorer.Unary},
		{"/UserManager/CountAlreadyUsers", "UserRequest", "UserCntResponse", explorer.ClientStreaming},
		{"/UserManager/GetUsersByType", "UserTypeRequest", "UserResponse", explorer.ServerStreaming},
		{"/UserManager/GetUsersByIds", "UserRequest", "UserResponse", explorer.BidiStreaming},
	}
	if um.Err != "" || len(um.Methods) != len(wantMethods) {
		t.Fatalf("UserManager: Err %q, %d methods", um.Err, len(um.Methods))
	}
	for i, w := range wantMethods {
		m := um.Methods[i]
		if m.Path != w.path || m.Kind != w.kind || string(m.Desc.Input().FullName()) != w.in || string(m.Desc.Output().FullName()) != w.out {
			t.Errorf("method %d: %s %v %s -> %s; want %s %v %s -> %s", i, m.Path, m.Kind, m.Desc.Input().FullName(), m.Desc.Output().FullName(), w.path, w.kind, w.in, w.out)
		}
	}
	if m := s.Method("/grpc.health.v1.Health/Watch"); m == nil || m.Kind != explorer.ServerStreaming {
		t.Fatalf("Health/Watch: %+v", m)
	}

	// The descriptors drive real calls of all four kinds.
	for _, c := range []struct {
		path     string
		requests []string
		want     []string
	}{
		{"/UserManager/GetUser", []string{`{"id": 1}`}, []string{`"nickname":"admin"`}},
		{"/UserManager/GetUsersByType", []string{`{"user_type": "NORMAL"}`}, []string{`"id":3`, `"id":5`, `"id":6`}},
		{"/UserManager/CountAlreadyUsers", []string{`{"id": 1}`, `{"id": "2"}`, `{"id": 99}`}, []string{`"user_cnt":2`}},
		{"/UserManager/GetUsersByIds", []string{`{"id": 3}`, `{"id": 5}`}, []string{`"nickname":"foo"`, `"nickname":"Zaru"`}},
		{"/grpc.health.v1.Health/Check", []string{`{}`}, []string{`"status":"SERVING"`}},
	} {
		got, _, err := call(t, s, conn, c.path, c.requests...)
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%s: %q, %v; want %d responses", c.path, got, err, len(c.want))
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], c.want[i]) {
				t.Errorf("%s response %d = %s; want %s in it", c.path, i, got[i], c.want[i])
			}
		}
	}
}

func TestLoadFallsBackToV1alpha(t *testing.T) {
	ts := explorertest.StartV1alphaOnly(t)
	s, conn := load(t, ts.URL, explorer.LoadOptions{})
	if s.Version != explorer.V1alpha || !strings.HasPrefix(s.Fallback, "v1: Unimplemented: ") {
		t.Fatalf("Version %q, Fallback %q; want v1alpha after v1's Unimplemented", s.Version, s.Fallback)
	}
	want := []string{"UserManager", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
	if got := serviceNames(s); !slices.Equal(got, want) || len(s.Problems) != 0 {
		t.Fatalf("services %q, problems %q; want %q, none", got, s.Problems, want)
	}
	got, _, err := call(t, s, conn, "/UserManager/GetUser", `{"id": 2}`)
	if err != nil || len(got) != 1 || !strings.Contains(got[0], `"nickname":"guest"`) {
		t.Fatalf("GetUser 2 over the v1alpha schema: %q, %v", got, err)
	}
}

func TestLoadPrefersTheVersionThatAnsweredBefore(t *testing.T) {
	ts := explorertest.Start(t)
	s, _ := load(t, ts.URL, explorer.LoadOptions{First: explorer.V1alpha})
	if s.Version != explorer.V1alpha || s.Fallback != "" || len(s.Services) != 4 {
		t.Fatalf("Version %q, Fallback %q, %d services; want v1alpha at once, 4 services", s.Version, s.Fallback, len(s.Services))
	}
}

func TestLoadWithoutReflection(t *testing.T) {
	ts := explorertest.StartWithoutReflection(t)
	conn, err := client.Dial(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = explorer.Load(context.Background(), conn, explorer.LoadOptions{})
	want := "server reflection failed: v1: Unimplemented: unknown service grpc.reflection.v1.ServerReflection; v1alpha: Unimplemented: unknown service grpc.reflection.v1alpha.ServerReflection"
	if err == nil || err.Error() != want {
		t.Fatalf("Load without reflection: %v; want %q", err, want)
	}
}

func TestLoadSendsMetadata(t *testing.T) {
	ts := explorertest.Start(t)
	s, _ := load(t, ts.URL, explorer.LoadOptions{Metadata: metadata.Pairs("authorization", "Bearer k")})
	if got := ts.Calls.Header("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "authorization"); got != "Bearer k" || len(s.Services) != 4 {
		t.Fatalf("reflection call's authorization = %q (%d services); want Bearer k", got, len(s.Services))
	}
}

func TestLoadMissingDependency(t *testing.T) {
	ts := explorertest.StartAcme(t)
	s, conn := load(t, ts.URL, explorer.LoadOptions{})
	if len(s.Problems) != 1 || !strings.HasPrefix(s.Problems[0], explorertest.MissingProblem+" (NotFound: ") {
		t.Fatalf("Problems %q; want one: %s (NotFound: ...)", s.Problems, explorertest.MissingProblem)
	}
	if orders := service(t, s, "acme.Orders"); !strings.HasPrefix(orders.Err, explorertest.MissingProblem) || len(orders.Methods) != 0 {
		t.Fatalf("acme.Orders: Err %q, %d methods; want the missing file named", orders.Err, len(orders.Methods))
	}
	// The other services stand: Echo's timestamp.proto, which the server
	// does not send, comes from the fallbacks.
	echo := service(t, s, "acme.Echo")
	if echo.Err != "" || len(echo.Methods) != 2 || echo.Methods[1].Kind != explorer.BidiStreaming {
		t.Fatalf("acme.Echo: Err %q, methods %d", echo.Err, len(echo.Methods))
	}
	if um := service(t, s, "UserManager"); um.Err != "" || len(um.Methods) != 5 {
		t.Fatalf("UserManager: Err %q, %d methods", um.Err, len(um.Methods))
	}
	got, _, err := call(t, s, conn, "/acme.Echo/Say", `{"text": "hi", "at": "2024-05-06T07:08:09Z"}`)
	if err != nil || len(got) != 1 || !strings.Contains(got[0], `"at":"2024-05-06T07:08:09Z"`) || !strings.Contains(got[0], `"text":"hi"`) {
		t.Fatalf("Echo/Say: %q, %v", got, err)
	}
	got, _, err = call(t, s, conn, "/acme.Echo/Chat", `{"text": "a"}`, `{"text": "b"}`)
	if err != nil || len(got) != 2 || !strings.Contains(got[1], `"text":"b"`) {
		t.Fatalf("Echo/Chat: %q, %v", got, err)
	}
}

func TestStatusDetails(t *testing.T) {
	ts := explorertest.StartAcme(t)
	s, conn := load(t, ts.URL, explorer.LoadOptions{})
	_, trailer, err := call(t, s, conn, "/acme.Echo/Say", `{"text": "fail"}`)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Say fail: %v; want InvalidArgument", err)
	}
	// google.rpc.BadRequest is in no file the server sent: it resolves
	// through the fallbacks.
	details, ok := s.StatusDetails(trailer)
	for _, want := range []string{`"code": 3`, `"message": "text: fail was asked for"`, `"@type": "type.googleapis.com/google.rpc.BadRequest"`, `"field": "text"`} {
		if !ok || !strings.Contains(details, want) {
			t.Fatalf("status details:\n%s\nwant %s in them", details, want)
		}
	}
	if _, ok := s.StatusDetails(metadata.MD{}); ok {
		t.Fatal("StatusDetails reported details without the trailer")
	}
}

func TestWireOfAReply(t *testing.T) {
	ts := explorertest.StartAcme(t)
	s, conn := load(t, ts.URL, explorer.LoadOptions{})
	m := s.Method("/acme.Echo/Say")
	req, err := s.ParseRequest(m, `{"text": "hi"}`)
	if err != nil {
		t.Fatal(err)
	}
	resp := m.NewResponse()
	if err := conn.Invoke(context.Background(), m.Path, req, resp); err != nil {
		t.Fatal(err)
	}
	w, err := explorer.Wire(resp)
	if err != nil {
		t.Fatal(err)
	}
	// text = "hi" (field 1, bytes), then field 99 = 7 (varint), which the
	// schema does not know, in a frame of 5 + 7 bytes.
	want := []byte{0, 0, 0, 0, 7, 0x0a, 2, 'h', 'i', 0x98, 0x06, 7}
	if !slices.Equal(w.Frame, want) {
		t.Fatalf("frame % x; want % x", w.Frame, want)
	}
	if !slices.Equal(w.Unknown, []string{"(message): field 99 (varint) = 7"}) {
		t.Fatalf("unknown fields %q", w.Unknown)
	}
	if got := explorer.Hex(w.Frame, 6); got != "00 00 00 00 07 0a\n… 6 more bytes" {
		t.Fatalf("Hex = %q", got)
	}
}
