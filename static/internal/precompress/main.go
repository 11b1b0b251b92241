// Command precompress writes NAME.zst beside each file it is given, with
// zstd at its best compression: the page's largest assets (main.wasm,
// explorer.wasm) are served in the best encoding the browser accepts, and
// zstd both compresses WebAssembly better than gzip -9 and decompresses
// several times faster. `make wasm` runs it (gzip -9 writes NAME.gz for
// browsers without zstd).
//
//	go run ./static/internal/precompress static/wasm/main.wasm ...
package main

import (
	"fmt"
	"os"

	"github.com/grpcplay/playground/static/internal/zstdfile"
)

func main() {
	for _, name := range os.Args[1:] {
		if err := zstdfile.Write(name); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}
