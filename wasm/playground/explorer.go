//go:build js && wasm

package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/explorer"
)

// explorerView is the explorer ([data-explorer]): any service of the
// server, described by its reflection, called from editors. It is hidden
// until the fragment says #explorer; the schema loads when it is first
// shown.
type explorerView struct {
	page *page
	conn *client.Conn
	root elem
	// The hooks: the editors, and what describes the schema and the
	// request. The call's own views are res's.
	method, request, metadata, deadline            elem
	schemaStatus, problems, info, hint, requestErr elem
	grpcurl, history, toggle                       elem
	res                                            *card

	mu      sync.Mutex
	schema  *explorer.Schema
	loading bool
	version string // the reflection version that answered last
	shown   bool
	current *explorer.Method
	drafts  map[string]string // the request editor's text, by method
	// pending is the request a link asked for, applied once the schema
	// has its method.
	pending *explorer.Shared
	call    *explorerCall // the call in flight or last made
	// histMu orders the history's read-modify-write in localStorage.
	histMu sync.Mutex
	// ignore is the handler of a refused clipboard write.
	ignore js.Func
	// onSchema, when set, sees each schema loaded.
	onSchema func(*explorer.Schema)
}

func newExplorerView(p *page, conn *client.Conn) *explorerView {
	root := elem{document().Call("querySelector", "[data-explorer]")}
	x := &explorerView{page: p, conn: conn, root: root, drafts: make(map[string]string),
		ignore: js.FuncOf(func(js.Value, []js.Value) any { return nil })}
	for _, v := range []struct {
		e   *elem
		sel string
	}{
		{&x.method, `select[name="method"]`}, {&x.request, `textarea[name="request"]`},
		{&x.metadata, `textarea[name="metadata"]`}, {&x.deadline, `input[name="deadline"]`},
		{&x.schemaStatus, `[data-role="schema-status"]`}, {&x.problems, `[data-role="schema-problems"]`},
		{&x.info, `[data-role="method-info"]`}, {&x.hint, `[data-role="hint"]`},
		{&x.requestErr, `[data-role="request-error"]`}, {&x.grpcurl, `[data-role="grpcurl"]`},
		{&x.history, `[data-role="history"]`},
	} {
		*v.e = root.find(v.sel)
	}
	x.toggle = elem{document().Call("querySelector", `[data-role="explorer-toggle"]`)}
	x.res = newCardAt(p, root)
	return x
}

// wire connects the explorer's controls, and shows it now when the page's
// fragment asks for it.
func (x *explorerView) wire() {
	x.button("reload-schema").on("click", x.load)
	x.button("call").on("click", x.callOnce)
	x.button("open").on("click", x.open)
	x.button("send").on("click", x.send)
	x.button("close-send").on("click", x.closeSend)
	x.button("cancel").on("click", x.res.abort)
	x.button("copy-grpcurl").on("click", x.copyGrpcurl)
	x.root.find("form").on("submit", x.primary)
	x.request.onKey(func(ev js.Value) bool {
		return ev.Get("key").String() == "Enter" && (ev.Get("ctrlKey").Bool() || ev.Get("metaKey").Bool())
	}, x.primary)
	x.method.on("change", func() { x.selectMethod(x.method.value(), nil) })
	x.request.on("input", func() {
		x.checkRequest()
		x.saveFragment()
	})
	x.metadata.on("input", x.saveFragment)
	x.deadline.on("input", x.saveFragment)
	x.history.onTarget(`button[data-action="load"]`, func(b elem) {
		i, _ := strconv.Atoi(b.attr("data-index"))
		x.loadHistory(i)
	})
	elem{js.Global()}.on("hashchange", x.followFragment)
	x.drawHistory()
	x.followFragment()
}

func (x *explorerView) button(action string) elem {
	return x.root.find(`[data-action="` + action + `"]`)
}

