package protosource_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcplay/playground/proto/protosource"
)

const shared = `syntax = "proto3";
package acme;
import "google/protobuf/timestamp.proto";
message Money { int64 cents = 1; google.protobuf.Timestamp at = 2; }
`

const orders = `edition = "2023";
package acme;
import "acme/shared.proto";
service Orders { rpc Get(Order) returns (Order); rpc Watch(Order) returns (stream Order); }
message Order { string id = 1; Money total = 2; }
`

func names(files []*descriptorpb.FileDescriptorProto) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.GetName())
	}
	return out
}

// TestCompile compiles files given as text that import one another and a
// well-known file, edition 2023 among them: every file comes after its
// imports, and protodesc builds the lot.
func TestCompile(t *testing.T) {
	files, err := protosource.Compile(context.Background(), []string{"acme/orders.proto"}, protosource.Options{
		Open: protosource.Texts(map[string]string{"acme/orders.proto": orders, "acme/shared.proto": shared}),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"google/protobuf/timestamp.proto", "acme/shared.proto", "acme/orders.proto"}
	if got := names(files); !slices.Equal(got, want) {
		t.Fatalf("files %q; want %q", got, want)
	}
	if files[2].GetEdition() != descriptorpb.Edition_EDITION_2023 {
		t.Errorf("orders.proto's edition %v", files[2].GetEdition())
	}
	if files[2].GetSourceCodeInfo() == nil {
		t.Error("no source info: describe would show no comments")
	}
	reg, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: files})
	if err != nil {
		t.Fatal(err)
	}
	d, err := reg.FindDescriptorByName("acme.Orders.Watch")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.ParentFile().Path(); got != "acme/orders.proto" {
		t.Errorf("acme.Orders.Watch in %s", got)
	}
}

// TestCompileErrors checks what a source that does not compile gives: the
// compiler's "file:line:col: message" for each error, sorted, in every
// file, and a missing import named with the file that needs it.
func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sources map[string]string
		compile []string
		want    []string
	}{
		{
			name:    "syntax",
			sources: map[string]string{"a.proto": "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n"},
			compile: []string{"a.proto"},
			want:    []string{"a.proto:3:13: syntax error: unexpected ';', expecting int literal"},
		},
		{
			name: "errors in two files, all of them, in order",
			sources: map[string]string{
				"b.proto": "syntax = \"proto3\";\nmessage B { Nope n = 1; }\nmessage C { Gone g = 1; }\n",
				"a.proto": "syntax = \"proto3\";\nmessage A { int32 x = 1; int32 y = 1; }\n",
			},
			compile: []string{"b.proto", "a.proto"},
			want: []string{
				`a.proto:2:36: message A: fields x and y both have the same tag 1`,
				`b.proto:2:13: field B.n: unknown type Nope`,
				`b.proto:3:13: field C.g: unknown type Gone`,
			},
		},
		{
			name:    "missing import",
			sources: map[string]string{"acme/orders.proto": orders},
			compile: []string{"acme/orders.proto"},
			want:    []string{"acme/orders.proto:3:8: acme/shared.proto was not among the files given, needed by acme/orders.proto"},
		},
		{
			name:    "missing file",
			sources: map[string]string{},
			compile: []string{"nowhere.proto"},
			want:    []string{"nowhere.proto was not among the files given"},
		},
		{
			name:    "import cycle",
			sources: map[string]string{"a.proto": "syntax = \"proto3\";\nimport \"b.proto\";\n", "b.proto": "syntax = \"proto3\";\nimport \"a.proto\";\n"},
			compile: []string{"a.proto"},
			want:    []string{`b.proto:2:8: cycle found in imports: "b.proto" -> "a.proto" -> "b.proto"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := protosource.Compile(context.Background(), tc.compile, protosource.Options{
				Open:    protosource.Texts(tc.sources),
				Missing: "was not among the files given",
			})
			var errs *protosource.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v (%T); want *Errors", err, err)
			}
			if !slices.Equal(errs.Messages, tc.want) || errs.Truncated {
				t.Fatalf("messages\n%s\nwant\n%s", strings.Join(errs.Messages, "\n"), strings.Join(tc.want, "\n"))
			}
			if err.Error() != strings.Join(tc.want, "\n") {
				t.Errorf("Error() %q", err.Error())
			}
		})
	}
}

// TestCompileErrorBound: a file with more errors than the bound gives the
// bound's worth, says it stopped, and the compiler does stop.
func TestCompileErrorBound(t *testing.T) {
	var src strings.Builder
	src.WriteString("syntax = \"proto3\";\n")
	for i := range 50 {
		fmt.Fprintf(&src, "message M%d { Unknown%d f = 1; }\n", i, i)
	}
	_, err := protosource.Compile(context.Background(), []string{"many.proto"}, protosource.Options{
		Open:      protosource.Texts(map[string]string{"many.proto": src.String()}),
		MaxErrors: 5,
	})
	var errs *protosource.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v; want *Errors", err)
	}
	if len(errs.Messages) != 5 || !errs.Truncated || !strings.HasSuffix(err.Error(), "(stopped after 5 errors)") {
		t.Fatalf("%d messages, truncated %v:\n%v", len(errs.Messages), errs.Truncated, err)
	}
	for _, m := range errs.Messages {
		if !strings.HasPrefix(m, "many.proto:") || !strings.Contains(m, "unknown type Unknown") {
			t.Errorf("message %q", m)
		}
	}
}

// TestDirs reads files under import paths on disk, the first path that has
// a name winning, as protoc's -I does.
func TestDirs(t *testing.T) {
	one, two := t.TempDir(), t.TempDir()
	write := func(dir, name, src string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(one, "acme/orders.proto", orders)
	write(two, "acme/shared.proto", shared)
	write(two, "acme/orders.proto", "this one is shadowed by the first import path")
	files, err := protosource.Compile(context.Background(), []string{"acme/orders.proto"}, protosource.Options{Open: protosource.Dirs([]string{one, two})})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(files); len(got) != 3 || got[2] != "acme/orders.proto" {
		t.Fatalf("files %q", got)
	}

	_, err = protosource.Compile(context.Background(), []string{"acme/orders.proto"}, protosource.Options{Open: protosource.Dirs([]string{one})})
	want := "acme/orders.proto:3:8: acme/shared.proto was not found, needed by acme/orders.proto"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v; want %q", err, want)
	}
}

// TestCompileCancelled: a compile whose context ended says so.
func TestCompileCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := protosource.Compile(ctx, []string{"acme/orders.proto"}, protosource.Options{
		Open: protosource.Texts(map[string]string{"acme/orders.proto": orders, "acme/shared.proto": shared}),
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v; want context.Canceled", err)
	}
}
