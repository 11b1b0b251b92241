package server

import (
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// registry is the grpc.ServiceRegistrar every service is registered on. It
// registers each service on the gRPC server of the port and records its
// handlers by full method name ("/UserManager/GetUser"), so our own
// transports (gRPC-Web, gRPC over net/http, the WebSocket bridge) call
// them directly, without a second trip through an HTTP/2 transport.
type registry struct {
	server   *grpc.Server
	methods  map[string]handler
	services map[string]bool
	// unknown serves the methods no service registered, when set: the
	// forwarder of -backend.
	unknown *handler
}

// handler is one registered method: the service implementation and either
// its unary or its streaming descriptor.
type handler struct {
	impl   any
	unary  *grpc.MethodDesc
	stream *grpc.StreamDesc
	// raw says the handler takes and gives rawMessages: the forwarder's.
	raw bool
}

func newRegistry(s *grpc.Server) *registry {
	return &registry{server: s, methods: make(map[string]handler), services: make(map[string]bool)}
}

// RegisterService implements grpc.ServiceRegistrar.
func (r *registry) RegisterService(sd *grpc.ServiceDesc, impl any) {
	r.server.RegisterService(sd, impl)
	r.services[sd.ServiceName] = true
	for i := range sd.Methods {
		r.methods["/"+sd.ServiceName+"/"+sd.Methods[i].MethodName] = handler{impl: impl, unary: &sd.Methods[i]}
	}
	for i := range sd.Streams {
		r.methods["/"+sd.ServiceName+"/"+sd.Streams[i].StreamName] = handler{impl: impl, stream: &sd.Streams[i]}
	}
}

// GetServiceInfo implements reflection.GRPCServer.
func (r *registry) GetServiceInfo() map[string]grpc.ServiceInfo {
	return r.server.GetServiceInfo()
}

// lookup returns the handler of a full method name, or the status of a
// method nobody serves, worded as grpc-go words it.
func (r *registry) lookup(fullMethod string) (handler, error) {
	if h, ok := r.methods[fullMethod]; ok {
		return h, nil
	}
	if r.unknown != nil {
		return *r.unknown, nil
	}
	service, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	switch {
	case !ok:
		return handler{}, status.Errorf(codes.Unimplemented, "malformed method name: %q", fullMethod)
	case r.services[service]:
		return handler{}, status.Errorf(codes.Unimplemented, "unknown method %s for service %s", method, service)
	}
	return handler{}, status.Errorf(codes.Unimplemented, "unknown service %s", service)
}
