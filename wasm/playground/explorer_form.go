//go:build js && wasm && explorer

package main

import (
	"encoding/base64"
	"errors"
	"syscall/js"
)

// The form view: the request as a form ([data-role="form"]), kept in step
// with the JSON editor, which always holds the request that is sent. The
// form is built from the editor's JSON when shown; each change in the form
// writes the JSON again.

// showForm switches between the form and the JSON editor. The form shows
// only for JSON that parses; otherwise the editor stays, with the error.
func (x *explorerView) showForm(on bool) {
	x.mu.Lock()
	s, m := x.schema, x.current
	x.mu.Unlock()
	if on {
		if s == nil || m == nil {
			return
		}
		f, err := s.NewForm(m, x.request.value())
		if err != nil {
			x.showRequestError(x.request.value(), err)
			x.requestErr.setText("fix the JSON to use the form: " + x.requestErr.v.Get("textContent").String())
			return
		}
		x.mu.Lock()
		x.formView, x.model = true, f
		x.mu.Unlock()
		x.form.setHTML(f.HTML())
	} else {
		x.mu.Lock()
		x.formView, x.model = false, nil
		x.mu.Unlock()
		x.form.clear()
	}
	x.hideCompletions()
	x.form.setHidden(!on)
	x.root.find(`[data-role="editor"]`).setHidden(on)
	x.button("view-form").setAttr("aria-selected", boolText(on))
	x.button("view-json").setAttr("aria-selected", boolText(!on))
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// refreshForm builds the form again from the editor, after the method or
// the request changed under it.
func (x *explorerView) refreshForm() {
	x.mu.Lock()
	on := x.formView
	x.mu.Unlock()
	if on {
		x.showForm(true)
		x.mu.Lock()
		still := x.formView && x.model != nil
		x.mu.Unlock()
		if !still {
			x.showForm(false)
		}
	}
}

// wireForm handles the form's inputs and buttons, delegated from the form.
func (x *explorerView) wireForm() {
	listen := func(event string, fn func(target js.Value)) {
		x.form.v.Call("addEventListener", event, js.FuncOf(func(_ js.Value, args []js.Value) any {
			t := args[0].Get("target")
			go fn(t)
			return nil
		}))
	}
	listen("input", func(t js.Value) {
		if t.Get("type").String() == "checkbox" || t.Get("type").String() == "file" || t.Get("tagName").String() == "SELECT" || !t.Call("hasAttribute", "data-field").Bool() {
			return
		}
		x.formSet(t, t.Call("getAttribute", "data-field").String(), t.Get("value").String())
	})
	listen("change", func(t js.Value) {
		switch {
		case t.Call("hasAttribute", "data-oneof").Bool():
			x.formDo(t, "oneof", t.Call("getAttribute", "data-oneof").String(), t.Get("value").String())
		case t.Call("hasAttribute", "data-map-key").Bool():
			x.formDo(t, "key", t.Call("getAttribute", "data-map-key").String(), t.Get("value").String())
		case t.Call("hasAttribute", "data-file-for").Bool():
			x.formFile(t)
		case t.Get("type").String() == "checkbox" && t.Call("hasAttribute", "data-field").Bool():
			v := boolText(t.Get("checked").Bool())
			if t.Call("getAttribute", "data-wkt").String() == "empty" {
				v = map[bool]string{true: "{}", false: ""}[t.Get("checked").Bool()]
			}
			x.formSet(t, t.Call("getAttribute", "data-field").String(), v)
		case t.Get("tagName").String() == "SELECT" && t.Call("hasAttribute", "data-field").Bool():
			x.formSet(t, t.Call("getAttribute", "data-field").String(), t.Get("value").String())
		}
	})
	x.form.onTarget(`[data-form-action]`, func(b elem) {
		x.formDo(b.v, b.attr("data-form-action"), b.attr("data-path"), "")
	})
}

// formSet sets one input's value; a value the field cannot take marks the
// input and says what it takes, and changes nothing.
func (x *explorerView) formSet(input js.Value, path, value string) {
	x.mu.Lock()
	f := x.model
	x.mu.Unlock()
	if f == nil {
		return
	}
	if err := f.Set(path, value); err != nil {
		x.formError(input, path, err)
		return
	}
	input.Call("removeAttribute", "aria-invalid")
	input.Call("removeAttribute", "title")
	x.request.setValue(f.JSON())
	x.checkRequest()
	x.saveFragment()
}

// formDo changes the form's shape, then draws it again.
func (x *explorerView) formDo(from js.Value, action, path, arg string) {
	x.mu.Lock()
	f := x.model
	x.mu.Unlock()
	if f == nil {
		return
	}
	if err := f.Do(action, path, arg); err != nil {
		x.formError(from, path, err)
		return
	}
	x.form.setHTML(f.HTML())
	x.request.setValue(f.JSON())
	x.checkRequest()
	x.saveFragment()
}

func (x *explorerView) formError(input js.Value, path string, err error) {
	input.Call("setAttribute", "aria-invalid", "true")
	input.Call("setAttribute", "title", err.Error())
	x.requestErr.setText(path + ": " + err.Error())
}

// formFile reads the file chosen for a bytes field into it, as base64.
func (x *explorerView) formFile(input js.Value) {
	files := input.Get("files")
	if files.Length() == 0 {
		return
	}
	file := files.Index(0)
	const maxFile = 4 << 20
	path := input.Call("getAttribute", "data-file-for").String()
	if file.Get("size").Int() > maxFile {
		x.formError(input, path, errors.New("the file is larger than 4 MiB, the largest message the server takes by default"))
		return
	}
	buf, err := await(file.Call("arrayBuffer"))
	if err != nil {
		x.formError(input, path, err)
		return
	}
	arr := js.Global().Get("Uint8Array").New(buf)
	b := make([]byte, arr.Length())
	js.CopyBytesToGo(b, arr)
	x.mu.Lock()
	f := x.model
	x.mu.Unlock()
	if f == nil {
		return
	}
	if err := f.Set(path, base64.StdEncoding.EncodeToString(b)); err != nil {
		x.formError(input, path, err)
		return
	}
	x.form.setHTML(f.HTML())
	x.request.setValue(f.JSON())
	x.checkRequest()
	x.saveFragment()
}

// await waits for a promise: its value, or its rejection as an error.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- result{v: args[0]}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- result{err: errors.New(js.Global().Get("String").Invoke(args[0]).String())}
		return nil
	})
	p.Call("then", then, catch)
	r := <-done
	then.Release()
	catch.Release()
	return r.v, r.err
}
