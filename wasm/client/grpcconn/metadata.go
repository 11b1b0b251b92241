package grpcconn

import (
	"strings"

	"google.golang.org/grpc/metadata"
)

// protocolHeader reports whether name is one of the protocol's own header
// names that grpc-go keeps out of the metadata a client receives: the
// status, its message, the encoding, the timeout, te and pseudo-headers.
func protocolHeader(name string) bool {
	switch name {
	case "grpc-status", "grpc-message", "grpc-encoding", "grpc-message-type", "grpc-timeout", "te":
		return true
	}
	return strings.HasPrefix(name, ":")
}

// publicMD returns md without the protocol's own names: md itself when it
// has none.
func publicMD(md metadata.MD) metadata.MD {
	for k := range md {
		if protocolHeader(k) {
			out := make(metadata.MD, len(md))
			for k, v := range md {
				if !protocolHeader(k) {
					out[k] = v
				}
			}
			return out
		}
	}
	return md
}

// responseHeader returns the response headers the client core received as
// grpc-go reports them: nil for a call that ended without headers (whose
// "headers" were its trailers, or never came).
func responseHeader(md metadata.MD) metadata.MD {
	if _, trailersOnly := md["grpc-status"]; trailersOnly {
		return nil
	}
	return publicMD(md)
}
