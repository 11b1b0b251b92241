package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkUnary/native-2         	   10000	    100000 ns/op	    5000 B/op
BenchmarkUnary/native-2         	   10000	    110000 ns/op	    5000 B/op
BenchmarkUnary/native-2         	   10000	     90000 ns/op	    5000 B/op
BenchmarkUnary/grpcweb-2        	   10000	    120000 ns/op
BenchmarkUnary/grpcweb-2        	   10000	    150000 ns/op
BenchmarkServerStream/native-2  	       5	 200000000 ns/op	    500000 msgs/s
BenchmarkServerStream/grpcweb-2 	       5	 400000000 ns/op	    250000 msgs/s
PASS
`

func TestParseAndStat(t *testing.T) {
	s, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	st, ok := s.stat("Unary/native", "ns/op")
	if !ok || st.median != 100000 || st.n != 3 || st.spread != 10 {
		t.Fatalf("stat(Unary/native) = %+v, %v; want median 100000, spread 10%%, n 3", st, ok)
	}
	if st, _ := s.stat("Unary/grpcweb", "ns/op"); st.median != 135000 {
		t.Fatalf("even-count median = %v; want 135000", st.median)
	}
	if _, ok := s.stat("Unary/bridge", "ns/op"); ok {
		t.Fatal("a benchmark that never ran has a stat")
	}
}

func TestRenderRatiosAndVerdicts(t *testing.T) {
	s, _ := parse(strings.NewReader(sample))
	var out bytes.Buffer
	render(&out, s, nil)
	table := out.String()
	for _, want := range []string{
		"| unary GetUser latency: gRPC-Web over HTTP/1.1 vs native gRPC | 135.0 µs ± 11% | 100.0 µs ± 10% | 1.35x | <= 1.05x | MISSED |",
		"| GetUsersByType throughput, 100,000 users: gRPC-Web vs native | 250k msgs/s ± 0% | 500k msgs/s ± 0% | 0.50x | >= 0.70x | MISSED |",
		"| unary GetUser latency: WebSocket bridge vs native gRPC | not measured |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestRenderRatiosToTheYardstick(t *testing.T) {
	s, _ := parse(strings.NewReader(`BenchmarkBareWasm-2   	1	1 ns/op	  140.0 ms/load
BenchmarkPageLoad-2   	1	1 ns/op	  280.0 ms/load	  140.0 bare-ms/load	  2.100 x-bare
BenchmarkPageLoad-2   	1	1 ns/op	  300.0 ms/load	  160.0 bare-ms/load	  1.900 x-bare
BenchmarkExplorerLoad-2   	1	1 ns/op	  700.0 ms/load	  140.0 bare-ms/load	  5.200 x-bare
BenchmarkStreamRender/page-2   	1	1 ns/op	  600.0 ms/stream
BenchmarkStreamRender/grpcurl-2   	1	1 ns/op	  250.0 ms/stream
`))
	var out bytes.Buffer
	render(&out, s, nil)
	table := out.String()
	for _, want := range []string{
		"| 140 ms ± 0% | | | the yardstick; the next two rows load it again before each of their loads | |",
		// The ratio is the median of each load's over the bare load before
		// it (2.00x), not the medians' ratio (290/150 = 1.93x).
		"vs the bare Go wasm program loaded just before it, cold cache, headless Chromium | 290 ms ± 3% | 150 ms ± 7% | 2.00x | <= 2.20x | met |",
		"(reflection done) vs the bare Go wasm program loaded just before it, cold cache, headless Chromium | 700 ms ± 0% | 140 ms ± 0% | 5.20x | <= 4.40x | MISSED |",
		"page vs grpcurl through the same front | 600 ms ± 0% | 250 ms ± 0% | 2.40x | <= 3.00x | met |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
