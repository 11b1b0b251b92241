package main

import (
	"testing"

	"github.com/grpcplay/playground/cmd/playground/internal/conformance"
)

// TestConformanceFront runs Connect's conformance suite in server mode
// through the built binary as a front: its reference clients (connect-go's
// and grpc-go's) call the playground, started with -backend before the
// suite's grpc-go reference server, over native gRPC on h2c and gRPC-Web on
// HTTP/1.1 and h2c, with and without gzip, every stream type, under the
// suite's receive limit (the backend's). The only failures allowed are
// those grpc-go's reference server has alone; the front's log must show no
// panic.
func TestConformanceFront(t *testing.T) {
	res := conformance.Suite{
		Name:         "front",
		Mode:         "server",
		Role:         conformance.RoleFront,
		Config:       "front.yaml",
		KnownFailing: []string{"known-failing-grpc-go.txt"},
		Env:          []string{conformance.PlaygroundEnv + "=" + buildPlayground(t)},
	}.Run(t)
	t.Log(res)
}
