//go:build js && wasm

package explorer_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpcplay/playground/wasm/explorer"
)

// TestJSProtoCompiler runs the page's .proto compiler program from
// main.wasm's side of the page, as the explorer does: loaded at the first
// use, then reused.
func TestJSProtoCompiler(t *testing.T) {
	url := os.Getenv(envProtoCompilerURL)
	if url == "" {
		t.Skip("run by TestProtoCompilerUnderNode, which serves the program: go test -run TestProtoCompilerUnderNode ./wasm/explorer/")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := explorer.NewProtoCompiler(url)
	s, err := c.Schema(ctx, map[string]string{"acme/orders.proto": orders, "acme/shared.proto": shared})
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != "acme/orders.proto, acme/shared.proto" || len(s.Services) != 1 || s.Method("/acme.Orders/Chat") == nil {
		t.Fatalf("schema %+v", s)
	}

	_, err = c.Schema(ctx, map[string]string{"acme/orders.proto": orders})
	var ce *explorer.CompileError
	want := []string{"acme/orders.proto:3:8: acme/shared.proto was not among the files given, needed by acme/orders.proto"}
	if !errors.As(err, &ce) || !slices.Equal(ce.Messages, want) {
		t.Fatalf("error %v; want %q", err, want)
	}

	_, err = explorer.NewProtoCompiler(url+".missing").Schema(ctx, map[string]string{"a.proto": "syntax = \"proto3\";"})
	if err == nil || !strings.Contains(err.Error(), "did not load: HTTP 404") {
		t.Fatalf("a compiler that is not there: %v", err)
	}
}
