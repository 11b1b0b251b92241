package filereflection_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphagrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	v1alphapb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcplay/playground/proto/protosource"
	"github.com/grpcplay/playground/server/filereflection"
	"github.com/grpcplay/playground/server/servertest/routeguidetest"
)

// TestGrpcurlThroughFront: before a backend without reflection, grpcurl
// lists, describes and calls the route_guide example through a front given
// its .proto, or a descriptor set of it, all four call types.
func TestGrpcurlThroughFront(t *testing.T) {
	backend := routeguidetest.Start(t)
	if out, err := grpcurl(t, "-plaintext", backend, "list"); err == nil {
		t.Fatalf("grpcurl lists the backend itself: it has reflection:\n%s", out)
	}
	for _, protoset := range []bool{false, true} {
		name := map[bool]string{false: "proto", true: "protoset"}[protoset]
		t.Run(name, func(t *testing.T) {
			front := startFront(t, routeGuideFiles(t, protoset), backend, filereflection.Options{})
			out, err := grpcurl(t, "-plaintext", front, "list")
			want := "grpc.health.v1.Health\ngrpc.reflection.v1.ServerReflection\ngrpc.reflection.v1alpha.ServerReflection\nrouteguide.RouteGuide\n"
			if err != nil || out != want {
				t.Fatalf("list: %v\n%s\nwant\n%s", err, out, want)
			}
			out, err = grpcurl(t, "-plaintext", front, "describe", "routeguide.RouteGuide")
			if err != nil || !strings.Contains(out, "rpc RouteChat ( stream .routeguide.RouteNote ) returns ( stream .routeguide.RouteNote );") {
				t.Fatalf("describe: %v\n%s", err, out)
			}
			out, err = grpcurl(t, "-plaintext", front, "describe", "routeguide.RouteSummary")
			if err != nil || !strings.Contains(out, "int32 elapsed_time = 4;") {
				t.Fatalf("describe a message: %v\n%s", err, out)
			}

			out, err = grpcurl(t, "-plaintext", "-d", `{"latitude": 407838351, "longitude": -746143763}`, front, "routeguide.RouteGuide/GetFeature")
			if err != nil || !strings.Contains(out, `"name": "Patriots Path, Mendham, NJ 07945, USA"`) {
				t.Fatalf("GetFeature: %v\n%s", err, out)
			}
			out, err = grpcurl(t, "-plaintext", "-d", `{"lo": {"latitude": 400000000, "longitude": -750000000}, "hi": {"latitude": 410000000, "longitude": -740000000}}`, front, "routeguide.RouteGuide/ListFeatures")
			if err != nil || strings.Count(out, `"name"`) != 2 || !strings.Contains(out, "Whippany") {
				t.Fatalf("ListFeatures: %v\n%s", err, out)
			}
			out, err = grpcurl(t, "-plaintext", "-d", `{"latitude": 407838351, "longitude": -746143763} {"latitude": 408122808, "longitude": -743999179} {"latitude": 1, "longitude": 1}`, front, "routeguide.RouteGuide/RecordRoute")
			if err != nil || !strings.Contains(out, `"pointCount": 3`) || !strings.Contains(out, `"featureCount": 2`) {
				t.Fatalf("RecordRoute: %v\n%s", err, out)
			}
			note := func(msg string) string {
				return `{"location": {"latitude": 5, "longitude": 7}, "message": "` + msg + `"}`
			}
			out, err = grpcurl(t, "-plaintext", "-d", note(name+" first")+note(name+" second"), front, "routeguide.RouteGuide/RouteChat")
			if err != nil || !strings.Contains(out, `"message": "`+name+` first"`) {
				t.Fatalf("RouteChat: %v\n%s", err, out)
			}
		})
	}
}

// reflect asks the reflection service at cc the questions, on one v1
// stream, and returns the answers.
func reflect(t *testing.T, cc grpc.ClientConnInterface, reqs ...*rpb.ServerReflectionRequest) []*rpb.ServerReflectionResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rpb.ServerReflectionResponse
	for _, req := range reqs {
		if err := s.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := s.Recv()
		if err != nil {
			t.Fatalf("%v: %v", req, err)
		}
		out = append(out, resp)
	}
	s.CloseSend()
	if _, err := s.Recv(); err == nil {
		t.Fatal("an answer more than asked")
	}
	return out
}

func listServices() *rpb.ServerReflectionRequest {
	return &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"}}
}

func symbol(name string) *rpb.ServerReflectionRequest {
	return &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name}}
}

func file(name string) *rpb.ServerReflectionRequest {
	return &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileByFilename{FileByFilename: name}}
}

func serviceList(t *testing.T, resp *rpb.ServerReflectionResponse) []string {
	t.Helper()
	if resp.GetListServicesResponse() == nil {
		t.Fatalf("list_services answered %v", resp)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}

// fileNames are the names of the files of a file_descriptor_response.
func fileNames(t *testing.T, resp *rpb.ServerReflectionResponse) []string {
	t.Helper()
	if resp.GetFileDescriptorResponse() == nil {
		t.Fatalf("answered %v; want files", resp)
	}
	var names []string
	for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
		var fdp descriptorpb.FileDescriptorProto
		if err := proto.Unmarshal(b, &fdp); err != nil {
			t.Fatal(err)
		}
		names = append(names, fdp.GetName())
	}
	return names
}

