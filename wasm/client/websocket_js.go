//go:build js && wasm

package client

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"syscall/js"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func (jsTransport) dial(ctx context.Context, url, subprotocol string) (wsConn, error) {
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		return nil, status.Error(codes.Unavailable, "websocket: this JavaScript environment has no WebSocket")
	}
	ws, err := jsCall(func() js.Value { return ctor.New(url, subprotocol) })
	if err != nil {
		return nil, err
	}
	ws.Set("binaryType", "arraybuffer")
	c := &jsWS{ws: ws, wake: make(chan struct{}, 1)}
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
		return nil, &handshakeRefused{status.Newf(codes.Unavailable, "websocket: could not connect to %s: %v", url, err)}
	case <-ctx.Done():
		c.close()
		return nil, ctx.Err()
	}
	if p := ws.Get("protocol").String(); p != subprotocol {
		c.close()
		return nil, &handshakeRefused{status.Newf(codes.Unavailable, "websocket: server chose subprotocol %q, not %q", p, subprotocol)}
	}
	return c, nil
}

// jsWS is a browser WebSocket as a wsConn. Its event handlers never block:
// incoming messages queue until recv takes them.
type jsWS struct {
	ws    js.Value
	funcs []js.Func

	mu     sync.Mutex
	queue  [][]byte
	ended  error         // set when the socket closed: io.EOF after a normal close
	wake   chan struct{} // signals recv that queue or ended changed
	closed bool
	pace   pacer // recv only
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

func (c *jsWS) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *jsWS) onMessage(ev js.Value) {
	data := ev.Get("data")
	c.mu.Lock()
	defer c.mu.Unlock()
	if data.Type() == js.TypeString {
		if c.ended == nil {
			c.ended = status.Error(codes.Internal, "websocket: a text message; gRPC travels in binary messages")
		}
	} else {
		a := js.Global().Get("Uint8Array").New(data)
		b := make([]byte, a.Get("length").Int())
		js.CopyBytesToGo(b, a)
		c.queue = append(c.queue, b)
	}
	c.signal()
}

// onError ends the stream. Browsers follow an error with a close event, but
// Node's WebSocket, after a failed handshake, does not.
func (c *jsWS) onError(ev js.Value) {
	msg := "websocket error"
	if m := ev.Get("message"); m.Type() == js.TypeString {
		msg += ": " + m.String()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended == nil {
		c.ended = errors.New(msg)
	}
	c.signal()
}

func (c *jsWS) onClose(ev js.Value) {
	code := ev.Get("code").Int()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended == nil {
		if code == 1000 || code == 1005 {
			c.ended = io.EOF
		} else {
			c.ended = errors.New("websocket closed with code " + strconv.Itoa(code) + " " + ev.Get("reason").String())
		}
	}
	c.signal()
}

func (c *jsWS) send(b []byte) error {
	c.mu.Lock()
	closed := c.closed || c.ended != nil
	c.mu.Unlock()
	if closed || c.ws.Get("readyState").Int() != 1 {
		return errors.New("websocket is not open")
	}
	_, err := jsCall(func() js.Value { return c.ws.Call("send", bytesToJS(b)) })
	return err
}

func (c *jsWS) recv() ([]byte, error) {
	c.pace.check()
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			b := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return b, nil
		}
		if c.ended != nil {
			err := c.ended
			c.mu.Unlock()
			return nil, err
		}
		c.mu.Unlock()
		<-c.wake
	}
}

// close closes the socket, detaches the handlers and releases them.
func (c *jsWS) close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.ended == nil {
		c.ended = errors.New("websocket closed by the client")
	}
	c.signal()
	c.mu.Unlock()
	for _, event := range []string{"onopen", "onmessage", "onclose", "onerror"} {
		c.ws.Set(event, js.Null())
	}
	for _, fn := range c.funcs {
		fn.Release()
	}
	jsCall(func() js.Value { return c.ws.Call("close") })
	return nil
}
