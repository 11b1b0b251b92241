//go:build !js

package explorer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcplay/playground/proto/protosource"
	"github.com/grpcplay/playground/server/servertest/routeguidetest"
	"github.com/grpcplay/playground/wasm/explorer"
)

// compiled is the set the page's compiler makes of the acme files.
func compiled(t *testing.T) *descriptorpb.FileDescriptorSet {
	t.Helper()
	b, err := protosource.CompileTexts(context.Background(), map[string]string{"acme/orders.proto": orders, "acme/shared.proto": shared})
	if err != nil {
		t.Fatal(err)
	}
	set := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(b, set); err != nil {
		t.Fatal(err)
	}
	return set
}

func marshal(t *testing.T, files ...*descriptorpb.FileDescriptorProto) []byte {
	t.Helper()
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: files})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFromDescriptorSet builds the explorer's schema from descriptor sets:
// route_guide's (edition 2023), one the page's compiler made from .proto
// sources, one lacking its well-known imports (the fallbacks stand in),
// and two sets given at once.
func TestFromDescriptorSet(t *testing.T) {
	rg := marshal(t, protodesc.ToFileDescriptorProto(routeguidetest.Descriptor()))
	s, err := explorer.FromDescriptorSet(rg, "route_guide.protoset")
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != "route_guide.protoset" || s.Version != "" || len(s.Problems) != 0 || len(s.Services) != 1 || s.Services[0].Name != routeguidetest.Service {
		t.Fatalf("schema %+v", s)
	}
	var kinds []string
	for _, m := range s.Services[0].Methods {
		kinds = append(kinds, m.Path+" "+m.Kind.String())
	}
	want := []string{
		"/routeguide.RouteGuide/GetFeature unary", "/routeguide.RouteGuide/ListFeatures server streaming",
		"/routeguide.RouteGuide/RecordRoute client streaming", "/routeguide.RouteGuide/RouteChat bidirectional",
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("methods %q", kinds)
	}
	req, err := s.ParseRequest(s.Method("/routeguide.RouteGuide/GetFeature"), `{"latitude": 407838351, "longitude": "-746143763"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Get(req.Descriptor().Fields().ByName("longitude")).Int(); got != -746143763 {
		t.Fatalf("longitude %d", got)
	}

	set := compiled(t)
	byName := make(map[string]*descriptorpb.FileDescriptorProto)
	var names []string
	for _, f := range set.File {
		byName[f.GetName()] = f
		names = append(names, f.GetName())
	}
	if want := []string{"google/protobuf/timestamp.proto", "acme/shared.proto", "google/protobuf/any.proto", "acme/orders.proto"}; !slices.Equal(names, want) {
		t.Fatalf("the compiled set's files %q; want %q, each after its imports", names, want)
	}
	ours, theirs := byName["acme/orders.proto"], byName["acme/shared.proto"]
	for _, tc := range []struct {
		name string
		set  []byte
	}{
		{"compiled from .proto sources", marshal(t, set.File...)},
		{"without its well-known imports", marshal(t, theirs, ours)},
		{"two sets given at once", append(marshal(t, theirs), marshal(t, ours, theirs)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := explorer.FromDescriptorSet(tc.set, "acme.binpb")
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Problems) != 0 || len(s.Services) != 1 || s.Services[0].Err != "" {
				t.Fatalf("schema %+v, problems %q", s.Services, s.Problems)
			}
			m := s.Method("/acme.Orders/Chat")
			if m == nil || m.Kind != explorer.BidiStreaming {
				t.Fatalf("acme.Orders/Chat: %+v", m)
			}
			// Any resolves the set's own types and the fallbacks'.
			req, err := s.ParseRequest(m, `{"id": "1", "extra": {"@type": "type.googleapis.com/acme.Money", "cents": "5", "at": "2024-01-02T03:04:05Z"}}`)
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.FormatMessage(req, false)
			if err != nil || !strings.Contains(out, `"@type":"type.googleapis.com/acme.Money"`) || !strings.Contains(out, `"at":"2024-01-02T03:04:05Z"`) {
				t.Fatalf("FormatMessage: %v\n%s", err, out)
			}
		})
	}
}

// TestFromDescriptorSetProblems: a set lacking a file of its own names it
// as reflection's missing files are named, and loses only the services
// that need it; what is not a set, or declares no service, is refused.
func TestFromDescriptorSetProblems(t *testing.T) {
	set := compiled(t)
	rg := protodesc.ToFileDescriptorProto(routeguidetest.Descriptor())
	s, err := explorer.FromDescriptorSet(marshal(t, set.File[3], rg), "two.protoset") // orders.proto without shared.proto
	if err != nil {
		t.Fatal(err)
	}
	want := "two.protoset does not hold acme/shared.proto, needed by acme/orders.proto"
	if !slices.Equal(s.Problems, []string{want}) {
		t.Fatalf("problems %q; want %q", s.Problems, want)
	}
	if len(s.Services) != 2 || s.Services[0].Err != want || s.Services[1].Err != "" || s.Method("/routeguide.RouteGuide/RouteChat") == nil {
		t.Fatalf("services %+v", s.Services)
	}

	for _, tc := range []struct {
		name string
		set  []byte
		want string
	}{
		{"not a set", []byte("syntax = \"proto3\";\n"), "x.pb is not a FileDescriptorSet: "},
		{"empty", nil, "x.pb is not a FileDescriptorSet: it holds no file descriptor"},
		{"a file without a name", marshal(t, &descriptorpb.FileDescriptorProto{Package: proto.String("acme")}), "x.pb is not a FileDescriptorSet: a file descriptor has no name"},
		{"no service", marshal(t, set.File[1]), "x.pb declares no service"}, // shared.proto
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := explorer.FromDescriptorSet(tc.set, "x.pb")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v; want %q", err, tc.want)
			}
		})
	}
}
