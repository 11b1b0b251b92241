// Package static embeds the playground page: index.html, its style, and the
// wasm/ folder that `make wasm` fills with main.wasm (raw and gzipped) and
// the Go toolchain's wasm_exec.js.
package static

import "embed"

// FS holds the page assets, rooted at this folder.
//
//go:embed index.html style.css wasm
var FS embed.FS
