//go:build js && wasm

package client

import (
	"strings"
	"syscall/js"
)

// plainHTTP1 reports whether calls to target travel over plain HTTP/1.1,
// where the multiplexed socket carries unary and server-streaming calls
// too, and fetch would hold a connection per call (six per host at most):
// for the page's own origin, whether the page itself came over HTTP/1.x;
// for any other target, whether it is http:// (an https:// one negotiates
// HTTP/2).
func plainHTTP1(target string) bool {
	if origin, err := pageOrigin(); err == nil && origin == target {
		if p := navigationProtocol(); p != "" {
			return strings.HasPrefix(p, "http/1")
		}
	}
	return strings.HasPrefix(target, "http://")
}

// navigationProtocol returns the protocol the page was fetched with
// ("http/1.1", "h2", "h3"), or "" where the environment does not say.
func navigationProtocol() string {
	v, err := jsCall(func() js.Value {
		perf := js.Global().Get("performance")
		if perf.Type() != js.TypeObject || perf.Get("getEntriesByType").Type() != js.TypeFunction {
			return js.Undefined()
		}
		entries := perf.Call("getEntriesByType", "navigation")
		if entries.Length() == 0 {
			return js.Undefined()
		}
		return entries.Index(0).Get("nextHopProtocol")
	})
	if err != nil || v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

// prepareMuxAfterTurn starts opening p's socket once the page has had a
// turn of its event loop. A call ends, and its caller draws the result, in
// the same turn; creating a WebSocket takes the page's one thread for a
// while (about 20 ms, in Chromium's profiler, of a page's first call), and
// a Go timer would not wait for the turn: the scheduler runs an expired
// timer at its next switch between goroutines.
func prepareMuxAfterTurn(p *muxPool) {
	go func() {
		yieldToPage()
		p.prepare()
	}()
}
