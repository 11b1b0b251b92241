//go:build !js

// Command fallbackgen writes the explorer's fallback descriptors
// (fallback.binpb) from the Go packages of the protobuf module and genproto.
// `go generate ./wasm/explorer` runs it; a test of package explorer fails
// when the file is stale.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/grpcplay/playground/wasm/explorer/internal/fallbackset"
)

func main() {
	out := flag.String("o", "fallback.binpb", "the file to write")
	flag.Parse()
	b, err := fallbackset.Build()
	if err != nil {
		log.Fatalf("fallbackgen: %v", err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatalf("fallbackgen: %v", err)
	}
}
