package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// startServer serves a server with cfg, its store at dataPath (seeded with
// the tutorial's users on first start), on a fresh loopback port until the
// test ends.
func startServer(t *testing.T, dataPath string, cfg server.Config) *servertest.Server {
	t.Helper()
	return servertest.Start(t, cfg, servertest.WithDataPath(dataPath))
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func newUserManager(t *testing.T) (pb.UserManagerClient, *servertest.Server) {
	ts := startServer(t, filepath.Join(t.TempDir(), "users.db"), server.Config{})
	return pb.NewUserManagerClient(dial(t, ts.Addr)), ts
}

func testCtx(t *testing.T) context.Context {
	// A bound so a broken server fails the test instead of hanging it; no
	// call here comes near it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGetUser(t *testing.T) {
	c, _ := newUserManager(t)
	ctx := testCtx(t)
	tests := []struct {
		id   uint32
		want *pb.UserResponse
	}{
		{1, &pb.UserResponse{User: &pb.User{Id: 1, Nickname: "admin", MailAddress: "admin@example.com", UserType: pb.User_ADMINISTRATOR}}},
		{6, &pb.UserResponse{User: &pb.User{Id: 6, Nickname: "Saru", MailAddress: "saru@example.com", UserType: pb.User_NORMAL}}},
		{7, &pb.UserResponse{Error: true, Message: "not found"}},
		{4294967295, &pb.UserResponse{Error: true, Message: "not found"}},
	}
	for _, tc := range tests {
		got, err := c.GetUser(ctx, &pb.UserRequest{Id: tc.id})
		if err != nil || !proto.Equal(got, tc.want) {
			t.Errorf("GetUser(%d) = %v, %v; want %v", tc.id, got, err, tc.want)
		}
	}
}

func TestAddUser(t *testing.T) {
	c, _ := newUserManager(t)
	ctx := testCtx(t)
	u := &pb.User{Id: 7, Nickname: "nick", MailAddress: "nick@example.com", UserType: pb.User_NORMAL}
	got, err := c.AddUser(ctx, u)
	if err != nil || !proto.Equal(got, &pb.UserResponse{User: u}) {
		t.Fatalf("AddUser = %v, %v", got, err)
	}
	dup := proto.Clone(u).(*pb.User)
	dup.Nickname = "other"
	got, err = c.AddUser(ctx, dup)
	if err != nil || !proto.Equal(got, &pb.UserResponse{Error: true, Message: "already exist"}) {
		t.Fatalf("AddUser(taken id) = %v, %v; want the in-band already exist", got, err)
	}
	if got, _ := c.GetUser(ctx, &pb.UserRequest{Id: 7}); !proto.Equal(got.GetUser(), u) {
		t.Fatalf("GetUser(7) = %v; want the first user", got)
	}
}

func TestInvalidArgument(t *testing.T) {
	c, _ := newUserManager(t)
	ctx := testCtx(t)
	good := func() *pb.User {
		return &pb.User{Id: 50, Nickname: "n", MailAddress: "n@example.com", UserType: pb.User_GUEST}
	}
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"GetUser id 0", func() error { _, err := c.GetUser(ctx, &pb.UserRequest{}); return err }, "id"},
		{"AddUser id 0", func() error { u := good(); u.Id = 0; _, err := c.AddUser(ctx, u); return err }, "id"},
		{"AddUser empty nickname", func() error { u := good(); u.Nickname = ""; _, err := c.AddUser(ctx, u); return err }, "nickname"},
		{"AddUser long nickname", func() error {
			u := good()
			u.Nickname = strings.Repeat("x", 65)
			_, err := c.AddUser(ctx, u)
			return err
		}, "nickname"},
		{"AddUser nickname with a newline", func() error {
			u := good()
			u.Nickname = "two\nlines"
			_, err := c.AddUser(ctx, u)
			return err
		}, "nickname"},
		{"AddUser bad mail", func() error { u := good(); u.MailAddress = "not-a-mail"; _, err := c.AddUser(ctx, u); return err }, "mail_address"},
		{"AddUser mail with name", func() error {
			u := good()
			u.MailAddress = "N <n@example.com>"
			_, err := c.AddUser(ctx, u)
			return err
		}, "mail_address"},
		{"AddUser type out of range", func() error { u := good(); u.UserType = 9; _, err := c.AddUser(ctx, u); return err }, "user_type"},
		{"GetUsersByType out of range", func() error {
			s, err := c.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: 5})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, "user_type"},
		{"CountAlreadyUsers id 0", func() error {
			s, err := c.CountAlreadyUsers(ctx)
			if err != nil {
				return err
			}
			s.Send(&pb.UserRequest{Id: 1})
			s.Send(&pb.UserRequest{Id: 0})
			_, err = s.CloseAndRecv()
			return err
		}, "id"},
		{"GetUsersByIds id 0", func() error {
			s, err := c.GetUsersByIds(ctx)
			if err != nil {
				return err
			}
			s.Send(&pb.UserRequest{Id: 0})
			_, err = s.Recv()
			return err
		}, "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), tc.field+":") {
				t.Fatalf("err = %v; want InvalidArgument naming %s", err, tc.field)
			}
		})
	}
	if got, _ := c.GetUser(ctx, &pb.UserRequest{Id: 50}); !got.GetError() {
		t.Fatalf("a rejected AddUser stored a user: %v", got)
	}
}

