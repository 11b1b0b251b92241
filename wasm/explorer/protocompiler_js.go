//go:build js && wasm

package explorer

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
)

// ProtoCompiler builds schemas from .proto sources in the browser, with
// the page's compiler program (wasm/protocompiler), which it loads at its
// first use: explorer.wasm does not carry the compiler, and a page that is
// never given a .proto file never downloads it. Nothing is sent anywhere
// but the request for the program itself.
type ProtoCompiler struct {
	url string

	mu      sync.Mutex
	compile js.Value // grpcplayCompileProtos, once loaded
}

// NewProtoCompiler returns a compiler that loads its program from url
// (ProtoCompilerURL, for the page).
func NewProtoCompiler(url string) *ProtoCompiler { return &ProtoCompiler{url: url} }

// Schema compiles sources (name, as imports spell it: text), which may
// import one another and the well-known files, and builds their schema
// (Source: their names). Sources that do not compile give a *CompileError;
// a program that does not load, an error saying why.
func (c *ProtoCompiler) Schema(ctx context.Context, sources map[string]string) (*Schema, error) {
	compile, err := c.load(ctx)
	if err != nil {
		return nil, err
	}
	files := js.Global().Get("Object").New()
	for name, text := range sources {
		files.Set(name, text)
	}
	res, err := await(ctx, compile.Invoke(files))
	if err != nil {
		return nil, err
	}
	if errs := res.Get("errors"); errs.Type() == js.TypeObject {
		e := &CompileError{}
		for i := range errs.Length() {
			e.Messages = append(e.Messages, errs.Index(i).String())
		}
		return nil, e
	}
	set := res.Get("set")
	b := make([]byte, set.Get("length").Int())
	js.CopyBytesToGo(b, set)
	return FromDescriptorSet(b, sourcesName(sources))
}

// load loads the compiler program, once, and returns its function.
func (c *ProtoCompiler) load(ctx context.Context) (js.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.compile.Type() == js.TypeFunction {
		return c.compile, nil
	}
	fail := func(why string) (js.Value, error) {
		return js.Undefined(), errors.New("the .proto compiler (" + c.url + ") did not load: " + why)
	}
	goClass := js.Global().Get("Go")
	if goClass.Type() != js.TypeFunction {
		return fail("wasm_exec.js is not loaded")
	}
	resp, err := await(ctx, js.Global().Call("fetch", c.url))
	if err != nil {
		return fail(err.Error())
	}
	if !resp.Get("ok").Bool() {
		return fail("HTTP " + strconv.Itoa(resp.Get("status").Int()))
	}
	program := goClass.New()
	inst, err := await(ctx, js.Global().Get("WebAssembly").Call("instantiateStreaming", resp, program.Get("importObject")))
	if err != nil {
		return fail(err.Error())
	}
	// run runs the program until it waits for calls, having defined its
	// function; its promise settles only if it exits.
	program.Call("run", inst.Get("instance"))
	compile := js.Global().Get("grpcplayCompileProtos")
	if compile.Type() != js.TypeFunction {
		return fail("it defined no grpcplayCompileProtos")
	}
	c.compile = compile
	return compile, nil
}

// await waits for a JavaScript promise, or for ctx to end.
func await(ctx context.Context, promise js.Value) (js.Value, error) {
	type settled struct {
		v   js.Value
		err error
	}
	ch := make(chan settled, 1)
	onResolve := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- settled{v: arg(args)}
		return nil
	})
	onReject := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- settled{err: errors.New(rejectionText(arg(args)))}
		return nil
	})
	promise.Call("then", onResolve, onReject)
	release := func() { onResolve.Release(); onReject.Release() }
	select {
	case s := <-ch:
		release()
		return s.v, s.err
	case <-ctx.Done():
		// The promise still settles: release the callbacks then.
		go func() { <-ch; release() }()
		return js.Undefined(), ctx.Err()
	}
}

func arg(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// rejectionText is a rejection's reason as text: an Error's message.
func rejectionText(v js.Value) string {
	if v.Type() == js.TypeObject && v.Get("message").Type() == js.TypeString {
		return v.Get("message").String()
	}
	return js.Global().Call("String", v).String()
}

// sourcesName names .proto sources given together, for Schema.Source:
// their names, sorted, comma-separated.
func sourcesName(sources map[string]string) string {
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
