package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grpcplay/playground/server/servertest/routeguidetest"
)

// grpcurlTool returns the path of the grpcurl that proto/tools/go.mod
// pins, built (once, into Go's build cache) by go tool -n.
func grpcurlTool(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "tool", "-modfile=../../proto/tools/go.mod", "-n", "grpcurl")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool -n grpcurl: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// runGrpcurl runs grpcurl, cleartext, with args and returns its output.
func runGrpcurl(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-plaintext", "-max-time", "20"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestBinarySchemaFiles: before grpc-go's route_guide example, which
// registers no reflection, the built binary given its schema, as
// -proto with -import-path or as -protoset, answers reflection from it:
// grpcurl lists, describes and calls the backend through the front
// (unary, server streaming and bidi), as it cannot the backend itself.
func TestBinarySchemaFiles(t *testing.T) {
	backend := routeguidetest.Start(t)
	grpcurl := grpcurlTool(t)
	if out, err := runGrpcurl(t, grpcurl, backend, "list"); err == nil {
		t.Fatalf("grpcurl lists the backend itself: it has reflection:\n%s", out)
	}
	bin := buildPlayground(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"proto", []string{"-proto", routeguidetest.ProtoFile, "-import-path", routeguidetest.ProtoDir(t)}},
		{"protoset", []string{"-protoset", routeguidetest.Protoset(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, bin, nil, append([]string{"-addr", "127.0.0.1:0", "-backend", backend}, tc.args...)...)
			p.waitLine(t, regexp.MustCompile(`schema from files.* services=`+regexp.QuoteMeta(routeguidetest.Service)))
			front := p.waitLine(t, readyLine)[1]

			out, err := runGrpcurl(t, grpcurl, front, "list")
			if err != nil || !strings.Contains(out, routeguidetest.Service+"\n") || !strings.Contains(out, "grpc.health.v1.Health\n") {
				t.Fatalf("grpcurl list: %v\n%s", err, out)
			}
			out, err = runGrpcurl(t, grpcurl, front, "describe", "routeguide.RouteGuide.RouteChat")
			if err != nil || !strings.Contains(out, "rpc RouteChat ( stream .routeguide.RouteNote ) returns ( stream .routeguide.RouteNote )") {
				t.Fatalf("grpcurl describe: %v\n%s", err, out)
			}
			out, err = runGrpcurl(t, grpcurl, "-d", `{"latitude": 407838351, "longitude": -746143763}`, front, "routeguide.RouteGuide/GetFeature")
			if err != nil || !strings.Contains(out, `"name": "`+routeguidetest.Features[0].GetName()+`"`) {
				t.Fatalf("grpcurl GetFeature: %v\n%s", err, out)
			}
			out, err = runGrpcurl(t, grpcurl, "-d", `{"lo": {"latitude": 400000000, "longitude": -750000000}, "hi": {"latitude": 420000000, "longitude": -740000000}}`,
				front, "routeguide.RouteGuide/ListFeatures")
			if err != nil || strings.Count(out, `"name": `) != len(routeguidetest.Features) {
				t.Fatalf("grpcurl ListFeatures: %v\n%s", err, out)
			}
			note := func(msg string) string {
				return `{"location": {"latitude": 7, "longitude": 7}, "message": "` + tc.name + " " + msg + `"}`
			}
			out, err = runGrpcurl(t, grpcurl, "-d", note("first")+note("second"), front, "routeguide.RouteGuide/RouteChat")
			if err != nil || !strings.Contains(out, `"message": "`+tc.name+` first"`) || strings.Contains(out, tc.name+" second") {
				t.Fatalf("grpcurl RouteChat: %v\n%s", err, out)
			}
		})
	}
}

// TestBinarySchemaFileErrors: schema files that do not load stop the
// start with exit code 1 and the compiler's file:line:col messages, each
// on a line of its own; before anything listens.
func TestBinarySchemaFileErrors(t *testing.T) {
	backend := routeguidetest.Start(t)
	bin := buildPlayground(t)
	dir := t.TempDir()
	writeFile(t, dir, "bad.proto", "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n")
	writeFile(t, dir, "unknown.proto", "syntax = \"proto3\";\nmessage B { Nope n = 1; }\n")
	writeFile(t, dir, "needs.proto", "syntax = \"proto3\";\nimport \"acme/shared.proto\";\n")
	notSet := writeFile(t, dir, "text.protoset", "not a descriptor set")
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the log; with their line breaks, for the compiler's lines
	}{
		{"syntax", []string{"-backend", backend, "-proto", "bad.proto", "-proto", "unknown.proto", "-import-path", dir},
			[]string{"playground: the schema files do not load:\nbad.proto:3:13: syntax error: unexpected ';', expecting int literal\nunknown.proto:2:13: field B.n: unknown type Nope\n"}},
		{"missing import", []string{"-backend", backend, "-proto", filepath.Join(dir, "needs.proto"), "-import-path", dir},
			[]string{"\nneeds.proto:2:8: acme/shared.proto was not found in the import paths (" + dir + "), needed by needs.proto\n"}},
		{"not a descriptor set", []string{"-backend", backend, "-protoset", notSet},
			[]string{"-protoset " + notSet + ": not a FileDescriptorSet"}},
		{"no backend", []string{"-proto", "bad.proto", "-import-path", dir},
			[]string{"-proto, -import-path and -protoset describe a backend's schema: they need -backend"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, bin, nil, append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "users.db")}, tc.args...)...)
			code := p.wait(t)
			log := p.log.String()
			if code != 1 || strings.Contains(log, "playground ready") {
				t.Fatalf("exit code %d; want 1, before it listens:\n%s", code, log)
			}
			for _, want := range tc.want {
				if !strings.Contains(log, want) {
					t.Errorf("the log lacks %q:\n%s", want, log)
				}
			}
		})
	}
}
