package grpchttp

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Causes a call's context can end with, besides a protocol error's status.
var (
	// errClientGone: the client closed the stream or its connection; it
	// gets no status.
	errClientGone = status.Error(codes.Canceled, "client closed the stream")
	errShutdown   = status.Error(codes.Unavailable, "server is shutting down")
	errStreamDone = status.Error(codes.Canceled, "stream ended")
	// errClientStalled ends a call whose client stopped reading: a write
	// did not finish within the write timeout.
	errClientStalled = status.Error(codes.Unavailable, "client stopped reading: write timed out")
)

// writeError is the cause a failed write ends a call with, on every
// transport: a timeout means the client stopped reading, anything else
// that it went away.
func writeError(err error) error {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return errClientStalled
	}
	return errClientGone
}

// readTimeoutError is the status of a call whose request message did not
// arrive in time (messageDeadline).
func readTimeoutError(timeout time.Duration) error {
	return status.Errorf(codes.DeadlineExceeded, "the request message did not arrive within %v (plus a second per 64 KiB): the client sends too slowly", timeout)
}

// isTimeout reports whether err is a read or write deadline passing.
func isTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

// newPeer is the peer a handler sees (peer.FromContext) on every transport
// of ours: the client's and our address and, over TLS, the connection's
// state as grpc-go's own TLS credentials report it.
func newPeer(remote, local net.Addr, cs *tls.ConnectionState) *peer.Peer {
	p := &peer.Peer{Addr: remote, LocalAddr: local}
	if cs != nil {
		p.AuthInfo = credentials.TLSInfo{
			State:          *cs,
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		}
	}
	return p
}
