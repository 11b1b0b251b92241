package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// samples maps a benchmark's name (without "Benchmark" and the -GOMAXPROCS
// suffix) and a unit to the values of every count.
type samples map[string]map[string][]float64

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse reads `go test -bench` output.
func parse(r io.Reader) (samples, error) {
	s := samples{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			if s[m[1]] == nil {
				s[m[1]] = map[string][]float64{}
			}
			s[m[1]][fields[i+1]] = append(s[m[1]][fields[i+1]], v)
		}
	}
	return s, sc.Err()
}

// stat is a median and the largest distance of a sample from it, in percent.
type stat struct {
	median, spread float64
	n              int
}

func (s samples) stat(name, unit string) (stat, bool) {
	vs := slices.Clone(s[name][unit])
	if len(vs) == 0 {
		return stat{}, false
	}
	slices.Sort(vs)
	med := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	dev := max(med-vs[0], vs[len(vs)-1]-med)
	return stat{median: med, spread: 100 * dev / med, n: len(vs)}, true
}

// row is one line of the table: ours against a baseline, in one unit.
type row struct {
	what, ours, base, unit string
	// goal is the ratio ours/base to meet; higher says whether a ratio above
	// it is good (throughput) or bad (latency, cost).
	goal   float64
	higher bool
	// note, when set, stands in the goal column; with a goal of 1.0 beside
	// it, the ratio must not exceed the peer's own (see peerRatio).
	note string
	// baseUnit, when set, is the unit of base's figure (base may then be
	// ours itself: a benchmark that measured its baseline beside it), and
	// ratioUnit the unit of ours's own ratio to it, load by load, whose
	// median is the row's ratio instead of the medians' ratio.
	baseUnit, ratioUnit string
}

