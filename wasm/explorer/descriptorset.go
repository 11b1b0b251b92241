package explorer

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// MaxDescriptorSetSize bounds a descriptor set given to the page.
const MaxDescriptorSetSize = 32 << 20

// FromDescriptorSet builds the schema of a FileDescriptorSet given to the
// page (a .protoset, .binpb or .pb file, as protoc --descriptor_set_out or
// buf build writes it, or what the page's .proto compiler returns), named
// source ("route_guide.protoset"; for compiled sources, their names). Every
// service its files declare is listed. Well-known and google.rpc imports
// the set lacks are taken from the fallback files, as for reflection; any
// other it lacks is named in Problems as reflection's missing files are
// ("route_guide.protoset does not hold acme/shared.proto, needed by
// acme/orders.proto"). Sets concatenated byte for byte are one set, so
// several files given at once can be read as one; a file name in two of
// them is taken from the first.
//
// It fails when set is not a FileDescriptorSet, or declares no service.
func FromDescriptorSet(set []byte, source string) (*Schema, error) {
	if len(set) > MaxDescriptorSetSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a descriptor set may have here", source, len(set), MaxDescriptorSetSize)
	}
	fds := new(descriptorpb.FileDescriptorSet)
	if err := proto.Unmarshal(set, fds); err != nil {
		return nil, fmt.Errorf("%s is not a FileDescriptorSet: %w", source, err)
	}
	if len(fds.GetFile()) == 0 {
		return nil, fmt.Errorf("%s is not a FileDescriptorSet: it holds no file descriptor", source)
	}
	b := &schemaBuilder{
		protos:   make(map[string]*descriptorpb.FileDescriptorProto),
		notFound: make(map[string]string),
		lacks:    source + " does not hold",
	}
	var services []string
	for _, fdp := range fds.GetFile() {
		if fdp.GetName() == "" {
			return nil, errors.New(source + " is not a FileDescriptorSet: a file descriptor has no name")
		}
		if _, ok := b.protos[fdp.GetName()]; ok {
			continue
		}
		b.protos[fdp.GetName()] = fdp
		for _, sd := range fdp.GetService() {
			if name := qualified(fdp.GetPackage(), sd.GetName()); !slices.Contains(services, name) {
				services = append(services, name)
			}
		}
	}
	if len(services) == 0 {
		return nil, fmt.Errorf("%s declares no service: there is nothing to call", source)
	}
	slices.Sort(services)
	s := b.build(services, nil)
	s.Source = source
	return s, nil
}
