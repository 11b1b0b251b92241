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
