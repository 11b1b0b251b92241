//go:build js && wasm

// Command protocompiler is the page's .proto compiler, compiled to
// static/wasm/protocompiler.wasm: a program of its own, which the page
// loads only when someone gives it .proto files, so that the explorer's
// program (explorer.wasm) does not carry the compiler (bufbuild/protocompile,
// through package proto/protosource). Nothing is sent anywhere: the files
// are compiled in the browser.
//
// It defines one JavaScript function, once running:
//
//	grpcplayCompileProtos(files) -> Promise<{set} | {errors}>
//
// files maps each file's name, as imports spell it ("acme/orders.proto"),
// to its text. Every file is compiled; they may import one another and the
// well-known files (google/protobuf/*.proto), which are built in. The
// promise resolves to {set: Uint8Array}, a serialized FileDescriptorSet of
// the files and what they import (the explorer builds its schema from it
// with explorer.FromDescriptorSet), or to {errors: [string]}, the
// compiler's "file:line:col: message" lines, a missing import as
// "acme/orders.proto:3:8: acme/shared.proto was not among the files given,
// needed by acme/orders.proto". It rejects only when files is not an object
// of strings.
package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"

	"github.com/grpcplay/playground/proto/protosource"
)

// compileTimeout bounds one compile.
const compileTimeout = time.Minute

func main() {
	js.Global().Set("grpcplayCompileProtos", js.FuncOf(compileProtos))
	select {} // serve calls until the page closes
}

// compileProtos is grpcplayCompileProtos: it reads the files at once, then
// compiles them in a goroutine of their own and settles the promise.
func compileProtos(_ js.Value, args []js.Value) any {
	sources, err := readFiles(args)
	promise := js.Global().Get("Promise")
	if err != nil {
		return promise.Call("reject", js.Global().Get("Error").New(err.Error()))
	}
	var settle js.Func
	settle = js.FuncOf(func(_ js.Value, cb []js.Value) any {
		resolve := cb[0]
		settle.Release()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), compileTimeout)
			defer cancel()
			resolve.Invoke(result(protosource.CompileTexts(ctx, sources)))
		}()
		return nil
	})
	return promise.New(settle)
}

// readFiles reads the {name: text} argument.
func readFiles(args []js.Value) (map[string]string, error) {
	if len(args) != 1 || args[0].Type() != js.TypeObject {
		return nil, errors.New("grpcplayCompileProtos takes one object: {name: text}")
	}
	keys := js.Global().Get("Object").Call("keys", args[0])
	sources := make(map[string]string, keys.Length())
	for i := range keys.Length() {
		name := keys.Index(i).String()
		text := args[0].Get(name)
		if text.Type() != js.TypeString {
			return nil, errors.New("grpcplayCompileProtos: the text of " + name + " is not a string")
		}
		sources[name] = text.String()
	}
	if len(sources) == 0 {
		return nil, errors.New("grpcplayCompileProtos: no file given")
	}
	return sources, nil
}

// result is the promise's value: {set} or {errors}.
func result(set []byte, err error) js.Value {
	out := js.Global().Get("Object").New()
	if err != nil {
		var errs *protosource.Errors
		messages := []any{err.Error()}
		if errors.As(err, &errs) {
			messages = messages[:0]
			for _, m := range errs.Messages {
				messages = append(messages, m)
			}
			if errs.Truncated {
				messages = append(messages, "(the compiler stopped there: there may be more errors)")
			}
		}
		out.Set("errors", js.ValueOf(messages))
		return out
	}
	b := js.Global().Get("Uint8Array").New(len(set))
	js.CopyBytesToJS(b, set)
	out.Set("set", b)
	return out
}
