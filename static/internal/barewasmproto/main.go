//go:build js && wasm

// Command barewasmproto is the yardstick (static/internal/barewasm) with
// protobuf-go linked and used once: it marshals and unmarshals a message
// (a well-known wrapper: user.proto's browser copy, pb/browserpb, is not
// protobuf-go's) before it sets its DOM node. Measured against the
// yardstick (BenchmarkProtobufLinkCost), it is what linking protobuf-go
// alone costs a page's load, before any code of the page's own.
package main

import (
	"syscall/js"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func main() {
	b, err := proto.Marshal(wrapperspb.UInt32(1))
	if err == nil {
		err = proto.Unmarshal(b, new(wrapperspb.UInt32Value))
	}
	text := "ready"
	if err != nil {
		text = err.Error()
	}
	js.Global().Get("document").Call("getElementById", "out").Set("textContent", text)
	js.Global().Set("bareReady", js.Global().Get("performance").Call("now"))
}
