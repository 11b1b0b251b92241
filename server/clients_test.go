package server_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// bufCurl runs the pinned buf's curl with args, stdin as its input.
func bufCurl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool(t, "buf"), append([]string{"curl"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestBufCurlGRPCWebOverH2C: buf curl, a client nobody here wrote, speaks
// gRPC-Web over HTTP/2 with prior knowledge, as reverse proxies do, and
// reads the schema through reflection the same way: every call type works,
// the bidirectional one included (full duplex over one HTTP/2 stream).
func TestBufCurlGRPCWebOverH2C(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	base := []string{"--protocol", "grpcweb", "--http2-prior-knowledge", "--timeout", "20s"}
	for _, tc := range []struct {
		name, method, stdin string
		data                string
		want                []string
	}{
		{"unary", "UserManager/GetUser", "", `{"id": 1}`, []string{`"nickname": "admin"`}},
		{"server streaming", "UserManager/GetUsersByType", "", `{"userType": "NORMAL"}`, []string{`"nickname": "foo"`, `"nickname": "Zaru"`, `"nickname": "Saru"`}},
		{"client streaming", "UserManager/CountAlreadyUsers", `{"id": 1} {"id": 99} {"id": 2}`, "@-", []string{`"userCnt": 2`}},
		{"bidirectional", "UserManager/GetUsersByIds", `{"id": 2} {"id": 5}`, "@-", []string{`"nickname": "guest"`, `"nickname": "Zaru"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := bufCurl(t, tc.stdin, append(base, "--data", tc.data, ts.URL+"/"+tc.method)...)
			if err != nil {
				t.Fatalf("buf curl: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("buf curl's output lacks %s:\n%s", w, out)
				}
			}
		})
	}
	out, err := bufCurl(t, "", append(base, "--data", `{"id": 0}`, ts.URL+"/UserManager/GetUser")...)
	if err == nil || !strings.Contains(out, "invalid_argument") {
		t.Fatalf("an invalid request: %v\n%s", err, out)
	}
}
