package static_test

// The explorer ([data-explorer]) in Chromium, through its hooks, against
// servers of the explorer's own tests (package explorertest): the
// playground's services, one with reflection v1alpha only, one whose
// reflection lacks a file. Each server counts the calls it runs.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/servertest/explorertest"
)

// ex scopes a CSS selector to the explorer.
func ex(sel string) chromedp.CSS { return chromedp.CSS(`[data-explorer] ` + sel) }

// exClick clicks one of the explorer's buttons once it is enabled.
func exClick(action string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(ex(`[data-action="` + action + `"]:not([disabled])`))
}

// exSet sets one of the explorer's fields as typing would: the value,
// then the input and change events.
func exSet(name, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const e = document.querySelector('[data-explorer] [name="`+name+`"]');
			e.value = `+strconv.Quote(value)+`;
			e.dispatchEvent(new Event("input", {bubbles: true}));
			e.dispatchEvent(new Event("change", {bubbles: true}));
			return e.value === `+strconv.Quote(value)+`; })()`))
		return err
	})
}

// schemaReady waits until the explorer has read the server's schema and
// its editors hold a method's request (data-current), or says why it could
// not read it.
func schemaReady() chromedp.Action[chromedp.Void] {
	return waitJS(`(() => {
		const x = document.querySelector('[data-explorer]');
		const state = x?.querySelector('[data-role="schema-status"]')?.dataset.state;
		return state === "error" || state === "ready" && x.hasAttribute("data-current");
	})()`)
}

// openExplorer loads the page at #explorer and waits for the schema.
func openExplorer(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	run(ctx, t, "open the explorer", chromedp.Navigate(url+"/#explorer"), waitFor(`body[data-ready="true"]`), schemaReady())
	if state := attr(ctx, t, ex(`[data-role="schema-status"]`), "data-state"); state != "ready" {
		t.Fatalf("schema: %s", text(ctx, t, ex(`[data-role="schema-status"]`)))
	}
}

func attr(ctx context.Context, t *testing.T, sel chromedp.CSS, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(string(sel))+`)?.getAttribute(`+strconv.Quote(name)+`) ?? ""`))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func evalJS[T any](ctx context.Context, t *testing.T, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// historyLen is how many calls the explorer's history holds: one more
// each time a call ends.
func historyLen(ctx context.Context, t *testing.T) int {
	return count(ctx, t, ex(`[data-role="history"] li`))
}

// exCall runs one unary or server-streaming call of method with request
// and returns its final status and its responses, parsed.
func exCall(ctx context.Context, t *testing.T, method, request string) (string, []map[string]any) {
	t.Helper()
	n := historyLen(ctx, t)
	run(ctx, t, "call "+method+" with "+request, exSet("method", method), exSet("request", request), exClick("call"),
		waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n)))
	return exStatus(ctx, t), exResponses(ctx, t)
}

func exStatus(ctx context.Context, t *testing.T) string {
	t.Helper()
	run(ctx, t, "final status", waitFor(ex(`[data-role="status"][data-code]`)))
	return text(ctx, t, ex(`[data-role="status"]`))
}

// exResponses returns the data-json of every response shown, parsed.
func exResponses(ctx context.Context, t *testing.T) []map[string]any {
	t.Helper()
	raw := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] [data-role="responses"] > [data-role="response"]')].map(e => e.dataset.json)`)
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal([]byte(r), &out[i]); err != nil {
			t.Fatalf("response %d: data-json %q: %v", i, r, err)
		}
	}
	return out
}

