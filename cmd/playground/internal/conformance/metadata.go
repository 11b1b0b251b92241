package conformance

import (
	"encoding/base64"
	"sort"
	"strings"

	"google.golang.org/grpc/metadata"

	conformancev1 "github.com/grpcplay/playground/pb/conformance/v1"
)

// The suite's Header messages carry the values of "-bin" metadata in
// base64; grpc-go's metadata.MD and our client's carry them raw.

// toMD turns the suite's headers into metadata: names lower-cased, "-bin"
// values decoded (a value that is not base64 is kept as it is).
func toMD(hs []*conformancev1.Header) metadata.MD {
	md := make(metadata.MD, len(hs))
	for _, h := range hs {
		name := strings.ToLower(h.GetName())
		for _, v := range h.GetValue() {
			if strings.HasSuffix(name, "-bin") {
				if b, err := decodeBinary(v); err == nil {
					v = string(b)
				}
			}
			md[name] = append(md[name], v)
		}
	}
	return md
}

// toHeaders turns metadata into the suite's headers, sorted by name, "-bin"
// values in base64.
func toHeaders(md metadata.MD) []*conformancev1.Header {
	hs := make([]*conformancev1.Header, 0, len(md))
	for name, vs := range md {
		values := append([]string(nil), vs...)
		if strings.HasSuffix(name, "-bin") {
			for i, v := range values {
				values[i] = base64.RawStdEncoding.EncodeToString([]byte(v))
			}
		}
		hs = append(hs, &conformancev1.Header{Name: name, Value: values})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	return hs
}

// decodeBinary decodes base64 with or without padding, as gRPC accepts.
func decodeBinary(v string) ([]byte, error) {
	if len(v)%4 == 0 {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}
