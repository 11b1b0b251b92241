package client

import (
	"fmt"
	"slices"
)

// Codec turns a call's messages into protobuf's wire format and back. A
// Conn's calls use DefaultCodec unless WithCodec or ForceCodec says
// otherwise; package protocodec has protobuf-go's.
type Codec interface {
	// MarshalAppend appends m's encoding to b.
	MarshalAppend(b []byte, m any) ([]byte, error)
	// Unmarshal decodes data into m, replacing what m held.
	Unmarshal(data []byte, m any) error
}

// VTMessage is a message with generated marshalling code and no
// reflection, as protoc-gen-go-lite (pb/browserpb) and vtprotobuf write:
// what DefaultCodec takes in every build.
type VTMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT(b []byte) (int, error)
	UnmarshalVT(b []byte) error
}

// DefaultCodec encodes VTMessages in every build and, outside the browser
// (GOOS other than js), protobuf-go's messages too. The browser build does
// not link protobuf-go, which is a third of a page's code (README, page
// load): a program there that sends protobuf-go's messages dials with
// WithCodec(protocodec.Codec{}).
var DefaultCodec Codec = defaultCodec{}

type defaultCodec struct{}

func (defaultCodec) MarshalAppend(b []byte, m any) ([]byte, error) {
	vm, ok := m.(VTMessage)
	if !ok {
		return fallbackMarshal(b, m)
	}
	n := vm.SizeVT()
	b = slices.Grow(b, n)
	out := b[len(b) : len(b)+n]
	if _, err := vm.MarshalToSizedBufferVT(out); err != nil {
		return b, err
	}
	return b[:len(b)+n], nil
}

func (defaultCodec) Unmarshal(data []byte, m any) error {
	vm, ok := m.(VTMessage)
	if !ok {
		return fallbackUnmarshal(data, m)
	}
	if r, ok := m.(interface{ Reset() }); ok {
		r.Reset()
	}
	return vm.UnmarshalVT(data)
}

// errNoCodec says what to do with a message DefaultCodec cannot encode.
func errNoCodec(m any) error {
	return fmt.Errorf("%T is not a message DefaultCodec encodes in this build (client.VTMessage); dial with WithCodec for it, protocodec.Codec{} for protobuf-go's", m)
}

// WithCodec has the Conn's calls encode their messages with c instead of
// DefaultCodec. A nil c keeps DefaultCodec.
func WithCodec(c Codec) DialOption {
	return DialOption{func(o *dialOptions) {
		if c != nil {
			o.codec = c
		}
	}}
}

// ForceCodec has one call encode its messages with c. A nil c keeps the
// Conn's.
func ForceCodec(c Codec) CallOption {
	return CallOption{func(o *callOptions) {
		if c != nil {
			o.codec = c
		}
	}}
}
