package static_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/servertest"
)

// manyStreams is how many server streams the page opens at once.
const manyStreams = 200

// manyStreamsOutcome is what static/internal/manystreams reports.
type manyStreamsOutcome struct {
	Streams int      `json:"streams"`
	Reached int      `json:"reached"`
	MS      float64  `json:"ms"`
	Drained int      `json:"drained"`
	Errors  []string `json:"errors"`
}

// watchPeak counts the grpc.health.v1.Health/Watch calls in flight on the
// server, by protocol, and the most there were at once.
type watchPeak struct {
	mu        sync.Mutex
	open      int
	peak      int
	protocols map[string]int
}

func (w *watchPeak) interceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.FullMethod != "/grpc.health.v1.Health/Watch" {
		return h(srv, ss)
	}
	w.mu.Lock()
	w.open++
	w.peak = max(w.peak, w.open)
	w.protocols[grpchttp.Protocol(ss.Context())]++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.open--
		w.mu.Unlock()
	}()
	return h(srv, ss)
}

// manyStreamsPage builds static/internal/manystreams and serves it, with
// wasm_exec.js and a page that runs it, from a playground server
// (server.Config.Assets) over plain HTTP/1.1, as Chromium fetches from an
// http:// server. It returns the page's URL and the server's count of
// Watch calls.
func manyStreamsPage(tb testing.TB) (string, *watchPeak) {
	tb.Helper()
	wasm, execJS := buildWasmProgram(tb, "./internal/manystreams")
	const page = `<!doctype html><html><head><meta charset="utf-8"><title>many streams</title>
<script src="wasm_exec.js"></script>
<script>const go = new Go();
WebAssembly.instantiateStreaming(fetch("many.wasm"), go.importObject).then(r => go.run(r.instance));</script>
</head><body><p id="out">running</p></body></html>`
	assets := fstest.MapFS{
		"index.html":   {Data: []byte(page)},
		"wasm_exec.js": {Data: execJS},
		"many.wasm":    {Data: wasm},
	}
	w := &watchPeak{protocols: map[string]int{}}
	ts := servertest.Start(tb, server.Config{Assets: assets, StreamInterceptors: []grpc.StreamServerInterceptor{w.interceptor}})
	return ts.URL + "/", w
}

// runManyStreams loads the page with query and returns its outcome,
// within timeout.
func runManyStreams(ctx context.Context, tb testing.TB, url, query string, timeout time.Duration) manyStreamsOutcome {
	tb.Helper()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(url+"?"+query), waitJS(`window.manyStreams`)); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#out")))
		tb.Fatalf("the page with %s: %v; it shows %q", query, err, page)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.manyStreams)`))
	if err != nil {
		tb.Fatal(err)
	}
	var o manyStreamsOutcome
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		tb.Fatalf("the page's outcome %q: %v", raw, err)
	}
	return o
}

// TestPageManyStreams: one page over HTTP/1.1 holds 200 server streams
// open at once, on the client's default options (the grpc-mux.v1
// socket). Each is a Health/Watch, which the server keeps open after its
// first message: all 200 read their first message and meet at a barrier,
// then are canceled. Pinned to gRPC-Web over fetch (MultiplexNever), the
// same page gets no more than Chromium's 6 connections per host: fewer
// than 200 reach the barrier before it gives up, which shows the test can
// fail.
func TestPageManyStreams(t *testing.T) {
	url, watches := manyStreamsPage(t)
	ctx := browser(t)

	t.Run("mux", func(t *testing.T) {
		o := runManyStreams(ctx, t, url, "streams="+strconv.Itoa(manyStreams), 2*time.Minute)
		t.Logf("outcome: %+v", o)
		if o.Reached != manyStreams || o.Drained != manyStreams || len(o.Errors) > 0 {
			t.Fatalf("%d of %d streams open at once, %d canceled cleanly, errors %q; want all", o.Reached, manyStreams, o.Drained, o.Errors)
		}
		watches.mu.Lock()
		peak, protocols := watches.peak, watches.protocols
		watches.mu.Unlock()
		if peak != manyStreams || protocols[grpchttp.ProtocolMux] != manyStreams {
			t.Fatalf("the server saw at most %d Watch calls at once, by protocol %v; want %d at once, all over %s", peak, protocols, manyStreams, grpchttp.ProtocolMux)
		}
	})

	t.Run("fetch", func(t *testing.T) {
		// The barrier gives up after 3 s: with 6 streams holding
		// Chromium's 6 connections, the others never start however long
		// it waits.
		o := runManyStreams(ctx, t, url, "streams="+strconv.Itoa(manyStreams)+"&mux=never&wait=3000", time.Minute)
		t.Logf("outcome: %+v", o)
		if o.Reached >= manyStreams || len(o.Errors) > 0 {
			t.Fatalf("pinned to fetch, %d of %d streams open at once, errors %q; want fewer (Chromium's 6 per host)", o.Reached, manyStreams, o.Errors)
		}
		if o.Drained != o.Reached {
			t.Fatalf("pinned to fetch, %d streams open, %d canceled cleanly", o.Reached, o.Drained)
		}
	})
}

// BenchmarkPageManyStreams measures, on the page's clock, the time from
// the first of 200 server streams started from one page over HTTP/1.1
// until all 200 have their first message (see TestPageManyStreams), on
// the client's default options, after one run that is not measured; it
// fails unless all 200 were open at once.
func BenchmarkPageManyStreams(b *testing.B) {
	url, _ := manyStreamsPage(b)
	ctx := browser(b)
	runManyStreams(ctx, b, url, "streams="+strconv.Itoa(manyStreams), 2*time.Minute) // unmeasured: V8 compiles the client's hot code on its first use
	var total float64
	for b.Loop() {
		o := runManyStreams(ctx, b, url, "streams="+strconv.Itoa(manyStreams), 2*time.Minute)
		if o.Reached != manyStreams || len(o.Errors) > 0 {
			b.Fatalf("%d of %d streams open at once, errors %q", o.Reached, manyStreams, o.Errors)
		}
		total += o.MS
	}
	b.ReportMetric(total/float64(b.N), "ms/op")
}
