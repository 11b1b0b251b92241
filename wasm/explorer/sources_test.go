package explorer_test

// envProtoCompilerURL passes the URL of the served .proto compiler to the
// js tests under Node.
const envProtoCompilerURL = "GRPCPLAY_PROTOCOMPILER_URL"

// .proto sources of the schema tests: one imports the other and two
// well-known files.
const shared = `syntax = "proto3";
package acme;
import "google/protobuf/timestamp.proto";
message Money { int64 cents = 1; google.protobuf.Timestamp at = 2; }
`

const orders = `edition = "2023";
package acme;
import "acme/shared.proto";
import "google/protobuf/any.proto";
service Orders { rpc Get(Order) returns (Order); rpc Chat(stream Order) returns (stream Order); }
message Order { string id = 1; Money total = 2; google.protobuf.Any extra = 3; }
`
