package grpchttp_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server/grpchttp"
)

// A plain grpc.Server's service, served over gRPC-Web (and native gRPC,
// and the WebSocket bridge) by one http.Handler, called here as a
// browser's gRPC-Web client calls it: one request frame posted, message
// frames and a trailer frame back.
func Example() {
	gs := grpc.NewServer()
	h := grpchttp.New(gs)
	healthpb.RegisterHealthServer(h, health.NewServer()) // on gs too, for gs.Serve

	srv := httptest.NewUnstartedServer(h)
	h.ConfigureServer(srv.Config)
	srv.Start()
	defer srv.Close()

	req, _ := proto.Marshal(&healthpb.HealthCheckRequest{})
	resp, err := http.Post(srv.URL+"/grpc.health.v1.Health/Check", grpcwire.ContentTypeProto,
		bytes.NewReader(grpcwire.AppendFrame(nil, grpcwire.FlagData, req)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	frames := grpcwire.NewResponseReader(resp.Body, 1<<20)
	for {
		f, err := frames.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if f.IsTrailer() {
			md, _ := grpcwire.ParseHeaderBlock(f.Payload)
			fmt.Println("grpc-status:", grpcwire.First(md, grpcwire.HeaderStatus))
			continue
		}
		var out healthpb.HealthCheckResponse
		proto.Unmarshal(f.Payload, &out)
		fmt.Println("health:", out.GetStatus())
	}
	// Output:
	// health: SERVING
	// grpc-status: 0
}