func TestCountAlreadyUsers(t *testing.T) {
	c, _ := newUserManager(t)
	ctx := testCtx(t)
	tests := []struct {
		ids  []uint32
		want uint32
	}{
		{nil, 0},
		{[]uint32{1, 2}, 2},
		{[]uint32{1, 99, 3, 100}, 2},
		{[]uint32{2, 2, 2}, 3}, // each message counts
	}
	for _, tc := range tests {
		s, err := c.CountAlreadyUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range tc.ids {
			if err := s.Send(&pb.UserRequest{Id: id}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.CloseAndRecv()
		if err != nil || !proto.Equal(got, &pb.UserCntResponse{UserCnt: tc.want}) {
			t.Errorf("CountAlreadyUsers(%v) = %v, %v; want %d", tc.ids, got, err, tc.want)
		}
	}
}

func TestCountAlreadyUsersStreamLimit(t *testing.T) {
	ts := startServer(t, filepath.Join(t.TempDir(), "users.db"), server.Config{MaxStreamMsgs: 3})
	c := pb.NewUserManagerClient(dial(t, ts.Addr))
	s, err := c.CountAlreadyUsers(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		s.Send(&pb.UserRequest{Id: 1})
	}
	_, err = s.CloseAndRecv()
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a stream over the limit: err = %v; want ResourceExhausted", err)
	}
}

func TestGetUsersByType(t *testing.T) {
	c, _ := newUserManager(t)
	ctx := testCtx(t)
	// Added after the seed, out of order: the stream must still be sorted.
	for _, id := range []uint32{40, 8, 20} {
		if _, err := c.AddUser(ctx, &pb.User{Id: id, Nickname: "n", MailAddress: "n@example.com", UserType: pb.User_NORMAL}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		typ  pb.UserTypeRequest_UserType
		want []uint32
	}{
		{pb.UserTypeRequest_NORMAL, []uint32{3, 5, 6, 8, 20, 40}},
		{pb.UserTypeRequest_ADMINISTRATOR, []uint32{1}},
		{pb.UserTypeRequest_NONE, nil},
	}
	for _, tc := range tests {
		s, err := c.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: tc.typ})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for {
			r, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("GetUsersByType(%v): %v", tc.typ, err)
			}
			if r.GetError() || r.GetUser().GetUserType() != pb.User_UserType(tc.typ) {
				t.Fatalf("GetUsersByType(%v) sent %v", tc.typ, r)
			}
			got = append(got, r.GetUser().GetId())
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("GetUsersByType(%v) ids = %v; want %v", tc.typ, got, tc.want)
		}
	}
}

