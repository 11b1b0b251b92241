package grpchttp

import (
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// registry holds the services registered on a Handler, by full method name
// ("/UserManager/GetUser"), so that calls go straight to their handlers,
// without a trip through grpc-go's transport. It registers each service on
// the Handler's grpc.Server too, when it has one.
type registry struct {
	server *grpc.Server // may be nil

	mu       sync.RWMutex // RegisterService may come after calls began
	methods  map[string]handler
	services map[string]grpc.ServiceInfo
	// unknown serves the methods no service registered, when set.
	unknown *handler
}

// handler is one registered method: the service implementation and either
// its unary or its streaming descriptor.
type handler struct {
	impl   any
	unary  *grpc.MethodDesc
	stream *grpc.StreamDesc
}

func newRegistry(s *grpc.Server, unknown grpc.StreamHandler) *registry {
	r := &registry{server: s, methods: make(map[string]handler), services: make(map[string]grpc.ServiceInfo)}
	if unknown != nil {
		r.unknown = &handler{stream: &grpc.StreamDesc{StreamName: "unknown", Handler: unknown, ServerStreams: true, ClientStreams: true}}
	}
	return r
}

// RegisterService implements grpc.ServiceRegistrar.
func (r *registry) RegisterService(sd *grpc.ServiceDesc, impl any) {
	if r.server != nil {
		r.server.RegisterService(sd, impl)
	}
	info := grpc.ServiceInfo{Metadata: sd.Metadata}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range sd.Methods {
		r.methods["/"+sd.ServiceName+"/"+sd.Methods[i].MethodName] = handler{impl: impl, unary: &sd.Methods[i]}
		info.Methods = append(info.Methods, grpc.MethodInfo{Name: sd.Methods[i].MethodName})
	}
	for i := range sd.Streams {
		st := &sd.Streams[i]
		r.methods["/"+sd.ServiceName+"/"+st.StreamName] = handler{impl: impl, stream: st}
		info.Methods = append(info.Methods, grpc.MethodInfo{Name: st.StreamName, IsClientStream: st.ClientStreams, IsServerStream: st.ServerStreams})
	}
	r.services[sd.ServiceName] = info
}

// GetServiceInfo implements reflection.ServiceInfoProvider: the services
// registered here.
func (r *registry) GetServiceInfo() map[string]grpc.ServiceInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]grpc.ServiceInfo, len(r.services))
	for k, v := range r.services {
		out[k] = v
	}
	return out
}

// lookup returns the handler of a full method name, or the status of a
// method nobody serves, worded as grpc-go words it.
func (r *registry) lookup(fullMethod string) (handler, error) {
	r.mu.RLock()
	h, ok := r.methods[fullMethod]
	r.mu.RUnlock()
	if ok {
		return h, nil
	}
	if r.unknown != nil {
		return *r.unknown, nil
	}
	service, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok || !strings.HasPrefix(fullMethod, "/") {
		return handler{}, status.Errorf(codes.Unimplemented, "malformed method name: %q", fullMethod)
	}
	r.mu.RLock()
	_, known := r.services[service]
	r.mu.RUnlock()
	if known {
		return handler{}, status.Errorf(codes.Unimplemented, "unknown method %s for service %s", method, service)
	}
	if r.server != nil {
		if _, onServer := r.server.GetServiceInfo()[service]; onServer {
			return handler{}, status.Errorf(codes.Unimplemented, "service %s was registered on the grpc.Server, not through the grpchttp.Handler: register it on the Handler to serve it over HTTP", service)
		}
	}
	return handler{}, status.Errorf(codes.Unimplemented, "unknown service %s", service)
}

// isMethodPath reports whether path names a method this registry would
// serve: a registered one, or any when an unknown-service handler is set.
func (r *registry) isMethodPath(path string) bool {
	if r.unknown != nil {
		s, m, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		return ok && s != "" && m != "" && !strings.Contains(m, "/")
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.methods[path]
	return ok
}
