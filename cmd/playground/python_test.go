package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpcplay/playground/server/servertest"
)

// debianPython is Debian's python3, with python3-grpcio and
// python3-grpc-tools (make python-grpc installs them).
const debianPython = "/usr/bin/python3"

// tutorialClient makes the tutorial's calls with Python's gRPC (grpcio, the
// C core: a client nobody here wrote), as its grpc_client.py does, over
// cleartext or, given a CA file, ssl_channel_credentials.
const tutorialClient = `
import sys, grpc, user_pb2, user_pb2_grpc
target, ca = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
if ca:
    channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=open(ca, "rb").read()))
else:
    channel = grpc.insecure_channel(target)
stub = user_pb2_grpc.UserManagerStub(channel)
r = stub.GetUser(user_pb2.UserRequest(id=1), timeout=10)
print("GetUser", r.user.nickname)
r = stub.AddUser(user_pb2.User(id=77, nickname="py", mail_address="py@example.com", user_type=user_pb2.User.GUEST), timeout=10)
print("AddUser", r.user.id, r.error)
r = stub.CountAlreadyUsers(iter([user_pb2.UserRequest(id=i) for i in (1, 2, 99, 77)]), timeout=10)
print("CountAlreadyUsers", r.user_cnt)
print("GetUsersByType", " ".join(u.user.nickname for u in stub.GetUsersByType(user_pb2.UserTypeRequest(user_type=user_pb2.UserTypeRequest.NORMAL), timeout=10)))
print("GetUsersByIds", " ".join(u.user.nickname for u in stub.GetUsersByIds(iter([user_pb2.UserRequest(id=i) for i in (5, 99, 77)]), timeout=10)))
try:
    stub.GetUser(user_pb2.UserRequest(id=0), timeout=10)
except grpc.RpcError as e:
    print("invalid", e.code().name, e.details())
`

// TestTutorialPythonClient: the tutorial's calls from Python's grpcio reach
// the binary over cleartext HTTP/2 and over TLS on the one port.
func TestTutorialPythonClient(t *testing.T) {
	if out, err := exec.Command(debianPython, "-c", "import grpc, grpc_tools").CombinedOutput(); err != nil {
		t.Fatalf("Python's grpcio is missing (run make python-grpc): %v\n%s", err, out)
	}
	dir := t.TempDir()
	gen := exec.Command(debianPython, "-m", "grpc_tools.protoc", "-I", "../../proto", "--python_out="+dir, "--grpc_python_out="+dir, "../../proto/user.proto")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generate the Python stubs: %v\n%s", err, out)
	}
	script := filepath.Join(dir, "tutorial_client.py")
	if err := os.WriteFile(script, []byte(tutorialClient), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := servertest.NewCertificate(t, "127.0.0.1", "localhost")
	bin := buildPlayground(t)
	for _, tc := range []struct {
		name  string
		args  []string
		ready bool // TLS
	}{
		{"cleartext", nil, false},
		{"tls", []string{"-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, bin, nil, append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db")}, tc.args...)...)
			re := readyLine
			if tc.ready {
				re = tlsReadyLine
			}
			addr := p.waitLine(t, re)[1]
			args := []string{script, addr}
			if tc.ready {
				args = []string{script, "localhost:" + addr[strings.LastIndex(addr, ":")+1:], cert.CAFile}
			}
			cmd := exec.Command(debianPython, args...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the tutorial's calls from Python: %v\n%s", err, out)
			}
			for _, want := range []string{
				"GetUser admin",
				"AddUser 77 False",
				"CountAlreadyUsers 3",
				"GetUsersByType foo Zaru Saru",
				"GetUsersByIds Zaru py",
				"invalid INVALID_ARGUMENT id: must be greater than 0",
			} {
				if !strings.Contains(string(out), want+"\n") {
					t.Errorf("Python's output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
