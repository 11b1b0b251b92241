//go:build js && wasm

package client

import (
	"context"
	"errors"
	"io"
	"strconv"
	"syscall/js"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

func (jsTransport) dial(ctx context.Context, url, subprotocol string) (wsConn, error) {
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		return nil, grpcstatus.Error(codes.Unavailable, "websocket: this JavaScript environment has no WebSocket")
	}
	ws, err := jsCall(func() js.Value { return ctor.New(url, subprotocol) })
	if err != nil {
		return nil, err
	}
	ws.Set("binaryType", "arraybuffer")
	c := &jsWS{ws: ws}
	c.wake = make(chan struct{}, 1)
	opened := make(chan struct{})
	c.handle("onopen", func(js.Value) { close(opened) })
	c.handle("onmessage", c.onMessage)
	c.handle("onclose", c.onClose)
	c.handle("onerror", c.onError)
	select {
	case <-opened:
	case <-c.wake: // closed before it opened
		_, err := c.recv()
		c.close()
		return nil, &handshakeRefused{grpcstatus.Newf(codes.Unavailable, "websocket: could not connect to %s: %v", url, err)}
	case <-ctx.Done():
		c.close()
		return nil, ctx.Err()
	}
	if p := ws.Get("protocol").String(); p != subprotocol {
		c.close()
		return nil, &handshakeRefused{grpcstatus.Newf(codes.Unavailable, "websocket: server chose subprotocol %q, not %q", p, subprotocol)}
	}
	return c, nil
}

// jsWS is a browser WebSocket as a wsConn. Its event handlers never block:
// incoming messages queue until recv takes them.
type jsWS struct {
	ws    js.Value
	funcs []js.Func
	inbox // ended: io.EOF after a normal close
}

func (c *jsWS) handle(event string, f func(js.Value)) {
	fn := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := js.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		f(ev)
		return nil
	})
	c.funcs = append(c.funcs, fn)
	c.ws.Set(event, fn)
}

func (c *jsWS) onMessage(ev js.Value) {
	data := ev.Get("data")
	if data.Type() == js.TypeString {
		c.end(grpcstatus.Error(codes.Internal, "websocket: a text message; gRPC travels in binary messages"))
		return
	}
	a := js.Global().Get("Uint8Array").New(data)
	b := make([]byte, a.Get("length").Int())
	js.CopyBytesToGo(b, a)
	c.push(b)
}

// onError ends the stream. Browsers follow an error with a close event, but
// Node's WebSocket, after a failed handshake, does not.
func (c *jsWS) onError(ev js.Value) {
	msg := "websocket error"
	if m := ev.Get("message"); m.Type() == js.TypeString {
		msg += ": " + m.String()
	}
	c.end(errors.New(msg))
}

func (c *jsWS) onClose(ev js.Value) {
	code := ev.Get("code").Int()
	if code == 1000 || code == 1005 {
		c.end(io.EOF)
		return
	}
	c.end(errors.New("websocket closed with code " + strconv.Itoa(code) + " " + ev.Get("reason").String()))
}

func (c *jsWS) send(b []byte) error {
	if !c.open() || c.ws.Get("readyState").Int() != 1 {
		return errors.New("websocket is not open")
	}
	_, err := jsCall(func() js.Value { return c.ws.Call("send", bytesToJS(b)) })
	return err
}

// close closes the socket, detaches the handlers and releases them.
func (c *jsWS) close() error {
	if !c.closeOnce(errors.New("websocket closed by the client")) {
		return nil
	}
	for _, event := range []string{"onopen", "onmessage", "onclose", "onerror"} {
		c.ws.Set(event, js.Null())
	}
	for _, fn := range c.funcs {
		fn.Release()
	}
	jsCall(func() js.Value { return c.ws.Call("close") })
	return nil
}
