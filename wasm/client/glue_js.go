//go:build js && wasm

package client

import (
	"errors"
	"strings"
	"syscall/js"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

// nativeOptions are the native build's own DialOptions; the browser has none.
type nativeOptions struct{}

// pageOrigin returns the origin of the page the program runs in.
func pageOrigin() (string, error) {
	loc := js.Global().Get("location")
	if loc.Type() == js.TypeObject {
		if o := loc.Get("origin"); o.Type() == js.TypeString && strings.HasPrefix(o.String(), "http") {
			return o.String(), nil
		}
	}
	return "", grpcstatus.Error(codes.InvalidArgument, "client: this JavaScript environment has no http(s) page origin; pass Dial a target URL")
}

// jsTransport carries gRPC-Web over fetch and the bridge over WebSocket.
type jsTransport struct{}

func newTransport(dialOptions) transport { return jsTransport{} }

func (jsTransport) close() {}

// jsCall runs f, turning a JavaScript exception (which syscall/js raises as
// a panic of js.Error) into an error.
func jsCall(f func() js.Value) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			jerr, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			err = jsError(jerr.Value)
		}
	}()
	return f(), nil
}

// jsError describes a JavaScript error value.
func jsError(v js.Value) error {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			name := v.Get("name")
			if name.Type() == js.TypeString {
				return errors.New(name.String() + ": " + m.String())
			}
			return errors.New(m.String())
		}
	}
	return errors.New(v.String())
}

// await waits for the promise p to settle. It must not run inside a
// js.Func callback: the promise settles only when the callback returned.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	arg := func(args []js.Value) js.Value {
		if len(args) == 0 {
			return js.Undefined()
		}
		return args[0]
	}
	onOK := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg(args)}
		return nil
	})
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsError(arg(args))}
		return nil
	})
	defer onOK.Release()
	defer onErr.Release()
	p.Call("then", onOK, onErr)
	r := <-ch
	return r.v, r.err
}

// ignoreRejection keeps a promise whose outcome nobody waits for from being
// an unhandled rejection.
func ignoreRejection(p js.Value) {
	if p.Type() == js.TypeObject {
		p.Call("catch", js.Global().Get("Function").New())
	}
}

func bytesToJS(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}
