// Package static embeds the playground page: index.html, style.css, the
// loader boot.js, and the wasm/ folder that `make wasm` fills with main.wasm
// (the cards and the banner), explorer.wasm (the explorer, loaded when first
// shown) and the Go toolchain's wasm_exec.js, each raw and precompressed.
package static

import "embed"

// FS holds the page assets, rooted at this folder.
//
//go:embed index.html style.css boot.js wasm
var FS embed.FS
