// Package protocodec encodes protobuf-go's messages for package client:
// client.WithCodec(protocodec.Codec{}) in a browser program, whose
// DefaultCodec takes only messages with generated marshalling code; other
// builds use it by default.
package protocodec

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Codec implements client.Codec with protobuf-go.
type Codec struct{}

// MarshalAppend appends m, a proto.Message, to b.
func (Codec) MarshalAppend(b []byte, m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return b, fmt.Errorf("%T is not a proto.Message", m)
	}
	return proto.MarshalOptions{}.MarshalAppend(b, pm)
}

// Unmarshal decodes data into m, a proto.Message, replacing what it held.
func (Codec) Unmarshal(data []byte, m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a proto.Message", m)
	}
	return proto.Unmarshal(data, pm)
}
