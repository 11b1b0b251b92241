// Package grpcgo converts a status between its wire parts (code, message
// and grpc-status-details-bin, as package grpcstatus holds them) and
// grpc-go's status, for programs that link grpc-go: grpcstatus itself
// outside the browser, and package grpcconn in every build.
package grpcgo

import (
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Status returns grpc-go's status of code c and message msg, with the
// details of details (a serialized google.rpc.Status) when it decodes.
func Status(c codes.Code, msg string, details []byte) *status.Status {
	if len(details) > 0 {
		p := new(spb.Status)
		if proto.Unmarshal(details, p) == nil {
			return status.FromProto(p)
		}
	}
	return status.New(c, msg)
}

// Parts returns st's code, message and, when it has details, its
// serialized google.rpc.Status.
func Parts(st *status.Status) (c codes.Code, msg string, details []byte) {
	if p := st.Proto(); len(p.GetDetails()) > 0 {
		details, _ = proto.Marshal(p)
	}
	return st.Code(), st.Message(), details
}
