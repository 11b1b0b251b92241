//go:build !js

package grpcconn_test

import (
	"testing"

	"github.com/grpcplay/playground/wasm/internal/jstest"
)

// TestJSGlue runs TestJSInterop (js_test.go), compiled for GOOS=js
// GOARCH=wasm, under Node against a front this test starts, and checks that
// every interop case passed on both transports.
func TestJSGlue(t *testing.T) {
	var want []string
	for _, tr := range transports {
		for _, c := range interopCases {
			want = append(want, "--- PASS: TestJSInterop/"+tr.name+"/"+c.name+" ")
		}
	}
	jstest.Run(t, "^TestJSInterop$", []string{envServerURL + "=" + startFront(t)}, want...)
}
