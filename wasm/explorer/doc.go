// Package explorer is the schema side of the playground's explorer: the
// page that calls any service of the server it came from, described by the
// server's own reflection.
//
// Load reads the services through gRPC server reflection, a bidirectional
// stream over the client's WebSocket bridge: grpc.reflection.v1 first, and
// v1alpha when v1 fails in any way. It asks for the file of every listed
// service and for every dependency the server did not send with it, builds
// descriptors from them with protodesc, and falls back on the protobuf
// module's own well-known types and the google.rpc types (embedded in
// fallback.binpb) when the server does not send those. A file that stays
// missing is named in Schema.Problems, with the file that needs it, and only
// the services that need it are lost.
//
// A schema can also come from a file given to the page, for a server whose
// reflection is off: SortGivenFiles sorts the files given out (descriptor
// sets, or .proto sources named as their importers spell them, since a
// browser gives names without folders), FromDescriptorSet reads a
// FileDescriptorSet (.protoset, .binpb, .pb), and a ProtoCompiler compiles
// .proto sources in the browser with the page's compiler program
// (wasm/protocompiler), loaded at its first use so that the explorer's
// program does not carry the compiler. Files a set lacks are named in
// Problems as reflection's are; sources that do not compile give a
// *CompileError with the compiler's file:line:col messages.
//
// Requests and responses are dynamicpb messages. ParseRequest reads JSON
// with protojson (64-bit integers as numbers or strings, enum names or
// numbers, json_name or proto field names) and FormatMessage writes it, both
// with a resolver over the schema's files, so google.protobuf.Any fields
// work. Template writes a request to start from that the server accepts as
// it stands (well-known types in their JSON forms, required fields filled,
// defaults left out); Form is the same request as the page's form view
// edits it; Complete offers field names and enum values at the editor's
// cursor; ErrorPosition finds the line and column in protojson's errors.
// Requests and responses nested deeper than MaxNesting are refused before
// anything recurses into them: the browser's stack is smaller than protobuf's
// own limits assume. Wire and WireFrom describe a message's bytes and
// unknown fields; ParseMetadata, WithoutSecrets, ParseDeadline, Fragment and
// GrpcurlCommand serve the page's metadata editor (and what links and the
// history keep of it), deadline field, shared links and "Copy as grpcurl".
//
// Nothing here touches the page: package explorer builds natively, where its
// tests run against real servers, and for GOOS=js, where the playground's
// explorer.wasm uses it.
package explorer
