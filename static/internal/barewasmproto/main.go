//go:build js && wasm

// Command barewasmproto is the yardstick (static/internal/barewasm) with
// protobuf-go linked and used once: it marshals and unmarshals one of
// user.proto's messages before it sets its DOM node. Measured against the
// yardstick (BenchmarkProtobufLinkCost), it is what linking protobuf-go
// alone costs a page's load, before any code of the page's own.
package main

import (
	"syscall/js"

	"google.golang.org/protobuf/proto"

	pb "github.com/grpcplay/playground/pb/browserpb"
)

func main() {
	b, err := proto.Marshal(&pb.UserRequest{Id: 1})
	if err == nil {
		err = proto.Unmarshal(b, new(pb.UserRequest))
	}
	text := "ready"
	if err != nil {
		text = err.Error()
	}
	js.Global().Get("document").Call("getElementById", "out").Set("textContent", text)
	js.Global().Set("bareReady", js.Global().Get("performance").Call("now"))
}
