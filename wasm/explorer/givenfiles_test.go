//go:build !js

package explorer_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protodesc"

	"github.com/grpcplay/playground/proto/protosource"
	"github.com/grpcplay/playground/server/servertest/routeguidetest"
	"github.com/grpcplay/playground/wasm/explorer"
)

// TestSortGivenFiles: .proto files given by their base names, as a
// browser gives them, take the names their importers spell and compile
// into a schema; descriptor sets given together are read as one.
func TestSortGivenFiles(t *testing.T) {
	g, err := explorer.SortGivenFiles([]explorer.GivenFile{
		{Name: "orders.proto", Data: []byte(orders)},
		{Name: "shared.proto", Data: []byte(shared)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if names := slices.Sorted(maps.Keys(g.Sources)); !slices.Equal(names, []string{"acme/shared.proto", "orders.proto"}) || g.Set != nil || g.Name != "orders.proto, shared.proto" {
		t.Fatalf("sources %q, set %d bytes, name %q", names, len(g.Set), g.Name)
	}
	set, err := protosource.CompileTexts(context.Background(), g.Sources)
	if err != nil {
		t.Fatalf("the sources as named do not compile: %v", err)
	}
	s, err := explorer.FromDescriptorSet(set, g.Name)
	if err != nil || len(s.Problems) != 0 || s.Method("/acme.Orders/Chat") == nil {
		t.Fatalf("schema %+v, %v", s, err)
	}

	// A file already named as imported, and one imported by its base name,
	// keep their names.
	g, err = explorer.SortGivenFiles([]explorer.GivenFile{
		{Name: "a.proto", Data: []byte("syntax = \"proto3\";\nimport public 'b.proto';\nimport \"acme/shared.proto\";\n")},
		{Name: "b.proto", Data: []byte("syntax = \"proto3\";\n")},
		{Name: "acme/shared.proto", Data: []byte(shared)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if names := slices.Sorted(maps.Keys(g.Sources)); !slices.Equal(names, []string{"a.proto", "acme/shared.proto", "b.proto"}) {
		t.Fatalf("sources %q", names)
	}

	rg := marshal(t, protodesc.ToFileDescriptorProto(routeguidetest.Descriptor()))
	acme := marshal(t, compiled(t).File...)
	g, err = explorer.SortGivenFiles([]explorer.GivenFile{{Name: "route_guide.protoset", Data: rg}, {Name: "acme.BINPB", Data: acme}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Sources != nil || g.Name != "route_guide.protoset, acme.BINPB" {
		t.Fatalf("given %+v", g)
	}
	s, err = explorer.FromDescriptorSet(g.Set, g.Name)
	if err != nil || len(s.Services) != 2 || s.Method("/routeguide.RouteGuide/RouteChat") == nil || s.Method("/acme.Orders/Get") == nil {
		t.Fatalf("schema of two sets given together: %+v, %v", s, err)
	}
}

// TestGivenFilesRefused: what cannot be a schema is refused with a reason
// before it is read, or, for .proto files, once read.
func TestGivenFilesRefused(t *testing.T) {
	if explorer.MaxGivenProtoSize != protosource.MaxTextsSize {
		t.Fatalf("the page takes %d bytes of .proto files, its compiler %d", explorer.MaxGivenProtoSize, protosource.MaxTextsSize)
	}
	for _, tc := range []struct {
		name  string
		names []string
		sizes []int64
		want  string
	}{
		{"none", nil, nil, "no file given"},
		{"another kind", []string{"a.proto", "notes.txt"}, []int64{1, 1}, "notes.txt is not a .proto file or a descriptor set (.protoset, .binpb, .pb, .desc)"},
		{"both kinds", []string{"a.proto", "b.protoset"}, []int64{1, 1}, "give .proto files or descriptor sets, not both at once"},
		{"too large", []string{"a.pb", "b.pb"}, []int64{explorer.MaxGivenSize, 1}, "more than the 33554432 taken here"},
		{"too large for the compiler", []string{"a.proto", "b.proto"}, []int64{protosource.MaxTextsSize, 1}, "more than the 16777216 taken here"},
		{"too many", slices.Repeat([]string{"a.proto"}, explorer.MaxGivenFiles+1), nil, "501 files given at once; at most 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := explorer.CheckGivenFiles(tc.names, tc.sizes); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		files []explorer.GivenFile
		want  string
	}{
		{"two of one name", []explorer.GivenFile{{Name: "a.proto"}, {Name: "a.proto"}}, "two files are named a.proto"},
		{"not text", []explorer.GivenFile{{Name: "a.proto", Data: []byte{0xff, 0xfe}}}, "a.proto is not text (UTF-8)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := explorer.SortGivenFiles(tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want %q", err, tc.want)
			}
		})
	}
}
