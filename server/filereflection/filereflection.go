// Package filereflection answers gRPC server reflection, grpc.reflection.v1
// and v1alpha, from schema files (package server/protofiles loads them),
// for a front whose backend has its reflection off: grpcurl, buf curl,
// grpcui, evans and the playground's explorer list, describe and call the
// backend through the front as if the backend described itself.
//
// Which reflection answers, when the backend has reflection too:
//
//   - list_services is the union, each name once, sorted: the services the
//     files declare, the front's own (Options.Own: health, reflection) and
//     those the backend's reflection lists.
//   - file_by_filename, file_containing_symbol, file_containing_extension
//     and all_extension_numbers_of_type are answered from the files (then
//     from the front's own services' files) when they define the name; a
//     name they do not define is asked of the backend's reflection, v1
//     first and v1alpha when v1 fails, with Options.BackendMetadata (the
//     front's backend headers), and its answer is passed on as it came.
//   - So for a name both know, the files win: a file given to the front
//     stands for the backend's. A name neither knows gets NotFound saying
//     that the files do not define it and why the backend did not answer.
//
// The backend's reflection is asked on one stream per incoming stream,
// opened at its first question; each answer is awaited for at most
// Options.BackendTimeout, after which that incoming stream is answered from
// the files alone. The backend's being down or without reflection never
// fails a stream: it only leaves the files' answers.
//
// Answers from the files are grpc-go's own reflection server's
// (reflection.NewServerV1 over the files), one question at a time: each
// file comes with all it imports, even those sent before on the stream.
package filereflection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// DefaultBackendTimeout is how long the backend's reflection may take over
// one answer when Options.BackendTimeout is not set.
const DefaultBackendTimeout = 10 * time.Second

// Options tune a Server.
type Options struct {
	// Own names the services the front serves itself, such as its health
	// service and this reflection (a *grpc.Server does): they are listed,
	// and described from the descriptors linked into the program
	// (protoregistry.GlobalFiles). nil: none.
	Own reflection.ServiceInfoProvider
	// Backend, when set, is asked through its own reflection for the names
	// the files do not define, and for its list of services.
	Backend grpc.ClientConnInterface
	// BackendMetadata returns the metadata of the reflection call to the
	// backend made for an incoming call, from that call's context: the
	// front's backend headers, say. nil: none.
	BackendMetadata func(ctx context.Context) metadata.MD
	// BackendTimeout bounds the wait for each answer of the backend's
	// reflection; zero: DefaultBackendTimeout.
	BackendTimeout time.Duration
}

// Server is the reflection service of one set of files: register it with
// Register, under both versions.
type Server struct {
	files    *protoregistry.Files
	services []string
	exts     *protoregistry.Types
	opts     Options
}

// New returns the reflection service answering from files.
func New(files *protoregistry.Files, opts Options) *Server {
	if opts.BackendTimeout <= 0 {
		opts.BackendTimeout = DefaultBackendTimeout
	}
	s := &Server{files: files, exts: new(protoregistry.Types), opts: opts}
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			s.services = append(s.services, string(fd.Services().Get(i).FullName()))
		}
		registerExtensions(s.exts, fd.Extensions(), fd.Messages())
		return true
	})
	return s
}

// registerExtensions registers the extensions declared at one level of a
// file, and in the messages below it.
func registerExtensions(types *protoregistry.Types, xds protoreflect.ExtensionDescriptors, mds protoreflect.MessageDescriptors) {
	for i := range xds.Len() {
		types.RegisterExtension(dynamicpb.NewExtensionType(xds.Get(i))) // a clash leaves the first
	}
	for i := range mds.Len() {
		registerExtensions(types, mds.Get(i).Extensions(), mds.Get(i).Messages())
	}
}

// The reflection versions, by the service name each is served under.
var versions = []string{
	rpb.ServerReflection_ServiceDesc.ServiceName,         // grpc.reflection.v1.ServerReflection
	v1alphagrpc.ServerReflection_ServiceDesc.ServiceName, // grpc.reflection.v1alpha.ServerReflection
}

// infoMethod is the full name of ServerReflectionInfo in a version.
func infoMethod(service string) string { return "/" + service + "/ServerReflectionInfo" }

