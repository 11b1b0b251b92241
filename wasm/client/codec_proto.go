//go:build !js

package client

import "github.com/grpcplay/playground/wasm/client/protocodec"

// fallbackMarshal encodes protobuf-go's messages, which every program
// outside the browser links anyway.
func fallbackMarshal(b []byte, m any) ([]byte, error) {
	return protocodec.Codec{}.MarshalAppend(b, m)
}

func fallbackUnmarshal(data []byte, m any) error {
	return protocodec.Codec{}.Unmarshal(data, m)
}
