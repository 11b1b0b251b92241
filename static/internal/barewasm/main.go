//go:build js && wasm

// Command barewasm is the yardstick of the page-load benchmarks: the least
// a Go program in the browser does, set one DOM node, built and loaded the
// way main.wasm is. `make bench` measures the playground's page against it
// in the same run, so the goals move with the machine.
package main

import "syscall/js"

func main() {
	out := js.Global().Get("document").Call("getElementById", "out")
	out.Set("textContent", "ready")
	js.Global().Set("bareReady", js.Global().Get("performance").Call("now"))
}
