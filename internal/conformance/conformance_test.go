package conformance

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	RunRole()
	os.Exit(m.Run())
}

// TestConformanceServer: the suite's reference clients against our own
// server serving Service.
func TestConformanceServer(t *testing.T) {
	res := Suite{Name: "server", Mode: "server", Role: RoleServer, Config: "server.yaml"}.Run(t)
	t.Log(res)
}

// TestConformanceClient: our Go client against the suite's reference
// servers.
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
