package static_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// loadPhases are the steps of a cold load the page's timeline tells apart,
// each the time from the previous one (from navigation for the first):
// the wasm program's bytes fetched (its response's end), compiled (what
// compileStreaming still had to do after the last byte), instantiated,
// the Go runtime and package inits (to main's first line), main's own work
// until the page is ready, and, for the page, the first GetUser: until its
// fetch leaves, its round trip, and its result on the page.
var loadPhases = []string{"fetched", "compiled", "instantiated", "inits", "ready", "call-sent", "call-answered", "result-shown"}

// phasesJS reads the phases of the page's load, in ms since navigation,
// -1 for a step the page did not take. %s is the wasm program's file
// name, %s the prefix of its marks.
const phasesJS = `(() => {
	const res = performance.getEntriesByType("resource");
	const w = res.find(e => e.name.endsWith("/%[1]s") || e.name.endsWith("/%[1]s.gz"));
	const call = res.find(e => e.name.includes("/GetUser"));
	const mark = n => performance.getEntriesByName(n)[0]?.startTime ?? -1;
	return [w ? w.responseEnd : -1, mark("%[2]s-compiled"), mark("%[2]s-instantiated"),
		mark("%[3]s"), window.bareReady ?? mark("playground-ready"),
		call ? call.startTime : -1, call ? call.responseEnd : -1, window.firstGetUserResult ?? -1];
})()`

// BenchmarkLoadPhases splits the loads of BenchmarkPageLoad and of its
// yardstick into loadPhases, loadsPerRun pairs (bare page first) per
// iteration, and reports each phase's median, in ms, for both (bare- for
// the yardstick): where the page's time goes beyond the bare program's.
func BenchmarkLoadPhases(b *testing.B) {
	bin := os.Getenv("PLAYGROUND_BIN")
	if bin == "" {
		b.Fatal("PLAYGROUND_BIN must name the built playground binary: run `make bench`")
	}
	url, bare := startBinary(b, bin), bareWasmPage(b)
	read := func(ctx context.Context, js string) []float64 {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js))
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	var page, yard [][]float64
	for b.Loop() {
		for range loadsPerRun {
			yard = append(yard, steps(coldLoadValues(b, func(ctx context.Context) []float64 {
				loadBare(ctx, b, bare)
				return read(ctx, fmt.Sprintf(phasesJS, "bare.wasm", "bare", "bare-none"))
			})))
			page = append(page, steps(coldLoadValues(b, func(ctx context.Context) []float64 {
				callGetUserWhenReady(ctx, b)
				whenSet(ctx, b, "firstGetUserResult")
				run(ctx, b, "load the page and call GetUser", chromedp.Navigate(url), awaitSet("firstGetUserResult"),
					waitPresent(in("GetUser", `[data-role="response"][data-user-id="1"]`)))
				return read(ctx, fmt.Sprintf(phasesJS, "main.wasm", "playground-wasm", "playground-main"))
			})))
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-14s %8s %8s\n", "phase (ms)", "page", "bare")
	for i, name := range loadPhases {
		p, y := median(column(page, i)), median(column(yard, i))
		fmt.Fprintf(&table, "%-14s %8.1f %8.1f\n", name, p, y)
		b.ReportMetric(p, name+"-ms")
		if y >= 0 {
			b.ReportMetric(y, "bare-"+name+"-ms")
		}
	}
	b.Logf("medians of %d loads each:\n%s", len(page), table.String())
}

// coldLoadValues is coldLoad for a load that returns several values.
func coldLoadValues(b *testing.B, load func(ctx context.Context) []float64) []float64 {
	ctx := browser(b)
	defer chromedp.Cancel(ctx)
	return load(ctx)
}

// steps turns times since navigation into the time of each step since the
// last step taken (-1 stays -1).
func steps(at []float64) []float64 {
	out := make([]float64, len(at))
	last := 0.0
	for i, t := range at {
		if t < 0 {
			out[i] = -1
			continue
		}
		out[i], last = t-last, t
	}
	return out
}

func column(rows [][]float64, i int) []float64 {
	col := make([]float64, len(rows))
	for j, r := range rows {
		col[j] = r[i]
	}
	return col
}