// streamServer is what the service descriptors' handler calls.
type streamServer interface{ serve(grpc.ServerStream) error }

// Register registers the service on r under v1 and v1alpha. Their messages
// are the same on the wire, so one handler serves both.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	for _, name := range versions {
		r.RegisterService(&grpc.ServiceDesc{
			ServiceName: name,
			HandlerType: (*streamServer)(nil),
			Streams: []grpc.StreamDesc{{
				StreamName:    "ServerReflectionInfo",
				Handler:       func(srv any, ss grpc.ServerStream) error { return srv.(streamServer).serve(ss) },
				ServerStreams: true,
				ClientStreams: true,
			}},
			Metadata: "grpc/reflection/" + strings.Split(name, ".")[2] + "/reflection.proto",
		}, s)
	}
}

// serve answers one ServerReflectionInfo stream, question by question.
func (s *Server) serve(ss grpc.ServerStream) error {
	ctx := ss.Context()
	st := &stream{s: s, ctx: ctx, local: s.local()}
	defer st.closeBackend()
	for {
		req := new(rpb.ServerReflectionRequest)
		if err := ss.RecvMsg(req); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		resp, err := st.answer(req)
		if err != nil {
			return err
		}
		if err := ss.SendMsg(resp); err != nil {
			return err
		}
	}
}

// local is the reflection of the files and of the front's own services,
// as grpc-go's reflection server answers it.
func (s *Server) local() *localFiles {
	l := &localFiles{files: s.files, own: new(protoregistry.Files), names: slices.Clone(s.services)}
	if s.opts.Own != nil {
		for name := range s.opts.Own.GetServiceInfo() {
			l.names = append(l.names, name)
			if d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name)); err == nil {
				registerWithImports(l.own, d.ParentFile())
			}
		}
	}
	l.srv = reflection.NewServerV1(reflection.ServerOptions{Services: l, DescriptorResolver: l, ExtensionResolver: s.exts})
	return l
}

// registerWithImports registers fd and what it imports, each once.
func registerWithImports(files *protoregistry.Files, fd protoreflect.FileDescriptor) {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return
	}
	imports := fd.Imports()
	for i := range imports.Len() {
		registerWithImports(files, imports.Get(i).FileDescriptor)
	}
	files.RegisterFile(fd) // a clash leaves the file out: the front's own are well-known
}

// localFiles resolves names in the files, then in the front's own
// services' files.
type localFiles struct {
	files, own *protoregistry.Files
	names      []string // the files' services and the front's own
	srv        rpb.ServerReflectionServer
}

func (l *localFiles) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := l.files.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return l.own.FindFileByPath(path)
}

func (l *localFiles) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := l.files.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return l.own.FindDescriptorByName(name)
}

// GetServiceInfo lists the files' services and the front's own, for
// grpc-go's reflection server (which needs only the names).
func (l *localFiles) GetServiceInfo() map[string]grpc.ServiceInfo {
	m := make(map[string]grpc.ServiceInfo)
	for _, name := range l.names {
		m[name] = grpc.ServiceInfo{}
	}
	return m
}

// stream is the state of one incoming stream: its context, and the
// backend's reflection stream once opened.
type stream struct {
	s     *Server
	ctx   context.Context
	local *localFiles

	backend *backendStream // open and answering
	whyNot  error          // why the backend cannot be asked any more, once it failed
}

// answer answers one question: from the files when they know its name,
// else from the backend.
func (st *stream) answer(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	if _, ok := req.GetMessageRequest().(*rpb.ServerReflectionRequest_ListServices); ok {
		return st.listServices(req), nil
	}
	what, known := st.knows(req)
	if known || what == "" {
		return st.fromFiles(req)
	}
	if st.s.opts.Backend == nil {
		return notFound(req, what+" is not in the schema files, and the front has no backend to ask"), nil
	}
	resp, err := st.askBackend(req)
	if err != nil {
		return notFound(req, what+" is not in the schema files, and the backend's reflection could not be asked: "+err.Error()), nil
	}
	if e := resp.GetErrorResponse(); e != nil {
		return notFound(req, what+" is not in the schema files, nor does the backend's reflection know it ("+codes.Code(e.GetErrorCode()).String()+": "+e.GetErrorMessage()+")"), nil
	}
	return resp, nil
}

