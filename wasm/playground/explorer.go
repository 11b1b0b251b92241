//go:build js && wasm && explorer

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
// server, described by its reflection or by files given to the page
// (explorer_files.go), called from a JSON editor or a form. It is hidden
// until the fragment says #explorer; the schema loads when it is first
// shown.
type explorerView struct {
	conn   *client.Conn
	root   elem
	frames *frames
	// The hooks: the editors, and what describes the schema and the
	// request. The call's own views are res's.
	method, request, metadata, deadline, keepSecrets     elem
	trace                                                elem // the "start a trace" checkbox
	schemaStatus, problems, info, hint, requestErr, note elem
	grpcurl, history, toggle, form, marks, completions   elem
	schemaFiles, schemaInput                             elem
	schemaErrors, schemaProgress                         elem
	res                                                  *resultView
	// compiler compiles .proto files given to the page, with the page's
	// compiler program, loaded at its first use.
	compiler *explorer.ProtoCompiler

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
	// replay holds the messages Replay sends: the last stream's, or a
	// link's.
	replay []string
	// formView says the form shows instead of the JSON editor; model is
	// the form's message then.
	formView bool
	model    *explorer.Form
	// histMu orders the history's read-modify-write in localStorage.
	histMu sync.Mutex
	// ignore is the handler of a refused clipboard write.
	ignore js.Func
	ed     editorState

	// loads numbers each schema load (reflection or files) as it starts;
	// shownLoad is the number of the last one shown. A load's outcome is
	// shown only when no load started after it has been shown. Under mu.
	loads, shownLoad int
}

func newExplorerView(conn *client.Conn) *explorerView {
	root := elem{document().Call("querySelector", "[data-explorer]")}
	f := newFrames()
	x := &explorerView{conn: conn, root: root, frames: f, drafts: make(map[string]string),
		ignore: js.FuncOf(func(js.Value, []js.Value) any { return nil })}
	for _, v := range []struct {
		e   *elem
		sel string
	}{
		{&x.method, `select[name="method"]`}, {&x.request, `textarea[name="request"]`},
		{&x.metadata, `textarea[name="metadata"]`}, {&x.deadline, `input[name="deadline"]`},
		{&x.keepSecrets, `input[name="keep-secrets"]`}, {&x.trace, `input[name="trace"]`},
		{&x.schemaStatus, `[data-role="schema-status"]`}, {&x.problems, `[data-role="schema-problems"]`},
		{&x.info, `[data-role="method-info"]`}, {&x.hint, `[data-role="hint"]`},
		{&x.requestErr, `[data-role="request-error"]`}, {&x.grpcurl, `[data-role="grpcurl"]`},
		{&x.history, `[data-role="history"]`}, {&x.note, `[data-role="secrets-note"]`},
		{&x.form, `[data-role="form"]`}, {&x.marks, `[data-role="editor-marks"]`},
		{&x.completions, `[data-role="completions"]`},
		{&x.schemaFiles, `.schema-files`}, {&x.schemaInput, `input[type="file"][name="schema"]`},
		{&x.schemaErrors, `[data-role="schema-errors"]`}, {&x.schemaProgress, `[data-role="schema-progress"]`},
	} {
		*v.e = root.find(v.sel)
	}
	x.toggle = elem{document().Call("querySelector", `[data-role="explorer-toggle"]`)}
	x.res = newResultView(f, root)
	x.compiler = explorer.NewProtoCompiler(explorer.ProtoCompilerURL)
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
	x.button("replay").on("click", x.replayCall)
	x.button("copy-grpcurl").on("click", x.copyGrpcurl)
	x.button("export").on("click", func() {
		if name, text := x.res.exportText(); text != "" {
			download(name, text)
		}
	})
	x.button("view-form").on("click", func() { x.showForm(true) })
	x.button("view-json").on("click", func() { x.showForm(false) })
	x.root.find("form").on("submit", x.primary)
	x.wireEditor()
	x.wireForm()
	x.wireSchemaFiles()
	x.method.on("change", func() { x.selectMethod(x.method.value(), nil) })
	x.metadata.on("input", x.saveFragment)
	x.deadline.on("input", x.saveFragment)
	x.keepSecrets.on("change", x.saveFragment)
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

// shareable returns what a link and the history keep of the editors: the
// metadata without secret headers unless the person ticked the box, and
// the names it left out.
func (x *explorerView) shareable() (metadata string, left []string) {
	md := x.metadata.value()
	if x.keepSecrets.v.Get("checked").Bool() {
		return md, nil
	}
	return explorer.WithoutSecrets(md)
}

// saveFragment puts the request in the URL's fragment, so that a copied
// link opens it again: for a client or bidi stream, every message its call
// sent too. It replaces the history entry: editing adds no steps to the
// Back button.
func (x *explorerView) saveFragment() {
	x.mu.Lock()
	shown, m, call, replay := x.shown, x.current, x.call, x.replay
	x.mu.Unlock()
	if !shown || m == nil {
		return
	}
	md, left := x.shareable()
	if len(left) > 0 {
		x.note.setText(strings.Join(left, ", ") + ": left out of the link and the history, as secret headers are; tick the box above to keep them.")
	} else {
		x.note.clear()
	}
	sh := explorer.Shared{Method: m.Path, Request: x.request.value(), Metadata: md, Deadline: x.deadline.value()}
	if m.Kind.ClientStreams() {
		if call != nil && call.method == m && len(call.sentSoFar()) > 0 {
			sh.Messages = call.sentSoFar()
		} else {
			sh.Messages = replay
		}
	}
	js.Global().Get("history").Call("replaceState", nil, "", "#"+sh.Fragment())
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
	x.loads++
	load := x.loads
	x.mu.Unlock()
	x.button("reload-schema").setEnabled(false)
	x.setSchemaStatus("loading", "", "Reading the server's services through reflection…")
	md, _ := explorer.ParseMetadata(x.metadata.value()) // metadata that does not parse waits for a call to say so
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s, err := explorer.Load(ctx, x.conn, explorer.LoadOptions{Metadata: md, First: first})
	cancel()
	defer x.button("reload-schema").setEnabled(true)
	defer document().Call("dispatchEvent", js.Global().Get("Event").New("explorer-loaded"))
	x.mu.Lock()
	x.loading = false
	x.mu.Unlock()
	if !x.showLoad(load) {
		return // a schema given to the page since stands
	}
	if err != nil {
		x.mu.Lock()
		had := x.schema != nil
		x.mu.Unlock()
		msg := err.Error()
		if had {
			msg += " (the methods listed are the schema's before, still usable)"
		} else {
			msg += ". Without reflection, give the page the schema as files, below."
		}
		x.setSchemaStatus("error", "", msg)
		return
	}
	source := sourceReflection
	if document().Get("body").Get("dataset").Get("schema").String() == "files" {
		source = sourceServerFiles
	}
	x.showSchema(s, source)
}

// Where a schema came from, as the schema status's data-source says.
const (
	// sourceReflection: the server's reflection.
	sourceReflection = "reflection"
	// sourceServerFiles: the server's reflection, answered by a front
	// from its schema files (-proto, -protoset).
	sourceServerFiles = "server-files"
	// sourcePage: files given to the page.
	sourcePage = "page"
)

// showLoad reports whether the outcome of load may be shown, and marks it
// shown: no load started after it has been shown.
func (x *explorerView) showLoad(load int) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if load < x.shownLoad {
		return false
	}
	x.shownLoad = load
	return true
}

