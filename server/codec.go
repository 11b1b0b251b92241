package server

import (
	"encoding/binary"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// A codec turns a call's messages into frames and back: protobuf, JSON
// (application/grpc+json, application/grpc-web+json) or, for calls the
// server forwards, the bytes as they are.
type codec interface {
	// appendMessage appends m as a message frame to b. A message over max
	// bytes gets ResourceExhausted, one that cannot be encoded Internal.
	appendMessage(b []byte, m any, max int) ([]byte, error)
	// unmarshal decodes p into m; p is not kept.
	unmarshal(p []byte, m any) error
}

// protoCodec encodes protobuf messages.
type protoCodec struct{}

func (protoCodec) appendMessage(b []byte, m any, max int) ([]byte, error) {
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

func (protoCodec) unmarshal(p []byte, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: cannot unmarshal into %T: not a protobuf message", m)
	}
	if err := proto.Unmarshal(p, msg); err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	return nil
}

// jsonCodec encodes messages as protojson, as gRPC's +json content types
// say.
type jsonCodec struct{}

func (jsonCodec) appendMessage(b []byte, m any, max int) ([]byte, error) {
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

func (jsonCodec) unmarshal(p []byte, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: cannot unmarshal into %T: not a protobuf message", m)
	}
	if err := protojson.Unmarshal(p, msg); err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received JSON message: %v", err)
	}
	return nil
}

// grpcJSONCodec is jsonCodec for grpc-go's own transport, which picks a
// codec by the content type's subtype: application/grpc+json.
type grpcJSONCodec struct{}

func (grpcJSONCodec) Name() string { return "json" }

func (grpcJSONCodec) Marshal(v any) ([]byte, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return nil, status.Errorf(codes.Internal, "grpc: cannot marshal %T: not a protobuf message", v)
	}
	return protojson.Marshal(msg)
}

func (grpcJSONCodec) Unmarshal(data []byte, v any) error { return jsonCodec{}.unmarshal(data, v) }

func init() {
	// grpc-go finds codecs for content subtypes in its own registry: this
	// lets its transport serve application/grpc+json as ours does.
	encoding.RegisterCodec(grpcJSONCodec{})
}

// rawMessage is a message as bytes, never decoded: what the server
// forwards to a backend (forward.go) travels as one.
type rawMessage struct{ b []byte }

// rawCodec moves rawMessages as they are.
type rawCodec struct{}

func (rawCodec) appendMessage(b []byte, m any, max int) ([]byte, error) {
	msg, ok := m.(*rawMessage)
	if !ok {
		return protoCodec{}.appendMessage(b, m, max)
	}
	if len(msg.b) > max {
		return b, tooLarge(len(msg.b), max)
	}
	return grpcwire.AppendFrame(b, grpcwire.FlagData, msg.b), nil
}

func (rawCodec) unmarshal(p []byte, m any) error {
	msg, ok := m.(*rawMessage)
	if !ok {
		return protoCodec{}.unmarshal(p, m)
	}
	msg.b = append(msg.b[:0], p...)
	return nil
}

// tooLarge is the status of a reply over the message size limit, worded as
// grpc-go words it.
func tooLarge(n, max int) error {
	return status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", n, max)
}
