package explorer

import (
	"strings"
)

// ProtoCompilerURL is where the page's .proto compiler is served, relative
// to the page: wasm/protocompiler, which `make wasm` builds beside main.wasm.
const ProtoCompilerURL = "wasm/protocompiler.wasm"

// CompileError is what .proto sources that do not compile give: the
// compiler's messages, "file:line:col: message", a missing import as
// "acme/orders.proto:3:8: acme/shared.proto was not among the files given,
// needed by acme/orders.proto".
type CompileError struct {
	Messages []string
}

func (e *CompileError) Error() string { return strings.Join(e.Messages, "\n") }
