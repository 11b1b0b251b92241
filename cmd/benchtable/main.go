// Command benchtable turns the output of the playground's Go benchmarks
// (`go test -bench -count N`) into the one table `make bench` prints: each
// figure's median and spread over the counts, next to its baseline from the
// same run, as a ratio, with the goal and whether it is met.
//
//	go test -bench . -count 5 ./cmd/playground | benchtable -wasm static/wasm/main.wasm
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	wasm := flag.String("wasm", "", "main.wasm, whose raw and gzip (NAME.gz) sizes join the table")
	flag.Parse()
	var in io.Reader = os.Stdin
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	results, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	render(os.Stdout, results, extras(*wasm))
}
