// Package conformance runs Connect's conformance suite
// (connectrpc.com/conformance, at the version proto/tools/go.mod pins)
// against the playground, from go test:
//
//   - server mode through the front: the suite's reference clients
//     (connect-go's and grpc-go's) call the built playground binary, started
//     with -backend before the suite's grpc-go reference server
//     (front.go);
//   - server mode against our own server: server.New serving the
//     ConformanceService of service.go (server.go);
//   - client mode against our Go client: the suite's cases go through
//     wasm/client and grpcconn to its reference server (client.go).
//
// The suite's runner starts each program under test as a process and talks
// to it over stdin and stdout (wire.go). The programs are the calling test
// binary run again with RoleEnv set: TestMain calls RunRole first. So they
// run with the race detector whenever the tests do. Suite (suite.go) runs
// the runner, keeps its log under .tmp/conformance/ and fails the test on
// any unexpected result; the cases that fail with the suite's own grpc-go
// reference server alone are listed in testdata, each with its reason.
package conformance
