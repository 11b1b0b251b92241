//go:build !js

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpcplay/playground/server/servertest/routeguidetest"
	"github.com/grpcplay/playground/wasm/explorer"
)

// runner loads the built program into Node with the toolchain's
// wasm_exec.js, as the page does, calls grpcplayCompileProtos with each
// case read from standard input, and prints the outcomes as JSON.
const runner = `
const fs = require("fs");
require(process.argv[2]);
(async () => {
  const go = new Go();
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(process.argv[3]), go.importObject);
  go.run(instance);
  if (typeof globalThis.grpcplayCompileProtos !== "function") throw new Error("grpcplayCompileProtos is not defined");
  const out = [];
  for (const c of JSON.parse(fs.readFileSync(0, "utf8"))) {
    try {
      const r = await globalThis.grpcplayCompileProtos(c);
      out.push(r.set ? { set: Buffer.from(r.set).toString("base64"), isBytes: r.set instanceof Uint8Array } : { errors: r.errors });
    } catch (e) {
      out.push({ rejected: String(e && e.message) });
    }
  }
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`

// outcome is what one call gave.
type outcome struct {
	Set      []byte   `json:"set"`
	IsBytes  bool     `json:"isBytes"`
	Errors   []string `json:"errors"`
	Rejected string   `json:"rejected"`
}

// compileUnderNode builds the program for GOOS=js as make wasm does, and
// runs each case through it under Node.
func compileUnderNode(t *testing.T, cases []any) []outcome {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the program for GOOS=js and runs it under Node; not in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run the wasm program: %v", err)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "protocompiler.wasm")
	build := exec.Command("go", "build", "-trimpath", "-gcflags=all=-l", "-ldflags=-s -w", "-o", wasm, ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	script := filepath.Join(dir, "run.js")
	if err := os.WriteFile(script, []byte(runner), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"), wasm)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got []outcome
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("node printed %q (%v)", out, err)
	}
	return got
}

// TestUnderNode runs the built compiler as the page does: .proto files
// importing one another and well-known files, grpc-go's route_guide
// (edition 2023), become a set the explorer builds its schema from; files
// with errors give the compiler's messages, each with its place; a missing
// import is named with the file that needs it; a bad argument rejects.
func TestUnderNode(t *testing.T) {
	routeGuide, err := os.ReadFile(filepath.Join(routeguidetest.ProtoDir(t), routeguidetest.ProtoFile))
	if err != nil {
		t.Fatal(err)
	}
	orders := "edition = \"2023\";\npackage acme;\nimport \"acme/shared.proto\";\nservice Orders { rpc Get(Order) returns (Order); }\nmessage Order { string id = 1; Money total = 2; }\n"
	shared := "syntax = \"proto3\";\npackage acme;\nimport \"google/protobuf/timestamp.proto\";\nmessage Money { int64 cents = 1; google.protobuf.Timestamp at = 2; }\n"
	got := compileUnderNode(t, []any{
		map[string]string{"acme/orders.proto": orders, "acme/shared.proto": shared},
		map[string]string{"route_guide.proto": string(routeGuide)},
		map[string]string{
			"b.proto": "syntax = \"proto3\";\nmessage B { Nope n = 1; }\n",
			"a.proto": "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n",
		},
		map[string]string{"acme/orders.proto": orders},
		42,
		map[string]any{"a.proto": 7},
		map[string]string{},
	})

	for i, want := range []struct {
		service string
		methods int
	}{{"acme.Orders", 1}, {routeguidetest.Service, 4}} {
		if got[i].Set == nil || !got[i].IsBytes {
			t.Fatalf("case %d: %+v; want a set, as a Uint8Array", i, got[i])
		}
		s, err := explorer.FromDescriptorSet(got[i].Set, "the files given")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Problems) != 0 || len(s.Services) != 1 || s.Services[0].Name != want.service || len(s.Services[0].Methods) != want.methods {
			t.Fatalf("case %d: schema %+v, problems %q", i, s.Services, s.Problems)
		}
	}
	for i, want := range map[int][]string{
		2: {
			"a.proto:3:13: syntax error: unexpected ';', expecting int literal",
			"b.proto:2:13: field B.n: unknown type Nope",
		},
		3: {"acme/orders.proto:3:8: acme/shared.proto was not among the files given, needed by acme/orders.proto"},
	} {
		if !slices.Equal(got[i].Errors, want) || got[i].Set != nil {
			t.Errorf("case %d: %+v; want errors %q", i, got[i], want)
		}
	}
	for i, want := range map[int]string{
		4: "grpcplayCompileProtos takes one object: {name: text}",
		5: "grpcplayCompileProtos: the text of a.proto is not a string",
		6: "grpcplayCompileProtos: no file given",
	} {
		if got[i].Rejected != want {
			t.Errorf("case %d: %+v; want a rejection %q", i, got[i], want)
		}
	}
}
