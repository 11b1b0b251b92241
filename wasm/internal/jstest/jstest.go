// Package jstest runs a package's tests compiled for GOOS=js GOARCH=wasm
// under Node, for the native tests that check the browser glue for real:
// Node's fetch streams response bodies, and its WebSocket (behind
// --experimental-websocket in Node 20) is the browser's API.
package jstest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Run runs the tests matching run of the package in the current directory,
// compiled for GOOS=js GOARCH=wasm, under Node with Go's go_js_wasm_exec,
// which passes env (NAME=value entries, such as the URLs of servers the
// caller started on 127.0.0.1) on to the program. It fails t when they
// fail, when any of them skipped, or when the verbose output lacks a line
// of wantPass ("--- PASS: TestName/sub "), and returns the output.
func Run(t *testing.T, run string, env []string, wantPass ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles and runs the package for GOOS=js under Node; not in -short mode")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed to run the js tests: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the js tests: %v", err)
	}
	out, err := exec.Command(goTool, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	execWasm := filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "go_js_wasm_exec")

	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, goTool, "test", "-count=1", "-v", "-run", run, "-exec", execWasm, ".")
	cmd.Env = append(os.Environ(),
		"GOOS=js", "GOARCH=wasm", "GOFLAGS=", "CGO_ENABLED=0",
		"NODE_OPTIONS=--experimental-websocket",
	)
	cmd.Env = append(cmd.Env, env...)
	output, err := cmd.CombinedOutput()
	log := string(output)
	if err != nil {
		t.Fatalf("js tests failed: %v\n%s", err, log)
	}
	if strings.Contains(log, "--- SKIP") {
		t.Fatalf("js tests skipped instead of running:\n%s", log)
	}
	for _, want := range wantPass {
		if !strings.Contains(log, want) {
			t.Errorf("js test output lacks %q:\n%s", want, log)
		}
	}
	return log
}
