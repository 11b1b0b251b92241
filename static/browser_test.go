package static_test

// The playground in a real browser: Debian's Chromium, headless, driven with
// chromedp against the real server. Built with `make test`, which builds
// main.wasm first and installs Chromium when it is missing.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/static"
)

const chromiumPath = "/usr/bin/chromium"

// bigType is the type of the many users the cancel test streams.
const (
	bigType  = "DISABLED"
	bigUsers = 50_000
)

// pageServer starts the real server on a fresh store that holds the
// tutorial's six users plus bigUsers users of bigType.
func pageServer(t *testing.T) (url string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	type seedUser struct {
		ID          uint32 `json:"id"`
		Nickname    string `json:"nickname"`
		MailAddress string `json:"mail_address"`
		UserType    string `json:"user_type"`
	}
	var tutorial map[string]seedUser
	b, err := os.ReadFile("../server/store/users.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tutorial); err != nil {
		t.Fatal(err)
	}
	for i := range bigUsers {
		id := uint32(1000 + i)
		tutorial[strconv.Itoa(int(id))] = seedUser{id, "bulk" + strconv.Itoa(i), "bulk" + strconv.Itoa(i) + "@example.com", bigType}
	}
	b, _ = json.Marshal(tutorial)
	seed := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seed, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ts := servertest.Start(t, server.Config{}, servertest.WithSeedFile(seed))
	return ts.URL + "/", func() { ts.Stop() }
}

