//go:build !js

package explorer

import (
	"bytes"
	"testing"

	"github.com/grpcplay/playground/wasm/explorer/internal/fallbackset"
)

// TestFallbackSetIsCurrent keeps fallback.binpb what the protobuf module and
// genproto in go.mod describe.
func TestFallbackSetIsCurrent(t *testing.T) {
	want, err := fallbackset.Build()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fallbackSet, want) {
		t.Fatal("fallback.binpb is stale: run go generate ./wasm/explorer")
	}
	files, err := fallbackFiles()
	if err != nil {
		t.Fatalf("the fallback files do not build: %v", err)
	}
	for _, path := range []string{
		"google/protobuf/any.proto", "google/protobuf/timestamp.proto", "google/protobuf/struct.proto",
		"google/protobuf/descriptor.proto", "google/rpc/status.proto", "google/rpc/error_details.proto",
	} {
		if _, err := files.FindFileByPath(path); err != nil {
			t.Errorf("no fallback for %s", path)
		}
	}
}
