package grpcconn

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/emptypb"
)

// message returns m as the protobuf message the client core takes: m
// itself, or for a message of the older API its protoadapt view.
func message(m any) (proto.Message, bool) {
	switch v := m.(type) {
	case proto.Message:
		return v, true
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(v), true
	}
	return nil, false
}

// request returns the message to send for m: a nil m is an empty message,
// as grpc-go sends for it.
func request(m any) (proto.Message, bool) {
	if m == nil {
		return new(emptypb.Empty), true
	}
	return message(m)
}

// response returns the message to receive into for m, and whether m is
// one. When it is not (nil included), the response is received into an
// empty message, so that a call that ends without one still reports its own
// status, as grpc-go's do; one that arrives is the caller's type error.
func response(m any) (proto.Message, bool) {
	if pm, ok := message(m); ok {
		return pm, true
	}
	return new(emptypb.Empty), false
}
