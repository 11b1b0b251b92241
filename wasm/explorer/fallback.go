package explorer

import (
	_ "embed"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

//go:generate go run ./internal/fallbackgen -o fallback.binpb

// fallbackSet is a FileDescriptorSet of protobuf's well-known types and the
// google.rpc types (status, error details, codes), written by
// internal/fallbackgen from the protobuf module's and genproto's own Go
// packages. It stands in for files a server's reflection does not send.
//
//go:embed fallback.binpb
var fallbackSet []byte

// fallbackFiles builds the fallback files, with google/protobuf/descriptor.proto
// from package descriptorpb, which protodesc links anyway.
func fallbackFiles() (*protoregistry.Files, error) {
	set := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(fallbackSet, set); err != nil {
		return nil, err
	}
	set.File = append(set.File, protodesc.ToFileDescriptorProto(descriptorpb.File_google_protobuf_descriptor_proto))
	return protodesc.NewFiles(set)
}
