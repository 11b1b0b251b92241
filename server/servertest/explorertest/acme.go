//go:build !js

package explorertest

import (
	"context"
	"io"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	v1grpc "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// The files of the server whose reflection lacks a file (StartAcme).
const (
	// SharedFile declares acme.Money. The server's reflection never
	// returns it.
	SharedFile = "acme/shared.proto"
	// OrdersFile declares acme.Orders, which needs SharedFile: the
	// explorer cannot describe it.
	OrdersFile = "acme/orders.proto"
	// EchoFile declares acme.Echo. It imports google/protobuf/any.proto,
	// which the server sends, and google/protobuf/timestamp.proto, which
	// it does not: the explorer takes that one from its fallbacks.
	EchoFile = "acme/echo.proto"
	// MissingProblem is how the explorer names what is missing.
	MissingProblem = "reflection did not return " + SharedFile + ", needed by " + OrdersFile
	// UnknownField is the field number Echo adds to its replies, which no
	// schema knows, with the value UnknownValue.
	UnknownField = 99
	UnknownValue = 7
)

// StartAcme serves, besides UserManager, the services acme.Echo (Say,
// unary; Chat, bidirectional: each echoes its requests, plus field
// UnknownField; the text "fail" gets InvalidArgument with a
// google.rpc.BadRequest in its details) and acme.Orders, with reflection v1
// only, whose files lack SharedFile and google/protobuf/timestamp.proto.
func StartAcme(t testing.TB, opts ...servertest.Option) *Server {
	t.Helper()
	full, served, err := acmeFiles()
	if err != nil {
		t.Fatalf("explorertest: build the acme files: %v", err)
	}
	echoMsg, err := full.FindDescriptorByName("acme.EchoRequest")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{msg: echoMsg.(protoreflect.MessageDescriptor)}
	calls := new(Calls)
	refl := reflection.NewServerV1(reflection.ServerOptions{
		Services:           listed{"UserManager", "acme.Echo", "acme.Orders", "grpc.reflection.v1.ServerReflection"},
		DescriptorResolver: served,
	})
	opts = append(opts,
		servertest.WithService(&v1grpc.ServerReflection_ServiceDesc, refl),
		servertest.WithService(e.desc(), e),
		servertest.WithService(ordersDesc(), e),
	)
	return &Server{servertest.Start(t, calls.config(server.Config{NoReflection: true}), opts...), calls}
}

// acmeFiles builds the acme files twice: complete, for the handlers, and as
// the server's reflection serves them, without SharedFile and timestamp.proto.
func acmeFiles() (full, served *protoregistry.Files, err error) {
	full = new(protoregistry.Files)
	for _, fdp := range []*descriptorpb.FileDescriptorProto{sharedProto(), ordersProto(), echoProto()} {
		fd, err := protodesc.NewFile(fdp, chain{full, protoregistry.GlobalFiles})
		if err != nil {
			return nil, nil, err
		}
		if err := full.RegisterFile(fd); err != nil {
			return nil, nil, err
		}
	}
	served = new(protoregistry.Files)
	for _, fd := range []protoreflect.FileDescriptor{pb.File_user_proto, v1grpcFile(), anypb.File_google_protobuf_any_proto} {
		if err := served.RegisterFile(fd); err != nil {
			return nil, nil, err
		}
	}
	lax := protodesc.FileOptions{AllowUnresolvable: true}
	for _, fdp := range []*descriptorpb.FileDescriptorProto{ordersProto(), echoProto()} {
		fd, err := lax.New(fdp, served)
		if err != nil {
			return nil, nil, err
		}
		if err := served.RegisterFile(fd); err != nil {
			return nil, nil, err
		}
	}
	return full, served, nil
}

// v1grpcFile is grpc-go's reflection v1 file, for the reflection service
// to describe itself.
func v1grpcFile() protoreflect.FileDescriptor {
	fd, err := protoregistry.GlobalFiles.FindFileByPath("grpc/reflection/v1/reflection.proto")
	if err != nil {
		panic("explorertest: grpc-go's reflection v1 is not linked: " + err.Error())
	}
	return fd
}

// chain resolves with a, then b.
type chain struct{ a, b *protoregistry.Files }

func (c chain) FindFileByPath(p string) (protoreflect.FileDescriptor, error) {
	if fd, err := c.a.FindFileByPath(p); err == nil {
		return fd, nil
	}
	return c.b.FindFileByPath(p)
}

func (c chain) FindDescriptorByName(n protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := c.a.FindDescriptorByName(n); err == nil {
		return d, nil
	}
	return c.b.FindDescriptorByName(n)
}

func field(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
	f := &descriptorpb.FieldDescriptorProto{
		Name:   proto.String(name),
		Number: proto.Int32(num),
		Type:   typ.Enum(),
		Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
	}
	if typeName != "" {
		f.TypeName = proto.String(typeName)
	}
	return f
}

const (
	tString  = descriptorpb.FieldDescriptorProto_TYPE_STRING
	tInt64   = descriptorpb.FieldDescriptorProto_TYPE_INT64
	tUint32  = descriptorpb.FieldDescriptorProto_TYPE_UINT32
	tMessage = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	tEnum    = descriptorpb.FieldDescriptorProto_TYPE_ENUM
)

func sharedProto() *descriptorpb.FileDescriptorProto {
	return &descriptorpb.FileDescriptorProto{
		Name: proto.String(SharedFile), Package: proto.String("acme"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:  proto.String("Money"),
			Field: []*descriptorpb.FieldDescriptorProto{field("currency", 1, tString, ""), field("units", 2, tInt64, "")},
		}},
	}
}

