//go:build !js

package client_test

import (
	"testing"

	"github.com/grpcplay/playground/wasm/internal/jstest"
)

// TestJSGlue exercises the browser glue (the *_js.go files) for real: it
// starts the real server, the test peer and improbable-eng's wrapper on
// 127.0.0.1, then runs TestJSCalls (js_test.go), and TestJSPacer
// (scheduler_js_test.go), compiled for GOOS=js
// GOARCH=wasm under Node, whose fetch streams response bodies and whose
// WebSocket is the browser's API. Node gets the servers' URLs through the
// environment, which Go's wasm_exec passes on.
func TestJSGlue(t *testing.T) {
	serverURL, peerURL, improbableURL := startServer(t), startPeer(t), startImprobable(t)
	jstest.Run(t, "^(TestJSCalls|TestJSPacer)$", []string{
		envServerURL + "=" + serverURL,
		envPeerURL + "=" + peerURL,
		envImprobableURL + "=" + improbableURL,
	},
		"--- PASS: TestJSCalls ",
		"--- PASS: TestJSPacer ",
		"--- PASS: TestJSPacer/LongWaitIsNotWork ",
		"--- PASS: TestJSPacer/WorkAroundShortWaitsAddsUp ",
		"--- PASS: TestJSPacer/WorkAfterLongWaitAddsUp ",
		"--- PASS: TestJSCalls/grpc-web/GetUsersByType ",
		"--- PASS: TestJSCalls/websocket/GetUsersByIds ",
		"--- PASS: TestJSCalls/improbable-websocket/GetUsersByIds ",
		"--- PASS: TestJSCalls/peer/MessageBeforeResponseEnds ",
		"--- PASS: TestJSCalls/peer/MetadataOverWebSocket ",
		"--- PASS: TestJSCalls/peer/CancelAbortsFetch ",
		"--- PASS: TestJSCalls/peer/CancelClosesSocket ",
	)
}
