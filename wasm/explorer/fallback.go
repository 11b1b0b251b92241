package explorer

import (
	_ "embed"
	"errors"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

//go:generate go run ./internal/fallbackgen -o fallback.binpb

// fallbackSet is a FileDescriptorSet of protobuf's well-known types and the
// google.rpc types (status, error details, codes), written by
// internal/fallbackgen from the protobuf module's and genproto's own Go
// packages. It stands in for files a server's reflection does not send.
//
//go:embed fallback.binpb
var fallbackSet []byte

// fallbackFiles returns the fallback files, built once and only when
// needed: a file a schema lacks, a type its files do not declare (Types).
// The build takes a tenth of a second or more in a browser, so a schema
// is listed without it; PrepareFallback builds it once the page is idle.
var fallbackFiles = sync.OnceValues(func() (*protoregistry.Files, error) {
	set := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(fallbackSet, set); err != nil {
		return nil, err
	}
	// descriptor.proto from package descriptorpb, which protodesc links
	// anyway.
	set.File = append(set.File, protodesc.ToFileDescriptorProto(descriptorpb.File_google_protobuf_descriptor_proto))
	return protodesc.NewFiles(set)
})

// fallbackTypes resolves the fallback files' messages and extensions.
var fallbackTypes = sync.OnceValue(func() *dynamicpb.Types {
	files, err := fallbackFiles()
	if err != nil {
		return nil // the embedded set is ours: a test keeps it sound
	}
	return dynamicpb.NewTypes(files)
})

// PrepareFallback builds the fallback files and their types now, if that
// was not done yet: for a page to call when it is idle, so that the first
// call whose reply or status details need them does not wait for it.
func PrepareFallback() { fallbackTypes() }

// Types resolves the messages and extensions of a schema's files, and
// then of the fallback files (Any's and status details' types of
// google.rpc and the well-known files, which servers seldom send). The
// schema's own declarations come first.
type Types struct {
	own *dynamicpb.Types
}

func newTypes(files *protoregistry.Files) *Types {
	return &Types{own: dynamicpb.NewTypes(files)}
}

// FindMessageByName implements protoregistry.MessageTypeResolver.
func (t *Types) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	return orFallback(t.own.FindMessageByName(name))(func(fb *dynamicpb.Types) (protoreflect.MessageType, error) {
		return fb.FindMessageByName(name)
	})
}

// FindMessageByURL implements protoregistry.MessageTypeResolver.
func (t *Types) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	return orFallback(t.own.FindMessageByURL(url))(func(fb *dynamicpb.Types) (protoreflect.MessageType, error) {
		return fb.FindMessageByURL(url)
	})
}

// FindExtensionByName implements protoregistry.ExtensionTypeResolver.
func (t *Types) FindExtensionByName(name protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return orFallback(t.own.FindExtensionByName(name))(func(fb *dynamicpb.Types) (protoreflect.ExtensionType, error) {
		return fb.FindExtensionByName(name)
	})
}

// FindExtensionByNumber implements protoregistry.ExtensionTypeResolver.
func (t *Types) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return orFallback(t.own.FindExtensionByNumber(message, field))(func(fb *dynamicpb.Types) (protoreflect.ExtensionType, error) {
		return fb.FindExtensionByNumber(message, field)
	})
}

// orFallback returns a lookup in the schema's own types, unless it found
// nothing: then the same lookup in the fallback types.
func orFallback[T any](v T, err error) func(find func(*dynamicpb.Types) (T, error)) (T, error) {
	return func(find func(*dynamicpb.Types) (T, error)) (T, error) {
		if errors.Is(err, protoregistry.NotFound) {
			if fb := fallbackTypes(); fb != nil {
				return find(fb)
			}
		}
		return v, err
	}
}
