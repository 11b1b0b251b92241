package explorer

import (
	"slices"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcplay/playground/wasm/client"
)

// CallKind is how a method streams: the four gRPC call types.
type CallKind int

// The call types.
const (
	Unary CallKind = iota
	ServerStreaming
	ClientStreaming
	BidiStreaming
)

// String names the call type as the page shows it.
func (k CallKind) String() string {
	switch k {
	case ServerStreaming:
		return "server streaming"
	case ClientStreaming:
		return "client streaming"
	case BidiStreaming:
		return "bidirectional"
	}
	return "unary"
}

// ClientStreams reports whether the client sends a stream: such calls are
// opened, sent on and half-closed rather than called.
func (k CallKind) ClientStreams() bool { return k == ClientStreaming || k == BidiStreaming }

// Schema is what a server's reflection described: its services, the files
// they were built from, and what could not be built.
type Schema struct {
	// Version is the reflection version that answered: "v1" or "v1alpha";
	// empty when the schema came from a file given to the page.
	Version string
	// Source names the file the schema came from when it was given to the
	// page rather than read through reflection ("route_guide.protoset",
	// "a.proto, b.proto"); empty for reflection.
	Source string
	// Fallback, when not empty, says why the version tried first failed
	// ("v1: Unimplemented: unknown service ...").
	Fallback string
	// Services are the services the server listed, by name.
	Services []*Service
	// Problems name each file that could not be built and why, such as
	// "reflection did not return google/rpc/status.proto, needed by x.proto".
	Problems []string
	// Files holds every file built: the server's, and the fallback files
	// that stood in for those it imports and did not send.
	Files *protoregistry.Files
	// Types resolves the messages of Files, then of every fallback file,
	// for protojson, Any and status details.
	Types *Types
}

// Service is one service the server listed.
type Service struct {
	// Name is the service's full name ("UserManager", "grpc.health.v1.Health").
	Name string
	// Methods are the service's methods in declaration order; none when Err
	// is set.
	Methods []*Method
	// Err says why the service could not be described, naming the file at
	// fault; empty when it could.
	Err string
}

// Method is one method of a described service.
type Method struct {
	// Path is the method's full name as calls use it: "/UserManager/GetUser".
	Path string
	// Desc describes the method: its input and output messages.
	Desc protoreflect.MethodDescriptor
	// Kind is the method's call type.
	Kind CallKind
}

// Method returns the method with that path ("/UserManager/GetUser"), or nil.
func (s *Schema) Method(path string) *Method {
	for _, svc := range s.Services {
		for _, m := range svc.Methods {
			if m.Path == path {
				return m
			}
		}
	}
	return nil
}

// StreamDesc says which sides of a call of m stream, for client.NewStream.
func (m *Method) StreamDesc() client.StreamDesc {
	return client.StreamDesc{
		ClientStreams: m.Desc.IsStreamingClient(),
		ServerStreams: m.Desc.IsStreamingServer(),
	}
}

// NewRequest returns an empty request message of m.
func (m *Method) NewRequest() *dynamicpb.Message { return dynamicpb.NewMessage(m.Desc.Input()) }

// NewResponse returns an empty response message of m.
func (m *Method) NewResponse() *dynamicpb.Message { return dynamicpb.NewMessage(m.Desc.Output()) }

func newMethod(svc protoreflect.ServiceDescriptor, md protoreflect.MethodDescriptor) *Method {
	kind := Unary
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		kind = BidiStreaming
	case md.IsStreamingClient():
		kind = ClientStreaming
	case md.IsStreamingServer():
		kind = ServerStreaming
	}
	return &Method{Path: "/" + string(svc.FullName()) + "/" + string(md.Name()), Desc: md, Kind: kind}
}

// missingFile is a file reflection did not return (or a descriptor set
// does not hold) and no fallback has.
type missingFile struct {
	name, neededBy, why string
	// lacks says who lacks it: "reflection did not return" when empty.
	lacks string
}

func (e *missingFile) Error() string {
	lacks := e.lacks
	if lacks == "" {
		lacks = "reflection did not return"
	}
	s := lacks + " " + e.name + ", needed by " + e.neededBy
	if e.why != "" {
		s += " (" + e.why + ")"
	}
	return s
}

// schemaBuilder turns the file descriptors reflection returned into a
// Schema.
type schemaBuilder struct {
	// protos are the files reflection returned, by name.
	protos map[string]*descriptorpb.FileDescriptorProto
	// notFound says why reflection could not return a file, by name.
	notFound map[string]string
	// lacks words a missing file's source, as missingFile.lacks.
	lacks string

	files *protoregistry.Files
	state map[string]*buildState
}

