//go:build !js

package explorertest

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	v1grpc "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/servertest"
)

// richProtos are the rich schema's files, compiled when a server starts.
//
//go:embed richproto
var richProtos embed.FS

// RichFiles are the rich schema's files, by import path.
var RichFiles = []string{"rich/v1/orders.proto", "rich/v1/known.proto", "rich/v1/settings.proto"}

// RichServices are the services the rich backend serves, its own first.
var RichServices = []string{"rich.v1.Orders", "rich.v1.Known", "rich.v1.Editions"}

// Rich is a plain grpc-go server (not the playground) serving a schema of
// the kind people point the explorer at: proto2 with required fields,
// groups, defaults and int-keyed maps (rich.v1.Orders), every well-known
// type as a request and as fields (rich.v1.Known), an editions-2023 file
// with recursion and a stream of sized items (rich.v1.Editions), with
// server reflection (v1 and v1alpha) and grpc.health.v1. Its handlers work
// on dynamic messages: a request with a required field unset is refused by
// the server's own decoding, as a generated server's would be.
type Rich struct {
	// Addr is where the backend listens.
	Addr  string
	Calls *Calls
	Files *protoregistry.Files

	mu     sync.Mutex
	gs     *grpc.Server
	health *health.Server
	last   map[string]string // the last request of each method, in protojson
}

// StartRich serves the rich schema on a loopback port until the test ends.
func StartRich(t testing.TB) *Rich {
	t.Helper()
	files, err := CompileRich()
	if err != nil {
		t.Fatalf("explorertest: compile the rich schema: %v", err)
	}
	r := &Rich{Calls: new(Calls), Files: files, last: make(map[string]string)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.Stop)
	return r
}

// StartFront serves the playground as a front (-backend) for addr until the
// test ends.
func StartFront(t testing.TB, addr string) *servertest.Server {
	t.Helper()
	return servertest.Start(t, server.Config{Backend: &front.Backend{Addr: addr}}, servertest.WithoutStore())
}

// CompileRich compiles the rich schema's files, with the well-known types
// they import.
func CompileRich() (*protoregistry.Files, error) {
	sub, err := fs.Sub(richProtos, "richproto")
	if err != nil {
		return nil, err
	}
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: func(path string) (io.ReadCloser, error) { return sub.Open(path) },
	})}
	compiled, err := c.Compile(context.Background(), RichFiles...)
	if err != nil {
		return nil, err
	}
	files := new(protoregistry.Files)
	var add func(fd protoreflect.FileDescriptor) error
	add = func(fd protoreflect.FileDescriptor) error {
		if _, err := files.FindFileByPath(fd.Path()); err == nil {
			return nil
		}
		for i := 0; i < fd.Imports().Len(); i++ {
			if err := add(fd.Imports().Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		return files.RegisterFile(fd)
	}
	for _, fd := range compiled {
		if err := add(fd); err != nil {
			return nil, err
		}
	}
	for _, path := range []string{"grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto", "grpc/health/v1/health.proto"} {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			return nil, fmt.Errorf("%s is not linked: %w", path, err)
		}
		if err := add(fd); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// serve starts a grpc.Server with the rich services on ln.
func (r *Rich) serve(ln net.Listener) {
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			r.Calls.add(ctx, info.FullMethod)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			r.Calls.add(ss.Context(), info.FullMethod)
			return h(srv, ss)
		}),
	)
	for _, name := range RichServices {
		d, err := r.Files.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			panic("explorertest: " + err.Error())
		}
		gs.RegisterService(r.desc(d.(protoreflect.ServiceDescriptor)), struct{}{})
	}
	hs := health.NewServer()
	healthgrpc.RegisterHealthServer(gs, hs)
	listed := listed(append(append([]string(nil), RichServices...),
		"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"))
	opts := reflection.ServerOptions{Services: listed, DescriptorResolver: r.Files}
	v1grpc.RegisterServerReflectionServer(gs, reflection.NewServerV1(opts))
	v1alphagrpc.RegisterServerReflectionServer(gs, reflection.NewServer(opts))
	r.mu.Lock()
	r.gs, r.health = gs, hs
	r.mu.Unlock()
	go gs.Serve(ln)
}

// Stop stops the backend; calls in flight end.
func (r *Rich) Stop() {
	r.mu.Lock()
	gs := r.gs
	r.gs = nil
	r.mu.Unlock()
	if gs != nil {
		gs.Stop()
	}
}

// Restart serves again on the same address after Stop. The port may be
// taken meanwhile; then the test fails.
func (r *Rich) Restart(t testing.TB) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger a moment
		if ln, err = net.Listen("tcp", r.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("explorertest: serve again on %s: %v", r.Addr, err)
	}
	r.serve(ln)
}

// LastRequest returns the last request message method received, in
// protojson with proto field names; "" when there was none.
func (r *Rich) LastRequest(method string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[method]
}

func (r *Rich) received(method string, m proto.Message) {
	b, _ := protojson.MarshalOptions{UseProtoNames: true, Resolver: dynamicpb.NewTypes(r.Files)}.Marshal(m)
	r.mu.Lock()
	r.last[method] = string(b)
	r.mu.Unlock()
}

