//go:build !js

package client_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSGlue exercises the browser glue (the *_js.go files) for real: it
// starts the real server, the test peer and improbable-eng's wrapper on
// 127.0.0.1, then runs
// TestJSCalls (js_test.go) compiled for GOOS=js GOARCH=wasm under Node,
// whose fetch streams response bodies and whose WebSocket (behind
// --experimental-websocket in Node 20) is the browser's API. Node gets the
// servers' URLs through the environment, which Go's wasm_exec passes on.
func TestJSGlue(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and runs the package for GOOS=js under Node; not in -short mode")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed to run the js glue test: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the js test: %v", err)
	}
	out, err := exec.Command(goTool, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	execWasm := filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "go_js_wasm_exec")

	serverURL, peerURL, improbableURL := startServer(t), startPeer(t), startImprobable(t)
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, goTool, "test", "-count=1", "-v", "-run", "^TestJSCalls$", "-exec", execWasm, ".")
	cmd.Env = append(os.Environ(),
		"GOOS=js", "GOARCH=wasm", "GOFLAGS=", "CGO_ENABLED=0",
		"NODE_OPTIONS=--experimental-websocket",
		envServerURL+"="+serverURL,
		envPeerURL+"="+peerURL,
		envImprobableURL+"="+improbableURL,
	)
	output, err := cmd.CombinedOutput()
	log := string(output)
	if err != nil {
		t.Fatalf("js test failed: %v\n%s", err, log)
	}
	if strings.Contains(log, "--- SKIP") {
		t.Fatalf("js test skipped instead of running:\n%s", log)
	}
	for _, want := range []string{
		"--- PASS: TestJSCalls ",
		"--- PASS: TestJSCalls/grpc-web/GetUsersByType ",
		"--- PASS: TestJSCalls/websocket/GetUsersByIds ",
		"--- PASS: TestJSCalls/improbable-websocket/GetUsersByIds ",
		"--- PASS: TestJSCalls/peer/MessageBeforeResponseEnds ",
		"--- PASS: TestJSCalls/peer/MetadataOverWebSocket ",
		"--- PASS: TestJSCalls/peer/CancelAbortsFetch ",
		"--- PASS: TestJSCalls/peer/CancelClosesSocket ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("js test output lacks %q:\n%s", want, log)
		}
	}
}
