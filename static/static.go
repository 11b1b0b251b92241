// Package static embeds the playground page: index.html, style.css, the
// loader boot.js, and the wasm/ folder that `make wasm` fills with main.wasm
// (raw and gzipped) and the Go toolchain's wasm_exec.js.
package static

import "embed"

// FS holds the page assets, rooted at this folder.
//
//go:embed index.html style.css boot.js wasm
var FS embed.FS
