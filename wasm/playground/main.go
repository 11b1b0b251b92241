//go:build js && wasm

// Command playground is the playground page's logic, compiled to main.wasm:
// it wires the five UserManager cards of index.html and the explorer
// ([data-explorer], any service through reflection, with package explorer)
// to the Go gRPC-Web client in package client, then marks the page ready
// (<body data-ready="true">). The explorer reads the schema only when it is
// first shown.
package main

import (
	"syscall/js"

	"github.com/grpcplay/playground/wasm/client"
)

func main() {
	conn, err := client.Dial("")
	if err != nil {
		p := &page{conn: byID("conn")}
		p.down("The Go client could not start: " + err.Error())
		return
	}
	p := newPage(&userManager{c: conn})
	p.wire()
	x := newExplorerView(p, conn)
	if backend := document().Get("body").Get("dataset").Get("backend"); backend.Type() == js.TypeString && backend.String() != "" {
		p.frontFor(backend.String(), x)
	}
	x.wire()
	p.up()
	document().Get("body").Get("dataset").Set("ready", "true")
	js.Global().Get("performance").Call("mark", "playground-ready")
	select {} // serve the page's events until it closes
}
