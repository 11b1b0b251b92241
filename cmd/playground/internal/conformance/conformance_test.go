package conformance

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	RunRole()
	os.Exit(m.Run())
}

// TestConformanceServer: the suite's reference clients (connect-go's and
// grpc-go's) against our own server serving Service, over native gRPC and
// gRPC-Web, HTTP/1.1 and HTTP/2, cleartext and TLS, protobuf and JSON, with
// and without gzip, every stream type, under the suite's receive limit.
// The only failures allowed are those grpc-go's reference server has alone.
func TestConformanceServer(t *testing.T) {
	res := Suite{
		Name:         "server",
		Mode:         "server",
		Role:         RoleServer,
		Config:       "server.yaml",
		KnownFailing: []string{"known-failing-grpc-go.txt"},
	}.Run(t)
	t.Log(res)
}

// TestConformanceClient: our Go client, through grpcconn, against the
// suite's reference servers (connect-go's, and grpc-go's behind
// improbable-eng's gRPC-Web wrapper): gRPC-Web over HTTP/1.1 and HTTP/2,
// cleartext and TLS, with and without gzip, unary and server-streaming
// calls. Every case must pass.
func TestConformanceClient(t *testing.T) {
	res := Suite{Name: "client", Mode: "client", Role: RoleClient, Config: "client.yaml"}.Run(t)
	t.Log(res)
}

// TestConformanceClientCertificates: our Go client presents a client
// certificate on unary and server-streaming calls (the suite's own
// client-certificate case is a client stream, which goes over our bridge).
func TestConformanceClientCertificates(t *testing.T) {
	res := Suite{Name: "client-certs", Mode: "client", Role: RoleClient, Config: "client.yaml", TestFiles: []string{"client-certs-suite.yaml"}}.Run(t)
	t.Log(res)
}
