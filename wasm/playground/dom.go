//go:build js && wasm

package main

import (
	"sync"
	"syscall/js"
)

// elem is a DOM element. Its methods are the few the page needs.
type elem struct{ v js.Value }

// documentValue is the page's document, asked for once: each js.Value Go
// receives from JavaScript costs a finalizer (syscall/js), and the first
// hundreds of finalizers have the runtime's code optimized again while the
// page loads.
var documentValue = js.Global().Get("document")

func document() js.Value { return documentValue }

// selectors holds, for the first maxSelectors CSS selectors the page looks
// up, their JavaScript strings: each Go string passed to JavaScript is
// another JavaScript value, with its finalizer, and the cards and the
// explorer look up the same few selectors again and again.
var selectors struct {
	sync.Mutex
	m map[string]js.Value
}

const maxSelectors = 256

// selector returns sel as a JavaScript string, the same value each time
// for the selectors selectors holds.
func selector(sel string) js.Value {
	selectors.Lock()
	defer selectors.Unlock()
	if v, ok := selectors.m[sel]; ok {
		return v
	}
	v := js.ValueOf(sel)
	if len(selectors.m) < maxSelectors {
		if selectors.m == nil {
			selectors.m = make(map[string]js.Value)
		}
		selectors.m[sel] = v
	}
	return v
}

// byID returns the element with that id.
func byID(id string) elem { return elem{document().Call("getElementById", id)} }

// create makes a new element with a class and text.
func create(tag, class, text string) elem {
	e := elem{document().Call("createElement", tag)}
	if class != "" {
		e.v.Set("className", class)
	}
	if text != "" {
		e.v.Set("textContent", text)
	}
	return e
}

// find returns the first descendant matching a CSS selector.
func (e elem) find(sel string) elem { return elem{e.v.Call("querySelector", selector(sel))} }

func (e elem) setText(s string)        { e.v.Set("textContent", s) }
func (e elem) setAttr(name, v string)  { e.v.Call("setAttribute", name, v) }
func (e elem) removeAttr(name string)  { e.v.Call("removeAttribute", name) }
func (e elem) append(child elem)       { e.v.Call("appendChild", child.v) }
func (e elem) clear()                  { e.v.Set("textContent", "") }
func (e elem) value() string           { return e.v.Get("value").String() }
func (e elem) setEnabled(enabled bool) { e.v.Set("disabled", !enabled) }

// appendHTML adds the elements of an HTML fragment at the end of e.
func (e elem) appendHTML(fragment string) { e.v.Call("insertAdjacentHTML", "beforeend", fragment) }

// trimFront removes e's oldest children until at most max are left.
func (e elem) trimFront(max int) {
	extra := e.v.Get("childElementCount").Int() - max
	if extra <= 0 {
		return
	}
	r := document().Call("createRange")
	r.Call("setStartBefore", e.v.Get("firstElementChild"))
	r.Call("setEndAfter", e.v.Get("children").Index(extra-1))
	r.Call("deleteContents")
}

// scrollToEnd scrolls e to its newest child.
func (e elem) scrollToEnd() { e.v.Set("scrollTop", e.v.Get("scrollHeight")) }

// scrollToEnd scrolls each of es to its newest child, after the caller's
// writes: the first read lays the page out, and scrolling does not undo it.
func scrollToEnd(es []elem) {
	for _, e := range es {
		e.scrollToEnd()
	}
}

// drawer is a view that puts what changed on the page when drawn.
type drawer interface{ draw() }

// frames draws queued views once per animation frame.
type frames struct {
	mu     sync.Mutex
	queued []drawer
	draw   js.Func
}

func newFrames() *frames {
	f := &frames{}
	f.draw = js.FuncOf(func(js.Value, []js.Value) any {
		f.mu.Lock()
		views := f.queued
		f.queued = nil
		f.mu.Unlock()
		for _, v := range views {
			v.draw()
		}
		return nil
	})
	return f
}

// queue draws c at the next animation frame.
func (f *frames) queue(c drawer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queued) == 0 {
		js.Global().Call("requestAnimationFrame", f.draw)
	}
	f.queued = append(f.queued, c)
}

// afterPaint returns once the browser has painted what the page holds: in
// the task after the next animation frame. A hidden page has no frames,
// so it waits a quarter of a second at most.
func afterPaint() {
	done := make(chan struct{})
	global := js.Global()
	var frame, task js.Func
	var frameID, soonID, laterID js.Value
	// Callbacks run one at a time, on the page's thread: the first task
	// to run cancels what is still pending, then lets both functions go.
	task = js.FuncOf(func(js.Value, []js.Value) any {
		global.Call("cancelAnimationFrame", frameID)
		global.Call("clearTimeout", laterID)
		if !soonID.IsUndefined() {
			global.Call("clearTimeout", soonID)
		}
		frame.Release()
		task.Release()
		close(done)
		return nil
	})
	frame = js.FuncOf(func(js.Value, []js.Value) any {
		soonID = global.Call("setTimeout", task, 0)
		return nil
	})
	frameID = global.Call("requestAnimationFrame", frame)
	laterID = global.Call("setTimeout", task, 250)
	<-done
}

// on runs fn in a goroutine of its own for every event of that kind: calls
// block until the network answers, and a js callback must never block.
func (e elem) on(event string, fn func()) {
	e.v.Call("addEventListener", event, js.FuncOf(func(this js.Value, args []js.Value) any {
		if len(args) > 0 {
			args[0].Call("preventDefault")
		}
		go fn()
		return nil
	}))
}

func (e elem) setHTML(s string)        { e.v.Set("innerHTML", s) }
func (e elem) setValue(s string)       { e.v.Set("value", s) }
func (e elem) setHidden(hidden bool)   { e.v.Set("hidden", hidden) }
func (e elem) attr(name string) string { return e.v.Call("getAttribute", name).String() }

// onKey runs fn, in a goroutine of its own, for each keydown that match
// accepts; only those keys lose their default action.
func (e elem) onKey(match func(ev js.Value) bool, fn func()) {
	e.v.Call("addEventListener", "keydown", js.FuncOf(func(this js.Value, args []js.Value) any {
		if match(args[0]) {
			args[0].Call("preventDefault")
			go fn()
		}
		return nil
	}))
}

// onTarget runs fn, in a goroutine of its own, for each click on an
// element inside e that matches sel, with that element.
func (e elem) onTarget(sel string, fn func(target elem)) {
	e.v.Call("addEventListener", "click", js.FuncOf(func(this js.Value, args []js.Value) any {
		t := args[0].Get("target").Call("closest", sel)
		if !t.IsNull() {
			args[0].Call("preventDefault")
			go fn(elem{t})
		}
		return nil
	}))
}
