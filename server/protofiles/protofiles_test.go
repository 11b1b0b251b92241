package protofiles_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcplay/playground/proto/protosource"
	"github.com/grpcplay/playground/server/protofiles"
	"github.com/grpcplay/playground/server/servertest/routeguidetest"
)

const shared = `syntax = "proto3";
package acme;
import "google/protobuf/timestamp.proto";
message Money { int64 cents = 1; google.protobuf.Timestamp at = 2; }
`

const orders = `edition = "2023";
package acme;
import "acme/shared.proto";
// Orders are a shop's orders.
service Orders { rpc Get(Order) returns (Order); }
message Order { string id = 1; Money total = 2; }
`

// tree writes files (name: text) under a new folder and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeSet writes a FileDescriptorSet of files and returns its path.
func writeSet(t *testing.T, files ...*descriptorpb.FileDescriptorProto) string {
	t.Helper()
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: files})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "set.binpb")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func compiled(t *testing.T) []*descriptorpb.FileDescriptorProto {
	t.Helper()
	files, err := protosource.Compile(context.Background(), []string{"acme/orders.proto"}, protosource.Options{
		Open: protosource.Texts(map[string]string{"acme/orders.proto": orders, "acme/shared.proto": shared}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func load(t *testing.T, s protofiles.Sources) []string {
	t.Helper()
	files, err := protofiles.Load(context.Background(), s)
	if err != nil {
		t.Fatalf("Load(%+v): %v", s, err)
	}
	if _, err := files.FindDescriptorByName("acme.Money"); err != nil && files.NumFilesByPackage("acme") > 0 {
		t.Errorf("acme.Money: %v", err)
	}
	return protofiles.ServiceNames(files)
}

// TestLoad loads the same schema every way the flags give it.
func TestLoad(t *testing.T) {
	dir := tree(t, map[string]string{"protos/acme/orders.proto": orders, "protos/acme/shared.proto": shared})
	protos := filepath.Join(dir, "protos")
	set := compiled(t) // timestamp.proto, shared.proto, orders.proto
	for _, tc := range []struct {
		name string
		s    protofiles.Sources
	}{
		{"a name under the import path", protofiles.Sources{Protos: []string{"acme/orders.proto"}, ImportPaths: []string{protos}}},
		{"a path under the import path", protofiles.Sources{Protos: []string{filepath.Join(protos, "acme", "orders.proto")}, ImportPaths: []string{protos}}},
		{"two files, one importing the other", protofiles.Sources{Protos: []string{"acme/orders.proto", "acme/shared.proto"}, ImportPaths: []string{t.TempDir(), protos}}},
		{"a descriptor set with its imports", protofiles.Sources{Protosets: []string{writeSet(t, set...)}}},
		{"a descriptor set without the well-known import", protofiles.Sources{Protosets: []string{writeSet(t, set[1:]...)}}},
		{"two descriptor sets", protofiles.Sources{Protosets: []string{writeSet(t, set[1]), writeSet(t, set[2])}}},
		{"a .proto and a descriptor set holding the same file", protofiles.Sources{
			Protos: []string{"acme/orders.proto"}, ImportPaths: []string{protos},
			Protosets: []string{writeSet(t, set...)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := load(t, tc.s); !slices.Equal(got, []string{"acme.Orders"}) {
				t.Fatalf("services %q", got)
			}
		})
	}

	t.Run("relative to the current directory", func(t *testing.T) {
		t.Chdir(protos)
		if got := load(t, protofiles.Sources{Protos: []string{"acme/orders.proto"}}); !slices.Equal(got, []string{"acme.Orders"}) {
			t.Fatalf("services %q", got)
		}
	})
}

// TestLoadErrors checks that what cannot load says why, naming the file.
func TestLoadErrors(t *testing.T) {
	dir := tree(t, map[string]string{
		"acme/orders.proto": orders,
		"acme/shared.proto": shared,
		"bad/bad.proto":     "syntax = \"proto3\";\nmessage A {\n  Nope n = 1;\n  int32 x = ;\n}\n",
	})
	set := compiled(t)
	other := proto.CloneOf(set[1])
	other.MessageType[0].Name = proto.String("Cash")
	notASet := filepath.Join(dir, "notaset.pb")
	if err := os.WriteFile(notASet, []byte("syntax = \"proto3\";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    protofiles.Sources
		want string
	}{
		{"a syntax error", protofiles.Sources{Protos: []string{"bad/bad.proto"}, ImportPaths: []string{dir}},
			"bad/bad.proto:4:13: syntax error: unexpected ';', expecting int literal"},
		{"a missing import", protofiles.Sources{Protos: []string{"orders.proto"}, ImportPaths: []string{filepath.Join(dir, "acme"), dir + "/none"}},
			"orders.proto:3:8: acme/shared.proto was not found in the import paths (" + filepath.Join(dir, "acme") + ", " + dir + "/none), needed by orders.proto"},
		{"a missing file", protofiles.Sources{Protos: []string{"gone.proto"}, ImportPaths: []string{dir}},
			"gone.proto was not found in the import paths (" + dir + ")"},
		{"a file outside the import paths", protofiles.Sources{Protos: []string{filepath.Join(dir, "acme", "orders.proto")}, ImportPaths: []string{t.TempDir()}},
			"the file is not under any import path"},
		{"-import-path alone", protofiles.Sources{ImportPaths: []string{dir}}, "-import-path is for -proto files"},
		{"a missing descriptor set", protofiles.Sources{Protosets: []string{filepath.Join(dir, "none.pb")}}, "no such file"},
		{"not a descriptor set", protofiles.Sources{Protosets: []string{notASet}}, "-protoset " + notASet + ": not a FileDescriptorSet"},
		{"a set without an import of its own", protofiles.Sources{Protosets: []string{writeSet(t, set[2])}},
			"acme/orders.proto (in " + "%SET%" + ") imports acme/shared.proto, which no -proto or -protoset file holds"},
		{"one file, two contents", protofiles.Sources{Protosets: []string{writeSet(t, set...), writeSet(t, other)}},
			"acme/shared.proto is given twice, and differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := protofiles.Load(context.Background(), tc.s)
			want := strings.ReplaceAll(tc.want, "%SET%", strings.Join(tc.s.Protosets, ""))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v; want it to hold %q", err, want)
			}
		})
	}

	// Every error of the file, each with its place.
	_, err := protofiles.Load(context.Background(), protofiles.Sources{Protos: []string{"bad/bad.proto"}, ImportPaths: []string{dir}})
	var errs *protosource.Errors
	if !errors.As(err, &errs) || len(errs.Messages) != 1 {
		t.Fatalf("error %v", err)
	}
}

// TestRouteGuide loads grpc-go's route_guide example, edition 2023, both
// as its .proto from the module cache and as a descriptor set: each gives
// the service and the messages the example's generated code has.
func TestRouteGuide(t *testing.T) {
	want := protodesc.ToFileDescriptorProto(routeguidetest.Descriptor())
	for _, s := range []protofiles.Sources{
		{Protos: []string{routeguidetest.ProtoFile}, ImportPaths: []string{routeguidetest.ProtoDir(t)}},
		{Protosets: []string{routeguidetest.Protoset(t)}},
	} {
		files, err := protofiles.Load(context.Background(), s)
		if err != nil {
			t.Fatalf("Load(%+v): %v", s, err)
		}
		if got := protofiles.ServiceNames(files); !slices.Equal(got, []string{routeguidetest.Service}) {
			t.Fatalf("services %q", got)
		}
		d, err := files.FindDescriptorByName(routeguidetest.Service)
		if err != nil {
			t.Fatal(err)
		}
		got := protodesc.ToFileDescriptorProto(d.ParentFile())
		if got.GetEdition() != descriptorpb.Edition_EDITION_2023 {
			t.Errorf("edition %v", got.GetEdition())
		}
		// The same schema as the generated code's, whatever the file's name.
		got.Name, got.SourceCodeInfo = want.Name, nil
		if !proto.Equal(got, want) {
			t.Errorf("%+v: the file differs from the generated code's:\n%v\nwant\n%v", s, got, want)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		if sd.Methods().Len() != 4 || !sd.Methods().ByName("RouteChat").IsStreamingClient() {
			t.Errorf("methods of %s: %v", routeguidetest.Service, sd.Methods())
		}
	}
}
