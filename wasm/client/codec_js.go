package client

// fallbackMarshal refuses what is not a VTMessage: the browser build does
// not link protobuf-go (DefaultCodec).
func fallbackMarshal(b []byte, m any) ([]byte, error) { return b, errNoCodec(m) }

func fallbackUnmarshal(_ []byte, m any) error { return errNoCodec(m) }
