package explorer

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestPlaceholderFiles covers servers that send a file they lack as an
// empty stand-in (a name, nothing else), as older grpc-go did: a
// well-known one is taken from the fallbacks, any other is named missing.
func TestPlaceholderFiles(t *testing.T) {
	msgField := func(name string, num int32, typeName string) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), Number: proto.Int32(num), TypeName: proto.String(typeName),
			Type:  descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		}
	}
	file := func(name, dep, msg string, field *descriptorpb.FieldDescriptorProto, service string) *descriptorpb.FileDescriptorProto {
		return &descriptorpb.FileDescriptorProto{
			Name: proto.String(name), Package: proto.String("acme"), Syntax: proto.String("proto3"),
			Dependency:  []string{dep},
			MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String(msg), Field: []*descriptorpb.FieldDescriptorProto{field}}},
			Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String(service), Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Get"), InputType: proto.String(".acme." + msg), OutputType: proto.String(".acme." + msg),
			}}}},
		}
	}
	b := &schemaBuilder{
		protos: map[string]*descriptorpb.FileDescriptorProto{
			"acme/clock.proto":                file("acme/clock.proto", "google/protobuf/timestamp.proto", "Tick", msgField("at", 1, ".google.protobuf.Timestamp"), "Clock"),
			"acme/orders.proto":               file("acme/orders.proto", "acme/shared.proto", "Order", msgField("total", 1, ".acme.Money"), "Orders"),
			"acme/shared.proto":               {Name: proto.String("acme/shared.proto")},
			"google/protobuf/timestamp.proto": {Name: proto.String("google/protobuf/timestamp.proto")},
		},
		notFound: map[string]string{},
	}
	s := b.build([]string{"acme.Clock", "acme.Orders", "acme.Gone"}, map[string]string{"acme.Gone": "NotFound: no such symbol"})
	want := "reflection did not return acme/shared.proto, needed by acme/orders.proto (the server sent an empty placeholder for it)"
	if len(s.Problems) != 1 || s.Problems[0] != want {
		t.Fatalf("Problems %q; want %q", s.Problems, want)
	}
	if m := s.Method("/acme.Clock/Get"); m == nil || m.Desc.Input().Fields().ByName("at").Message().FullName() != "google.protobuf.Timestamp" {
		t.Fatalf("acme.Clock, whose timestamp.proto came as a placeholder: %+v", s.Services[0])
	}
	if s.Services[1].Err != want || !strings.HasPrefix(s.Services[2].Err, "reflection could not describe acme.Gone: NotFound") {
		t.Fatalf("errors %q, %q", s.Services[1].Err, s.Services[2].Err)
	}
}

// TestTypesFallBack: a schema's Types resolve the server's own messages
// first, then the fallback files' (status details the server never sent),
// and say NotFound for what neither declares.
func TestTypesFallBack(t *testing.T) {
	own := &descriptorpb.FileDescriptorProto{
		Name: proto.String("mine/status.proto"), Package: proto.String("google.rpc"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Status"), Field: []*descriptorpb.FieldDescriptorProto{{
			Name: proto.String("mine"), Number: proto.Int32(1), JsonName: proto.String("mine"),
			Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		}}}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("S"), Method: []*descriptorpb.MethodDescriptorProto{{
			Name: proto.String("M"), InputType: proto.String(".google.rpc.Status"), OutputType: proto.String(".google.rpc.Status"),
		}}}},
	}
	set, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{own}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromDescriptorSet(set, "mine.protoset")
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Types.FindMessageByName("google.rpc.Status")
	if err != nil || st.Descriptor().Fields().ByName("mine") == nil {
		t.Fatalf("google.rpc.Status: %v, %v; want the schema's own", st, err)
	}
	br, err := s.Types.FindMessageByURL("type.googleapis.com/google.rpc.BadRequest")
	if err != nil || br.Descriptor().Fields().ByName("field_violations") == nil {
		t.Fatalf("google.rpc.BadRequest: %v, %v; want the fallback's", br, err)
	}
	if _, err := s.Types.FindMessageByName("acme.Nothing"); !errors.Is(err, protoregistry.NotFound) {
		t.Fatalf("acme.Nothing: %v; want NotFound", err)
	}
}
