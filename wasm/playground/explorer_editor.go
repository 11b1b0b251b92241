//go:build js && wasm && explorer

package main

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"unicode/utf8"

	"github.com/grpcplay/playground/wasm/explorer"
)

// maxCompletions bounds the offers the editor lists at once.
const maxCompletions = 12

// editorState is the request editor's completion list.
type editorState struct {
	open atomic.Bool // the list shows: keys go to it (read in key handlers, which must not block)
	mu   sync.Mutex
	comp explorer.Completion
	sel  int
}

// wireEditor connects the JSON editor: errors marked as it is typed,
// completion of field names and enum values, Ctrl+Enter to call or send.
func (x *explorerView) wireEditor() {
	x.request.on("input", func() {
		x.checkRequest()
		x.saveFragment()
		x.complete()
	})
	// The marks scroll with the text; this handler must not wait.
	x.request.v.Call("addEventListener", "scroll", js.FuncOf(func(js.Value, []js.Value) any {
		x.marks.v.Set("scrollTop", x.request.v.Get("scrollTop"))
		return nil
	}))
	x.request.v.Call("addEventListener", "keydown", js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := args[0]
		key := ev.Get("key").String()
		switch {
		case x.ed.open.Load() && (key == "ArrowDown" || key == "ArrowUp" || key == "Enter" || key == "Tab" || key == "Escape"):
			ev.Call("preventDefault")
			go x.completionKey(key)
		case key == "Enter" && (ev.Get("ctrlKey").Bool() || ev.Get("metaKey").Bool()):
			ev.Call("preventDefault")
			go x.primary()
		}
		return nil
	}))
	x.completions.onTarget(`li[data-index]`, func(li elem) {
		i, _ := strconv.Atoi(li.attr("data-index"))
		x.accept(i)
	})
}

// showRequestError shows err, protojson's, under the editor and marks its
// line and column in the text; nil clears both.
func (x *explorerView) showRequestError(text string, err error) {
	if err == nil {
		x.requestErr.clear()
		x.requestErr.removeAttr("data-line")
		x.requestErr.removeAttr("data-column")
		x.marks.clear()
		return
	}
	line, col, msg, ok := explorer.ErrorPosition(err)
	if !ok {
		x.requestErr.setText("request: " + err.Error())
		x.requestErr.removeAttr("data-line")
		x.requestErr.removeAttr("data-column")
		x.marks.clear()
		return
	}
	x.requestErr.setText("request: line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ": " + msg)
	x.requestErr.setAttr("data-line", strconv.Itoa(line))
	x.requestErr.setAttr("data-column", strconv.Itoa(col))
	off := offsetOf(text, line, col)
	mark := " "
	if off < len(text) && text[off] != '\n' {
		_, n := utf8.DecodeRuneInString(text[off:])
		mark = text[off : off+n]
	}
	end := min(off+len(mark), len(text))
	if mark == " " {
		end = off
	}
	x.marks.setHTML(escapeHTML(text[:off]) + `<mark class="err" data-role="error-mark">` + escapeHTML(mark) + `</mark>` + escapeHTML(text[end:]) + "\n")
	x.marks.v.Set("scrollTop", x.request.v.Get("scrollTop"))
}

// offsetOf is the byte offset of a line and column (1-based, columns in
// characters, as protojson counts).
func offsetOf(text string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(text) && text[off] != '\n'; c++ {
		_, n := utf8.DecodeRuneInString(text[off:])
		off += n
	}
	return off
}

// complete lists what fits at the editor's cursor: field names where a key
// is typed, enum values (and true or false) where a value is.
func (x *explorerView) complete() {
	x.mu.Lock()
	m := x.current
	x.mu.Unlock()
	if m == nil {
		x.hideCompletions()
		return
	}
	text := x.request.value()
	cursor := byteOffset(text, x.request.v.Get("selectionStart").Int())
	c := explorer.Complete(m.Desc.Input(), text, cursor)
	before := strings.TrimRight(text[:cursor], " ")
	typing := c.From < cursor || strings.HasSuffix(before, ":") || strings.HasSuffix(before, "[")
	if len(c.Items) == 0 || !typing {
		x.hideCompletions()
		return
	}
	if len(c.Items) > maxCompletions {
		c.Items = c.Items[:maxCompletions]
	}
	x.ed.mu.Lock()
	x.ed.comp, x.ed.sel = c, 0
	x.ed.mu.Unlock()
	x.drawCompletions()
}

func (x *explorerView) drawCompletions() {
	x.ed.mu.Lock()
	c, sel := x.ed.comp, x.ed.sel
	x.ed.mu.Unlock()
	var b strings.Builder
	for i, it := range c.Items {
		selected := "false"
		if i == sel {
			selected = "true"
		}
		b.WriteString(`<li role="option" data-index="` + strconv.Itoa(i) + `" aria-selected="` + selected + `">` + escapeHTML(it.Label) + `</li>`)
	}
	x.completions.setHTML(b.String())
	x.completions.setHidden(false)
	x.ed.open.Store(true)
}

func (x *explorerView) hideCompletions() {
	if x.ed.open.Swap(false) {
		x.completions.setHidden(true)
		x.completions.clear()
	}
}

// completionKey moves through the list, takes an offer, or closes it.
func (x *explorerView) completionKey(key string) {
	x.ed.mu.Lock()
	n, sel := len(x.ed.comp.Items), x.ed.sel
	switch key {
	case "ArrowDown":
		x.ed.sel = (sel + 1) % max(n, 1)
	case "ArrowUp":
		x.ed.sel = (sel - 1 + n) % max(n, 1)
	}
	x.ed.mu.Unlock()
	switch key {
	case "Escape":
		x.hideCompletions()
	case "Enter", "Tab":
		x.accept(sel)
	default:
		x.drawCompletions()
	}
}

// accept puts offer i in place of the word at the cursor.
func (x *explorerView) accept(i int) {
	x.ed.mu.Lock()
	c := x.ed.comp
	x.ed.mu.Unlock()
	x.hideCompletions()
	text := x.request.value()
	if i < 0 || i >= len(c.Items) || c.From > c.To || c.To > len(text) {
		return
	}
	text = text[:c.From] + c.Items[i].Insert + text[c.To:]
	x.request.setValue(text)
	caret := utf16Len(text[:c.From+len(c.Items[i].Insert)])
	x.request.v.Call("focus")
	x.request.v.Call("setSelectionRange", caret, caret)
	x.checkRequest()
	x.saveFragment()
}

// byteOffset turns a textarea's cursor (UTF-16 units) into a byte offset.
func byteOffset(text string, units int) int {
	u := 0
	for i, r := range text {
		if u >= units {
			return i
		}
		u++
		if r >= 0x10000 {
			u++
		}
	}
	return len(text)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
