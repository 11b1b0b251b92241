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
