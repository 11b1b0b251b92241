//go:build !js

package client

import "strings"

// plainHTTP1 reports whether calls to target travel over plain HTTP/1.1,
// where the multiplexed socket carries unary and server-streaming calls
// too: an http:// target (an https:// one negotiates HTTP/2).
func plainHTTP1(target string) bool { return strings.HasPrefix(target, "http://") }

// prepareMuxAfterTurn starts opening p's socket; natively nothing shares a
// thread with the caller, so it need not wait (the browser's does).
func prepareMuxAfterTurn(p *muxPool) { p.prepare() }

// pageBoard returns where a page's programs share their socket: outside
// the browser, nowhere.
func pageBoard() muxBoard { return nil }