// TestGetUsersByIdsPingPong shows each reply arrives while the client still
// holds its next request: the client sends one id, waits for its user, and
// only then sends the next.
func TestGetUsersByIdsPingPong(t *testing.T) {
	c, _ := newUserManager(t)
	s, err := c.GetUsersByIds(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint32{2, 99, 5} {
		if err := s.Send(&pb.UserRequest{Id: id}); err != nil {
			t.Fatal(err)
		}
		if id == 99 {
			continue // unknown ids get no reply
		}
		r, err := s.Recv()
		if err != nil || r.GetUser().GetId() != id {
			t.Fatalf("reply to id %d = %v, %v", id, r, err)
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Recv(); err != io.EOF {
		t.Fatalf("after half-close Recv = %v, %v; want io.EOF (the unknown id must not be answered)", r, err)
	}
}

func TestAddUserSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	ts := startServer(t, path, server.Config{})
	c := pb.NewUserManagerClient(dial(t, ts.Addr))
	u := &pb.User{Id: 77, Nickname: "durable", MailAddress: "d@example.com", UserType: pb.User_GUEST}
	if r, err := c.AddUser(testCtx(t), u); err != nil || r.GetError() {
		t.Fatalf("AddUser = %v, %v", r, err)
	}
	ts.Stop()

	ts = startServer(t, path, server.Config{})
	c = pb.NewUserManagerClient(dial(t, ts.Addr))
	got, err := c.GetUser(testCtx(t), &pb.UserRequest{Id: 77})
	if err != nil || !proto.Equal(got.GetUser(), u) {
		t.Fatalf("after restart GetUser(77) = %v, %v; want %v", got, err, u)
	}
	if got, _ := c.GetUser(testCtx(t), &pb.UserRequest{Id: 1}); got.GetUser().GetNickname() != "admin" {
		t.Fatalf("seed users missing after restart: %v", got)
	}
}

func TestConcurrentAddUserOneID(t *testing.T) {
	c, _ := newUserManager(t)
	ctx := testCtx(t)
	const n = 50
	var wg sync.WaitGroup
	results := make(chan *pb.UserResponse, n)
	for i := range n {
		wg.Go(func() {
			r, err := c.AddUser(ctx, &pb.User{Id: 500, Nickname: fmt.Sprintf("racer%d", i), MailAddress: "r@example.com", UserType: pb.User_GUEST})
			if err != nil {
				t.Errorf("AddUser: %v", err)
				return
			}
			results <- r
		})
	}
	wg.Wait()
	close(results)
	ok, taken := 0, 0
	for r := range results {
		switch {
		case !r.GetError():
			ok++
		case r.GetMessage() == "already exist":
			taken++
		}
	}
	if ok != 1 || taken != n-1 {
		t.Fatalf("%d successes and %d 'already exist' of %d concurrent adds; want 1 and %d", ok, taken, n, n-1)
	}
}

// grpcWebPost sends one gRPC-Web call as a plain HTTP/1.1 POST.
func grpcWebPost(t *testing.T, addr, method string, req proto.Message, header http.Header) *http.Response {
	t.Helper()
	msg, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	body := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	body = append(body, msg...)
	r, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, "http://"+addr+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/grpc-web+proto")
	r.Header.Set("X-Grpc-Web", "1")
	for k, v := range header {
		r.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.ProtoMajor != 1 {
		t.Fatalf("response over HTTP/%d; want HTTP/1.1", resp.ProtoMajor)
	}
	return resp
}

// readFrames splits a gRPC-Web body into its frames.
func readFrames(t *testing.T, body []byte) (flags []byte, payloads [][]byte) {
	t.Helper()
	for len(body) > 0 {
		if len(body) < 5 {
			t.Fatalf("truncated frame prefix: % x", body)
		}
		n := binary.BigEndian.Uint32(body[1:5])
		if uint32(len(body)-5) < n {
			t.Fatalf("frame announces %d bytes, %d left", n, len(body)-5)
		}
		flags = append(flags, body[0])
		payloads = append(payloads, body[5:5+n])
		body = body[5+n:]
	}
	return flags, payloads
}

func TestGRPCWebUnaryOverHTTP1(t *testing.T) {
	_, ts := newUserManager(t)
	resp := grpcWebPost(t, ts.Addr, "/UserManager/GetUser", &pb.UserRequest{Id: 2}, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc-web") {
		t.Fatalf("status %d, content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	flags, payloads := readFrames(t, body)
	if len(flags) != 2 || flags[0] != 0x00 || flags[1] != 0x80 {
		t.Fatalf("frame flags = % x; want a message frame then a trailer frame", flags)
	}
	got := new(pb.UserResponse)
	if err := proto.Unmarshal(payloads[0], got); err != nil || got.GetUser().GetNickname() != "guest" {
		t.Fatalf("message = %v, %v", got, err)
	}
	if !bytes.Contains(bytes.ToLower(payloads[1]), []byte("grpc-status: 0\r\n")) {
		t.Fatalf("trailer block %q lacks grpc-status: 0", payloads[1])
	}
}

func TestGRPCWebCORS(t *testing.T) {
	ts := startServer(t, filepath.Join(t.TempDir(), "users.db"), server.Config{AllowedOrigins: []string{"https://app.example.com"}})
	for _, tc := range []struct {
		origin string
		allow  bool
	}{
		{"https://app.example.com", true},
		{"https://evil.example.com", false},
	} {
		resp := grpcWebPost(t, ts.Addr, "/UserManager/GetUser", &pb.UserRequest{Id: 1}, http.Header{"Origin": {tc.origin}})
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if (got == tc.origin) != tc.allow {
			t.Errorf("Origin %s: Access-Control-Allow-Origin = %q; allowed should be %v", tc.origin, got, tc.allow)
		}
	}
}

func TestReflectionAndHealthOnSamePort(t *testing.T) {
	_, ts := newUserManager(t)
	cc := dial(t, ts.Addr)
	ctx := testCtx(t)

	h, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "UserManager"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}

	v1, err := reflectv1.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v1.Send(&reflectv1.ServerReflectionRequest{MessageRequest: &reflectv1.ServerReflectionRequest_ListServices{}})
	r1, err := v1.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r1.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, ","), "UserManager") {
		t.Fatalf("reflection v1 lists %v; want UserManager", names)
	}

	// The tutorial's tools (evans, older grpcurl) use v1alpha and resolve
	// the service's file by symbol.
	va, err := reflectv1alpha.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	va.Send(&reflectv1alpha.ServerReflectionRequest{MessageRequest: &reflectv1alpha.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "UserManager"}})
	ra, err := va.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if fds := ra.GetFileDescriptorResponse().GetFileDescriptorProto(); len(fds) == 0 || !bytes.Contains(fds[0], []byte("GetUsersByIds")) {
		t.Fatalf("v1alpha FileContainingSymbol(UserManager) = %v", ra)
	}
}

func TestPageOnSamePort(t *testing.T) {
	_, ts := newUserManager(t)
	resp, err := http.Get("http://" + ts.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("<html")) {
		t.Fatalf("GET / = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestCorruptStoreStopsStartup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xAB}, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := server.OpenStore(context.Background(), path, "")
	if err == nil {
		st.Close()
		t.Fatal("OpenStore on a corrupt file succeeded; want an error")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name the file", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, bytes.Repeat([]byte{0xAB}, 64<<10)) {
		t.Fatal("OpenStore changed the corrupt file")
	}
}

func TestSeedFile(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.json")
	os.WriteFile(seed, []byte(`{"9": {"id": 9, "nickname": "nine", "mail_address": "nine@example.com", "user_type": "GUEST"}}`), 0o600)
	st, err := server.OpenStore(context.Background(), filepath.Join(dir, "users.db"), seed)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.Get(context.Background(), 9); err != nil || u.GetNickname() != "nine" {
		t.Fatalf("Get(9) = %v, %v", u, err)
	}
	if _, err := st.Get(context.Background(), 1); err == nil {
		t.Fatal("the default seed was loaded too")
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"3": {"id": 3, "nickname": "", "mail_address": "x@example.com", "user_type": "GUEST"}}`), 0o600)
	if st, err := server.OpenStore(context.Background(), filepath.Join(dir, "other.db"), bad); err == nil {
		st.Close()
		t.Fatal("a seed user with an empty nickname was accepted")
	}
}

// TestShutdownLetsCallsFinish holds a bidi stream open across Shutdown: the
// stream keeps working until the client ends it, and Shutdown then returns.
func TestShutdownLetsCallsFinish(t *testing.T) {
	c, ts := newUserManager(t)
	s, err := c.GetUsersByIds(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Send(&pb.UserRequest{Id: 1})
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { ts.Stop(); close(stopped) }()

	// New connections are refused once shutdown has begun.
	waitRefused(t, ts.Addr)
	select {
	case <-stopped:
		t.Fatal("Shutdown returned while a call was in flight")
	default:
	}
	if err := s.Send(&pb.UserRequest{Id: 3}); err != nil {
		t.Fatalf("in-flight stream broken by shutdown: %v", err)
	}
	if r, err := s.Recv(); err != nil || r.GetUser().GetId() != 3 {
		t.Fatalf("in-flight stream reply = %v, %v", r, err)
	}
	s.CloseSend()
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("stream end = %v; want io.EOF", err)
	}
	<-stopped
}

// TestShutdownLetsGRPCWebCallsFinish starts a gRPC-Web call whose request
// body is still arriving when Shutdown begins: the call completes with its
// reply and grpc-status 0 once the rest arrives, and only then does
// Shutdown return.
func TestShutdownLetsGRPCWebCallsFinish(t *testing.T) {
	_, ts := newUserManager(t)
	msg, err := proto.Marshal(&pb.UserRequest{Id: 4})
	if err != nil {
		t.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	frame = append(frame, msg...)

	conn, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	// With Expect: 100-continue the server says when the call has started
	// and waits for its request body.
	fmt.Fprintf(conn, "POST /UserManager/GetUser HTTP/1.1\r\nHost: %s\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", ts.Addr, len(frame))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, " 100 ") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	for line := "x"; line != "\r\n"; {
		if line, err = br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	conn.Write(frame[:3]) // the call is in flight, waiting for the rest of its request

	stopped := make(chan struct{})
	go func() { ts.Stop(); close(stopped) }()
	waitRefused(t, ts.Addr)
	select {
	case <-stopped:
		t.Fatal("Shutdown returned while a gRPC-Web call was in flight")
	default:
	}
	conn.Write(frame[3:])
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight gRPC-Web call: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("in-flight gRPC-Web call, body: %v", err)
	}
	flags, payloads := readFrames(t, body)
	got := new(pb.UserResponse)
	if len(flags) != 2 || proto.Unmarshal(payloads[0], got) != nil || got.GetUser().GetId() != 4 {
		t.Fatalf("in-flight gRPC-Web call: frames % x, reply %v", flags, got)
	}
	if !bytes.Contains(bytes.ToLower(payloads[1]), []byte("grpc-status: 0\r\n")) {
		t.Fatalf("in-flight gRPC-Web call: trailers %q", payloads[1])
	}
	<-stopped
}

// waitRefused waits until addr refuses new connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the port still accepts connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWasmServing: main.wasm goes out as application/wasm, gzipped for a
// client that accepts it, and with an ETag that answers a reload with 304.
func TestWasmServing(t *testing.T) {
	raw := bytes.Repeat([]byte("\x00asm fake module "), 4096)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	assets := fstest.MapFS{
		"index.html":        {Data: []byte("<html></html>")},
		"wasm/main.wasm":    {Data: raw},
		"wasm/main.wasm.gz": {Data: gz.Bytes()},
	}
	ts := startServer(t, filepath.Join(t.TempDir(), "users.db"), server.Config{Assets: assets})
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(acceptEncoding, ifNoneMatch string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+ts.Addr+"/wasm/main.wasm", nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}

	resp, body := get("gzip, deflate, br", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/wasm" ||
		resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(body, gz.Bytes()) {
		t.Fatalf("gzip: %d %q %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), len(body))
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary = %q; want Accept-Encoding", resp.Header.Get("Vary"))
	}
	gzETag := resp.Header.Get("ETag")

	resp, body = get("", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, raw) {
		t.Fatalf("identity: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(body))
	}
	if etag := resp.Header.Get("ETag"); etag == "" || etag == gzETag {
		t.Errorf("ETags: identity %q, gzip %q; want two different ones", etag, gzETag)
	}
	if resp, _ := get("gzip;q=0", ""); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	if resp, body := get("gzip", gzETag); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("reload with If-None-Match: %d, %d bytes; want 304 and no body", resp.StatusCode, len(body))
	}
}