// explorerState describes the explorer, for a failed step's report.
func explorerState(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const x = document.querySelector("[data-explorer]");
		const t = r => x.querySelector('[data-role="' + r + '"]')?.textContent;
		return "schema=" + t("schema-status") + " status=" + t("status") + " message=" + t("message") + " request-error=" + t("request-error") +
			"\n    log: " + [...x.querySelectorAll('[data-role="log"] li')].slice(-8).map(li => li.textContent).join("\n         "); })()`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return s
}

// get walks a parsed JSON value: get(v, "user", "id").
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestExplorerInChromium(t *testing.T) {
	ts := explorertest.Start(t)
	ctx := browser(t)
	defer func() {
		if t.Failed() {
			t.Logf("explorer: %s", explorerState(ctx))
		}
	}()
	openExplorer(ctx, t, ts.URL)

	t.Run("Schema", func(t *testing.T) {
		status := text(ctx, t, ex(`[data-role="schema-status"]`))
		if attr(ctx, t, ex(`[data-role="schema-status"]`), "data-version") != "v1" || !strings.Contains(status, "reflection v1:") {
			t.Fatalf("schema status %q; want reflection v1", status)
		}
		methods := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] select[name="method"] option:not([disabled])')].map(o => o.value)`)
		want := []string{
			"/UserManager/GetUser", "/UserManager/AddUser", "/UserManager/CountAlreadyUsers", "/UserManager/GetUsersByType", "/UserManager/GetUsersByIds",
			"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/List", "/grpc.health.v1.Health/Watch",
			"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
		}
		if strings.Join(methods, " ") != strings.Join(want, " ") {
			t.Fatalf("methods %q;\nwant %q", methods, want)
		}
		if got := evalJS[string](ctx, t, `document.querySelector('[data-explorer] textarea[name="request"]').value`); got != "{\n  \"id\": 0\n}" {
			t.Fatalf("GetUser's template: %q", got)
		}
	})

	t.Run("GetUser", func(t *testing.T) {
		before := ts.Calls.Count("/UserManager/GetUser")
		code, resps := exCall(ctx, t, "/UserManager/GetUser", `{"id": 1}`)
		if code != "OK" || len(resps) != 1 || get(resps[0], "user", "id") != 1.0 || get(resps[0], "user", "nickname") != "admin" || get(resps[0], "user", "user_type") != "ADMINISTRATOR" {
			t.Fatalf("GetUser 1: status %q, responses %v", code, resps)
		}
		if n := ts.Calls.Count("/UserManager/GetUser") - before; n != 1 {
			t.Fatalf("the server ran %d GetUser calls; want 1", n)
		}
		// The wire view: the frame of the message as the server encodes it.
		want, _ := proto.Marshal(&pb.UserResponse{User: &pb.User{Id: 1, Nickname: "admin", MailAddress: "admin@example.com", UserType: pb.User_ADMINISTRATOR}})
		if got := attr(ctx, t, ex(`[data-role="response"] [data-role="wire"]`), "data-bytes"); got != strconv.Itoa(5+len(want)) {
			t.Fatalf("wire view: %s bytes; want the 5-byte prefix and %d", got, len(want))
		}
		if n := count(ctx, t, ex(`[data-role="response"] [data-role="unknown"]`)); n != 0 {
			t.Fatalf("%d unknown fields listed for a message the schema describes", n)
		}
	})

	t.Run("InvalidRequestIsNotSent", func(t *testing.T) {
		before := ts.Calls.Total()
		run(ctx, t, "call with a bad id", exSet("method", "/UserManager/GetUser"), exSet("request", `{"id": "one"}`),
			waitFor(ex(`[data-role="request-error"]`)), exClick("call"),
			waitJS(`document.querySelector('[data-explorer] [data-role="message"]').textContent.startsWith("not sent: ")`))
		msg := text(ctx, t, ex(`[data-role="message"]`))
		if !strings.Contains(msg, "uint32 field id") || !strings.Contains(text(ctx, t, ex(`[data-role="request-error"]`)), "field id") {
			t.Fatalf("refusal %q; want protojson's error, naming the field id", msg)
		}
		run(ctx, t, "an unknown field", exSet("request", `{"idd": 1}`), exClick("call"),
			waitJS(`document.querySelector('[data-explorer] [data-role="message"]').textContent.includes('unknown field "idd"')`))
		if n := ts.Calls.Total() - before; n != 0 {
			t.Fatalf("the server ran %d calls for requests the page refused", n)
		}
	})

	t.Run("GetUsersByType", func(t *testing.T) {
		code, resps := exCall(ctx, t, "/UserManager/GetUsersByType", `{"userType": 1}`)
		var ids []any
		for _, r := range resps {
			ids = append(ids, get(r, "user", "id"))
		}
		if code != "OK" || fmt.Sprint(ids) != "[3 5 6]" {
			t.Fatalf("GetUsersByType NORMAL (by json_name and number): status %q, ids %v", code, ids)
		}
	})

	t.Run("GetUsersByIds", func(t *testing.T) {
		n := historyLen(ctx, t)
		run(ctx, t, "open, send 3", exSet("method", "/UserManager/GetUsersByIds"), exClick("open"),
			waitFor(ex(`[data-action="send"]:not([disabled])`)), exSet("request", `{"id": 3}`), exClick("send"),
			// The reply to the first id shows while the second is unsent.
			waitFor(ex(`[data-role="response"]`)))
		if sent, resps := count(ctx, t, ex(`[data-role="responses"] > [data-role="request"]`)), exResponses(ctx, t); sent != 1 || len(resps) != 1 || get(resps[0], "user", "nickname") != "foo" {
			t.Fatalf("after sending 3: %d sent, responses %v", sent, resps)
		}
		screenshot(ctx, t, "explorer.png")
		run(ctx, t, "send 5, close send", exSet("request", `{"id": "5"}`), exClick("send"),
			waitFor(ex(`[data-role="responses"] > [data-role="response"]:nth-child(4)`)), exClick("close-send"),
			waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n)))
		resps := exResponses(ctx, t)
		if code := exStatus(ctx, t); code != "OK" || len(resps) != 2 || get(resps[1], "user", "nickname") != "Zaru" {
			t.Fatalf("GetUsersByIds 3 5: status %q, responses %v", code, resps)
		}
	})

	t.Run("CountAlreadyUsers", func(t *testing.T) {
		n := historyLen(ctx, t)
		run(ctx, t, "open", exSet("method", "/UserManager/CountAlreadyUsers"), exClick("open"), waitFor(ex(`[data-action="send"]:not([disabled])`)))
		for i, id := range []string{"1", "99", "2"} {
			run(ctx, t, "send "+id, exSet("request", `{"id": `+id+`}`), exClick("send"), waitPresent(ex(fmt.Sprintf(`[data-role="responses"] > [data-role="request"]:nth-child(%d)`, i+1))))
		}
		run(ctx, t, "close send", exClick("close-send"),
			waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n)))
		resps := exResponses(ctx, t)
		if code := exStatus(ctx, t); code != "OK" || len(resps) != 1 || get(resps[0], "user_cnt") != 2.0 {
			t.Fatalf("CountAlreadyUsers 1 99 2: status %q, responses %v; want user_cnt 2", code, resps)
		}
	})

	t.Run("HealthCheck", func(t *testing.T) {
		code, resps := exCall(ctx, t, "/grpc.health.v1.Health/Check", `{}`)
		if code != "OK" || len(resps) != 1 || get(resps[0], "status") != "SERVING" {
			t.Fatalf("Health/Check: status %q, responses %v", code, resps)
		}
	})

	t.Run("HealthWatchCancel", func(t *testing.T) {
		run(ctx, t, "watch, then cancel", exSet("method", "/grpc.health.v1.Health/Watch"), exSet("request", `{}`), exClick("call"),
			waitFor(ex(`[data-role="response"]`)), exClick("cancel"), waitFor(ex(`[data-role="status"][data-code="Canceled"]`)))
		if resps := exResponses(ctx, t); len(resps) != 1 || get(resps[0], "status") != "SERVING" {
			t.Fatalf("Health/Watch: responses %v; want one, SERVING", resps)
		}
	})

	t.Run("Metadata", func(t *testing.T) {
		run(ctx, t, "metadata", exSet("metadata", "x-trace: abc\ntoken-bin: AAEC"))
		code, _ := exCall(ctx, t, "/UserManager/GetUser", `{"id": 2}`)
		if got, bin := ts.Calls.Header("/UserManager/GetUser", "x-trace"), ts.Calls.Header("/UserManager/GetUser", "token-bin"); code != "OK" || got != "abc" || bin != "\x00\x01\x02" {
			t.Fatalf("the server saw x-trace %q, token-bin %q (status %q)", got, bin, code)
		}
		run(ctx, t, "bad metadata", exSet("metadata", "grpc-timeout: 1S"), exClick("call"),
			waitJS(`document.querySelector('[data-explorer] [data-role="message"]').textContent.includes("grpc-timeout is set by the protocol")`),
			exSet("metadata", ""))
	})

	t.Run("CopyAsGrpcurl", func(t *testing.T) {
		run(ctx, t, "copy", exSet("method", "/UserManager/GetUser"), exSet("request", "{\n  \"id\": 1\n}"), exSet("metadata", "authorization: Bearer k"),
			exClick("copy-grpcurl"), waitFor(ex(`[data-role="grpcurl"]`)), exSet("metadata", ""))
		want := `grpcurl -plaintext -H 'authorization: Bearer k' -d '{"id":1}' ` + ts.Addr + ` UserManager/GetUser`
		if got := text(ctx, t, ex(`[data-role="grpcurl"]`)); got != want {
			t.Fatalf("grpcurl command:\n got %s\nwant %s", got, want)
		}
	})

	t.Run("History", func(t *testing.T) {
		entries := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] [data-role="history"] li')].map(li => li.querySelector("code").textContent + " " + li.querySelector(".status").textContent)`)
		if len(entries) != 7 || entries[0] != "/UserManager/GetUser OK" {
			t.Fatalf("history %q", entries)
		}
		// Re-load the CountAlreadyUsers call: its method and first message.
		i := -1
		for j, e := range entries {
			if strings.HasPrefix(e, "/UserManager/CountAlreadyUsers ") {
				i = j
			}
		}
		run(ctx, t, "re-load a call", exSet("method", "/grpc.health.v1.Health/Check"), chromedp.Click(ex(`details.history summary`)),
			chromedp.Click(ex(fmt.Sprintf(`[data-role="history"] button[data-index="%d"]`, i))),
			waitJS(`document.querySelector('[data-explorer] select[name="method"]').value === "/UserManager/CountAlreadyUsers"`))
		if got := evalJS[string](ctx, t, `document.querySelector('[data-explorer] textarea[name="request"]').value`); got != `{"id":1}` {
			t.Fatalf("re-loaded request %q", got)
		}
	})

	t.Run("SharedLink", func(t *testing.T) {
		run(ctx, t, "edit a request", exSet("method", "/UserManager/GetUser"), exSet("request", `{"id": 5}`),
			exSet("metadata", "x-trace: shared"), exSet("deadline", "20s"))
		link := evalJS[string](ctx, t, `location.href`)
		if !strings.Contains(link, "#explorer?method=/UserManager/GetUser&request=") {
			t.Fatalf("link %s", link)
		}
		fresh := browser(t) // a new profile: nothing shared but the link
		run(fresh, t, "open the link", chromedp.Navigate(link), waitFor(`body[data-ready="true"]`), schemaReady(),
			waitJS(`document.querySelector('[data-explorer] select[name="method"]').value === "/UserManager/GetUser"`))
		got := evalJS[[]string](fresh, t, `["request", "metadata", "deadline"].map(n => document.querySelector('[data-explorer] [name="' + n + '"]').value)`)
		if strings.Join(got, "|") != `{"id": 5}|x-trace: shared|20s` {
			t.Fatalf("the link opened %q", got)
		}
		code, resps := exCall(fresh, t, "/UserManager/GetUser", `{"id": 5}`)
		if code != "OK" || get(resps[0], "user", "nickname") != "Zaru" || ts.Calls.Header("/UserManager/GetUser", "x-trace") != "shared" {
			t.Fatalf("the linked request: status %q, responses %v", code, resps)
		}
	})

	t.Run("ReloadSchema", func(t *testing.T) {
		before := ts.Calls.Count("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
		run(ctx, t, "reload", exClick("reload-schema"), schemaReady())
		run(ctx, t, "reloaded", waitFor(ex(`[data-action="reload-schema"]:not([disabled])`)), schemaReady())
		if n := ts.Calls.Count("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") - before; n != 1 {
			t.Fatalf("Reload schema made %d reflection calls; want 1", n)
		}
		if n := count(ctx, t, ex(`select[name="method"] option`)); n != 10 {
			t.Fatalf("%d methods after the reload", n)
		}
	})

	t.Run("Trace", func(t *testing.T) {
		run(ctx, t, "start a trace", chromedp.Click(ex(`[data-action="trace"]`)))
		code, _ := exCall(ctx, t, "/UserManager/GetUser", `{"id": 1}`)
		id := attr(ctx, t, ex(`[data-role="trace-id"]`), "data-trace-id")
		tp := ts.Calls.Header("/UserManager/GetUser", "traceparent")
		if code != "OK" || len(id) != 32 || !strings.HasPrefix(tp, "00-"+id+"-") || !strings.Contains(text(ctx, t, ex(`[data-role="trace-id"]`)), id) {
			t.Fatalf("status %q, trace id shown %q, the server saw traceparent %q", code, id, tp)
		}
		run(ctx, t, "no trace", chromedp.Click(ex(`[data-action="trace"]`)))
		code, _ = exCall(ctx, t, "/UserManager/GetUser", `{"id": 1}`)
		if tp := ts.Calls.Header("/UserManager/GetUser", "traceparent"); code != "OK" || tp != "" || text(ctx, t, ex(`[data-role="trace-id"]`)) != "" {
			t.Fatalf("unchecked: status %q, the server saw traceparent %q, trace id shown %q", code, tp, text(ctx, t, ex(`[data-role="trace-id"]`)))
		}
	})

	// Last: a call right after one whose deadline expired can get Canceled
	// from the server (reported; not the page's doing).
	t.Run("Deadline", func(t *testing.T) {
		n := historyLen(ctx, t)
		run(ctx, t, "watch for 300ms", exSet("method", "/grpc.health.v1.Health/Watch"), exSet("request", `{}`), exSet("deadline", "300ms"), exClick("call"),
			waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n)), exSet("deadline", ""))
		if code := exStatus(ctx, t); code != "DeadlineExceeded" {
			t.Fatalf("Health/Watch with a 300ms deadline: %q", code)
		}
	})
}