// browser starts headless Chromium with a fresh profile (a cold cache), and
// more options (flags) when given.
func browser(t testing.TB, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is missing at %s: run `make chromium` (as root: apt-get update && apt-get install -y --no-install-recommends chromium)", chromiumPath)
	}
	if _, err := fs.Stat(static.FS, "wasm/main.wasm"); err != nil {
		t.Fatal("static/wasm/main.wasm was not built into this test binary: run `make wasm` first (make test does)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Headless Chromium still loads the omnibox's popups (chrome://
		// omnibox-popup.top-chrome/, two renderers) as it starts. On two
		// cores they took about 0.9 s of CPU, during the page's load that
		// a new browser starts for: every load measured twice as long.
		chromedp.Flag("disable-features", "WebUIOmniboxPopup,WebUIOmniboxAimPopup"),
		chromedp.WindowSize(1400, 1500),
	}
	opts = append(opts, more...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil { // start the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// TestBrowserRunsOnlyThePage keeps browser's promise: the browser it
// starts has no renderer of its own UI (a feature renamed by a new
// Chromium would bring the omnibox's popups back), only the page.
func TestBrowserRunsOnlyThePage(t *testing.T) {
	ctx := browser(t)
	targets, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range targets {
		if target.Type != "page" {
			t.Errorf("the browser runs a %s target besides the page: %s", target.Type, target.URL)
		}
	}
}

// in scopes a CSS selector to one method's card.
func in(method, sel string) chromedp.CSS {
	return chromedp.CSS(`[data-method="` + method + `"] ` + sel)
}

func click(method, action string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(in(method, `[data-action="`+action+`"]:not([disabled])`))
}

func setField(method, name, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(in(method, `[name="`+name+`"]`), value)
}

// waitFor waits until an element matching sel is displayed.
func waitFor(sel chromedp.CSS) chromedp.Action[chromedp.Void] {
	return waitJS(`document.querySelector(` + strconv.Quote(string(sel)) + `)?.checkVisibility()`)
}

// waitPresent waits until an element matching sel is in the page, shown or
// not (the page hides all but the newest responses of a long stream).
func waitPresent(sel chromedp.CSS) chromedp.Action[chromedp.Void] {
	return waitJS(`document.querySelector(` + strconv.Quote(string(sel)) + `) !== null`)
}

// waitJS polls a JavaScript condition until it is true. The waits evaluate
// in the page rather than use DevTools' DOM queries: a DOM query makes the
// browser report every later change under the nodes it returned, and a
// stream of thousands of responses would then flood the test with events.
func waitJS(cond string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
		for {
			ok, err := chromedp.Evaluate[bool]("!!("+cond+")")(ctx, target)
			if err != nil {
				return chromedp.Void{}, fmt.Errorf("wait for %s: %w", cond, err)
			}
			if ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("wait for %s: %w", cond, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// whenSet makes every page the browser opens keep the promise of the first
// value a script sets on window[name], for awaitSet. The load benchmarks
// wait so, not by polling: a poll runs in the page it measures, and one
// that asks whether an element is shown lays the page out while it loads.
func whenSet(ctx context.Context, t testing.TB, name string) {
	t.Helper()
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(`(() => {
		let value, resolve;
		window[%[2]q] = new Promise((r) => { resolve = r; });
		Object.defineProperty(window, %[1]q, {configurable: true, get: () => value, set: (v) => { value = v; resolve(v); }});
	})();`, name, "whenSet:"+name)})
	if err != nil {
		t.Fatalf("install the wait for window.%s: %v", name, err)
	}
}

// awaitSet waits until the page sets window[name] (see whenSet).
func awaitSet(name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Evaluate[any](`window[`+strconv.Quote("whenSet:"+name)+`]`, chromedp.EvalAwaitPromise)(ctx, target); err != nil {
			return chromedp.Void{}, fmt.Errorf("wait for window.%s: %w", name, err)
		}
		return chromedp.Void{}, nil
	}
}

// stepTimeout bounds one step, so a broken page fails its step with the
// page's state in the log instead of hanging the whole test.
const stepTimeout = 30 * time.Second

func run(ctx context.Context, t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	runWithin(ctx, t, what, stepTimeout, steps...)
}

// runWithin is run with a step timeout of its own, for a step whose work
// is long by design (a stream of 100,000 messages): a timeout here finds
// a hang, it does not measure speed.
func runWithin(ctx context.Context, t testing.TB, what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage state:\n%s", what, err, pageState(ctx))
	}
}

// pageState describes every card (status, message, log) and the
// connection banner, for a failed step's report.
func pageState(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[document.getElementById("conn").textContent,
		...[...document.querySelectorAll("[data-method]")].map(c => c.dataset.method + ": status=" +
			c.querySelector('[data-role="status"]').textContent + " message=" +
			c.querySelector('[data-role="message"]').textContent + "\n    log: " +
			[...c.querySelectorAll('[data-role="log"] li')].slice(-8).map(li => li.textContent).join("\n         "))].join("\n  ")`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return "  " + s
}

// text returns the text of the first element matching sel.
func text(ctx context.Context, t *testing.T, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// finalStatus waits until the card shows a final status, and returns it.
func finalStatus(ctx context.Context, t *testing.T, method string) string {
	t.Helper()
	run(ctx, t, method+" status", waitFor(in(method, `[data-role="status"][data-code]`)))
	return text(ctx, t, in(method, `[data-role="status"]`))
}

func count(ctx context.Context, t *testing.T, sel chromedp.CSS) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(string(sel))+`).length`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPlaygroundInChromium(t *testing.T) {
	url, stopServer := pageServer(t)
	ctx := browser(t)
	console := watchConsole(ctx)

	// Navigation to the first GetUser result, on a cold cache: measured and
	// written down, not asserted, on the page's own clock from the start of
	// the navigation. A script in the page calls GetUser the moment the
	// page is ready, as a person with no reaction time would.
	callGetUserWhenReady(ctx, t)
	run(ctx, t, "load the page and call GetUser",
		chromedp.Navigate(url),
		waitFor(`body[data-ready="true"]`),
		waitFor(in("GetUser", `[data-role="response"][data-user-id="1"]`)),
	)
	marks, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`({
		ready: performance.getEntriesByName("playground-ready")[0].startTime,
		result: window.firstGetUserResult})`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("navigation to the first GetUser result, cold cache: %.0f ms (main.wasm running and the page ready at %.0f ms); `make bench` measures it against the built binary", marks["result"], marks["ready"])

	t.Run("GetUser", func(t *testing.T) {
		code, resp := finalStatus(ctx, t, "GetUser"), text(ctx, t, in("GetUser", `[data-role="response"]`))
		if code != "OK" || !strings.Contains(resp, "admin") {
			t.Fatalf("GetUser 1: status %q, response %q", code, resp)
		}
		run(ctx, t, "GetUser 99", setField("GetUser", "id", "99"), click("GetUser", "call"),
			waitFor(in("GetUser", `[data-role="response"][data-error="true"]`)))
		code, resp = finalStatus(ctx, t, "GetUser"), text(ctx, t, in("GetUser", `[data-role="response"]`))
		if code != "OK" || !strings.Contains(resp, "not found") {
			t.Fatalf("GetUser 99: status %q, response %q", code, resp)
		}
	})

	t.Run("AddUser", func(t *testing.T) {
		add := func(id, mail string) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(
				setField("AddUser", "id", id), setField("AddUser", "nickname", "browser"),
				setField("AddUser", "mail_address", mail), setField("AddUser", "user_type", "GUEST"),
				click("AddUser", "call"))
		}
		run(ctx, t, "AddUser 70", add("70", "b@example.com"), waitFor(in("AddUser", `[data-role="response"][data-user-id="70"]`)))
		if code := finalStatus(ctx, t, "AddUser"); code != "OK" {
			t.Fatalf("AddUser 70: status %q", code)
		}
		run(ctx, t, "AddUser 70 again", add("70", "b@example.com"), waitFor(in("AddUser", `[data-role="response"][data-error="true"]`)))
		code, resp := finalStatus(ctx, t, "AddUser"), text(ctx, t, in("AddUser", `[data-role="response"]`))
		if code != "OK" || !strings.Contains(resp, "already exist") {
			t.Fatalf("AddUser 70 again: status %q, response %q", code, resp)
		}
		run(ctx, t, "AddUser with a bad mail", add("71", "not a mail"))
		code, msg := finalStatus(ctx, t, "AddUser"), text(ctx, t, in("AddUser", `[data-role="message"]`))
		if code != "InvalidArgument" || !strings.Contains(msg, "mail_address") {
			t.Fatalf("invalid AddUser: status %q, message %q", code, msg)
		}
	})

	t.Run("GetUsersByType", func(t *testing.T) {
		run(ctx, t, "GetUsersByType NORMAL", setField("GetUsersByType", "user_type", "NORMAL"), click("GetUsersByType", "call"))
		code := finalStatus(ctx, t, "GetUsersByType")
		ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-method="GetUsersByType"] [data-role="response"]')].map(e => e.dataset.userId)`))
		if err != nil {
			t.Fatal(err)
		}
		if code != "OK" || strings.Join(ids, ",") != "3,5,6" {
			t.Fatalf("GetUsersByType NORMAL: status %q, ids %v; want OK, 3,5,6", code, ids)
		}
	})

	t.Run("GetUsersByTypeCancel", func(t *testing.T) {
		// The page itself clicks Cancel once 20 users show: a click sent
		// from here after seeing them comes a DevTools round trip later,
		// by which time a fast machine has shown all of the stream.
		cancelAt20 := `(() => {
			const card = document.querySelector('[data-method="GetUsersByType"]');
			const obs = new MutationObserver(() => {
				if (card.querySelectorAll('[data-role="response"]').length >= 20) {
					obs.disconnect();
					card.querySelector('[data-action="cancel"]').click();
					window.cancelledAt20 = true;
				}
			});
			obs.observe(card, {childList: true, subtree: true});
			return true;
		})()`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cancelAt20)); err != nil {
			t.Fatal(err)
		}
		run(ctx, t, "start a long stream and cancel it", setField("GetUsersByType", "user_type", bigType),
			click("GetUsersByType", "call"),
			waitJS(`window.cancelledAt20 === true`))
		code := finalStatus(ctx, t, "GetUsersByType")
		got := count(ctx, t, in("GetUsersByType", `[data-role="response"]`))
		if code != "Canceled" || got >= bigUsers {
			t.Fatalf("cancelled stream: status %q after %d of %d users; want Canceled before the end", code, got, bigUsers)
		}
		time.Sleep(300 * time.Millisecond)
		if later := count(ctx, t, in("GetUsersByType", `[data-role="response"]`)); later != got {
			t.Fatalf("users kept arriving after the cancel: %d, then %d", got, later)
		}
		// The list shows its newest user: a card scrolls the lists that
		// grew at the frame after the call ends.
		atEnd, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const l = document.querySelector('[data-method="GetUsersByType"] [data-role="responses"]');
			return l.scrollHeight > l.clientHeight && l.scrollTop + l.clientHeight >= l.scrollHeight - 1;
		})()`))
		if err != nil || !atEnd {
			t.Fatalf("the cancelled stream's list is not scrolled to its newest user (%v)", err)
		}
		t.Logf("cancelled after %d of %d users", got, bigUsers)
	})

	t.Run("CountAlreadyUsers", func(t *testing.T) {
		run(ctx, t, "open", click("CountAlreadyUsers", "open"), waitFor(in("CountAlreadyUsers", `[data-action="send"]:not([disabled])`)))
		for i, id := range []string{"1", "99", "2", "2"} {
			run(ctx, t, "send "+id, setField("CountAlreadyUsers", "id", id), click("CountAlreadyUsers", "send"),
				waitFor(in("CountAlreadyUsers", fmt.Sprintf(`[data-role="sent"] li:nth-child(%d)`, i+1))))
		}
		run(ctx, t, "finish", click("CountAlreadyUsers", "close-send"))
		code, n := finalStatus(ctx, t, "CountAlreadyUsers"), text(ctx, t, in("CountAlreadyUsers", `[data-role="count"]`))
		if code != "OK" || n != "3" {
			t.Fatalf("CountAlreadyUsers 1 99 2 2: status %q, count %q; want OK, 3", code, n)
		}
	})

	t.Run("GetUsersByIds", func(t *testing.T) {
		run(ctx, t, "open and send 2", click("GetUsersByIds", "open"),
			waitFor(in("GetUsersByIds", `[data-action="send"]:not([disabled])`)),
			setField("GetUsersByIds", "id", "2"), click("GetUsersByIds", "send"),
			// The reply to the first id shows while the second is unsent.
			waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="2"]`)))
		if sent := count(ctx, t, in("GetUsersByIds", `[data-role="sent"] li`)); sent != 1 {
			t.Fatalf("%d ids sent when the first reply appeared; want 1", sent)
		}
		run(ctx, t, "send 99 then 5, close", setField("GetUsersByIds", "id", "99"), click("GetUsersByIds", "send"),
			setField("GetUsersByIds", "id", "5"), click("GetUsersByIds", "send"),
			waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="5"]`)),
			click("GetUsersByIds", "close-send"))
		code := finalStatus(ctx, t, "GetUsersByIds")
		if n := count(ctx, t, in("GetUsersByIds", `[data-role="response"]`)); code != "OK" || n != 2 {
			t.Fatalf("GetUsersByIds 2 99 5: status %q, %d replies; want OK, 2", code, n)
		}
		// The stream's socket closes cleanly: one close each way, which
		// Chromium does not complain of.
		time.Sleep(500 * time.Millisecond)
		if errs := console.matching("Close received after close"); len(errs) > 0 {
			t.Errorf("Chromium's console after the bidi stream ended: %q", errs)
		}
	})

	screenshot(ctx, t, "playground.png")

	t.Run("ServerGone", func(t *testing.T) {
		stopServer()
		run(ctx, t, "GetUser with the server gone", setField("GetUser", "id", "1"), click("GetUser", "call"),
			waitFor(in("GetUser", `[data-role="status"][data-code="Unavailable"]`)))
		if banner := text(ctx, t, `#conn`); !strings.Contains(banner, "not answering") {
			t.Fatalf("banner with the server gone = %q", banner)
		}
	})
}

