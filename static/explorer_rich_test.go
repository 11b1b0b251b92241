package static_test

// The explorer in Chromium in front of a backend nobody here wrote the page
// for: explorertest's rich schema (proto2 with required fields and groups,
// every well-known type, int-keyed maps, recursion, editions 2023) on a
// plain grpc-go server, with the playground as its front (-backend).

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/grpcplay/playground/server/servertest/explorertest"
)

// richFront starts the rich backend and the playground in front of it.
func richFront(t *testing.T) (*explorertest.Rich, string) {
	t.Helper()
	backend := explorertest.StartRich(t)
	front := explorertest.StartFront(t, backend.Addr)
	return backend, front.URL
}

// openFront loads the front's page (which opens on the explorer) at width
// px and waits for the schema.
func openFront(ctx context.Context, t *testing.T, url string, width int64) {
	t.Helper()
	run(ctx, t, "open the front's page", chromedp.EmulateViewport(width, 1000), chromedp.Navigate(url+"/"),
		waitFor(`body[data-ready="true"]`), schemaReady())
	if state := attr(ctx, t, ex(`[data-role="schema-status"]`), "data-state"); state != "ready" {
		t.Fatalf("schema: %s", text(ctx, t, ex(`[data-role="schema-status"]`)))
	}
}

// do runs a JavaScript statement in the page, as a step.
func do(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { `+expr+`; return true })()`))
		return err
	})
}

// pressEnter presses Enter once, as a keyboard does: one keyDown whose
// default action types a line break unless the page prevents it.
func pressEnter() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
			if typ == input.DispatchKeyEventTypeKeyDown {
				p.Text, p.UnmodifiedText = "\r", "\r"
			}
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// waitHistory waits until the history holds more than n calls: the call
// made since ended.
func waitHistory(n int) chromedp.Action[chromedp.Void] {
	return waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n))
}

// TestFrontModeIsClean: before a backend without UserManager the demo's
// cards and header do not show, the header names the backend, the first
// method is the backend's own, reflection and health come last under their
// own heading, and the banner follows the backend's health.
func TestFrontModeIsClean(t *testing.T) {
	backend, url := richFront(t)
	ctx := browser(t)
	openFront(ctx, t, url, 1440)
	if shown := evalJS[[]bool](ctx, t, `["main.grid", "p.demo", "p.front-only"].map(s => document.querySelector(s).checkVisibility())`); shown[0] || shown[1] || !shown[2] {
		t.Fatalf("cards, demo header, front header visible: %v; want false, false, true", shown)
	}
	if h := text(ctx, t, `header [data-role="backend"]`); h != backend.Addr {
		t.Fatalf("the header names %q; want %s", h, backend.Addr)
	}
	if m := evalJS[string](ctx, t, `document.querySelector('[data-explorer] select[name="method"]').value`); m != "/rich.v1.Editions/Configure" {
		t.Fatalf("first method %s; want the backend's own first", m)
	}
	groups := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] select[name="method"] optgroup')].map(g => g.label)`)
	if strings.Join(groups, "|") != "rich.v1.Editions|rich.v1.Known|rich.v1.Orders|reflection and health" {
		t.Fatalf("method groups %q", groups)
	}
	run(ctx, t, "banner green", waitJS(`document.getElementById("conn").className === "conn up"`))

	backend.Stop()
	run(ctx, t, "banner red while the backend is down", waitJS(`document.getElementById("conn").className === "conn down"`))
	if b := text(ctx, t, `#conn`); !strings.Contains(b, backend.Addr) || !strings.Contains(b, "down") {
		t.Fatalf("banner while the backend is down: %q", b)
	}
	backend.Restart(t)
	run(ctx, t, "banner green again", waitJS(`document.getElementById("conn").className === "conn up"`))
}

