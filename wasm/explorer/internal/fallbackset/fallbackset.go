//go:build !js

// Package fallbackset builds the descriptors the explorer falls back on when
// a server's reflection does not send them: protobuf's well-known types and
// the google.rpc types that status details carry, taken from the Go
// packages of the protobuf module and of genproto. The browser build embeds
// what Build returns (explorer/fallback.binpb) instead of linking these
// packages, which would add their Go code to main.wasm for a few kilobytes of
// descriptors.
package fallbackset

import (
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/apipb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/sourcecontextpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/typepb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Files are the fallback files, each after the files it imports.
// google/protobuf/descriptor.proto is not among them: the browser build
// links package descriptorpb anyway (protodesc needs it) and takes that
// file from there.
var Files = []protoreflect.FileDescriptor{
	anypb.File_google_protobuf_any_proto,
	durationpb.File_google_protobuf_duration_proto,
	emptypb.File_google_protobuf_empty_proto,
	fieldmaskpb.File_google_protobuf_field_mask_proto,
	sourcecontextpb.File_google_protobuf_source_context_proto,
	structpb.File_google_protobuf_struct_proto,
	timestamppb.File_google_protobuf_timestamp_proto,
	typepb.File_google_protobuf_type_proto,
	apipb.File_google_protobuf_api_proto,
	wrapperspb.File_google_protobuf_wrappers_proto,
	code.File_google_rpc_code_proto,
	errdetails.File_google_rpc_error_details_proto,
	spb.File_google_rpc_status_proto,
}

// Build returns Files as a serialized FileDescriptorSet, deterministically.
func Build() ([]byte, error) {
	set := &descriptorpb.FileDescriptorSet{}
	for _, f := range Files {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(set)
}