func TestExplorerLoadsTheSchemaOnlyWhenShown(t *testing.T) {
	ts := explorertest.Start(t)
	ctx := browser(t)
	run(ctx, t, "load the page", chromedp.Navigate(ts.URL+"/"), waitFor(`body[data-ready="true"]`))
	if hidden := evalJS[bool](ctx, t, `document.querySelector("[data-explorer]").hidden`); !hidden {
		t.Fatal("the explorer shows without #explorer")
	}
	const refl = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	if n := ts.Calls.Count(refl); n != 0 {
		t.Fatalf("%d reflection calls before the explorer was shown", n)
	}
	run(ctx, t, "show the explorer", chromedp.Click(`[data-role="explorer-toggle"]`), schemaReady())
	if n := ts.Calls.Count(refl); n != 1 {
		t.Fatalf("%d reflection calls once shown; want 1", n)
	}
}

func TestExplorerWithV1alphaOnly(t *testing.T) {
	ts := explorertest.StartV1alphaOnly(t)
	ctx := browser(t)
	openExplorer(ctx, t, ts.URL)
	status := text(ctx, t, ex(`[data-role="schema-status"]`))
	if attr(ctx, t, ex(`[data-role="schema-status"]`), "data-version") != "v1alpha" || !strings.Contains(status, "reflection v1alpha (after v1: Unimplemented") {
		t.Fatalf("schema status %q; want v1alpha, after v1 failed", status)
	}
	code, resps := exCall(ctx, t, "/UserManager/GetUser", `{"id": 3}`)
	if code != "OK" || len(resps) != 1 || get(resps[0], "user", "nickname") != "foo" {
		t.Fatalf("GetUser 3: status %q, responses %v", code, resps)
	}
}