// knows says whether the files (or the front's own services) define the
// name asked about, and words it for an error; what is empty for a
// question that names nothing.
func (st *stream) knows(req *rpb.ServerReflectionRequest) (what string, known bool) {
	switch r := req.GetMessageRequest().(type) {
	case *rpb.ServerReflectionRequest_FileByFilename:
		_, err := st.local.FindFileByPath(r.FileByFilename)
		return fmt.Sprintf("file %q", r.FileByFilename), err == nil
	case *rpb.ServerReflectionRequest_FileContainingSymbol:
		_, err := st.local.FindDescriptorByName(protoreflect.FullName(r.FileContainingSymbol))
		return fmt.Sprintf("symbol %q", r.FileContainingSymbol), err == nil
	case *rpb.ServerReflectionRequest_FileContainingExtension:
		x := r.FileContainingExtension
		_, err := st.s.exts.FindExtensionByNumber(protoreflect.FullName(x.GetContainingType()), protoreflect.FieldNumber(x.GetExtensionNumber()))
		return fmt.Sprintf("extension %d of %q", x.GetExtensionNumber(), x.GetContainingType()), err == nil
	case *rpb.ServerReflectionRequest_AllExtensionNumbersOfType:
		_, err := st.local.FindDescriptorByName(protoreflect.FullName(r.AllExtensionNumbersOfType))
		return fmt.Sprintf("type %q", r.AllExtensionNumbersOfType), err == nil
	}
	return "", false
}

