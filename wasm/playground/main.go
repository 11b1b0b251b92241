//go:build js && wasm && !explorer

// Command playground is the playground page's logic, compiled to main.wasm:
// it wires the five UserManager cards of index.html to the Go gRPC-Web
// client in package client, keeps the banner true to the server's health
// (and, before a backend, to the backend's), then marks the page ready
// (<body data-ready="true">).
//
// The explorer ([data-explorer]) is a second program built from this
// package with the build tag explorer (explorer_main.go): explorer.wasm,
// which boot.js loads only when the explorer is first shown, so the page
// of the five cards does not wait for the explorer's code.
package main

import (
	"syscall/js"

	"github.com/grpcplay/playground/wasm/client"
)

func main() {
	// The Go runtime and every package's init have run: the page's timeline
	// tells them from the instantiation before and the wiring after.
	js.Global().Get("performance").Call("mark", "playground-main")
	conn, err := client.Dial("", client.WithPageSocket()) // one socket for the page: shared with explorer.wasm
	if err != nil {
		p := &page{conn: byID("conn")}
		p.down("The Go client could not start: " + err.Error())
		return
	}
	p := newPage(&userManager{c: conn})
	p.health = conn
	if backend := document().Get("body").Get("dataset").Get("backend"); backend.Type() == js.TypeString {
		p.backend = backend.String()
	}
	p.wire()
	p.up()
	document().Get("body").Get("dataset").Set("ready", "true")
	js.Global().Get("performance").Call("mark", "playground-ready")
	go p.watchHealth()
	select {} // serve the page's events until it closes
}
