package static_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/grpcplay/playground/server/servertest/explorertest"
	"github.com/grpcplay/playground/static"
	"github.com/grpcplay/playground/static/internal/zstdfile"
)

// buildWasmProgram builds the Go program pkg (a path under static/) for
// the browser, with the build flags given, and returns it with the
// toolchain's wasm_exec.js.
func buildWasmProgram(tb testing.TB, pkg string, flags ...string) (wasm, execJS []byte) {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "prog.wasm")
	args := append(append([]string{"build", "-trimpath"}, flags...), "-o", out, pkg)
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	execJS, err = os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		tb.Fatal(err)
	}
	return wasm, execJS
}

// bareWasmPage builds the yardstick, a Go program whose main sets one DOM
// node (static/internal/barewasm), with main.wasm's build flags, and serves
// it as the playground serves main.wasm: gzip-compressed, with wasm_exec.js,
// from a page that compiles it while it downloads with index.html's own
// compileWasm (which fetches NAME.gz and inflates it in the page). It
// returns the page's URL.
func bareWasmPage(tb testing.TB) string {
	tb.Helper()
	return wasmProgramPage(tb, "./internal/barewasm")
}

// wasmProgramPage is bareWasmPage for the program pkg (a path under
// static/), which must set window.bareReady when it is done.
func wasmProgramPage(tb testing.TB, pkg string) string {
	tb.Helper()
	wasm, execJS := buildWasmProgram(tb, pkg, "-gcflags=all=-l", "-ldflags=-s -w")
	const page = `<!doctype html><html><head><meta charset="utf-8"><title>bare</title>
<script>%s
window.mainWasm = compileWasm("bare.wasm");</script>
<script src="wasm/wasm_exec.js" defer></script>
<script defer>addEventListener("DOMContentLoaded", () => { const go = new Go();
  window.mainWasm.then(m => { performance.mark("bare-compiled"); return WebAssembly.instantiate(m, go.importObject); })
    .then(i => { performance.mark("bare-instantiated"); go.run(i); }); });</script>
</head><body><p id="out">loading</p></body></html>`
	files := map[string]struct {
		ctype, encoding string
		body            []byte
	}{
		"/":                  {"text/html; charset=utf-8", "", []byte(fmt.Sprintf(page, compileWasmJS(tb)))},
		"/wasm/wasm_exec.js": {"text/javascript; charset=utf-8", "zstd", zstded(tb, execJS)}, // as the playground serves it to Chromium
		"/wasm/bare.wasm.gz": {"application/gzip", "", gzipped(tb, wasm)},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ctype)
		w.Header().Set("Cache-Control", "no-cache")
		if f.encoding != "" {
			w.Header().Set("Content-Encoding", f.encoding)
		}
		w.Write(f.body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/"
}

// compileWasmJS is the statement of index.html's first script that
// defines compileWasm, how the page fetches and compiles its programs.
func compileWasmJS(tb testing.TB) string {
	html, err := fs.ReadFile(static.FS, "index.html")
	if err != nil {
		tb.Fatal(err)
	}
	const start, end = "window.compileWasm = ", "\n  };\n"
	i := bytes.Index(html, []byte(start))
	j := bytes.Index(html[max(i, 0):], []byte(end))
	if i < 0 || j < 0 {
		tb.Fatalf("index.html defines no %s...%q", start, end)
	}
	return string(html[i : i+j+len(end)])
}

// gzipped is b compressed as make wasm compresses main.wasm.gz (gzip -9).
func gzipped(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(tb testing.TB, b []byte) []byte {
	z, err := zstdfile.Encode(b)
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

// loadsPerRun is how many cold loads each page-load benchmark makes per
// iteration; it reports their median. One load on a shared two-core
// machine varies by a third from the next.
const loadsPerRun = 3

// reportMedianLoad runs load loadsPerRun times per iteration, each in a
// browser of its own (a cold cache), and reports the median of the times
// load returns, in ms.
func reportMedianLoad(b *testing.B, load func(ctx context.Context) float64) {
	var times []float64
	for b.Loop() {
		for range loadsPerRun {
			times = append(times, coldLoad(b, load))
		}
	}
	b.ReportMetric(median(times), "ms/load")
}

// reportLoadVsBare is reportMedianLoad for a page measured against the
// yardstick: each of its loads follows a load of the bare wasm page (bare,
// from bareWasmPage), and it reports, besides the page's median (ms/load),
// the median of the bare loads (bare-ms/load) and the median of the
// page's time over the bare load just before it (x-bare). A pair's two
// loads are seconds apart, so a burst of load from the machine's other
// work falls on both or on neither; `make bench` takes x-bare for the ratio.
func reportLoadVsBare(b *testing.B, bare string, load func(ctx context.Context) float64) {
	var times, bareTimes, ratios []float64
	for b.Loop() {
		for range loadsPerRun {
			bt := coldLoad(b, func(ctx context.Context) float64 { return loadBare(ctx, b, bare) })
			t := coldLoad(b, load)
			times, bareTimes, ratios = append(times, t), append(bareTimes, bt), append(ratios, t/bt)
		}
	}
	b.ReportMetric(median(times), "ms/load")
	b.ReportMetric(median(bareTimes), "bare-ms/load")
	b.ReportMetric(median(ratios), "x-bare")
}

// coldLoad runs load in a browser of its own (a new profile: a cold cache).
func coldLoad(b *testing.B, load func(ctx context.Context) float64) float64 {
	ctx := browser(b)
	defer chromedp.Cancel(ctx)
	return load(ctx)
}

func median(vs []float64) float64 {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// loadBare loads the bare wasm page at url and returns the time from
// navigation to its DOM change, on the page's clock.
func loadBare(ctx context.Context, b *testing.B, url string) float64 {
	whenSet(ctx, b, "bareReady")
	run(ctx, b, "load the bare page", chromedp.Navigate(url), awaitSet("bareReady"))
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.bareReady`))
	if err != nil {
		b.Fatal(err)
	}
	return ms
}

// BenchmarkBareWasm is the yardstick of the page-load benchmarks: from
// navigation to a Go program's first DOM change, on a cold cache (a new
// browser profile each time), on the page's own clock.
func BenchmarkBareWasm(b *testing.B) {
	url := bareWasmPage(b)
	reportMedianLoad(b, func(ctx context.Context) float64 { return loadBare(ctx, b, url) })
}

// BenchmarkProtobufLinkCost measures the yardstick with protobuf-go linked
// (static/internal/barewasmproto: one message marshaled and unmarshaled)
// against the yardstick itself, loaded just before each of its loads: what
// protobuf-go alone costs a page's load, the floor of any page that links
// it. Not in `make bench`: it measures a choice, not the page.
func BenchmarkProtobufLinkCost(b *testing.B) {
	bare, withProto := bareWasmPage(b), wasmProgramPage(b, "./internal/barewasmproto")
	reportLoadVsBare(b, bare, func(ctx context.Context) float64 { return loadBare(ctx, b, withProto) })
}

// streamRequest is the stream both sides of BenchmarkStreamRender ask
// for: 2,000 messages of about 700 bytes.
const streamRequest = `{"count":2000,"size":700}`

// BenchmarkStreamRender compares the explorer with grpcurl on the same
// call through the same front (the built binary with -backend before the
// rich backend): a server stream of 2,000 messages of about 700 bytes.
// The page's time runs from the click on Call to the status on the page,
// every message counted (data-count), after one call of the same stream
// that is not measured (V8 compiles a program's hot code on its first
// use, as grpcurl's was compiled before it ran); grpcurl's is its whole
// run, from start to exit, every message printed.
func BenchmarkStreamRender(b *testing.B) {
	bin := os.Getenv("PLAYGROUND_BIN")
	if bin == "" {
		b.Fatal("PLAYGROUND_BIN must name the built playground binary: run `make bench`")
	}
	backend := explorertest.StartRich(b)
	url := startBinary(b, bin, "-backend", backend.Addr)
	b.Run("page", func(b *testing.B) {
		ctx := browser(b)
		link := url + "#explorer?method=/rich.v1.Editions/Stream&request=" + strings.NewReplacer("{", "%7B", "}", "%7D", `"`, "%22", ",", "%2C").Replace(streamRequest)
		run(ctx, b, "open the explorer on the stream", chromedp.Navigate(link), schemaReady(),
			waitJS(`document.querySelector('[data-explorer] select[name="method"]').value === "/rich.v1.Editions/Stream"`))
		call := chromedp.Evaluate[float64](`new Promise((resolve, reject) => {
				const x = document.querySelector("[data-explorer]");
				const status = x.querySelector('[data-role="status"]');
				const obs = new MutationObserver(() => {
					if (status.dataset.code) {
						obs.disconnect();
						const count = x.querySelector('[data-role="responses"]').dataset.count;
						if (status.dataset.code !== "OK" || count !== "2000") reject(new Error(status.dataset.code + " after " + count));
						else resolve(performance.now() - start);
					}
				});
				obs.observe(status, {attributes: true});
				const start = performance.now();
				x.querySelector('[data-action="call"]').click();
			})`, chromedp.EvalAwaitPromise)
		if _, err := chromedp.Run(ctx, call); err != nil {
			b.Fatal(err)
		}
		var total float64
		for b.Loop() {
			ms, err := chromedp.Run(ctx, call)
			if err != nil {
				b.Fatal(err)
			}
			total += ms
		}
		b.ReportMetric(total/float64(b.N), "ms/stream")
	})
	b.Run("grpcurl", func(b *testing.B) {
		grpcurl := buildGrpcurl(b)
		target := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
		var total float64
		for b.Loop() {
			start := time.Now()
			out, err := exec.Command(grpcurl, "-plaintext", "-d", streamRequest, target, "rich.v1.Editions/Stream").Output()
			d := time.Since(start)
			if err != nil || !strings.Contains(string(out), `"index": 2000`) {
				b.Fatalf("grpcurl: %v (%d bytes out)", err, len(out))
			}
			total += float64(d.Microseconds()) / 1000
		}
		b.ReportMetric(total/float64(b.N), "ms/stream")
	})
}

// buildGrpcurl builds the pinned grpcurl (proto/tools/go.mod) once.
func buildGrpcurl(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "grpcurl")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "github.com/fullstorydev/grpcurl/cmd/grpcurl")
	cmd.Dir = "../proto/tools"
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build grpcurl: %v\n%s", err, out)
	}
	return bin
}