// followFragment shows or hides the explorer as the URL's fragment says,
// and takes the request a link carries.
func (x *explorerView) followFragment() {
	shared, ok := explorer.ParseFragment(js.Global().Get("location").Get("hash").String())
	x.mu.Lock()
	first := ok && !x.shown && x.schema == nil && !x.loading
	x.shown = ok
	if ok && shared.Method != "" {
		x.pending = &shared
	}
	schema := x.schema
	x.mu.Unlock()
	x.root.setHidden(!ok)
	if ok {
		x.toggle.setAttr("href", "#")
		x.toggle.setText("Hide the explorer")
	} else {
		x.toggle.setAttr("href", "#explorer")
		x.toggle.setText("Explorer: any service, through reflection")
	}
	switch {
	case first:
		x.load()
	case ok && shared.Method != "" && schema != nil:
		x.applyPending()
	}
}

// saveFragment puts the request in the URL's fragment, so that a copied
// link opens it again. It replaces the history entry: editing adds no
// steps to the Back button.
func (x *explorerView) saveFragment() {
	x.mu.Lock()
	shown, m := x.shown, x.current
	x.mu.Unlock()
	if !shown || m == nil {
		return
	}
	frag := explorer.Shared{Method: m.Path, Request: x.request.value(), Metadata: x.metadata.value(), Deadline: x.deadline.value()}.Fragment()
	js.Global().Get("history").Call("replaceState", nil, "", "#"+frag)
}

// load reads the schema through server reflection, again when the schema
// was loaded already ("Reload schema"), with the metadata editor's
// headers.
func (x *explorerView) load() {
	x.mu.Lock()
	if x.loading {
		x.mu.Unlock()
		return
	}
	x.loading = true
	first := x.version
	x.mu.Unlock()
	x.button("reload-schema").setEnabled(false)
	x.setSchemaStatus("loading", "", "Reading the server's services through reflection…")
	md, _ := explorer.ParseMetadata(x.metadata.value()) // metadata that does not parse waits for a call to say so
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s, err := explorer.Load(ctx, x.conn, explorer.LoadOptions{Metadata: md, First: first})
	cancel()
	defer x.button("reload-schema").setEnabled(true)
	x.mu.Lock()
	x.loading = false
	if err != nil {
		x.mu.Unlock()
		x.setSchemaStatus("error", "", err.Error())
		return
	}
	x.schema, x.version = s, s.Version
	prev := x.current
	x.mu.Unlock()

	methods := 0
	var opts strings.Builder
	for _, svc := range s.Services {
		if svc.Err != "" {
			opts.WriteString(`<optgroup label="` + escapeHTML(svc.Name) + ` (cannot be described)"><option disabled>` + escapeHTML(svc.Err) + `</option></optgroup>`)
			continue
		}
		opts.WriteString(`<optgroup label="` + escapeHTML(svc.Name) + `">`)
		for _, m := range svc.Methods {
			methods++
			opts.WriteString(`<option value="` + escapeHTML(m.Path) + `">` + escapeHTML(string(m.Desc.Name())) + ` · ` + m.Kind.String() + `</option>`)
		}
		opts.WriteString(`</optgroup>`)
	}
	x.method.setHTML(opts.String())
	var problems strings.Builder
	for _, p := range s.Problems {
		problems.WriteString("<li>" + escapeHTML(p) + "</li>")
	}
	x.problems.setHTML(problems.String())
	text := "Server reflection " + s.Version
	if s.Fallback != "" {
		text += " (after " + s.Fallback + ")"
	}
	text += ": " + plural(len(s.Services), "service") + ", " + plural(methods, "method")
	x.setSchemaStatus("ready", s.Version, text)

	switch {
	case x.applyPending():
	case prev != nil && s.Method(prev.Path) != nil:
		x.selectMethod(prev.Path, nil)
	default:
		x.selectMethod(firstMethod(s), nil)
	}
	js.Global().Get("performance").Call("mark", "explorer-ready")
	if x.onSchema != nil {
		x.onSchema(s)
	}
}

func (x *explorerView) setSchemaStatus(state, version, text string) {
	x.schemaStatus.setAttr("data-state", state)
	if version != "" {
		x.schemaStatus.setAttr("data-version", version)
	} else {
		x.schemaStatus.removeAttr("data-version")
	}
	x.schemaStatus.setText(text)
}

