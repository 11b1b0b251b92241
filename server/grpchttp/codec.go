package grpchttp

import (
	"encoding/binary"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// Codecs are grpc-go's encoding.CodecV2, the one codec abstraction here: a
// codec forced by WithCodec (a proxy's) serves the Handler and, through
// ServerOptions, grpc-go's transport alike. protoCodec and jsonCodec serve
// the content types' subtypes, proto and json.

// frameAppender is a codec that can marshal a message straight into an
// output buffer, after its frame prefix, with no copy: protoCodec does.
type frameAppender interface {
	appendFrame(b []byte, m any, max int) ([]byte, error)
}

// appendMessage appends m as a message frame to b, with c. A message over
// max bytes gets ResourceExhausted, one that cannot be encoded Internal.
func appendMessage(c encoding.CodecV2, b []byte, m any, max int) ([]byte, error) {
	if a, ok := c.(frameAppender); ok {
		return a.appendFrame(b, m, max)
	}
	data, err := c.Marshal(m)
	if err != nil {
		return b, status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	defer data.Free()
	n := data.Len()
	if n > max {
		return b, tooLarge(n, max)
	}
	b = grpcwire.AppendPrefix(b, grpcwire.FlagData, n)
	for _, buf := range data {
		b = append(b, buf.ReadOnlyData()...)
	}
	return b, nil
}

// unmarshal decodes p into m with c; p is not kept.
func unmarshal(c encoding.CodecV2, p []byte, m any) error {
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(p)}, m); err != nil {
		if _, ok := status.FromError(err); ok {
			return err
		}
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	return nil
}

// protoCodec encodes protobuf messages.
type protoCodec struct{}

func (protoCodec) Name() string { return grpcwire.CodecProto }

func (protoCodec) Marshal(v any) (mem.BufferSlice, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return nil, status.Errorf(codes.Internal, "grpc: cannot marshal %T: not a protobuf message", v)
	}
	b, err := proto.Marshal(msg)
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (protoCodec) Unmarshal(data mem.BufferSlice, v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: cannot unmarshal into %T: not a protobuf message", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), msg)
}

func (protoCodec) appendFrame(b []byte, m any, max int) ([]byte, error) {
	msg, ok := m.(proto.Message)
	if !ok {
		return b, status.Errorf(codes.Internal, "grpc: cannot marshal %T: not a protobuf message", m)
	}
	n := proto.Size(msg)
	if n > max {
		return b, tooLarge(n, max)
	}
	out, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(grpcwire.AppendPrefix(b, grpcwire.FlagData, n), msg)
	if err != nil {
		return b, status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	return out, nil
}

// jsonCodec encodes messages as protojson, as gRPC's +json content types
// say.
type jsonCodec struct{}

// JSONCodec returns the codec of application/grpc+json and
// application/grpc-web+json: protojson. grpc-go's transport picks a
// call's codec by content subtype from a registry of its own, global to
// the process: a program that serves native gRPC on grpc-go's transport
// beside a Handler (ServerOptions) and wants JSON served there too
// registers this codec once, before any server starts
// (encoding.RegisterCodecV2 is not safe beside servers that serve).
func JSONCodec() encoding.CodecV2 { return jsonCodec{} }

func (jsonCodec) Name() string { return grpcwire.CodecJSON }

func (jsonCodec) Marshal(v any) (mem.BufferSlice, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return nil, status.Errorf(codes.Internal, "grpc: cannot marshal %T: not a protobuf message", v)
	}
	b, err := protojson.Marshal(msg)
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (jsonCodec) Unmarshal(data mem.BufferSlice, v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: cannot unmarshal into %T: not a protobuf message", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	if err := protojson.Unmarshal(buf.ReadOnlyData(), msg); err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received JSON message: %v", err)
	}
	return nil
}

func (jsonCodec) appendFrame(b []byte, m any, max int) ([]byte, error) {
	msg, ok := m.(proto.Message)
	if !ok {
		return b, status.Errorf(codes.Internal, "grpc: cannot marshal %T: not a protobuf message", m)
	}
	start := len(b)
	out, err := protojson.MarshalOptions{}.MarshalAppend(grpcwire.AppendPrefix(b, grpcwire.FlagData, 0), msg)
	if err != nil {
		return b, status.Errorf(codes.Internal, "grpc: error while marshaling JSON: %v", err)
	}
	n := len(out) - start - grpcwire.PrefixLen
	if n > max {
		return b, tooLarge(n, max)
	}
	binary.BigEndian.PutUint32(out[start+1:], uint32(n))
	return out, nil
}

// tooLarge is the status of a reply over the message size limit, worded as
// grpc-go words it.
func tooLarge(n, max int) error {
	return status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", n, max)
}