// showSchema makes s the explorer's schema: its methods listed, its
// problems named, where it came from in the status.
func (x *explorerView) showSchema(s *explorer.Schema, source string) {
	x.mu.Lock()
	x.schema = s
	if s.Version != "" {
		x.version = s.Version
	}
	prev := x.current
	x.mu.Unlock()

	// The server's own services first, in its order; reflection and health
	// last, under a heading of their own.
	methods := 0
	var own, infra strings.Builder
	hasUsers := false
	for _, svc := range s.Services {
		hasUsers = hasUsers || svc.Name == "UserManager" && svc.Err == ""
		if svc.Err != "" {
			own.WriteString(`<optgroup label="` + escapeHTML(svc.Name) + ` (cannot be described)"><option disabled>` + escapeHTML(svc.Err) + `</option></optgroup>`)
			continue
		}
		if infrastructure(svc.Name) {
			for _, m := range svc.Methods {
				methods++
				infra.WriteString(`<option value="` + escapeHTML(m.Path) + `">` + escapeHTML(strings.TrimPrefix(m.Path, "/")) + ` · ` + m.Kind.String() + `</option>`)
			}
			continue
		}
		own.WriteString(`<optgroup label="` + escapeHTML(svc.Name) + `">`)
		for _, m := range svc.Methods {
			methods++
			own.WriteString(`<option value="` + escapeHTML(m.Path) + `">` + escapeHTML(string(m.Desc.Name())) + ` · ` + m.Kind.String() + `</option>`)
		}
		own.WriteString(`</optgroup>`)
	}
	if infra.Len() > 0 {
		own.WriteString(`<optgroup label="reflection and health">` + infra.String() + `</optgroup>`)
	}
	x.method.setHTML(own.String())
	if hasUsers {
		document().Get("body").Get("dataset").Set("userManager", "true")
	}
	var problems strings.Builder
	for _, p := range s.Problems {
		problems.WriteString("<li>" + escapeHTML(p) + "</li>")
	}
	x.problems.setHTML(problems.String())
	var text string
	switch source {
	case sourcePage:
		text = "From " + s.Source + ", read in this browser"
		x.button("reload-schema").setText("Use reflection")
	default:
		text = "Server reflection " + s.Version
		if s.Fallback != "" {
			text += " (after " + s.Fallback + ")"
		}
		if source == sourceServerFiles {
			text += ", answered from the server's schema files"
		}
		x.button("reload-schema").setText("Reload schema")
	}
	text += ": " + plural(len(s.Services), "service") + ", " + plural(methods, "method")
	x.setSchemaStatus("ready", s.Version, text)
	x.schemaStatus.setAttr("data-source", source)

	// The list is on the screen before the editors take the method's
	// template, which may take a few frames to build: unless, meanwhile,
	// a method was picked or another schema came. Until then the root has
	// no data-current.
	x.root.removeAttr("data-current")
	afterPaint()
	x.mu.Lock()
	moved := x.schema != s || x.current != prev
	x.mu.Unlock()
	if moved {
		return
	}
	switch {
	case x.applyPending():
	case prev != nil && s.Method(prev.Path) != nil:
		x.selectMethod(prev.Path, nil)
	default:
		x.selectMethod(firstMethod(s), nil)
	}
	js.Global().Get("performance").Call("mark", "explorer-ready")
	// Then, the editors on the screen, the types that stand in for files
	// servers seldom send (status details, Any), before a call needs them.
	go func() {
		afterPaint()
		explorer.PrepareFallback()
	}()
}

