// Package routeguidetest serves grpc-go's route_guide example for tests: a
// backend whose schema comes only from files. Its .proto
// (google.golang.org/grpc/examples, route_guide/routeguide/route_guide.proto)
// is edition 2023, and the server registers no reflection, as many
// production servers do; a front given the .proto (-proto, -import-path) or
// a descriptor set of it (-protoset) must answer reflection for it.
//
// Start serves it on 127.0.0.1 with a real grpc-go server, ProtoDir and
// ProtoFile say where its .proto is in the module cache, and Protoset
// writes a FileDescriptorSet of it.
package routeguidetest

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	pb "google.golang.org/grpc/examples/route_guide/routeguide"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The example's .proto, as its module lays it out.
const (
	// Module is the Go module that holds the example.
	Module = "google.golang.org/grpc/examples"
	// ProtoFile is the .proto's name under ProtoDir: what -proto names.
	ProtoFile = "route_guide.proto"
	// Service is the service's full name.
	Service = "routeguide.RouteGuide"
)

// Features are the features the server knows, by name and place.
var Features = []*pb.Feature{
	{Name: "Patriots Path, Mendham, NJ 07945, USA", Location: &pb.Point{Latitude: 407838351, Longitude: -746143763}},
	{Name: "101 New Jersey 10, Whippany, NJ 07981, USA", Location: &pb.Point{Latitude: 408122808, Longitude: -743999179}},
	{Name: "U.S. 6, Shohola, PA 18458, USA", Location: &pb.Point{Latitude: 413628156, Longitude: -749015468}},
}

// Start serves RouteGuide on 127.0.0.1 with a grpc-go server, without
// reflection, until the test ends, and returns its host:port. register,
// when given, registers more on the server before it serves (reflection,
// for a test of a backend that has it).
func Start(t testing.TB, register ...func(*grpc.Server)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterRouteGuideServer(s, &routeGuide{notes: make(map[string][]*pb.RouteNote)})
	for _, r := range register {
		r(s)
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

// ProtoDir is the folder of the example's route_guide.proto in the module
// cache, as the go command reports it: what -import-path names.
func ProtoDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -m %s: %v\n%s", Module, err, ee.Stderr)
		}
		t.Fatalf("go list -m %s: %v", Module, err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "route_guide", "routeguide")
	if _, err := os.Stat(filepath.Join(dir, ProtoFile)); err != nil {
		t.Fatalf("the example's .proto: %v", err)
	}
	return dir
}

// Descriptor is the example's file as its generated Go code holds it
// (named examples/route_guide/routeguide/route_guide.proto there).
func Descriptor() protoreflect.FileDescriptor {
	return pb.File_examples_route_guide_routeguide_route_guide_proto
}

// Protoset writes a FileDescriptorSet of the example's file (it imports
// nothing) into the test's temporary folder, as protoc's
// --descriptor_set_out would, and returns its path.
func Protoset(t testing.TB) string {
	t.Helper()
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(Descriptor())}}
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "route_guide.protoset")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// routeGuide is the example's service: features by place, a route's
// summary, and notes shared by place.
type routeGuide struct {
	pb.UnimplementedRouteGuideServer
	mu    sync.Mutex
	notes map[string][]*pb.RouteNote
}

// GetFeature returns the feature at p, or one with an empty name.
func (*routeGuide) GetFeature(_ context.Context, p *pb.Point) (*pb.Feature, error) {
	for _, f := range Features {
		if proto.Equal(f.GetLocation(), p) {
			return f, nil
		}
	}
	return &pb.Feature{Location: p}, nil
}

// ListFeatures sends every feature inside the rectangle.
func (*routeGuide) ListFeatures(r *pb.Rectangle, stream grpc.ServerStreamingServer[pb.Feature]) error {
	lo, hi := r.GetLo(), r.GetHi()
	minLat, maxLat := min(lo.GetLatitude(), hi.GetLatitude()), max(lo.GetLatitude(), hi.GetLatitude())
	minLng, maxLng := min(lo.GetLongitude(), hi.GetLongitude()), max(lo.GetLongitude(), hi.GetLongitude())
	for _, f := range Features {
		p := f.GetLocation()
		if p.GetLatitude() >= minLat && p.GetLatitude() <= maxLat && p.GetLongitude() >= minLng && p.GetLongitude() <= maxLng {
			if err := stream.Send(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// RecordRoute counts the points, the known features among them and the
// distance along them.
func (g *routeGuide) RecordRoute(stream grpc.ClientStreamingServer[pb.Point, pb.RouteSummary]) error {
	var count, features, distance int32
	var last *pb.Point
	start := time.Now()
	for {
		p, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&pb.RouteSummary{
				PointCount: count, FeatureCount: features, Distance: distance,
				ElapsedTime: int32(time.Since(start) / time.Second),
			})
		}
		if err != nil {
			return err
		}
		count++
		if f, _ := g.GetFeature(stream.Context(), p); f.GetName() != "" {
			features++
		}
		if last != nil {
			distance += metres(last, p)
		}
		last = p
	}
}

// RouteChat answers each note with the notes sent before it at its place.
func (g *routeGuide) RouteChat(stream grpc.BidiStreamingServer[pb.RouteNote, pb.RouteNote]) error {
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		key := in.GetLocation().String()
		g.mu.Lock()
		earlier := append([]*pb.RouteNote(nil), g.notes[key]...)
		g.notes[key] = append(g.notes[key], in)
		g.mu.Unlock()
		for _, n := range earlier {
			if err := stream.Send(n); err != nil {
				return err
			}
		}
	}
}

// metres is the great-circle distance between two E7 points.
func metres(p1, p2 *pb.Point) int32 {
	const e7, radius = 1e7, 6371000.0
	rad := func(x int32) float64 { return float64(x) / e7 * math.Pi / 180 }
	lat1, lat2 := rad(p1.GetLatitude()), rad(p2.GetLatitude())
	dLat, dLng := lat2-lat1, rad(p2.GetLongitude())-rad(p1.GetLongitude())
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return int32(radius * 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a)))
}
