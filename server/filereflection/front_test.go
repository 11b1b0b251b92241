package filereflection_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/grpcplay/playground/server/filereflection"
	"github.com/grpcplay/playground/server/protofiles"
	"github.com/grpcplay/playground/server/servertest/routeguidetest"
)

// frame is a message the test front forwards as bytes.
type frame struct{ b []byte }

// frontCodec passes frames as bytes and any other message (health,
// reflection) as protobuf, as the playground's front does.
type frontCodec struct{}

func (frontCodec) Name() string { return "proto" }

func (frontCodec) Marshal(v any) ([]byte, error) {
	if f, ok := v.(*frame); ok {
		return f.b, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("cannot marshal %T", v)
	}
	return proto.Marshal(m)
}

func (frontCodec) Unmarshal(data []byte, v any) error {
	if f, ok := v.(*frame); ok {
		f.b = append([]byte(nil), data...)
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("cannot unmarshal into %T", v)
	}
	return proto.Unmarshal(data, m)
}

// dial connects to a gRPC server on addr, cleartext, until the test ends.
func dial(t testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// startFront serves, on 127.0.0.1, a front as the playground's: every
// call of a service it does not have goes to backendAddr as bytes; it
// serves health itself, and reflection from files with the backend's
// behind them. It returns its host:port.
func startFront(t testing.TB, files *protoregistry.Files, backendAddr string, opts filereflection.Options) string {
	t.Helper()
	cc := dial(t, backendAddr, grpc.WithDefaultCallOptions(grpc.ForceCodec(frontCodec{})))
	forward := func(_ any, ss grpc.ServerStream) error {
		method, _ := grpc.Method(ss.Context())
		in, _ := metadata.FromIncomingContext(ss.Context())
		cs, err := cc.NewStream(metadata.NewOutgoingContext(ss.Context(), in), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
		if err != nil {
			return err
		}
		go func() {
			for {
				var f frame
				if err := ss.RecvMsg(&f); err != nil {
					cs.CloseSend()
					return
				}
				if cs.SendMsg(&f) != nil {
					return
				}
			}
		}()
		for {
			var f frame
			if err := cs.RecvMsg(&f); err != nil {
				ss.SetTrailer(cs.Trailer())
				if err == io.EOF {
					return nil
				}
				return err
			}
			if err := ss.SendMsg(&f); err != nil {
				return err
			}
		}
	}
	s := grpc.NewServer(grpc.UnknownServiceHandler(forward), grpc.ForceServerCodec(frontCodec{}))
	healthpb.RegisterHealthServer(s, health.NewServer())
	opts.Own = s
	if opts.Backend == nil {
		opts.Backend = cc
	}
	filereflection.New(files, opts).Register(s)
	return serve(t, s)
}

// serve serves s on 127.0.0.1 until the test ends and returns its address.
func serve(t testing.TB, s *grpc.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return ln.Addr().String()
}

// routeGuideFiles loads the route_guide example's schema as the flags
// give it: from its .proto, or from a descriptor set.
func routeGuideFiles(t testing.TB, protoset bool) *protoregistry.Files {
	t.Helper()
	s := protofiles.Sources{Protos: []string{routeguidetest.ProtoFile}, ImportPaths: []string{routeguidetest.ProtoDir(t)}}
	if protoset {
		s = protofiles.Sources{Protosets: []string{routeguidetest.Protoset(t)}}
	}
	files, err := protofiles.Load(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	toolsDir   string
	buildTools sync.Map // name: func() (string, error)
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "filereflection-tools-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	toolsDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	// Every stream to a backend is closed when its incoming stream ends.
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
		code = 1
	}
	os.Exit(code)
}

// grpcurl runs the grpcurl pinned in proto/tools/go.mod with args and
// returns its output.
func grpcurl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	once, _ := buildTools.LoadOrStore("grpcurl", sync.OnceValues(func() (string, error) {
		bin := filepath.Join(toolsDir, "grpcurl")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/fullstorydev/grpcurl/cmd/grpcurl")
		cmd.Dir = "../../proto/tools"
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build grpcurl: %v\n%s", err, out)
		}
		return bin, nil
	}))
	bin, err := once.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-max-time", "20"}, args...)...).CombinedOutput()
	return string(out), err
}
