//go:build js && wasm

package client

import (
	"errors"
	"io"
	"sync"
	"syscall/js"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// linkClose is the message that ends a link.
const linkClose = "close"

// jsBoard publishes and finds the page's socket on globalThis, for one
// Conn.
type jsBoard struct {
	mu      sync.Mutex
	connect js.Func // the Conn's connect function, once published
}

func pageBoard() muxBoard { return new(jsBoard) }

// own reports whether share is this Conn's publication.
func (b *jsBoard) own(share js.Value) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.connect.Truthy() && share.Type() == js.TypeObject && share.Get("connect").Equal(b.connect.Value)
}

// join runs on the page's one thread without yielding to other
// goroutines (syscall/js calls do not), so it is one step for the page's
// programs.
func (b *jsBoard) join(p *muxPool) wsConn {
	if c := b.link(p); c != nil {
		return c
	}
	b.publish(p)
	return nil
}

// link opens a link to the socket another program published for p's URL,
// or returns nil.
func (b *jsBoard) link(p *muxPool) wsConn {
	share := js.Global().Get(PageSocketProperty)
	if share.Type() != js.TypeObject || share.Get("url").Type() != js.TypeString || share.Get("url").String() != p.url || b.own(share) {
		return nil
	}
	connect := share.Get("connect")
	ctor := js.Global().Get("MessageChannel")
	if connect.Type() != js.TypeFunction || ctor.Type() != js.TypeFunction {
		return nil
	}
	ch := ctor.New()
	c := newPortConn(ch.Get("port1"))
	if _, err := jsCall(func() js.Value { return connect.Invoke(ch.Get("port2")) }); err != nil {
		c.close() // the owner has exited
		return nil
	}
	return c
}

func (b *jsBoard) publish(p *muxPool) {
	if b.own(js.Global().Get(PageSocketProperty)) {
		return
	}
	b.mu.Lock()
	if !b.connect.Truthy() {
		b.connect = js.FuncOf(func(_ js.Value, args []js.Value) any {
			if len(args) == 0 || args[0].Type() != js.TypeObject {
				return nil
			}
			c := newPortConn(args[0])
			go p.serveLink(c)
			return nil
		})
	}
	fn := b.connect
	b.mu.Unlock()
	share := js.Global().Get("Object").New()
	share.Set("protocol", grpcwire.MuxProtocol)
	share.Set("url", p.url)
	share.Set("connect", fn)
	js.Global().Set(PageSocketProperty, share)
}

// portConn is one end of a MessagePort as a wsConn. Its event handler
// never blocks: incoming messages queue until recv takes them.
type portConn struct {
	port  js.Value
	onMsg js.Func
	inbox // ended: io.EOF once the other end closed the link
}

func newPortConn(port js.Value) *portConn {
	c := &portConn{port: port}
	c.wake = make(chan struct{}, 1)
	c.onMsg = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 0 {
			c.onMessage(args[0].Get("data"))
		}
		return nil
	})
	port.Set("onmessage", c.onMsg) // starts the port
	return c
}

func (c *portConn) onMessage(data js.Value) {
	switch {
	case data.Type() == js.TypeString && data.String() == linkClose:
		c.end(io.EOF)
	case data.Type() == js.TypeObject && data.InstanceOf(js.Global().Get("ArrayBuffer")):
		a := js.Global().Get("Uint8Array").New(data)
		b := make([]byte, a.Get("length").Int())
		js.CopyBytesToGo(b, a)
		c.push(b)
	default:
		c.end(grpcstatus.Error(codes.Internal, "grpc-mux: a message on the page's socket link that is neither frames nor its end"))
	}
}

func (c *portConn) send(b []byte) error {
	if !c.open() {
		return errors.New("the link to the page's socket is closed")
	}
	a := bytesToJS(b)
	buf := a.Get("buffer")
	_, err := jsCall(func() js.Value { return c.port.Call("postMessage", buf, []any{buf}) })
	return err
}

// close tells the other end the link is over, detaches the handler and
// releases it.
func (c *portConn) close() error {
	if !c.closeOnce(errors.New("the link to the page's socket was closed")) {
		return nil
	}
	jsCall(func() js.Value { return c.port.Call("postMessage", linkClose) })
	// The port is left open, for the message to arrive; unreferenced, it
	// is collected.
	c.port.Set("onmessage", js.Null())
	c.onMsg.Release()
	return nil
}