// callGetUserWhenReady makes every page the browser opens call GetUser for
// id 1 as soon as it is ready, and note in window.firstGetUserResult when
// the result entered the page, in ms since the navigation started. Its
// observers watch only what they wait for (the body's data-ready, then
// GetUser's list of responses), so the page measured does little for them.
func callGetUserWhenReady(ctx context.Context, t testing.TB) {
	t.Helper()
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		addEventListener("DOMContentLoaded", () => {
			const card = document.querySelector('[data-method="GetUser"]');
			const list = card.querySelector('[data-role="responses"]');
			const onShown = () => {
				if (list.querySelector('[data-role="response"]')) {
					shown.disconnect();
					window.firstGetUserResult = performance.now();
				}
			};
			const onReady = () => {
				if (document.body.dataset.ready === "true") {
					ready.disconnect();
					card.querySelector('[name="id"]').value = "1";
					card.querySelector('[data-action="call"]').click();
				}
			};
			const shown = new MutationObserver(onShown), ready = new MutationObserver(onReady);
			shown.observe(list, {childList: true});
			ready.observe(document.body, {attributes: true, attributeFilter: ["data-ready"]});
			onReady();
		});`})
	if err != nil {
		t.Fatalf("install the page-load script: %v", err)
	}
}

// screenshot saves the page where a person can look at it: .tmp/screenshots
// at the repository's root (git-ignored).
func screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("..", ".tmp", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// assetsWithout is the page's assets less those whose names start with
// one of prefixes.
func assetsWithout(t *testing.T, prefixes ...string) fstest.MapFS {
	t.Helper()
	assets := fstest.MapFS{}
	err := fs.WalkDir(static.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			return err
		}
		b, err := fs.ReadFile(static.FS, name)
		assets[name] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return assets
}

// TestPlaygroundWithoutWasmGz serves the page without main.wasm.gz, the
// file the page fetches and inflates itself: it must fall back to
// main.wasm, and work.
func TestPlaygroundWithoutWasmGz(t *testing.T) {
	ts := servertest.Start(t, server.Config{Assets: assetsWithout(t, "wasm/main.wasm.gz")})
	ctx := browser(t)
	run(ctx, t, "load the page and call GetUser", chromedp.Navigate(ts.URL+"/"),
		waitFor(`body[data-ready="true"]`), setField("GetUser", "id", "1"), click("GetUser", "call"),
		waitFor(in("GetUser", `[data-role="response"][data-user-id="1"]`)))
}

// TestPlaygroundWithoutWasm serves the page without main.wasm: the page
// must say plainly that the Go client could not start.
func TestPlaygroundWithoutWasm(t *testing.T) {
	ts := servertest.Start(t, server.Config{Assets: assetsWithout(t, "wasm/main.wasm")})
	ctx := browser(t)
	run(ctx, t, "load the page", chromedp.Navigate(ts.URL+"/"),
		waitFor(`body[data-ready="error"]`))
	if banner := text(ctx, t, `#conn`); !strings.Contains(banner, "could not start") {
		t.Fatalf("banner without main.wasm = %q", banner)
	}
	if n := count(ctx, t, `[data-action]:not([disabled])`); n != 0 {
		t.Fatalf("%d buttons enabled with no client to run them", n)
	}
}

