package explorer

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestPlaceholderFiles covers servers that send a file they lack as an
// empty stand-in (a name, nothing else), as older grpc-go did: a
// well-known one is taken from the fallbacks, any other is named missing.
func TestPlaceholderFiles(t *testing.T) {
	fb, err := fallbackFiles()
	if err != nil {
		t.Fatal(err)
	}
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
		fallback: fb,
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