var rows = []row{
	{what: "unary GetUser latency: gRPC-Web over HTTP/1.1 vs native gRPC", ours: "Unary/grpcweb", base: "Unary/native", unit: "ns/op", goal: 1.05},
	{what: "unary GetUser latency: WebSocket bridge vs native gRPC", ours: "Unary/bridge", base: "Unary/native", unit: "ns/op", goal: 1.2},
	{what: "unary GetUser latency, gRPC-Web: metrics on (-metrics-addr) and tracing configured but not sampled (OTEL_TRACES_EXPORTER=otlp, OTEL_TRACES_SAMPLER=always_off) vs both off", ours: "Unary/grpcweb-observed", base: "Unary/grpcweb", unit: "ns/op", goal: 1.05},
	{what: "bidi round trip: WebSocket bridge vs native gRPC", ours: "BidiRoundTrip/bridge", base: "BidiRoundTrip/native", unit: "ns/op", goal: 1.0, note: "goal: at most the peer's ratio (next rows)"},
	{what: "peer: improbable-eng bidi round trip vs native gRPC", ours: "BidiRoundTrip/peer-bridge", base: "BidiRoundTrip/native", unit: "ns/op", note: "the peer's own ratio"},
	{what: "ours vs peer: bidi round trip over WebSockets", ours: "BidiRoundTrip/bridge", base: "BidiRoundTrip/peer-bridge", unit: "ns/op", goal: 0.7},
	{what: "ours vs peer: unary gRPC-Web", ours: "Unary/grpcweb", base: "Unary/peer-grpcweb", unit: "ns/op", goal: 1.0},
	{what: "ours vs peer: unary over WebSockets", ours: "Unary/bridge", base: "Unary/peer-bridge", unit: "ns/op", goal: 1.0},
	{what: "our native gRPC path (h2c) vs a plain grpc.Server.Serve", ours: "Unary/native", base: "Unary/native-plain", unit: "ns/op", goal: 1.1},
	{what: "engines: native unary on grpc-go's transport vs the protocol runtime on net/http's HTTP/2 (the port splitter stays while <= 0.85x)", ours: "Unary/native-plain", base: "Unary/native-runtime", unit: "ns/op", goal: 0.85},
	{what: "our native gRPC path over TLS vs a plain grpc.Server.Serve over TLS", ours: "Unary/native-tls", base: "Unary/native-plain-tls", unit: "ns/op", goal: 1.1},
	{what: "our native bidi round trip vs a plain grpc.Server.Serve", ours: "BidiRoundTrip/native", base: "BidiRoundTrip/native-plain", unit: "ns/op", goal: 1.1},
	{what: "front (-backend): native unary through it vs the backend direct", ours: "Unary/front-native", base: "Unary/native-plain", unit: "ns/op", goal: 1.3},
	{what: "front (-backend): gRPC-Web unary through it vs the backend direct (native)", ours: "Unary/front-grpcweb", base: "Unary/native-plain", unit: "ns/op", note: "for scale"},
	{what: "front (-backend) vs improbable-eng's grpcwebproxy: gRPC-Web unary", ours: "Unary/front-grpcweb", base: "Unary/proxy-grpcweb", unit: "ns/op", goal: 0.8},
	{what: "front (-backend): bidi round trip through the bridge vs the backend direct (native)", ours: "BidiRoundTrip/front-bridge", base: "BidiRoundTrip/native-plain", unit: "ns/op", note: "for scale"},
	{what: "front (-backend) vs improbable-eng's grpcwebproxy: bidi round trip over WebSockets", ours: "BidiRoundTrip/front-bridge", base: "BidiRoundTrip/proxy-bridge", unit: "ns/op", goal: 1.0},
	{what: "GetUsersByType throughput, 100,000 users: gRPC-Web vs native", ours: "ServerStream/grpcweb", base: "ServerStream/native", unit: "msgs/s", goal: 0.7, higher: true},
	{what: "CountAlreadyUsers throughput, 100,000 ids: bridge vs native", ours: "ClientStream/bridge", base: "ClientStream/native", unit: "msgs/s", goal: 0.7, higher: true},
	{what: "AddUser cost: 100,000 users stored vs 1,000", ours: "AddUser/100k", base: "AddUser/1k", unit: "ns/op", goal: 1.5},
	{what: "memory per idle bridged bidi stream (1,000 streams, server anonymous RSS)", ours: "IdleBridgeStreams", unit: "B/stream", goal: 16 << 10},
	{what: "unary GetUser latency: multiplexed WebSocket (grpc-mux.v1) vs native gRPC", ours: "Unary/mux", base: "Unary/native", unit: "ns/op", goal: 1.3},
	{what: "bidi round trip: multiplexed WebSocket vs the per-call bridge", ours: "BidiRoundTrip/mux", base: "BidiRoundTrip/bridge", unit: "ns/op", goal: 1.0},
	{what: "memory per idle muxed bidi stream (1,000 streams on one socket, server anonymous RSS)", ours: "IdleMuxStreams", unit: "B/stream", goal: 4 << 10},
	{what: "memory per idle native gRPC bidi stream on grpc-go's transport (1,000 streams, server anonymous RSS), for scale", ours: "IdleNativeStreams", base: "IdleMuxStreams", unit: "B/stream", note: "for scale"},
	{what: "200 concurrent GetUsersByType calls from one client over HTTP/1.1: one multiplexed socket vs gRPC-Web (a connection each; a browser runs 6 at a time)", ours: "ConcurrentServerStreams/mux", base: "ConcurrentServerStreams/grpcweb", unit: "ns/op", note: "stated, no goal"},
	{what: "200 server streams held open at once from one page over HTTP/1.1 (grpc.health Watch each, default client options), headless Chromium: from the first stream's start until all 200 have their first message (pinned to fetch, Chromium holds 6 at a time)", ours: "PageManyStreams", unit: "ms/op", note: "stated; goal: all 200 open at once (the benchmark fails otherwise)"},
	{what: "yardstick: navigation to a bare Go wasm program's first DOM change (a main that sets one node), cold cache, headless Chromium", ours: "BareWasm", unit: "ms/load", note: "the yardstick; the next two rows load it again before each of their loads"},
	{what: "navigation to first GetUser result vs the bare Go wasm program loaded just before it, cold cache, headless Chromium", ours: "PageLoad", base: "PageLoad", baseUnit: "bare-ms/load", ratioUnit: "x-bare", unit: "ms/load", goal: 2.2},
	{what: "navigation to the explorer listing every service's methods (reflection done) vs the bare Go wasm program loaded just before it, cold cache, headless Chromium", ours: "ExplorerLoad", base: "ExplorerLoad", baseUnit: "bare-ms/load", ratioUnit: "x-bare", unit: "ms/load", goal: 4.4},
	{what: "explorer: a 2,000-message server stream (about 700 bytes each) counted in full with its status, page vs grpcurl through the same front", ours: "StreamRender/page", base: "StreamRender/grpcurl", unit: "ms/stream", goal: 3.0},
	{what: "GetUser latency, 100,000 users: PostgreSQL store vs bbolt", ours: "Store/GetUser/postgres", base: "Store/GetUser/bbolt", unit: "ns/op", goal: 1.5},
	{what: "AddUser latency, 100,000 users: PostgreSQL store vs bbolt", ours: "Store/AddUser/postgres-100k", base: "AddUser/100k", unit: "ns/op", note: "stated, no goal"},
	{what: "AddUser cost on PostgreSQL: 100,000 users stored vs 1,000", ours: "Store/AddUser/postgres-100k", base: "Store/AddUser/postgres-1k", unit: "ns/op", goal: 1.5},
	{what: "GetUsersByType throughput, 100,000 users: PostgreSQL store vs bbolt", ours: "Store/ServerStream/postgres", base: "ServerStream/native", unit: "msgs/s", higher: true, note: "stated, no goal"},
	{what: "unary GetUser latency, gRPC-Web: generated client on grpcconn vs our client's Invoke", ours: "GRPCConn/adapter", base: "GRPCConn/invoke", unit: "ns/op", goal: 1.05},
}