// TestEveryTemplateIsAccepted: the untouched template of every method of
// the rich schema is sent by the page and reaches the server.
func TestEveryTemplateIsAccepted(t *testing.T) {
	backend, url := richFront(t)
	ctx := browser(t)
	defer func() {
		if t.Failed() {
			t.Logf("explorer: %s", explorerState(ctx))
		}
	}()
	openFront(ctx, t, url, 1440)
	methods := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] select[name="method"] option')].map(o => o.value).filter(v => v.startsWith("/rich."))`)
	if len(methods) < 26 {
		t.Fatalf("%d rich methods listed: %v", len(methods), methods)
	}
	for _, m := range methods {
		n := historyLen(ctx, t)
		before := backend.Calls.Count(m)
		run(ctx, t, "select "+m, exSet("method", m))
		if e := text(ctx, t, ex(`[data-role="request-error"]`)); e != "" {
			t.Errorf("%s: the template is refused: %s", m, e)
			continue
		}
		clientStreams := evalJS[bool](ctx, t, `!document.querySelector('[data-explorer] [data-action="open"]').disabled`)
		if clientStreams {
			run(ctx, t, m+": open, send the template, close", exClick("open"), exClick("send"),
				waitPresent(ex(`[data-role="responses"] > [data-role="request"]`)), exClick("close-send"), waitHistory(n))
		} else {
			run(ctx, t, m+": call with the template", exClick("call"), waitHistory(n))
		}
		if code := exStatus(ctx, t); code != "OK" {
			t.Errorf("%s: %s: %s", m, code, text(ctx, t, ex(`[data-role="message"]`)))
		}
		if backend.Calls.Count(m) != before+1 || backend.LastRequest(m) == "" {
			t.Errorf("%s: the server did not receive the template", m)
		}
	}
}

