//go:build js && wasm && explorer

package main

import (
	"context"
	"errors"
	"strings"
	"syscall/js"
	"time"

	"github.com/grpcplay/playground/wasm/explorer"
)

// The schema from files given to the page, for a server whose reflection
// is off: input[type="file"][name="schema"], or files dropped on the
// explorer. A descriptor set is read here; .proto files are compiled here
// by the page's compiler program (protocompiler.wasm), which is fetched the
// first time .proto files are given. Nothing is uploaded. Files that make
// no schema are named beside the input ([data-role="schema-errors"]: why,
// or the compiler's file:line:col messages, an li each), and the schema in
// use stays.

// compileTimeout bounds loading the compiler and compiling the files given.
const compileTimeout = 2 * time.Minute

// wireSchemaFiles takes files from the input, and from drops on the
// explorer. A file dropped elsewhere on the page is refused, rather than
// opened by the browser in place of the page.
func (x *explorerView) wireSchemaFiles() {
	x.schemaInput.v.Call("addEventListener", "change", js.FuncOf(func(js.Value, []js.Value) any {
		files := js.Global().Get("Array").Call("from", x.schemaInput.v.Get("files"))
		x.schemaInput.setValue("") // so that the same file, edited, can be given again
		if files.Length() > 0 {
			go x.takeFiles(files)
		}
		return nil
	}))
	inside := func(ev js.Value) bool { return x.root.v.Call("contains", ev.Get("target")).Bool() }
	over := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if ev := args[0]; carriesFiles(ev) && !onFileInput(ev) {
			ev.Call("preventDefault")
			ev.Get("dataTransfer").Set("dropEffect", "copy")
			x.root.setAttr("data-drop", "true")
		}
		return nil
	})
	x.root.v.Call("addEventListener", "dragenter", over)
	x.root.v.Call("addEventListener", "dragover", over)
	x.root.v.Call("addEventListener", "dragleave", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if to := args[0].Get("relatedTarget"); to.IsNull() || !x.root.v.Call("contains", to).Bool() {
			x.root.removeAttr("data-drop")
		}
		return nil
	}))
	x.root.v.Call("addEventListener", "drop", js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := args[0]
		x.root.removeAttr("data-drop")
		if !carriesFiles(ev) || onFileInput(ev) {
			return nil
		}
		ev.Call("preventDefault")
		// The files must be taken now: the drop's data is gone once the
		// event's handlers return.
		if files := js.Global().Get("Array").Call("from", ev.Get("dataTransfer").Get("files")); files.Length() > 0 {
			go x.takeFiles(files)
		}
		return nil
	}))
	refuse := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if ev := args[0]; carriesFiles(ev) && !inside(ev) {
			ev.Call("preventDefault")
			ev.Get("dataTransfer").Set("dropEffect", "none")
		}
		return nil
	})
	js.Global().Call("addEventListener", "dragover", refuse)
	js.Global().Call("addEventListener", "drop", refuse)
	x.schemaInput.setEnabled(true)
}

// onFileInput reports whether a drag event is over a file input (the schema
// input, or a form's input for a bytes field), which takes the files
// itself.
func onFileInput(ev js.Value) bool {
	t := ev.Get("target")
	return t.Type() == js.TypeObject && t.Get("tagName").String() == "INPUT" && t.Get("type").String() == "file"
}

// carriesFiles reports whether a drag event carries files (not text being
// dragged into an editor, which keeps its default).
func carriesFiles(ev js.Value) bool {
	dt := ev.Get("dataTransfer")
	return dt.Type() == js.TypeObject && dt.Get("types").Call("includes", "Files").Bool()
}

// takeFiles builds a schema from files given to the page (an array of
// File) and shows it, or says beside the input why they make none.
func (x *explorerView) takeFiles(files js.Value) {
	x.mu.Lock()
	x.loads++
	load := x.loads
	x.mu.Unlock()
	s, err := x.readSchema(files)
	x.schemaProgress.clear()
	if err != nil {
		x.mu.Lock()
		stale, had := load < x.shownLoad, x.schema != nil
		x.mu.Unlock()
		if !stale {
			x.showFileErrors(files, err, had)
		}
		return
	}
	if !x.showLoad(load) {
		return // a schema loaded since stands
	}
	x.schemaErrors.clear()
	x.showSchema(s, sourcePage)
}

// readSchema reads the files (an array of File) and builds their schema:
// a descriptor set's, or that of .proto files compiled here.
func (x *explorerView) readSchema(files js.Value) (*explorer.Schema, error) {
	n := files.Length()
	names := make([]string, n)
	sizes := make([]int64, n)
	for i := range n {
		names[i] = files.Index(i).Get("name").String()
		sizes[i] = int64(files.Index(i).Get("size").Float())
	}
	if err := explorer.CheckGivenFiles(names, sizes); err != nil {
		return nil, err
	}
	x.schemaProgress.setText("Reading " + strings.Join(names, ", ") + "…")
	given := make([]explorer.GivenFile, n)
	for i := range n {
		buf, err := await(files.Index(i).Call("arrayBuffer"))
		if err != nil {
			return nil, errors.New(names[i] + " could not be read (a folder? give the files in it): " + err.Error())
		}
		arr := js.Global().Get("Uint8Array").New(buf)
		given[i] = explorer.GivenFile{Name: names[i], Data: make([]byte, arr.Length())}
		js.CopyBytesToGo(given[i].Data, arr)
	}
	g, err := explorer.SortGivenFiles(given)
	if err != nil {
		return nil, err
	}
	if g.Sources == nil {
		return explorer.FromDescriptorSet(g.Set, g.Name)
	}
	x.schemaProgress.setText("Compiling " + g.Name + " in this browser (the compiler, protocompiler.wasm, loads the first time)…")
	ctx, cancel := context.WithTimeout(context.Background(), compileTimeout)
	defer cancel()
	return x.compiler.Schema(ctx, g.Sources)
}

// showFileErrors names, beside the input, why the files given make no
// schema: the compiler's messages, one per line, or the reason; had says
// a schema is in use, which stays.
func (x *explorerView) showFileErrors(files js.Value, err error, had bool) {
	names := make([]string, files.Length())
	for i := range names {
		names[i] = files.Index(i).Get("name").String()
	}
	var ce *explorer.CompileError
	messages := []string{err.Error()}
	what := " make no schema"
	if errors.As(err, &ce) {
		messages, what = ce.Messages, " did not compile"
	}
	if len(names) == 1 {
		what = strings.Replace(what, "make", "makes", 1)
	}
	summary := strings.Join(names, ", ") + what
	if had {
		summary += "; the schema in use stays"
	}
	var b strings.Builder
	b.WriteString("<p>" + escapeHTML(summary) + ":</p><ul>")
	for _, m := range messages {
		b.WriteString("<li>" + escapeHTML(m) + "</li>")
	}
	b.WriteString("</ul>")
	x.schemaErrors.setHTML(b.String())
}