func TestExplorerWithAMissingFile(t *testing.T) {
	ts := explorertest.StartAcme(t)
	ctx := browser(t)
	openExplorer(ctx, t, ts.URL)
	problems := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-explorer] [data-role="schema-problems"] li')].map(li => li.textContent)`)
	if len(problems) != 1 || !strings.HasPrefix(problems[0], explorertest.MissingProblem) {
		t.Fatalf("problems %q; want %q", problems, explorertest.MissingProblem)
	}
	if n := count(ctx, t, ex(`select[name="method"] option[value^="/acme.Orders/"]`)); n != 0 {
		t.Fatalf("acme.Orders offers %d methods without its file", n)
	}

	// Echo stands: an Any of a type from user.proto, a Timestamp whose file
	// the server did not send, a 64-bit integer as a string.
	code, resps := exCall(ctx, t, "/acme.Echo/Say", `{"text": "hi", "big": "9007199254740993", "at": "2024-05-06T07:08:09Z",
		"detail": {"@type": "type.googleapis.com/User", "id": 7, "nickname": "n"}, "mood": "HAPPY"}`)
	if code != "OK" || len(resps) != 1 {
		t.Fatalf("Echo/Say: status %q, %d responses", code, len(resps))
	}
	r := resps[0]
	if get(r, "text") != "hi" || get(r, "big") != "9007199254740993" || get(r, "at") != "2024-05-06T07:08:09Z" ||
		get(r, "detail", "@type") != "type.googleapis.com/User" || get(r, "detail", "nickname") != "n" || get(r, "mood") != "HAPPY" {
		t.Fatalf("Echo/Say reply %v", r)
	}
	unknown := text(ctx, t, ex(`[data-role="response"] [data-role="unknown"]`))
	if want := fmt.Sprintf("field %d (varint) = %d", explorertest.UnknownField, explorertest.UnknownValue); !strings.Contains(unknown, want) {
		t.Fatalf("unknown fields %q; want %q", unknown, want)
	}

	// A failure's details, google.rpc.BadRequest, which the server's
	// reflection does not describe either.
	code, _ = exCall(ctx, t, "/acme.Echo/Say", `{"text": "fail"}`)
	details := text(ctx, t, ex(`[data-role="details"]`))
	if code != "InvalidArgument" || !strings.Contains(details, `"@type": "type.googleapis.com/google.rpc.BadRequest"`) || !strings.Contains(details, `"field": "text"`) {
		t.Fatalf("Echo/Say fail: status %q, details:\n%s", code, details)
	}
}