// desc builds a grpc.ServiceDesc whose handlers decode requests as dynamic
// messages of sd's methods and answer with reply.
func (r *Rich) desc(sd protoreflect.ServiceDescriptor) *grpc.ServiceDesc {
	d := &grpc.ServiceDesc{ServiceName: string(sd.FullName()), HandlerType: (*any)(nil)}
	for i := 0; i < sd.Methods().Len(); i++ {
		md := sd.Methods().Get(i)
		path := "/" + string(sd.FullName()) + "/" + string(md.Name())
		if !md.IsStreamingClient() && !md.IsStreamingServer() {
			d.Methods = append(d.Methods, grpc.MethodDesc{MethodName: string(md.Name()), Handler: r.unary(md, path)})
			continue
		}
		d.Streams = append(d.Streams, grpc.StreamDesc{
			StreamName: string(md.Name()), ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient(),
			Handler: func(_ any, ss grpc.ServerStream) error { return r.stream(md, path, ss) },
		})
	}
	return d
}

func (r *Rich) unary(md protoreflect.MethodDescriptor, path string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := dynamicpb.NewMessage(md.Input())
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(_ context.Context, req any) (any, error) {
			r.received(path, in)
			return r.reply(md, []*dynamicpb.Message{in})
		}
		if interceptor == nil {
			return h(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: path}, h)
	}
}

func (r *Rich) stream(md protoreflect.MethodDescriptor, path string, ss grpc.ServerStream) error {
	if !md.IsStreamingClient() {
		in := dynamicpb.NewMessage(md.Input())
		if err := ss.RecvMsg(in); err != nil {
			return err
		}
		r.received(path, in)
		if md.Name() == "Stream" {
			return streamItems(md, in, ss)
		}
		for i := range 3 {
			out, err := r.reply(md, []*dynamicpb.Message{in})
			if err != nil {
				return err
			}
			setString(out, "id", fmt.Sprintf("order-%d", i+1))
			if err := ss.SendMsg(out); err != nil {
				return err
			}
		}
		return nil
	}
	var all []*dynamicpb.Message
	for {
		in := dynamicpb.NewMessage(md.Input())
		err := ss.RecvMsg(in)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		r.received(path, in)
		all = append(all, in)
		if md.IsStreamingServer() {
			if err := ss.SendMsg(in); err != nil {
				return err
			}
		}
	}
	if md.IsStreamingServer() {
		return nil
	}
	out, err := r.reply(md, all)
	if err != nil {
		return err
	}
	return ss.SendMsg(out)
}

// streamItems answers rich.v1.Editions/Stream: count items of about size
// bytes each, numbered from 1.
func streamItems(md protoreflect.MethodDescriptor, in *dynamicpb.Message, ss grpc.ServerStream) error {
	count := int(in.Get(md.Input().Fields().ByName("count")).Int())
	size := int(in.Get(md.Input().Fields().ByName("size")).Int())
	if count < 0 || count > 10_000_000 || size < 0 || size > 1<<20 {
		return status.Error(codes.InvalidArgument, "count must be 0 to 10,000,000 and size 0 to 1 MiB")
	}
	out := md.Output()
	text := strings.Repeat("x", max(size-8, 0))
	for i := 1; i <= count; i++ {
		item := dynamicpb.NewMessage(out)
		item.Set(out.Fields().ByName("index"), protoreflect.ValueOfInt32(int32(i)))
		item.Set(out.Fields().ByName("text"), protoreflect.ValueOfString(text))
		if err := ss.SendMsg(item); err != nil {
			return err
		}
	}
	return nil
}

// reply answers a call whose requests were ins: the request itself when
// the method returns its input type (the last one of a stream), an Ack
// naming the method, or an OrderList of the orders received.
func (r *Rich) reply(md protoreflect.MethodDescriptor, ins []*dynamicpb.Message) (*dynamicpb.Message, error) {
	out := md.Output()
	switch {
	case out.FullName() == md.Input().FullName() && len(ins) > 0:
		return proto.Clone(ins[len(ins)-1]).(*dynamicpb.Message), nil
	case out.FullName() == "rich.v1.Ack":
		ack := dynamicpb.NewMessage(out)
		setString(ack, "method", string(md.FullName()))
		ack.Set(out.Fields().ByName("bytes"), protoreflect.ValueOfInt32(int32(proto.Size(ins[0]))))
		return ack, nil
	case out.FullName() == "rich.v1.Order":
		order := dynamicpb.NewMessage(out)
		setString(order, "id", "order")
		customer := order.Mutable(out.Fields().ByName("customer")).Message()
		customer.Set(customer.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString("from "+string(md.Name())))
		order.Set(out.Fields().ByName("level"), protoreflect.ValueOfEnum(1))
		return order, nil
	case out.FullName() == "rich.v1.OrderList":
		list := dynamicpb.NewMessage(out)
		l := list.Mutable(out.Fields().ByName("orders")).List()
		for _, in := range ins {
			l.Append(protoreflect.ValueOfMessage(in))
		}
		return list, nil
	}
	return nil, status.Errorf(codes.Unimplemented, "explorertest: no reply for %s", md.FullName())
}

func setString(m *dynamicpb.Message, name, v string) {
	if f := m.Descriptor().Fields().ByName(protoreflect.Name(name)); f != nil && f.Kind() == protoreflect.StringKind {
		m.Set(f, protoreflect.ValueOfString(v))
	}
}

// SetServing sets what the backend's health service says.
func (r *Rich) SetServing(serving bool) {
	r.mu.Lock()
	hs := r.health
	r.mu.Unlock()
	st := healthgrpc.HealthCheckResponse_SERVING
	if !serving {
		st = healthgrpc.HealthCheckResponse_NOT_SERVING
	}
	hs.SetServingStatus("", st)
}
