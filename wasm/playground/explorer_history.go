//go:build js && wasm && explorer

package main

import (
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/grpcplay/playground/wasm/explorer"
)

// The explorer's history: the last historyMax calls (method, request,
// metadata, deadline, status, time), newest first, kept in the browser's
// localStorage under historyKey. Nothing goes to the server.
const (
	historyKey = "grpcplay.explorer.history"
	historyMax = 50
)

// historyEntry is one call in the history.
type historyEntry struct {
	Method, Request, Metadata, Deadline, Status string
	Time                                        int64 // Unix milliseconds
}

// readHistory returns the stored history; none when the storage is
// unavailable or holds something else.
func readHistory() (list []historyEntry) {
	defer func() {
		if recover() != nil { // localStorage or JSON.parse threw
			list = nil
		}
	}()
	raw := js.Global().Get("localStorage").Call("getItem", historyKey)
	if raw.Type() != js.TypeString {
		return nil
	}
	arr := js.Global().Get("JSON").Call("parse", raw)
	if !js.Global().Get("Array").Call("isArray", arr).Bool() {
		return nil
	}
	str := func(o js.Value, k string) string {
		if v := o.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	for i := 0; i < arr.Length() && i < historyMax; i++ {
		o := arr.Index(i)
		if o.Type() != js.TypeObject || str(o, "method") == "" {
			continue
		}
		e := historyEntry{Method: str(o, "method"), Request: str(o, "request"), Metadata: str(o, "metadata"),
			Deadline: str(o, "deadline"), Status: str(o, "status")}
		if t := o.Get("time"); t.Type() == js.TypeNumber {
			e.Time = int64(t.Float())
		}
		list = append(list, e)
	}
	return list
}

// writeHistory stores list; a full or disabled storage keeps the old one.
func writeHistory(list []historyEntry) {
	defer func() { recover() }()
	arr := js.Global().Get("Array").New()
	for _, e := range list {
		o := js.Global().Get("Object").New()
		o.Set("method", e.Method)
		o.Set("request", e.Request)
		o.Set("metadata", e.Metadata)
		o.Set("deadline", e.Deadline)
		o.Set("status", e.Status)
		o.Set("time", float64(e.Time))
		arr.Call("push", o)
	}
	js.Global().Get("localStorage").Call("setItem", historyKey, js.Global().Get("JSON").Call("stringify", arr))
}

// addHistory keeps a finished call, secret headers left out unless the
// person kept them. A client or bidi stream's request is its messages, one
// per line; re-loaded, the editor takes the first, and Replay sends them
// all.
func (x *explorerView) addHistory(call *explorerCall, code string) {
	e := historyEntry{
		Method: call.method.Path, Request: strings.Join(call.sentSoFar(), "\n"),
		Metadata: call.metadata, Deadline: call.deadline, Status: code, Time: time.Now().UnixMilli(),
	}
	x.histMu.Lock()
	list := append([]historyEntry{e}, readHistory()...)
	if len(list) > historyMax {
		list = list[:historyMax]
	}
	writeHistory(list)
	x.histMu.Unlock()
	x.drawHistory()
}

// drawHistory lists the history, each call with a button that puts it back
// in the editors.
func (x *explorerView) drawHistory() {
	var b strings.Builder
	for i, e := range readHistory() {
		when := js.Global().Get("Date").New(float64(e.Time)).Call("toLocaleString").String()
		b.WriteString(`<li><button type="button" data-action="load" data-index="` + strconv.Itoa(i) + `">Load</button>` +
			`<span class="status" data-code="` + escapeHTML(e.Status) + `">` + escapeHTML(e.Status) + `</span>` +
			`<code>` + escapeHTML(e.Method) + `</code><span class="req">` + escapeHTML(short(strings.ReplaceAll(e.Request, "\n", " "))) +
			`</span><time class="muted">` + escapeHTML(when) + `</time></li>`)
	}
	x.history.setHTML(b.String())
}

// loadHistory puts history entry i back in the editors.
func (x *explorerView) loadHistory(i int) {
	list := readHistory()
	if i < 0 || i >= len(list) {
		return
	}
	e := list[i]
	req, _, _ := strings.Cut(e.Request, "\n")
	x.selectMethod(e.Method, &explorer.Shared{Method: e.Method, Request: req, Metadata: e.Metadata, Deadline: e.Deadline,
		Messages: strings.Split(e.Request, "\n")})
}