// listServices lists the files' services, the front's own and the
// backend's, each once, sorted.
func (st *stream) listServices(req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
	names := slices.Clone(st.local.names)
	if st.s.opts.Backend != nil {
		if resp, err := st.askBackend(req); err == nil {
			for _, svc := range resp.GetListServicesResponse().GetService() {
				names = append(names, svc.GetName())
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	list := &rpb.ListServiceResponse{}
	for _, name := range names {
		list.Service = append(list.Service, &rpb.ServiceResponse{Name: name})
	}
	return &rpb.ServerReflectionResponse{
		ValidHost:       req.GetHost(),
		OriginalRequest: req,
		MessageResponse: &rpb.ServerReflectionResponse_ListServicesResponse{ListServicesResponse: list},
	}
}

// fromFiles is grpc-go's reflection server's answer from the files.
func (st *stream) fromFiles(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	one := &oneQuestion{ctx: st.ctx, req: req}
	if err := st.local.srv.ServerReflectionInfo(one); err != nil {
		return nil, err // a question of no kind: InvalidArgument, as grpc-go ends the stream
	}
	if one.resp == nil {
		return nil, status.Error(codes.Internal, "reflection: no answer from the files")
	}
	return one.resp, nil
}

// notFound is the NotFound answer to req.
func notFound(req *rpb.ServerReflectionRequest, msg string) *rpb.ServerReflectionResponse {
	return &rpb.ServerReflectionResponse{
		ValidHost:       req.GetHost(),
		OriginalRequest: req,
		MessageResponse: &rpb.ServerReflectionResponse_ErrorResponse{ErrorResponse: &rpb.ErrorResponse{
			ErrorCode: int32(codes.NotFound), ErrorMessage: msg,
		}},
	}
}

// oneQuestion is a ServerReflectionInfo stream of one question, for
// grpc-go's reflection server: it gives req, keeps the answer, then ends.
type oneQuestion struct {
	ctx  context.Context
	req  *rpb.ServerReflectionRequest
	resp *rpb.ServerReflectionResponse
}

func (q *oneQuestion) Recv() (*rpb.ServerReflectionRequest, error) {
	if q.req == nil {
		return nil, io.EOF
	}
	req := q.req
	q.req = nil
	return req, nil
}

func (q *oneQuestion) Send(resp *rpb.ServerReflectionResponse) error {
	q.resp = resp
	return nil
}

func (q *oneQuestion) Context() context.Context     { return q.ctx }
func (q *oneQuestion) SetHeader(metadata.MD) error  { return nil }
func (q *oneQuestion) SendHeader(metadata.MD) error { return nil }
func (q *oneQuestion) SetTrailer(metadata.MD)       {}

func (q *oneQuestion) SendMsg(m any) error {
	resp, ok := m.(*rpb.ServerReflectionResponse)
	if !ok {
		return fmt.Errorf("reflection: cannot send %T", m)
	}
	return q.Send(resp)
}

func (q *oneQuestion) RecvMsg(m any) error {
	req, err := q.Recv()
	if err != nil {
		return err
	}
	dst, ok := m.(*rpb.ServerReflectionRequest)
	if !ok {
		return fmt.Errorf("reflection: cannot receive into %T", m)
	}
	proto.Reset(dst)
	proto.Merge(dst, req)
	return nil
}

// backendStream is a reflection stream to the backend.
type backendStream struct {
	cs      grpc.ClientStream
	cancel  context.CancelFunc
	version string
}

// askBackend asks the backend's reflection req, on this stream's backend
// stream, opening it at the first question. A failure is kept: the rest
// of the incoming stream is answered from the files alone.
func (st *stream) askBackend(req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	if st.whyNot != nil {
		return nil, st.whyNot
	}
	if st.backend != nil {
		resp, err := st.roundTrip(st.backend, req)
		if err != nil {
			st.whyNot = errors.New(shortVersion(st.backend.version) + ": " + describe(err))
			st.backend.cancel()
			st.backend = nil
		}
		return resp, st.whyNot
	}
	var failures []string
	for _, version := range versions {
		b, err := st.open(version)
		if err == nil {
			var resp *rpb.ServerReflectionResponse
			if resp, err = st.roundTrip(b, req); err == nil {
				st.backend = b
				return resp, nil
			}
			b.cancel()
		}
		failures = append(failures, shortVersion(version)+": "+describe(err))
		if st.ctx.Err() != nil {
			break
		}
	}
	st.whyNot = errors.New(strings.Join(failures, "; "))
	return nil, st.whyNot
}

// open opens a reflection stream of version to the backend.
func (st *stream) open(version string) (*backendStream, error) {
	ctx, cancel := context.WithCancel(st.ctx)
	if f := st.s.opts.BackendMetadata; f != nil {
		ctx = metadata.NewOutgoingContext(ctx, f(st.ctx))
	}
	cs, err := st.s.opts.Backend.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, infoMethod(version))
	if err != nil {
		cancel()
		return nil, err
	}
	return &backendStream{cs: cs, cancel: cancel, version: version}, nil
}

// roundTrip sends req to the backend and reads its answer, within the
// backend timeout.
func (st *stream) roundTrip(b *backendStream, req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	timer := time.AfterFunc(st.s.opts.BackendTimeout, b.cancel)
	defer timer.Stop()
	resp := new(rpb.ServerReflectionResponse)
	err := b.cs.SendMsg(req)
	if err == nil || err == io.EOF { // io.EOF: the call ended, RecvMsg says how
		err = b.cs.RecvMsg(resp)
	}
	if err == io.EOF {
		err = status.Error(codes.Internal, "the backend ended its reflection stream")
	}
	if err != nil && !timer.Stop() && st.ctx.Err() == nil {
		err = fmt.Errorf("it did not answer within %v", st.s.opts.BackendTimeout)
	}
	if err == nil && resp.GetMessageResponse() == nil {
		err = status.Error(codes.Internal, "the backend sent an empty reflection answer")
	}
	return resp, err
}

// closeBackend half-closes the backend stream and reads its end, within
// the backend timeout, so that the backend sees a call that finished.
func (st *stream) closeBackend() {
	b := st.backend
	if b == nil {
		return
	}
	st.backend = nil
	timer := time.AfterFunc(st.s.opts.BackendTimeout, b.cancel)
	defer timer.Stop()
	b.cs.CloseSend()
	for b.cs.RecvMsg(new(rpb.ServerReflectionResponse)) == nil {
	}
	b.cancel()
}

// shortVersion is "v1" or "v1alpha" of a version's service name.
func shortVersion(service string) string { return strings.Split(service, ".")[2] }

// describe words a backend call's error: its code name and message.
func describe(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Code().String() + ": " + s.Message()
	}
	return err.Error()
}
