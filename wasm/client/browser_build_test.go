//go:build !js

package client_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goList runs go list with args, for GOOS=js GOARCH=wasm when js is true
// and natively otherwise, and returns its output's lines.
func goList(t *testing.T, js bool, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	if js {
		cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list %s listed %d lines: %q", strings.Join(args, " "), len(lines), lines)
	}
	return lines
}

// TestBrowserBuildImports keeps the page's wasm small: the browser build of
// the playground and of package explorer must not link net/http (fetch and
// WebSocket come through syscall/js) nor package google.golang.org/grpc
// (only its light status and codes packages), which would each add
// megabytes to main.wasm.
func TestBrowserBuildImports(t *testing.T) {
	for _, dep := range goList(t, true, "-deps", "../playground", "../explorer") {
		switch dep {
		case "net/http", "google.golang.org/grpc", "github.com/gorilla/websocket":
			t.Errorf("the browser build links %s", dep)
		}
	}
}

// TestProtoCopies keeps user.proto's two generations apart: pb (messages
// and gRPC stubs, for every program but the page) and pb/browserpb (the
// messages alone, for main.wasm). Both register the file "user.proto" and
// its messages, so a program that links both panics at start. The page
// links browserpb and, tests included, no pb; no other package imports
// browserpb, natively or in the browser build.
func TestProtoCopies(t *testing.T) {
	const (
		pb        = "github.com/grpcplay/playground/pb"
		browserpb = "github.com/grpcplay/playground/pb/browserpb"
		page      = "github.com/grpcplay/playground/wasm/playground"
	)
	pageDeps := goList(t, true, "-deps", "-test", page)
	if !slices.Contains(pageDeps, browserpb) {
		t.Errorf("the page does not link %s", browserpb)
	}
	if slices.Contains(pageDeps, pb) {
		t.Errorf("the page links %s as well as %s", pb, browserpb)
	}
	for _, js := range []bool{false, true} {
		// Each package of the module, then every package it and its tests import.
		for _, line := range goList(t, js, "-e", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "github.com/grpcplay/playground/...") {
			pkg, imports, _ := strings.Cut(line, " ")
			if js && pkg == page {
				continue
			}
			if slices.Contains(strings.Fields(imports), browserpb) {
				t.Errorf("%s imports %s (js build: %v); only the page may", pkg, browserpb, js)
			}
		}
	}
}