func notFound(t *testing.T, resp *rpb.ServerReflectionResponse, want string) {
	t.Helper()
	e := resp.GetErrorResponse()
	if codes.Code(e.GetErrorCode()) != codes.NotFound || !strings.Contains(e.GetErrorMessage(), want) {
		t.Fatalf("answered %v; want NotFound holding %q", resp, want)
	}
}

// backendOptions say what a test backend has besides RouteGuide.
type backendOptions struct {
	reflection string // "v1+v1alpha", "v1alpha", or none
}

// startBackend serves RouteGuide and grpc-go's interop TestService, with
// the reflection asked for, and returns its address.
func startBackend(t *testing.T, o backendOptions) string {
	return routeguidetest.Start(t, func(s *grpc.Server) {
		testgrpc.RegisterTestServiceServer(s, interop.NewTestServer())
		switch o.reflection {
		case "v1+v1alpha":
			reflection.Register(s)
		case "v1alpha":
			v1alphagrpc.RegisterServerReflectionServer(s, reflection.NewServer(reflection.ServerOptions{Services: s}))
		}
	})
}

// TestWhichAnswers checks the rules when the backend has reflection too:
// the list is the union; a name the files define is answered from them
// (the file keeps the name the files give it), any other from the
// backend's reflection; a name neither knows is NotFound, saying so.
func TestWhichAnswers(t *testing.T) {
	backend := startBackend(t, backendOptions{reflection: "v1+v1alpha"})
	front := dial(t, startFront(t, routeGuideFiles(t, false), backend, filereflection.Options{}))
	resps := reflect(t, front,
		listServices(),
		symbol("routeguide.RouteGuide"),
		symbol("routeguide.RouteGuide.RouteChat"),
		symbol("grpc.testing.TestService"),
		file("examples/route_guide/routeguide/route_guide.proto"),
		file("route_guide.proto"),
		symbol("grpc.health.v1.Health"),
		symbol("acme.Nowhere"),
	)
	want := []string{
		"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
		"grpc.testing.TestService", "routeguide.RouteGuide",
	}
	if got := serviceList(t, resps[0]); !slices.Equal(got, want) {
		t.Errorf("list %q; want %q", got, want)
	}
	for i, want := range [][]string{
		{"route_guide.proto"}, // the files', not the backend's examples/... file
		{"route_guide.proto"},
		{"grpc/testing/test.proto", "grpc/testing/empty.proto", "grpc/testing/messages.proto"}, // the backend's
		{"examples/route_guide/routeguide/route_guide.proto"},                                  // the backend's
		{"route_guide.proto"},
		{"grpc/health/v1/health.proto"}, // the front's own
	} {
		if got := fileNames(t, resps[i+1]); !slices.Equal(got, want) {
			t.Errorf("answer %d: files %q; want %q", i+1, got, want)
		}
	}
	notFound(t, resps[7], `symbol "acme.Nowhere" is not in the schema files, nor does the backend's reflection know it (NotFound: `)
	if got := resps[1].GetOriginalRequest().GetFileContainingSymbol(); got != "routeguide.RouteGuide" {
		t.Errorf("original_request %q", got)
	}

	// A v1alpha client gets the same.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := v1alphagrpc.NewServerReflectionClient(front).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&v1alphapb.ServerReflectionRequest{MessageRequest: &v1alphapb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "grpc.testing.TestService"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Recv()
	if err != nil || len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) != 3 {
		t.Fatalf("v1alpha: %v, %v", resp, err)
	}
}

// TestBackendVersionsAndHeaders: a backend with only v1alpha reflection,
// which refuses calls without an API key, is asked with the front's
// metadata; without the key, the files still answer and the rest says why
// the backend did not.
func TestBackendVersionsAndHeaders(t *testing.T) {
	backend := routeguidetest.Start(t, func(s *grpc.Server) {
		testgrpc.RegisterTestServiceServer(s, interop.NewTestServer())
		v1alphagrpc.RegisterServerReflectionServer(s, reflection.NewServer(reflection.ServerOptions{Services: s}))
	})
	keyed := grpc.NewServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		if !slices.Equal(md.Get("x-api-key"), []string{"s3cret"}) {
			return status.Error(codes.Unauthenticated, "no key")
		}
		return h(srv, ss)
	}))
	testgrpc.RegisterTestServiceServer(keyed, interop.NewTestServer())
	v1alphagrpc.RegisterServerReflectionServer(keyed, reflection.NewServer(reflection.ServerOptions{Services: keyed}))
	keyedAddr := serve(t, keyed)

	withKey := func(context.Context) metadata.MD { return metadata.Pairs("x-api-key", "s3cret") }
	for _, tc := range []struct {
		name    string
		backend string
		md      func(context.Context) metadata.MD
		want    string // the answer's problem; empty: the backend's file
	}{
		{"v1alpha only", backend, nil, ""},
		{"with the key", keyedAddr, withKey, ""},
		{"without the key", keyedAddr, nil, // grpc-go answers an unknown service before interceptors run.
			"the backend's reflection could not be asked: v1: Unimplemented: unknown service grpc.reflection.v1.ServerReflection; v1alpha: Unauthenticated: no key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := dial(t, startFront(t, routeGuideFiles(t, false), tc.backend, filereflection.Options{BackendMetadata: tc.md}))
			resps := reflect(t, front, listServices(), symbol("grpc.testing.TestService"), symbol("routeguide.Point"))
			list := serviceList(t, resps[0])
			if !slices.Contains(list, "routeguide.RouteGuide") || slices.Contains(list, "grpc.testing.TestService") == (tc.want != "") {
				t.Errorf("list %q", list)
			}
			if tc.want != "" {
				notFound(t, resps[1], tc.want)
			} else if got := fileNames(t, resps[1]); got[0] != "grpc/testing/test.proto" {
				t.Errorf("files %q", got)
			}
			if got := fileNames(t, resps[2]); !slices.Equal(got, []string{"route_guide.proto"}) {
				t.Errorf("routeguide.Point: files %q", got)
			}
		})
	}
}

