//go:build !js

package explorer_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/grpcplay/playground/wasm/internal/jstest"
)

// TestProtoCompilerUnderNode builds the page's .proto compiler
// (wasm/protocompiler) as make wasm does, serves it on 127.0.0.1, and runs
// TestJSProtoCompiler (protocompiler_js_test.go) compiled for GOOS=js under
// Node: a Go program in the browser loading and calling the other.
func TestProtoCompilerUnderNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds for GOOS=js and runs under Node; not in -short mode")
	}
	wasm := filepath.Join(t.TempDir(), "protocompiler.wasm")
	build := exec.Command("go", "build", "-trimpath", "-gcflags=all=-l", "-ldflags=-s -w", "-o", wasm, "../protocompiler")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wasm/protocompiler.wasm" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, wasm)
	}))
	defer srv.Close()
	jstest.Run(t, "^TestJSProtoCompiler$", []string{envProtoCompilerURL + "=" + srv.URL + "/" + "wasm/protocompiler.wasm"},
		"--- PASS: TestJSProtoCompiler ")
}