// infrastructure reports whether a service is reflection or health, which
// every server may have: listed after the server's own.
func infrastructure(name string) bool {
	return strings.HasPrefix(name, "grpc.reflection.") || name == "grpc.health.v1.Health"
}

// setSchemaStatus says what the schema's state is; showSchema adds where
// a ready schema came from.
func (x *explorerView) setSchemaStatus(state, version, text string) {
	x.schemaStatus.setAttr("data-state", state)
	x.schemaStatus.removeAttr("data-source")
	x.mu.Lock()
	none := x.schema == nil
	x.mu.Unlock()
	// Files are wanted when reflection failed and no schema is in use.
	x.schemaFiles.v.Get("classList").Call("toggle", "wanted", state == "error" && none)
	if version != "" {
		x.schemaStatus.setAttr("data-version", version)
	} else {
		x.schemaStatus.removeAttr("data-version")
	}
	x.schemaStatus.setText(text)
}

// firstMethod is the first method of the server's own services, or of any.
func firstMethod(s *explorer.Schema) string {
	for _, infra := range []bool{false, true} {
		for _, svc := range s.Services {
			if len(svc.Methods) > 0 && infrastructure(svc.Name) == infra {
				return svc.Methods[0].Path
			}
		}
	}
	return ""
}

// applyPending selects the method a link asked for, with its request,
// metadata, deadline and stream messages, once the schema has it. It
// reports whether there was one.
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
// req's request, metadata, deadline and messages; without, the request
// editor takes the method's last draft or its template.
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
	if req != nil || prev != m {
		x.replay = nil
		if req != nil && m != nil && m.Kind.ClientStreams() {
			x.replay = req.Messages
		}
	}
	x.mu.Unlock()
	// Tests and scripts wait for this: the editors hold path's request.
	defer x.root.setAttr("data-current", path)
	if m == nil {
		if path == "" {
			x.info.setText("The schema has no method that can be called: its problems are named above.")
		} else {
			x.info.setText("The server has no method " + path + ".")
		}
		x.hint.clear()
		if !busy {
			x.idle()
		}
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
	x.refreshForm()
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

// buttons enables exactly the named call actions.
func (x *explorerView) buttons(enabled ...string) {
	for _, a := range []string{"call", "open", "send", "close-send", "cancel", "replay"} {
		on := false
		for _, e := range enabled {
			on = on || e == a
		}
		x.button(a).setEnabled(on)
	}
}

// idle enables what the current method allows when no call is open.
func (x *explorerView) idle() {
	x.mu.Lock()
	m, replay := x.current, len(x.replay)
	x.mu.Unlock()
	x.method.setEnabled(true)
	x.trace.setEnabled(true) // disabled in the HTML until explorer.wasm runs
	x.button("copy-grpcurl").setEnabled(m != nil)
	x.button("view-json").setEnabled(m != nil)
	x.button("view-form").setEnabled(m != nil)
	r := x.button("replay")
	switch {
	case m == nil:
		x.buttons()
	case m.Kind.ClientStreams() && replay > 0:
		x.buttons("open", "replay")
		r.setText("Replay " + plural(replay, "message"))
	case m.Kind.ClientStreams():
		x.buttons("open")
		r.setText("Replay")
	default:
		x.buttons("call")
		r.setText("Replay")
	}
}

// checkRequest shows protojson's error for the request editor's JSON, as
// it is typed, marked at its line and column, and returns it: nil when the
// request parses.
func (x *explorerView) checkRequest() (*explorer.Method, *explorer.Schema, error) {
	x.mu.Lock()
	s, m := x.schema, x.current
	x.mu.Unlock()
	if s == nil || m == nil {
		return nil, nil, errNoMethod
	}
	text := x.request.value()
	if _, err := s.ParseRequest(m, text); err != nil {
		x.showRequestError(text, err)
		return m, s, err
	}
	x.showRequestError(text, nil)
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