// BenchmarkExplorerLoad measures the time from navigation to the explorer
// showing every service's methods (reflection done), on a cold cache, on
// the page's own clock, with the built binary (PLAYGROUND_BIN) serving in
// its own process: loadsPerRun loads, each after a load of the bare wasm
// page, and their medians (reportLoadVsBare).
func BenchmarkExplorerLoad(b *testing.B) {
	bin := os.Getenv("PLAYGROUND_BIN")
	if bin == "" {
		b.Fatal("PLAYGROUND_BIN must name the built playground binary: run `make bench`")
	}
	url, bare := startBinary(b, bin), bareWasmPage(b)
	reportLoadVsBare(b, bare, func(ctx context.Context) float64 {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			new MutationObserver((_, obs) => {
				const x = document.querySelector("[data-explorer]");
				const groups = x?.querySelectorAll('select[name="method"] optgroup').length;
				if (x?.querySelector('[data-role="schema-status"]')?.dataset.state === "ready" && groups >= 2) {
					window.explorerShown = performance.now();
					obs.disconnect();
				}
			}).observe(document, {childList: true, subtree: true, attributes: true});`})
		if err != nil {
			b.Fatal(err)
		}
		whenSet(ctx, b, "explorerShown")
		run(ctx, b, "load the explorer", chromedp.Navigate(url+"#explorer"), awaitSet("explorerShown"))
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.explorerShown`))
		if err != nil {
			b.Fatal(err)
		}
		return ms
	})
}
