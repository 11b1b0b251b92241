package static_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/chromedp/chromedp"
)

// bareWasmPage builds the yardstick, a Go program whose main sets one DOM
// node (static/internal/barewasm), with main.wasm's build flags, and serves
// it as the playground serves main.wasm (precompressed, with wasm_exec.js
// and a page that compiles it while it downloads). It returns the page's URL.
func bareWasmPage(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	out := filepath.Join(dir, "bare.wasm")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-gcflags=all=-l", "-ldflags=-s -w", "-o", out, "./internal/barewasm")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build the bare wasm program: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	execJS, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		tb.Fatal(err)
	}
	const page = `<!doctype html><html><head><meta charset="utf-8"><title>bare</title>
<script>window.mainWasm = WebAssembly.compileStreaming(fetch("bare.wasm"));</script>
<script src="wasm_exec.js" defer></script>
<script defer>addEventListener("DOMContentLoaded", () => { const go = new Go();
  window.mainWasm.then(m => WebAssembly.instantiate(m, go.importObject)).then(i => go.run(i)); });</script>
</head><body><p id="out">loading</p></body></html>`
	files := map[string]struct {
		ctype string
		body  []byte
	}{
		"/":             {"text/html; charset=utf-8", []byte(page)},
		"/wasm_exec.js": {"text/javascript; charset=utf-8", gzipped(tb, execJS)},
		"/bare.wasm":    {"application/wasm", gzipped(tb, wasm)},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ctype)
		w.Header().Set("Cache-Control", "no-cache")
		if r.URL.Path != "/" {
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Write(f.body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/"
}

func gzipped(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkBareWasm is the yardstick of the page-load benchmarks: from
// navigation to a Go program's first DOM change, on a cold cache (a new
// browser profile each time), on the page's own clock.
func BenchmarkBareWasm(b *testing.B) {
	url := bareWasmPage(b)
	var total float64
	for b.Loop() {
		ctx := browser(b)
		run(ctx, b, "load the bare page", chromedp.Navigate(url), waitJS(`window.bareReady > 0`))
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.bareReady`))
		if err != nil {
			b.Fatal(err)
		}
		total += ms
		chromedp.Cancel(ctx)
	}
	b.ReportMetric(total/float64(b.N), "ms/load")
}
