//go:build js && wasm

package client

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/framing"
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
	return "", status.Error(codes.InvalidArgument, "client: this JavaScript environment has no http(s) page origin; pass Dial a target URL")
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

// pacer hands the page its event loop back between time slices of a
// reader's work. The slice counts what the caller does with the bytes too:
// a chunk of a response body can hold thousands of messages, and the page
// needs its turn while they are handled, not only between chunks.
type pacer struct{ start time.Time }

// readSlice is how long a reader runs before the page gets a turn: short
// enough for input to be handled and frames to be painted on time.
const readSlice = 8 * time.Millisecond

// check yields to the page when the current slice is over.
func (p *pacer) check() {
	if time.Since(p.start) >= readSlice {
		yieldToPage()
		p.start = time.Now()
	}
}

// yielder wakes goroutines waiting in yieldToPage, in the order they
// posted their messages.
var yielder struct {
	once    sync.Once
	port    js.Value // the sending end of a MessageChannel
	mu      sync.Mutex
	waiting []chan struct{}
}

// yieldToPage waits for one turn of the page's event loop. A body whose
// bytes are already buffered resolves every read at once, in a microtask,
// and a chain of microtasks lets the page neither handle input nor paint
// until the stream ends; a reader that yields between slices keeps the page
// responsive. The turn is a MessageChannel message, which, unlike
// setTimeout, browsers do not clamp to 4 ms.
func yieldToPage() {
	yielder.once.Do(func() {
		ch := js.Global().Get("MessageChannel")
		if ch.Type() != js.TypeFunction {
			return
		}
		mc := ch.New()
		mc.Get("port1").Set("onmessage", js.FuncOf(func(js.Value, []js.Value) any {
			yielder.mu.Lock()
			if len(yielder.waiting) > 0 {
				close(yielder.waiting[0])
				yielder.waiting = yielder.waiting[1:]
			}
			yielder.mu.Unlock()
			return nil
		}))
		yielder.port = mc.Get("port2")
	})
	if yielder.port.IsUndefined() {
		return
	}
	done := make(chan struct{})
	yielder.mu.Lock()
	yielder.waiting = append(yielder.waiting, done)
	yielder.mu.Unlock()
	yielder.port.Call("postMessage", js.Null())
	<-done
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

func (jsTransport) post(ctx context.Context, url string, header metadata.MD, body []byte) (*httpResponse, error) {
	abort := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	promise, err := jsCall(func() js.Value {
		h := js.Global().Get("Headers").New()
		for k, vs := range header {
			for _, v := range vs {
				h.Call("append", k, v)
			}
		}
		init := js.Global().Get("Object").New()
		init.Set("method", "POST")
		init.Set("headers", h)
		init.Set("body", bytesToJS(body))
		init.Set("signal", abort.Get("signal"))
		init.Set("cache", "no-store")
		return js.Global().Call("fetch", url, init)
	})
	if err != nil {
		stop()
		return nil, err
	}
	resp, err := await(promise)
	if err != nil {
		stop()
		return nil, err
	}
	md := metadata.MD{}
	each := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) >= 2 {
			responseHeader(md, strings.ToLower(args[1].String()), args[0].String())
		}
		return nil
	})
	resp.Get("headers").Call("forEach", each)
	each.Release()
	b := &jsBody{abort: abort, stop: stop}
	if rb := resp.Get("body"); rb.Type() == js.TypeObject {
		b.reader = rb.Call("getReader")
	} else {
		b.eof = true // no body at all, as in a trailers-only response
	}
	return &httpResponse{status: resp.Get("status").Int(), header: md, body: b}, nil
}

// jsBody reads a fetch response body as it streams in, through its
// ReadableStream reader.
type jsBody struct {
	reader js.Value
	abort  js.Value
	stop   func() bool
	buf    []byte // the unread rest of the last chunk
	eof    bool
	once   sync.Once
	pace   pacer
}

func (b *jsBody) Read(p []byte) (int, error) {
	b.pace.check()
	for len(b.buf) == 0 {
		if b.eof {
			return 0, io.EOF
		}
		res, err := await(b.reader.Call("read"))
		if err != nil {
			return 0, err
		}
		if res.Get("done").Bool() {
			b.eof = true
			return 0, io.EOF
		}
		chunk := res.Get("value")
		b.buf = make([]byte, chunk.Get("length").Int())
		js.CopyBytesToGo(b.buf, chunk)
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// Close ends the exchange: it cancels the body's stream and aborts the
// request, which is a no-op once the body was read to its end.
func (b *jsBody) Close() error {
	b.once.Do(func() {
		b.stop()
		if b.reader.Type() == js.TypeObject {
			ignoreRejection(b.reader.Call("cancel"))
		}
		b.abort.Call("abort")
	})
	return nil
}

func (jsTransport) dial(ctx context.Context, url string) (wsConn, error) {
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		return nil, status.Error(codes.Unavailable, "websocket: this JavaScript environment has no WebSocket")
	}
	ws, err := jsCall(func() js.Value { return ctor.New(url, framing.WebSocketProtocol) })
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
		return nil, status.Errorf(codes.Unavailable, "websocket: could not connect to %s: %v", url, err)
	case <-ctx.Done():
		c.close()
		return nil, ctx.Err()
	}
	if p := ws.Get("protocol").String(); p != framing.WebSocketProtocol {
		c.close()
		return nil, status.Errorf(codes.Unavailable, "websocket: server chose subprotocol %q, not %q", p, framing.WebSocketProtocol)
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
			c.ended = status.Error(codes.Internal, "websocket: text message in a grpc-websockets stream")
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