// TestBackendDownOrSilent: a backend that is down, or whose reflection
// never answers, leaves the files' answers, within the backend timeout,
// and the rest says why.
func TestBackendDownOrSilent(t *testing.T) {
	silent := grpc.NewServer()
	for _, name := range []string{"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} {
		silent.RegisterService(&grpc.ServiceDesc{ServiceName: name, HandlerType: (*any)(nil), Streams: []grpc.StreamDesc{{
			StreamName: "ServerReflectionInfo", ServerStreams: true, ClientStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				<-ss.Context().Done()
				return ss.Context().Err()
			},
		}}}, struct{}{})
	}
	down := closedPort(t)
	for _, tc := range []struct {
		name, backend, want string
	}{
		{"down", down, "v1: Unavailable: "},
		{"silent", serve(t, silent), "v1: it did not answer within 200ms; v1alpha: it did not answer within 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := dial(t, startFront(t, routeGuideFiles(t, true), tc.backend, filereflection.Options{BackendTimeout: 200 * time.Millisecond}))
			resps := reflect(t, front, listServices(), symbol("grpc.testing.TestService"), symbol("routeguide.RouteGuide"), listServices())
			want := []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "routeguide.RouteGuide"}
			if got := serviceList(t, resps[0]); !slices.Equal(got, want) {
				t.Errorf("list %q; want %q", got, want)
			}
			notFound(t, resps[1], `symbol "grpc.testing.TestService" is not in the schema files, and the backend's reflection could not be asked: `+tc.want)
			if got := fileNames(t, resps[2]); !slices.Equal(got, []string{"examples/route_guide/routeguide/route_guide.proto"}) {
				t.Errorf("files %q", got)
			}
			if got := serviceList(t, resps[3]); !slices.Equal(got, want) {
				t.Errorf("list again %q; want %q", got, want)
			}
		})
	}
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestExtensionsAndBadQuestions: extension questions are answered from the
// files; without a backend, a name the files lack says so; a question of
// no kind ends the stream with InvalidArgument, as grpc-go's does.
func TestExtensionsAndBadQuestions(t *testing.T) {
	fdps, err := protosource.Compile(context.Background(), []string{"acme/ext.proto"}, protosource.Options{Open: protosource.Texts(map[string]string{
		"acme/ext.proto": `syntax = "proto2";
package acme;
message Base { extensions 100 to 200; }
extend Base { optional int32 flavour = 100; }
message Holder { extend Base { optional string colour = 101; } }
service Shop { rpc Buy(Base) returns (Base); }
`,
	})})
	if err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: fdps})
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	filereflection.New(files, filereflection.Options{Own: s}).Register(s)
	cc := dial(t, serve(t, s))
	resps := reflect(t, cc,
		&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "acme.Base"}},
		&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingExtension{FileContainingExtension: &rpb.ExtensionRequest{ContainingType: "acme.Base", ExtensionNumber: 101}}},
		&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingExtension{FileContainingExtension: &rpb.ExtensionRequest{ContainingType: "acme.Base", ExtensionNumber: 150}}},
		file("acme/none.proto"),
		listServices(),
	)
	if got := resps[0].GetAllExtensionNumbersResponse().GetExtensionNumber(); !slices.Equal(got, []int32{100, 101}) {
		t.Errorf("extension numbers %v", resps[0])
	}
	if got := fileNames(t, resps[1]); !slices.Equal(got, []string{"acme/ext.proto"}) {
		t.Errorf("files %q", got)
	}
	notFound(t, resps[2], `extension 150 of "acme.Base" is not in the schema files, and the front has no backend to ask`)
	notFound(t, resps[3], `file "acme/none.proto" is not in the schema files, and the front has no backend to ask`)
	if got := serviceList(t, resps[4]); !slices.Equal(got, []string{"acme.Shop", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}) {
		t.Errorf("list %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&rpb.ServerReflectionRequest{Host: "x"})
	if _, err := st.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a question of no kind: %v; want InvalidArgument", err)
	}
}
