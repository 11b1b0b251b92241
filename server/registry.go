package server

import (
	"google.golang.org/grpc"
)

// registry is the grpc.ServiceRegistrar every service is registered on. It
// registers each service on every gRPC server of the port and records its
// handlers by full method name ("/UserManager/GetUser"), so the WebSocket
// bridge can call them directly, without a second trip through an HTTP/2
// transport.
type registry struct {
	servers []*grpc.Server
	methods map[string]handler
}

// handler is one registered method: the service implementation and either
// its unary or its streaming descriptor.
type handler struct {
	impl   any
	unary  *grpc.MethodDesc
	stream *grpc.StreamDesc
}

func newRegistry(servers ...*grpc.Server) *registry {
	return &registry{servers: servers, methods: make(map[string]handler)}
}

// RegisterService implements grpc.ServiceRegistrar.
func (r *registry) RegisterService(sd *grpc.ServiceDesc, impl any) {
	for _, s := range r.servers {
		s.RegisterService(sd, impl)
	}
	for i := range sd.Methods {
		r.methods["/"+sd.ServiceName+"/"+sd.Methods[i].MethodName] = handler{impl: impl, unary: &sd.Methods[i]}
	}
	for i := range sd.Streams {
		r.methods["/"+sd.ServiceName+"/"+sd.Streams[i].StreamName] = handler{impl: impl, stream: &sd.Streams[i]}
	}
}

// GetServiceInfo implements reflection.GRPCServer.
func (r *registry) GetServiceInfo() map[string]grpc.ServiceInfo {
	return r.servers[0].GetServiceInfo()
}

// lookup returns the handler of a full method name.
func (r *registry) lookup(fullMethod string) (handler, bool) {
	h, ok := r.methods[fullMethod]
	return h, ok
}
