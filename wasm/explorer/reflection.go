package explorer

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	rpb "github.com/grpcplay/playground/pb/reflection/v1"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/client/protocodec"
)

// The reflection versions Load speaks. Their messages are the same on the
// wire, so one set (pb/reflection/v1) serves both; only the method differs.
const (
	V1      = "v1"
	V1alpha = "v1alpha"
)

// reflectionCodec encodes the reflection messages, protobuf-go's, whatever
// codec the caller's Conn was dialed with: in the browser, DefaultCodec
// takes only generated marshalling code.
var reflectionCodec = client.ForceCodec(protocodec.Codec{})

// reflectionMethod is the ServerReflectionInfo method of each version.
func reflectionMethod(version string) string {
	return "/grpc.reflection." + version + ".ServerReflection/ServerReflectionInfo"
}

// LoadOptions tune Load.
type LoadOptions struct {
	// Metadata is sent with the reflection calls, for a server that wants
	// an API key on every call.
	Metadata metadata.MD
	// First is the version to try first (V1 or V1alpha; empty: V1). The
	// other is tried when it fails in any way.
	First string
}

// maxDependencyRounds bounds the rounds of file_by_filename requests for
// dependencies, against a server whose files never end.
const maxDependencyRounds = 32

// Load reads the services of the server conn calls through its reflection
// service and builds their descriptors. It fails only when no reflection
// version answers; files that cannot be built are named in the Schema's
// Problems, and cost only the services that need them.
func Load(ctx context.Context, conn *client.Conn, opts LoadOptions) (*Schema, error) {
	order := []string{V1, V1alpha}
	if opts.First == V1alpha {
		order = []string{V1alpha, V1}
	}
	if len(opts.Metadata) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, opts.Metadata)
	}
	var failures []string
	for _, version := range order {
		s, err := loadWith(ctx, conn, version)
		if err != nil {
			failures = append(failures, version+": "+errorText(err))
			continue
		}
		s.Version = version
		s.Fallback = strings.Join(failures, "; ")
		return s, nil
	}
	return nil, errors.New("server reflection failed: " + strings.Join(failures, "; "))
}

// loadWith reads the schema over one reflection version.
func loadWith(ctx context.Context, conn *client.Conn, version string) (*Schema, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := conn.NewStream(ctx, client.StreamDesc{ClientStreams: true, ServerStreams: true}, reflectionMethod(version), reflectionCodec)
	if err != nil {
		return nil, err
	}
	r := &reflector{s: s}
	resp, err := r.ask([]*rpb.ServerReflectionRequest{{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}}})
	if err != nil {
		return nil, err
	}
	list := resp[0].GetListServicesResponse()
	if list == nil {
		return nil, unexpected("list_services", resp[0])
	}
	var services []string
	for _, svc := range list.GetService() {
		if !slices.Contains(services, svc.GetName()) {
			services = append(services, svc.GetName())
		}
	}
	slices.Sort(services)

	b := &schemaBuilder{
		protos:   make(map[string]*descriptorpb.FileDescriptorProto),
		notFound: make(map[string]string),
	}
	var problems []string
	serviceErrs := make(map[string]string)

	// Every service's file, asked at once: the server answers in order.
	reqs := make([]*rpb.ServerReflectionRequest, len(services))
	for i, name := range services {
		reqs[i] = &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name}}
	}
	resps, err := r.ask(reqs)
	if err != nil {
		return nil, err
	}
	for i, resp := range resps {
		if e := resp.GetErrorResponse(); e != nil {
			serviceErrs[services[i]] = errorResponseText(e)
			continue
		}
		problems = append(problems, b.add(resp)...)
	}

	// Then the files they import that the server did not send with them,
	// round after round, as each may import more.
	asked := make(map[string]bool)
	for range maxDependencyRounds {
		var need []string
		for _, fdp := range b.protos {
			for _, dep := range fdp.GetDependency() {
				if _, ok := b.protos[dep]; !ok && !asked[dep] && !slices.Contains(need, dep) {
					need = append(need, dep)
				}
			}
		}
		if len(need) == 0 {
			break
		}
		slices.Sort(need)
		reqs = reqs[:0]
		for _, name := range need {
			asked[name] = true
			reqs = append(reqs, &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: name}})
		}
		if resps, err = r.ask(reqs); err != nil {
			return nil, err
		}
		for i, resp := range resps {
			if e := resp.GetErrorResponse(); e != nil {
				b.notFound[need[i]] = errorResponseText(e)
				continue
			}
			problems = append(problems, b.add(resp)...)
		}
	}
	r.close()

	schema := b.build(services, serviceErrs)
	schema.Problems = append(problems, schema.Problems...)
	return schema, nil
}

// add keeps the files of a file_descriptor_response, the first copy of
// each name, and returns a problem for each that does not parse.
func (b *schemaBuilder) add(resp *rpb.ServerReflectionResponse) []string {
	var problems []string
	for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(raw, fdp); err != nil {
			problems = append(problems, "reflection sent a file descriptor that does not parse: "+err.Error())
			continue
		}
		if _, ok := b.protos[fdp.GetName()]; !ok {
			b.protos[fdp.GetName()] = fdp
		}
	}
	return problems
}

// reflector asks questions on one ServerReflectionInfo stream.
type reflector struct {
	s *client.Stream
}

// ask sends reqs at once and returns their answers, in order. A failure of
// the stream is its status error.
func (r *reflector) ask(reqs []*rpb.ServerReflectionRequest) ([]*rpb.ServerReflectionResponse, error) {
	for _, req := range reqs {
		if err := r.s.SendMsg(req); err != nil {
			if err != io.EOF {
				return nil, err
			}
			break // the call ended: RecvMsg says how
		}
	}
	out := make([]*rpb.ServerReflectionResponse, 0, len(reqs))
	for range reqs {
		resp := new(rpb.ServerReflectionResponse)
		if err := r.s.RecvMsg(resp); err != nil {
			if err == io.EOF {
				err = grpcstatus.Error(codes.Internal, "the server ended the reflection stream before answering")
			}
			return nil, err
		}
		if resp.GetMessageResponse() == nil {
			return nil, grpcstatus.Error(codes.Internal, "the server sent an empty reflection response")
		}
		out = append(out, resp)
	}
	return out, nil
}

// close half-closes the stream and reads its end, so that the server sees
// a call that finished rather than one cancelled.
func (r *reflector) close() {
	r.s.CloseSend()
	for r.s.RecvMsg(new(rpb.ServerReflectionResponse)) == nil {
	}
}

// unexpected is the error for an answer of the wrong kind.
func unexpected(question string, resp *rpb.ServerReflectionResponse) error {
	if e := resp.GetErrorResponse(); e != nil {
		return grpcstatus.Error(codes.Code(e.GetErrorCode()), e.GetErrorMessage())
	}
	return grpcstatus.Errorf(codes.Internal, "the server answered %s with something else", question)
}

// errorResponseText describes an error_response: its code name and message.
func errorResponseText(e *rpb.ErrorResponse) string {
	return codes.Code(e.GetErrorCode()).String() + ": " + e.GetErrorMessage()
}

// errorText describes a call's error as the page shows statuses: the code
// name, then the message.
func errorText(err error) string {
	st := grpcstatus.Convert(err)
	return st.Code().String() + ": " + st.Message()
}