// BenchmarkPageLoad measures the time from navigation to the first GetUser
// result on a cold cache (a new browser profile each time), on the page's
// own clock, with the built binary (PLAYGROUND_BIN, which `make bench`
// sets) serving in its own process: loadsPerRun loads, each after a load
// of the bare wasm page, and their medians (reportLoadVsBare).
func BenchmarkPageLoad(b *testing.B) {
	bin := os.Getenv("PLAYGROUND_BIN")
	if bin == "" {
		b.Fatal("PLAYGROUND_BIN must name the built playground binary: run `make bench`")
	}
	url, bare := startBinary(b, bin), bareWasmPage(b)
	reportLoadVsBare(b, bare, func(ctx context.Context) float64 {
		callGetUserWhenReady(ctx, b)
		whenSet(ctx, b, "firstGetUserResult")
		run(ctx, b, "load the page and call GetUser", chromedp.Navigate(url), awaitSet("firstGetUserResult"),
			waitPresent(in("GetUser", `[data-role="response"][data-user-id="1"]`)))
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.firstGetUserResult`))
		if err != nil {
			b.Fatal(err)
		}
		return ms
	})
}

// startBinary runs the playground binary on a fresh store, with more
// flags when given, until the benchmark ends and returns its URL.
func startBinary(b testing.TB, bin string, flags ...string) string {
	b.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(b.TempDir(), "users.db")}, flags...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	ready := regexp.MustCompile(`url=(http://\S+)`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := ready.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return m[1] + "/"
		}
	}
	b.Fatalf("%s exited before it logged its URL", bin)
	return ""
}

// consoleLog keeps what Chromium's console says: the page's own messages,
// uncaught exceptions and the browser's log entries (network errors,
// WebSocket close errors among them).
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

// watchConsole starts keeping the console of the browser of ctx (chromedp
// enables the browser's log for every tab).
func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.lines = append(c.lines, m.Text)
			c.mu.Unlock()
		}
	}()
	return c
}

// matching returns the lines that hold part.
func (c *consoleLog) matching(part string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return out
}