// TestFormView: every kind of field edited through the form, kept in step
// with the JSON, and the request the form made reaches the server.
func TestFormView(t *testing.T) {
	backend, url := richFront(t)
	ctx := browser(t)
	defer func() {
		if t.Failed() {
			t.Logf("explorer: %s", explorerState(ctx))
		}
	}()
	openFront(ctx, t, url, 1440)
	run(ctx, t, "show the form", exSet("method", "/rich.v1.Orders/Place"), exClick("view-form"), waitFor(ex(`[data-role="form"] [data-field="id"]`)))
	if visible := evalJS[bool](ctx, t, `document.querySelector('[data-explorer] textarea[name="request"]').checkVisibility()`); visible {
		t.Fatal("the JSON editor shows beside the form")
	}
	input := func(path, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			sel := `[data-explorer] [data-role="form"] [data-field=` + strconv.Quote(path) + `]`
			return chromedp.Do(ctx, waitJS(`document.querySelector(`+strconv.Quote(sel)+`)`), do(`
				const e = document.querySelector(`+strconv.Quote(sel)+`);
				if (e.type === "checkbox") { e.checked = `+strconv.Quote(value)+` === "true"; e.dispatchEvent(new Event("change", {bubbles: true})); return true; }
				e.value = `+strconv.Quote(value)+`;
				e.dispatchEvent(new Event("input", {bubbles: true}));
				e.dispatchEvent(new Event("change", {bubbles: true}))`))
		})
	}
	action := func(act, path string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(ex(`[data-role="form"] [data-form-action="` + act + `"][data-path=` + strconv.Quote(path) + `]`))
	}
	requestHas := func(s string) chromedp.Action[chromedp.Void] {
		return waitJS(`document.querySelector('[data-explorer] textarea[name="request"]').value.includes(` + strconv.Quote(s) + `)`)
	}
	run(ctx, t, "scalars", input("id", "o-42"), requestHas(`"id": "o-42"`), input("quantity", "5"), requestHas(`"quantity": 5`),
		input("stamp", "18446744073709551615"), requestHas(`"stamp": "18446744073709551615"`),
		input("level", "HIGH"), requestHas(`"level": "HIGH"`), input("customer.name", "Ada"), requestHas(`"name": "Ada"`))
	// A bad number is marked and changes nothing.
	run(ctx, t, "a bad number", input("quantity", "5x"), waitFor(ex(`[data-field="quantity"][aria-invalid="true"]`)), requestHas(`"quantity": 5`))
	run(ctx, t, "a nested message opened on demand", action("set", "customer.referrer"), input("customer.referrer.name", "Bob"), requestHas(`"name": "Bob"`))
	run(ctx, t, "a list of groups", action("add", "Line"), input("Line[0].sku", "sku-1"), requestHas(`"sku": "sku-1"`))
	run(ctx, t, "an int-keyed map", action("add", "labels"), input("labels[0]", "zero"), requestHas(`"0": "zero"`),
		do(`const k = document.querySelector('[data-explorer] [data-map-key="labels[0]"]'); k.value = "12";
			k.dispatchEvent(new Event("change", {bubbles: true}))`), requestHas(`"12": "zero"`))
	run(ctx, t, "a oneof", do(`const s = document.querySelector('[data-explorer] [data-oneof="payment"]'); s.value = "account";
		s.dispatchEvent(new Event("change", {bubbles: true}))`), input("account", "-9"), requestHas(`"account": "-9"`))
	run(ctx, t, "bytes", input("blob", "AAEC"), requestHas(`"blob": "AAEC"`))
	screenshot(ctx, t, "explorer-form.png")

	n := historyLen(ctx, t)
	run(ctx, t, "call with the form's request", exClick("call"), waitHistory(n))
	if code := exStatus(ctx, t); code != "OK" {
		t.Fatalf("Place: %s: %s", code, text(ctx, t, ex(`[data-role="message"]`)))
	}
	got := backend.LastRequest("/rich.v1.Orders/Place")
	for _, want := range []string{`"id":"o-42"`, `"quantity":5`, `"name":"Bob"`, `"sku":"sku-1"`, `"12":"zero"`, `"account":"-9"`, `"level":"HIGH"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the server received %s; want %s in it", got, want)
		}
	}

	// Well-known types: a Timestamp and a Duration through their widgets.
	run(ctx, t, "All", exSet("method", "/rich.v1.Known/All"), waitFor(ex(`[data-role="form"] [data-field="at"]`)),
		input("at", "2024-05-06T07:08:09.500"), requestHas(`"at": "2024-05-06T07:08:09.500Z"`),
		input("duration", "1.5"), requestHas(`"duration": "1.500s"`), input("int64", "9007199254740993"), requestHas(`"int64": "9007199254740993"`))
	// Back to JSON: the editor holds what the form made.
	run(ctx, t, "back to JSON", exClick("view-json"), waitFor(ex(`textarea[name="request"]`)))
}

// TestJSONEditorMarksAndCompletes: an error is marked at its line and
// column; field names and enum values are offered at the cursor.
func TestJSONEditorMarksAndCompletes(t *testing.T) {
	_, url := richFront(t)
	ctx := browser(t)
	openFront(ctx, t, url, 1440)
	run(ctx, t, "a typo on line 3", exSet("method", "/rich.v1.Orders/Place"), exSet("request", "{\n  \"id\": \"a\",\n  \"idd\": 1\n}"),
		waitJS(`document.querySelector('[data-explorer] [data-role="request-error"]').dataset.line === "3"`))
	if col := attr(ctx, t, ex(`[data-role="request-error"]`), "data-column"); col != "3" {
		t.Fatalf("error at column %s; want 3", col)
	}
	if mark := text(ctx, t, ex(`[data-role="error-mark"]`)); mark != `"` {
		t.Fatalf("the mark covers %q", mark)
	}
	type_ := func(s string) chromedp.Action[chromedp.Void] {
		return do(`const e = document.querySelector('[data-explorer] textarea[name="request"]');
			e.value = ` + strconv.Quote(s) + `; e.focus(); e.setSelectionRange(e.value.length, e.value.length);
			e.dispatchEvent(new Event("input", {bubbles: true}))`)
	}
	run(ctx, t, "complete a field name", type_(`{"id": "a", "qua`), waitFor(ex(`[data-role="completions"] li`)))
	if items := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] [data-role="completions"] li')].map(li => li.textContent)`); len(items) != 1 || !strings.HasPrefix(items[0], "quantity") {
		t.Fatalf("offers %q; want quantity", items)
	}
	defer func() {
		if t.Failed() {
			t.Logf("editor: %q", evalJS[string](ctx, t, `document.querySelector('[data-explorer] textarea[name="request"]').value + " | active=" + document.activeElement?.name`))
		}
	}()
	run(ctx, t, "take it with Enter", pressEnter(),
		waitJS(`document.querySelector('[data-explorer] textarea[name="request"]').value === '{"id": "a", "quantity": '`))
	run(ctx, t, "complete an enum value", type_(`{"level": "H`), waitFor(ex(`[data-role="completions"] li`)))
	if items := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] [data-role="completions"] li')].map(li => li.textContent)`); strings.Join(items, ",") != "HIGH" {
		t.Fatalf("offers %q; want HIGH", items)
	}
	run(ctx, t, "take it with a click", chromedp.Click(ex(`[data-role="completions"] li`)),
		waitJS(`document.querySelector('[data-explorer] textarea[name="request"]').value === '{"level": "HIGH"'`))
}

