//go:build js && wasm

package client

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"

	"google.golang.org/grpc/metadata"
)

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
		init.Set("credentials", "omit") // the page's calls carry no cookies: a backend's metadata is what the page sends

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
		b.ended.Store(true)
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
	ended  atomic.Bool // eof, for Close, which may run on another goroutine
	once   sync.Once
	pace   pacer
}

func (b *jsBody) Read(p []byte) (int, error) {
	b.pace.check()
	for len(b.buf) == 0 {
		if b.eof {
			return 0, io.EOF
		}
		var res js.Value
		var err error
		b.pace.wait(func() { res, err = await(b.reader.Call("read")) })
		if err != nil {
			return 0, err
		}
		if res.Get("done").Bool() {
			b.eof = true
			b.ended.Store(true)
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

// Close ends the exchange: it cancels the body's stream, which ends the
// request too, or aborts the request when it has no body, unless the body
// was read to its end and the exchange is over. Only one of the two: an
// abort costs the page an AbortError with its stack (Chromium's profiler
// put Close at about 10 ms of a page's first call with both).
func (b *jsBody) Close() error {
	b.once.Do(func() {
		b.stop()
		switch {
		case b.ended.Load():
		case b.reader.Type() == js.TypeObject:
			ignoreRejection(b.reader.Call("cancel"))
		default:
			b.abort.Call("abort")
		}
	})
	return nil
}