func firstMethod(s *explorer.Schema) string {
	for _, svc := range s.Services {
		if len(svc.Methods) > 0 {
			return svc.Methods[0].Path
		}
	}
	return ""
}

func plural(n int, what string) string {
	s := strconv.Itoa(n) + " " + what
	if n != 1 {
		s += "s"
	}
	return s
}

// applyPending selects the method a link asked for, with its request,
// metadata and deadline, once the schema has it. It reports whether there
// was one.
func (x *explorerView) applyPending() bool {
	x.mu.Lock()
	p := x.pending
	x.pending = nil
	x.mu.Unlock()
	if p == nil {
		return false
	}
	x.selectMethod(p.Method, p)
	return true
}

// selectMethod makes path the current method. With req its editors take
// req's request, metadata and deadline; without, the request editor takes
// the method's last draft or its template.
func (x *explorerView) selectMethod(path string, req *explorer.Shared) {
	x.mu.Lock()
	s, prev := x.schema, x.current
	if s == nil {
		x.mu.Unlock()
		return
	}
	m := s.Method(path)
	if prev != nil && req == nil {
		x.drafts[prev.Path] = x.request.value()
	}
	x.current = m
	busy := x.call != nil && x.call.open()
	x.mu.Unlock()
	if m == nil {
		x.info.setText("The server has no method " + path + ".")
		x.hint.clear()
		x.res.buttons()
		return
	}
	x.method.setValue(path)
	template, hint := explorer.Template(m.Desc.Input())
	text := template
	if req != nil {
		text = req.Request
		x.metadata.setValue(req.Metadata)
		x.deadline.setValue(req.Deadline)
	} else if d, ok := x.drafts[path]; ok {
		text = d
	}
	x.request.setValue(text)
	x.info.setHTML(`<span class="badge ` + kindClass(m.Kind) + `">` + m.Kind.String() + `</span> ` +
		escapeHTML(string(m.Desc.Input().FullName())+" → "+string(m.Desc.Output().FullName())))
	var h strings.Builder
	for _, line := range hint {
		h.WriteString("<li>" + escapeHTML(line) + "</li>")
	}
	x.hint.setHTML(h.String())
	x.checkRequest()
	if !busy {
		x.idle()
	}
	x.saveFragment()
}

func kindClass(k explorer.CallKind) string {
	switch k {
	case explorer.ServerStreaming:
		return "server"
	case explorer.ClientStreaming:
		return "client"
	case explorer.BidiStreaming:
		return "bidi"
	}
	return "unary"
}

// idle enables what the current method allows when no call is open.
func (x *explorerView) idle() {
	x.mu.Lock()
	m := x.current
	x.mu.Unlock()
	x.method.setEnabled(true)
	x.button("copy-grpcurl").setEnabled(m != nil)
	switch {
	case m == nil:
		x.res.buttons()
	case m.Kind.ClientStreams():
		x.res.buttons("open")
	default:
		x.res.buttons("call")
	}
}

// checkRequest shows protojson's error for the request editor's JSON, as
// it is typed, and returns it: nil when the request parses.
func (x *explorerView) checkRequest() (*explorer.Method, *explorer.Schema, error) {
	x.mu.Lock()
	s, m := x.schema, x.current
	x.mu.Unlock()
	if s == nil || m == nil {
		return nil, nil, errNoMethod
	}
	if _, err := s.ParseRequest(m, x.request.value()); err != nil {
		err = errors.New("request: " + err.Error())
		x.requestErr.setText(err.Error())
		return m, s, err
	}
	x.requestErr.clear()
	return m, s, nil
}

// errNoMethod stops a call before a method is chosen.
var errNoMethod = errors.New("no method chosen")

// primary is the form's own action (Enter in the deadline field,
// Ctrl+Enter in the request editor): send on an open stream, else call or
// open.
func (x *explorerView) primary() {
	x.mu.Lock()
	c, m := x.call, x.current
	x.mu.Unlock()
	switch {
	case c != nil && c.open():
		x.send()
	case m != nil && m.Kind.ClientStreams():
		x.open()
	case m != nil:
		x.callOnce()
	}
}