// exportCapture makes the page keep what Export writes in
// window.exported, instead of a download.
const exportCapture = `window.exported = null; URL.createObjectURL = (blob) => { blob.text().then(t => window.exported = t); return "blob:captured"; }`

// TestStreamsAtFullSpeed: a 2,000-message stream of about 700-byte messages
// is counted in full with its status; a 100,000-message stream keeps the
// page responsive (frames are painted and a click is handled while it
// runs) and bounded (the page holds at most 100 entries, the program's
// memory stays small); a new call and a refused request each start clean;
// the export holds the call as JSON lines.
func TestStreamsAtFullSpeed(t *testing.T) {
	_, url := richFront(t)
	ctx := browser(t, chromedp.Flag("enable-precise-memory-info", true))
	defer func() {
		if t.Failed() {
			t.Logf("explorer: %s", explorerState(ctx))
		}
	}()
	openFront(ctx, t, url, 1440)
	n := historyLen(ctx, t)
	run(ctx, t, "2,000 messages", exSet("method", "/rich.v1.Editions/Stream"), exSet("request", `{"count": 2000, "size": 700}`),
		exClick("call"), waitHistory(n))
	t.Logf("2,000 messages of about 700 bytes: %s", text(ctx, t, ex(`[data-role="duration"]`)))

	if code, count := exStatus(ctx, t), attr(ctx, t, ex(`[data-role="responses"]`), "data-count"); code != "OK" || count != "2000" {
		t.Fatalf("2,000-message stream: status %s, data-count %s", code, count)
	}
	if shown := count(ctx, t, ex(`[data-role="responses"] > *`)); shown > 100 {
		t.Fatalf("%d entries on the page; want at most 100", shown)
	}
	last := exResponses(ctx, t)
	if len(last) == 0 || get(last[len(last)-1], "index") != 2000.0 {
		t.Fatalf("the newest entry is not message 2,000")
	}
	run(ctx, t, "export", do(exportCapture), exClick("export"), waitJS(`window.exported !== null`))
	lines := strings.Split(strings.TrimSpace(evalJS[string](ctx, t, `window.exported`)), "\n")
	if len(lines) != 2003 || !strings.Contains(lines[0], `"method":"/rich.v1.Editions/Stream"`) || !strings.Contains(lines[1], `"sent":{"count":2000,"size":700}`) ||
		!strings.Contains(lines[2002], `"status":"OK"`) || !strings.Contains(lines[2001], `"index":2000`) {
		t.Fatalf("export: %d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}

	// A refused request clears the last result.
	run(ctx, t, "refused", exSet("request", `{"count": "many"}`), exClick("call"),
		waitJS(`document.querySelector('[data-explorer] [data-role="message"]').textContent.startsWith("not sent: ")`))
	if st, c, entries := text(ctx, t, ex(`[data-role="status"]`)), attr(ctx, t, ex(`[data-role="responses"]`), "data-count"), count(ctx, t, ex(`[data-role="responses"] > *`)); st != "" || c != "0" || entries != 0 {
		t.Fatalf("after a refused request: status %q, data-count %s, %d entries; want a clean result", st, c, entries)
	}

	// 100,000 messages: the page stays responsive and bounded.
	n = historyLen(ctx, t)
	run(ctx, t, "100,000 messages", exSet("request", `{"count": 100000, "size": 700}`), do(`window.frames = 0; window.clicks = 0;
		(function tick() { window.frames++; if (!window.streamDone) requestAnimationFrame(tick); })();
		document.querySelector('[data-explorer] [data-role="hint"]').addEventListener("click", () => window.clicks++)`),
		exClick("call"), waitJS(`+document.querySelector('[data-explorer] [data-role="responses"]').dataset.count > 1000`),
		do(`document.querySelector('[data-explorer] [data-role="hint"]').click()`), waitJS(`window.clicks === 1`))
	midway := evalJS[int](ctx, t, `+document.querySelector('[data-explorer] [data-role="responses"]').dataset.count`)
	runWithin(ctx, t, "the end", 4*stepTimeout, waitHistory(n), do(`window.streamDone = true`))
	if code, c := exStatus(ctx, t), attr(ctx, t, ex(`[data-role="responses"]`), "data-count"); code != "OK" || c != "100000" {
		t.Fatalf("100,000-message stream: status %s, data-count %s", code, c)
	}
	if midway >= 100000 {
		t.Fatalf("the click was handled only after the stream ended")
	}
	frames := evalJS[int](ctx, t, `window.frames`)
	entries := count(ctx, t, ex(`[data-role="responses"] > *`))
	heap := evalJS[float64](ctx, t, `performance.memory.usedJSHeapSize / 1048576`)
	t.Logf("100,000 messages: a click handled at message %d, %d frames painted meanwhile, %d entries on the page, JS heap %.0f MiB", midway, frames, entries, heap)
	if frames < 10 || entries > 100 || heap > 200 {
		t.Fatalf("during 100,000 messages: %d frames, %d entries, JS heap %.0f MiB; want frames painted, at most 100 entries, a bounded heap", frames, entries, heap)
	}
	// A new call starts clean.
	run(ctx, t, "a new call", exSet("request", `{"count": 1, "size": 10}`), exClick("call"),
		waitJS(`document.querySelector('[data-explorer] [data-role="responses"]').dataset.count === "1"`))
	if c := count(ctx, t, ex(`[data-role="responses"] > [data-role="response"]`)); c != 1 {
		t.Fatalf("a new call shows %d responses; want its one", c)
	}
}

// TestSecretsStayPut: secret headers stay out of the link and the history
// unless the box is ticked; the page's own calls send no cookies.
func TestSecretsStayPut(t *testing.T) {
	backend, url := richFront(t)
	ctx := browser(t)
	openFront(ctx, t, url, 1440)
	run(ctx, t, "metadata with secrets", exSet("method", "/rich.v1.Known/Empty"), exSet("request", "{}"),
		exSet("metadata", "authorization: Bearer s3cret\nx-api-key: k3y\nx-trace: t1"), do(`document.cookie = "session=c00kie; path=/"`))
	link := evalJS[string](ctx, t, `decodeURIComponent(location.href)`)
	if !strings.Contains(link, "x-trace: t1") || strings.Contains(link, "s3cret") || strings.Contains(link, "k3y") {
		t.Fatalf("link %s; want x-trace without the secrets", link)
	}
	if note := text(ctx, t, ex(`[data-role="secrets-note"]`)); !strings.Contains(note, "authorization, x-api-key") {
		t.Fatalf("note %q", note)
	}
	n := historyLen(ctx, t)
	run(ctx, t, "call", exClick("call"), waitHistory(n))
	if code := exStatus(ctx, t); code != "OK" {
		t.Fatalf("Empty: %s", code)
	}
	// The secrets went to the server, not to the history.
	if a := backend.Calls.Header("/rich.v1.Known/Empty", "authorization"); a != "Bearer s3cret" {
		t.Fatalf("the server saw authorization %q", a)
	}
	if c := backend.Calls.Header("/rich.v1.Known/Empty", "cookie"); c != "" {
		t.Fatalf("the page's call carried the cookie %q", c)
	}
	if stored := evalJS[string](ctx, t, `localStorage.getItem("grpcplay.explorer.history")`); strings.Contains(stored, "s3cret") || strings.Contains(stored, "k3y") || !strings.Contains(stored, "x-trace") {
		t.Fatalf("history %s", stored)
	}
	run(ctx, t, "keep them", chromedp.Click(ex(`input[name="keep-secrets"]`)), waitJS(`decodeURIComponent(location.href).includes("s3cret")`))
}

// TestStreamLinkAndReplay: a bidi stream's link carries every message sent,
// and Replay sends them again, in order, from a fresh browser.
func TestStreamLinkAndReplay(t *testing.T) {
	backend, url := richFront(t)
	ctx := browser(t)
	defer func() {
		if t.Failed() {
			t.Logf("explorer: %s", explorerState(ctx))
		}
	}()
	openFront(ctx, t, url, 1440)
	n := historyLen(ctx, t)
	run(ctx, t, "open Chat", exSet("method", "/rich.v1.Editions/Echo"), exClick("open"), waitFor(ex(`[data-action="send"]:not([disabled])`)))
	for i := 1; i <= 3; i++ {
		run(ctx, t, "send "+strconv.Itoa(i), exSet("request", fmt.Sprintf(`{"index": %d, "text": "m%d"}`, i, i)), exClick("send"),
			waitPresent(ex(fmt.Sprintf(`[data-role="responses"] > [data-role="response"]:nth-child(%d)`, 2*i))))
	}
	screenshot(ctx, t, "explorer-bidi.png")
	run(ctx, t, "close", exClick("close-send"), waitHistory(n))
	link := evalJS[string](ctx, t, `location.href`)
	if c := strings.Count(link, "&message="); c != 3 {
		t.Fatalf("the link carries %d messages; want 3: %s", c, link)
	}
	fresh := browser(t)
	run(fresh, t, "open the link", chromedp.Navigate(link), waitFor(`body[data-ready="true"]`), schemaReady(),
		waitFor(ex(`[data-action="replay"]:not([disabled])`)))
	if b := text(fresh, t, ex(`[data-action="replay"]`)); b != "Replay 3 messages" {
		t.Fatalf("replay button %q", b)
	}
	before := backend.Calls.Count("/rich.v1.Editions/Echo")
	n = historyLen(fresh, t)
	run(fresh, t, "replay", exClick("replay"), waitHistory(n))
	sent := evalJS[[]string](fresh, t, `[...document.querySelectorAll('[data-explorer] [data-role="responses"] > [data-role="request"]')].map(e => e.dataset.json)`)
	if code := exStatus(fresh, t); code != "OK" || strings.Join(sent, " ") != `{"index":1,"text":"m1"} {"index":2,"text":"m2"} {"index":3,"text":"m3"}` {
		t.Fatalf("replay: %s, sent %q", code, sent)
	}
	if got := backend.Calls.Count("/rich.v1.Editions/Echo") - before; got != 1 || !strings.Contains(backend.LastRequest("/rich.v1.Editions/Echo"), `"text":"m3"`) {
		t.Fatalf("the server saw %d calls, last request %s", got, backend.LastRequest("/rich.v1.Editions/Echo"))
	}
	if resps := exResponses(fresh, t); len(resps) != 3 || get(resps[2], "text") != "m3" {
		t.Fatalf("replay's responses %v", resps)
	}
}

// TestDeepRequestIsRefused: a request nested 2,000 levels deep, typed or in
// a shared link, is refused with a message; the page lives on and the next
// call works.
func TestDeepRequestIsRefused(t *testing.T) {
	_, url := richFront(t)
	deep := strings.Repeat(`{"parent":`, 2000) + `{"name":"leaf"}` + strings.Repeat("}", 2000)
	ctx := browser(t)
	openFront(ctx, t, url, 1440)
	run(ctx, t, "type it", exSet("method", "/rich.v1.Editions/Grow"), exSet("request", deep), exClick("call"),
		waitJS(`document.querySelector('[data-explorer] [data-role="message"]').textContent.includes("nested more than 200 levels deep")`))
	// Through a link, in a fresh browser.
	link := url + "/#explorer?method=/rich.v1.Editions/Grow&request=" + strings.NewReplacer("{", "%7B", "}", "%7D", `"`, "%22", ":", ":").Replace(deep)
	fresh := browser(t)
	run(fresh, t, "open the link", chromedp.Navigate(link), waitFor(`body[data-ready="true"]`), schemaReady(),
		waitJS(`document.querySelector('[data-explorer] [data-role="request-error"]').textContent.includes("nested more than 200 levels deep")`),
		exClick("call"), waitJS(`document.querySelector('[data-explorer] [data-role="message"]').textContent.startsWith("not sent: ")`),
		exClick("view-form"))
	for _, c := range []context.Context{ctx, fresh} {
		n := historyLen(c, t)
		run(c, t, "the next call", exSet("request", `{"name": "root", "parent": {"name": "up"}}`), exClick("call"), waitHistory(n))
		if code, resps := exStatus(c, t), exResponses(c, t); code != "OK" || get(resps[0], "parent", "name") != "up" {
			t.Fatalf("the next call: %s %v", code, resps)
		}
		if alive := evalJS[string](c, t, `document.body.dataset.ready`); alive != "true" {
			t.Fatalf("the page: %s", alive)
		}
	}
}

// TestExplorerOnAPhone: at 375 px before the rich backend, the form of a
// proto2 message with groups and maps fits the screen, and so does the
// timeline of a call.
func TestExplorerOnAPhone(t *testing.T) {
	_, url := richFront(t)
	ctx := browser(t)
	openFront(ctx, t, url, 375)
	n := historyLen(ctx, t)
	run(ctx, t, "a call and the form", exSet("method", "/rich.v1.Orders/Place"), exClick("call"), waitHistory(n),
		exClick("view-form"), waitFor(ex(`[data-role="form"] [data-field="id"]`)),
		chromedp.Click(ex(`[data-form-action="add"][data-path="Line"]`)), waitFor(ex(`[data-field="Line[0].sku"]`)))
	sizes := evalJS[[]int](ctx, t, `[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]`)
	if sizes[0] != 375 || sizes[1] != 375 || sizes[2] != 375 {
		t.Fatalf("at 375 px: scroll width %d (body %d), viewport %d", sizes[0], sizes[1], sizes[2])
	}
	cut := evalJS[[]string](ctx, t, `[...document.querySelectorAll("[data-explorer] button, [data-explorer] input, [data-explorer] select")].filter(e => {
		if (!e.checkVisibility()) return false;
		const r = e.getBoundingClientRect();
		return r.left < 0 || r.right > window.innerWidth;
	}).map(e => e.dataset.action || e.dataset.field || e.name || e.dataset.formAction)`)
	if len(cut) != 0 {
		t.Fatalf("at 375 px these are cut off: %q", cut)
	}
	screenshot(ctx, t, "explorer-phone.png")
}