func ordersProto() *descriptorpb.FileDescriptorProto {
	return &descriptorpb.FileDescriptorProto{
		Name: proto.String(OrdersFile), Package: proto.String("acme"), Syntax: proto.String("proto3"),
		Dependency: []string{SharedFile},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:  proto.String("Order"),
			Field: []*descriptorpb.FieldDescriptorProto{field("id", 1, tString, ""), field("total", 2, tMessage, ".acme.Money")},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Orders"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name: proto.String("Get"), InputType: proto.String(".acme.Order"), OutputType: proto.String(".acme.Order"),
			}},
		}},
	}
}

// echoProto is acme/echo.proto:
//
//	message EchoRequest {
//	  string text = 1; int64 big = 2; Mood mood = 3;
//	  google.protobuf.Any detail = 4; google.protobuf.Timestamp at = 5;
//	  oneof choice { string name = 6; uint32 number = 7; }
//	  Inner inner = 8; string reply_to = 9;
//	  message Inner { string note = 1; Inner deeper = 2; repeated string tags = 3; }
//	  enum Mood { MOOD_UNSPECIFIED = 0; HAPPY = 1; GRUMPY = 2; }
//	}
//	service Echo {
//	  rpc Say(EchoRequest) returns (EchoRequest);
//	  rpc Chat(stream EchoRequest) returns (stream EchoRequest);
//	}
func echoProto() *descriptorpb.FileDescriptorProto {
	name, number := field("name", 6, tString, ""), field("number", 7, tUint32, "")
	name.OneofIndex, number.OneofIndex = proto.Int32(0), proto.Int32(0)
	tags := field("tags", 3, tString, "")
	tags.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	enumValue := func(n string, v int32) *descriptorpb.EnumValueDescriptorProto {
		return &descriptorpb.EnumValueDescriptorProto{Name: proto.String(n), Number: proto.Int32(v)}
	}
	return &descriptorpb.FileDescriptorProto{
		Name: proto.String(EchoFile), Package: proto.String("acme"), Syntax: proto.String("proto3"),
		Dependency: []string{"google/protobuf/any.proto", "google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("EchoRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("text", 1, tString, ""), field("big", 2, tInt64, ""),
				field("mood", 3, tEnum, ".acme.EchoRequest.Mood"),
				field("detail", 4, tMessage, ".google.protobuf.Any"),
				field("at", 5, tMessage, ".google.protobuf.Timestamp"),
				name, number,
				field("inner", 8, tMessage, ".acme.EchoRequest.Inner"),
				field("reply_to", 9, tString, ""),
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name:  proto.String("Inner"),
				Field: []*descriptorpb.FieldDescriptorProto{field("note", 1, tString, ""), field("deeper", 2, tMessage, ".acme.EchoRequest.Inner"), tags},
			}},
			EnumType: []*descriptorpb.EnumDescriptorProto{{
				Name:  proto.String("Mood"),
				Value: []*descriptorpb.EnumValueDescriptorProto{enumValue("MOOD_UNSPECIFIED", 0), enumValue("HAPPY", 1), enumValue("GRUMPY", 2)},
			}},
			OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("choice")}},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Echo"),
			Method: []*descriptorpb.MethodDescriptorProto{
				{Name: proto.String("Say"), InputType: proto.String(".acme.EchoRequest"), OutputType: proto.String(".acme.EchoRequest")},
				{
					Name: proto.String("Chat"), InputType: proto.String(".acme.EchoRequest"), OutputType: proto.String(".acme.EchoRequest"),
					ClientStreaming: proto.Bool(true), ServerStreaming: proto.Bool(true),
				},
			},
		}},
	}
}

// echo serves acme.Echo, and acme.Orders with the same reply.
type echo struct {
	msg protoreflect.MessageDescriptor
}

func (e *echo) desc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "acme.Echo",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Say", Handler: e.unary("/acme.Echo/Say")}},
		Streams: []grpc.StreamDesc{{StreamName: "Chat", ServerStreams: true, ClientStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			for {
				in := dynamicpb.NewMessage(e.msg)
				if err := ss.RecvMsg(in); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
				out, err := e.reply(in)
				if err != nil {
					return err
				}
				if err := ss.SendMsg(out); err != nil {
					return err
				}
			}
		}}},
	}
}

func ordersDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "acme.Orders",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Get", Handler: func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
			return nil, status.Error(codes.Unimplemented, "acme.Orders is here to be undescribable")
		}}},
	}
}

// unary is the handler of a unary echo method.
func (e *echo) unary(method string) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := dynamicpb.NewMessage(e.msg)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(_ context.Context, req any) (any, error) { return e.reply(req.(*dynamicpb.Message)) }
		if interceptor == nil {
			return h(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: method}, h)
	}
}

// reply echoes in, with field UnknownField added; text "fail" gets
// InvalidArgument with a google.rpc.BadRequest.
func (e *echo) reply(in *dynamicpb.Message) (*dynamicpb.Message, error) {
	if in.Get(e.msg.Fields().ByName("text")).String() == "fail" {
		st, err := status.New(codes.InvalidArgument, "text: fail was asked for").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "text", Description: "fail was asked for"}},
		})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	out := proto.Clone(in).(*dynamicpb.Message)
	unknown := protowire.AppendTag(out.GetUnknown(), UnknownField, protowire.VarintType)
	out.SetUnknown(protowire.AppendVarint(unknown, UnknownValue))
	return out, nil
}
