//go:build !js

package explorer_test

import (
	"testing"

	v1grpc "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protoreflect"

	reflectionv1 "github.com/grpcplay/playground/pb/reflection/v1"
	reflectionv1alpha "github.com/grpcplay/playground/pb/reflection/v1alpha"
)

// TestReflectionMessagesMatchGrpc checks that our copies of the reflection
// messages (pb/reflection, under a proto package of our own) are grpc-go's
// on the wire, v1 and v1alpha alike: the explorer speaks both versions with
// the v1 copy.
func TestReflectionMessagesMatchGrpc(t *testing.T) {
	for _, c := range []struct {
		name        string
		ours, grpcs protoreflect.FileDescriptor
	}{
		{"v1", reflectionv1.File_reflection_v1_reflection_proto, v1grpc.File_grpc_reflection_v1_reflection_proto},
		{"v1alpha", reflectionv1alpha.File_reflection_v1alpha_reflection_proto, v1alphagrpc.File_grpc_reflection_v1alpha_reflection_proto},
		{"v1alpha as v1", reflectionv1.File_reflection_v1_reflection_proto, v1alphagrpc.File_grpc_reflection_v1alpha_reflection_proto},
	} {
		if got, want := c.ours.Messages().Len(), c.grpcs.Messages().Len(); got != want {
			t.Errorf("%s: %d messages; grpc-go has %d", c.name, got, want)
			continue
		}
		for i := 0; i < c.grpcs.Messages().Len(); i++ {
			want := c.grpcs.Messages().Get(i)
			got := c.ours.Messages().ByName(want.Name())
			if got == nil {
				t.Errorf("%s: no message %s", c.name, want.Name())
				continue
			}
			if got.Fields().Len() != want.Fields().Len() {
				t.Errorf("%s: %s has %d fields; grpc-go's %d", c.name, want.Name(), got.Fields().Len(), want.Fields().Len())
				continue
			}
			for j := 0; j < want.Fields().Len(); j++ {
				w := want.Fields().Get(j)
				g := got.Fields().ByNumber(w.Number())
				if g == nil || g.Name() != w.Name() || g.Kind() != w.Kind() || g.Cardinality() != w.Cardinality() ||
					oneofName(g) != oneofName(w) || typeName(g) != typeName(w) {
					t.Errorf("%s: %s field %d differs from grpc-go's %s", c.name, want.Name(), w.Number(), w.FullName())
				}
			}
		}
	}
}

func oneofName(f protoreflect.FieldDescriptor) protoreflect.Name {
	if o := f.ContainingOneof(); o != nil {
		return o.Name()
	}
	return ""
}

// typeName is a field's message type's name within its package.
func typeName(f protoreflect.FieldDescriptor) protoreflect.Name {
	if m := f.Message(); m != nil {
		return m.Name()
	}
	return ""
}
