//go:build !js

package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBrowserBuildImports keeps the page's wasm small: the browser build of
// the playground and of package explorer must not link net/http (fetch and
// WebSocket come through syscall/js) nor package google.golang.org/grpc
// (only its light status and codes packages), which would each add
// megabytes to main.wasm.
func TestBrowserBuildImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "../playground", "../explorer")
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list listed %d packages: %q", len(deps), deps)
	}
	for _, dep := range deps {
		switch dep {
		case "net/http", "google.golang.org/grpc", "github.com/gorilla/websocket":
			t.Errorf("the browser build links %s", dep)
		}
	}
}