type buildState struct {
	done bool
	err  error
}

// build builds every file and describes the listed services; serviceErrs
// holds the services reflection itself failed to describe.
func (b *schemaBuilder) build(services []string, serviceErrs map[string]string) *Schema {
	b.files = new(protoregistry.Files)
	b.state = make(map[string]*buildState)
	names := make([]string, 0, len(b.protos))
	for name := range b.protos {
		names = append(names, name)
	}
	slices.Sort(names)
	var problems []string
	for _, name := range names {
		if isPlaceholder(b.protos[name]) {
			continue // built only as a dependency, which then fails
		}
		if err := b.file(name, ""); err != nil && !slices.Contains(problems, err.Error()) {
			problems = append(problems, err.Error())
		}
	}
	s := &Schema{Problems: problems, Files: b.files, Types: newTypes(b.files)}
	for _, name := range services {
		svc := &Service{Name: name}
		s.Services = append(s.Services, svc)
		if msg, ok := serviceErrs[name]; ok {
			svc.Err = "reflection could not describe " + name + ": " + msg
			continue
		}
		d, err := b.files.FindDescriptorByName(protoreflect.FullName(name))
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if err != nil || !ok {
			svc.Err = b.whyMissing(name)
			continue
		}
		for i := 0; i < sd.Methods().Len(); i++ {
			svc.Methods = append(svc.Methods, newMethod(sd, sd.Methods().Get(i)))
		}
	}
	return s
}

// file builds the file name and what it imports, once. neededBy names the
// file that imports it, for the error when it is missing.
func (b *schemaBuilder) file(name, neededBy string) error {
	if st, ok := b.state[name]; ok {
		if !st.done {
			return &buildError{name, "it imports itself, through " + neededBy}
		}
		return st.err
	}
	st := &buildState{}
	b.state[name] = st
	st.err = b.buildFile(name, neededBy)
	st.done = true
	return st.err
}

func (b *schemaBuilder) buildFile(name, neededBy string) error {
	fdp, ok := b.protos[name]
	if !ok || isPlaceholder(fdp) {
		fallback, err := fallbackFiles()
		if err != nil {
			return &buildError{name, err.Error()} // the embedded set is ours: a test keeps it sound
		}
		if fd, err := fallback.FindFileByPath(name); err == nil {
			if err := b.files.RegisterFile(fd); err != nil {
				return &buildError{name, err.Error()}
			}
			return nil
		}
		why := b.notFound[name]
		if ok {
			why = "the server sent an empty placeholder for it"
		}
		return &missingFile{name: name, neededBy: neededBy, why: why, lacks: b.lacks}
	}
	for _, dep := range fdp.GetDependency() {
		if err := b.file(dep, name); err != nil {
			return err
		}
	}
	fd, err := protodesc.NewFile(fdp, b.files)
	if err == nil {
		err = b.files.RegisterFile(fd)
	}
	if err != nil {
		return &buildError{name, err.Error()}
	}
	return nil
}

// whyMissing says why a listed service has no descriptor: the problem of
// the file that declares it, when one does.
func (b *schemaBuilder) whyMissing(service string) string {
	for name, fdp := range b.protos {
		for _, sd := range fdp.GetService() {
			if qualified(fdp.GetPackage(), sd.GetName()) == service {
				if st := b.state[name]; st != nil && st.err != nil {
					return st.err.Error()
				}
			}
		}
	}
	return "reflection returned no file declaring " + service
}

// buildError is a file that came but could not be built.
type buildError struct{ name, why string }

func (e *buildError) Error() string { return e.name + ": " + e.why }

// isPlaceholder reports whether fdp is the empty stand-in some servers send
// for a file they lack: a name and nothing else.
func isPlaceholder(fdp *descriptorpb.FileDescriptorProto) bool {
	return fdp.GetPackage() == "" && fdp.GetSyntax() == "" && fdp.Edition == nil &&
		len(fdp.GetDependency()) == 0 && len(fdp.GetMessageType()) == 0 && len(fdp.GetEnumType()) == 0 &&
		len(fdp.GetService()) == 0 && len(fdp.GetExtension()) == 0 && fdp.GetOptions() == nil
}

// qualified joins a proto package and a name.
func qualified(pkg, name string) string {
	if pkg == "" {
		return name
	}
	return pkg + "." + name
}