// extra is a figure that does not come from the benchmarks.
type extra struct{ what, value, goal, verdict string }

func extras(wasm string) []extra {
	var out []extra
	if wasm == "" {
		return out
	}
	size := func(name string) (raw, gz, zst int64, ok bool) {
		r, err1 := os.Stat(name)
		g, err2 := os.Stat(name + ".gz")
		z, err3 := os.Stat(name + ".zst")
		if err1 != nil || err2 != nil || err3 != nil {
			return 0, 0, 0, false
		}
		return r.Size(), g.Size(), z.Size(), true
	}
	if raw, gz, zst, ok := size(wasm); ok {
		out = append(out, extra{"main.wasm size (the cards and the banner)", fmt.Sprintf("%.2f MB raw, %.2f MB gzip, %.2f MB zstd", mb(raw), mb(gz), mb(zst)), "<= 2.00 MB gzip (make wasm-size fails over it)", verdict(mb(gz) <= 2.0)})
	}
	if raw, gz, zst, ok := size(filepath.Join(filepath.Dir(wasm), "explorer.wasm")); ok {
		out = append(out, extra{"explorer.wasm size (loaded when the explorer is first shown)", fmt.Sprintf("%.2f MB raw, %.2f MB gzip, %.2f MB zstd", mb(raw), mb(gz), mb(zst)), "stated, no goal", ""})
	}
	return out
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// render prints the table in Markdown.
func render(w io.Writer, s samples, ex []extra) {
	fmt.Fprintln(w, "| what | ours (median ± spread) | baseline (median ± spread) | ratio | goal | verdict |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		o, ok := s.stat(r.ours, r.unit)
		if !ok {
			fmt.Fprintf(w, "| %s | not measured | | | | |\n", r.what)
			continue
		}
		if r.base == "" && r.note != "" {
			fmt.Fprintf(w, "| %s | %s | | | %s | |\n", r.what, format(o, r.unit), r.note)
			continue
		}
		if r.base == "" {
			fmt.Fprintf(w, "| %s | %s | | | <= %s | %s |\n", r.what, format(o, r.unit), human(r.goal, r.unit), verdict(o.median <= r.goal))
			continue
		}
		baseUnit := r.unit
		if r.baseUnit != "" {
			baseUnit = r.baseUnit
		}
		b, ok := s.stat(r.base, baseUnit)
		if !ok {
			fmt.Fprintf(w, "| %s | %s | not measured | | | |\n", r.what, format(o, r.unit))
			continue
		}
		ratio := o.median / b.median
		if rs, ok := s.stat(r.ours, r.ratioUnit); ok && r.ratioUnit != "" {
			ratio = rs.median
		}
		goal, v := "", ""
		switch {
		case r.note != "" && r.goal == 0:
			goal = r.note
		case r.note != "":
			goal, v = r.note, verdict(ratio <= peerRatio(s))
		case r.higher:
			goal, v = fmt.Sprintf(">= %.2fx", r.goal), verdict(ratio >= r.goal)
		default:
			goal, v = fmt.Sprintf("<= %.2fx", r.goal), verdict(ratio <= r.goal)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2fx | %s | %s |\n", r.what, format(o, r.unit), format(b, r.unit), ratio, goal, v)
	}
	for _, e := range ex {
		fmt.Fprintf(w, "| %s | %s | | | %s | %s |\n", e.what, e.value, e.goal, e.verdict)
	}
}

// peerRatio is the peer's bidi round trip over native gRPC's, the goal of ours.
func peerRatio(s samples) float64 {
	p, ok1 := s.stat("BidiRoundTrip/peer-bridge", "ns/op")
	n, ok2 := s.stat("BidiRoundTrip/native", "ns/op")
	if !ok1 || !ok2 {
		return 0
	}
	return p.median / n.median
}

func format(st stat, unit string) string {
	return fmt.Sprintf("%s ± %.0f%%", human(st.median, unit), st.spread)
}

func human(v float64, unit string) string {
	switch unit {
	case "ns/op":
		if v >= 1e6 {
			return fmt.Sprintf("%.2f ms", v/1e6)
		}
		return fmt.Sprintf("%.1f µs", v/1e3)
	case "msgs/s":
		return fmt.Sprintf("%.0fk msgs/s", v/1e3)
	case "B/stream":
		return fmt.Sprintf("%.1f KiB/stream", v/1024)
	case "ms/load", "bare-ms/load", "ms/stream", "ms/op":
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}
