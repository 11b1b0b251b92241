//go:build js && wasm && explorer

// The explorer's program, explorer.wasm: built from this package with the
// build tag explorer (`make wasm`), loaded by boot.js when the explorer is
// first shown. It drives [data-explorer] and nothing else; main.wasm keeps
// the cards and the banner.
package main

import (
	"syscall/js"

	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/protocodec"
)

func main() {
	// One socket for the page: shared with main.wasm. The explorer's
	// messages are protobuf-go's (dynamicpb, built from the schema), which
	// the browser build's DefaultCodec does not encode.
	conn, err := client.Dial("", client.WithPageSocket(), client.WithCodec(protocodec.Codec{}))
	x := newExplorerView(conn)
	if err != nil {
		x.setSchemaStatus("error", "", "The explorer could not start: "+err.Error())
		return
	}
	x.wire()
	x.root.setAttr("data-ready", "true")
	js.Global().Get("performance").Call("mark", "explorer-running")
	select {} // serve the explorer's events until the page closes
}
