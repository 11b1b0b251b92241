package grpcconn

import (
	"io"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcstatus/grpcgo"
)

// grpcError returns the client's status error err as grpc-go's, which the
// browser build of package client does not make (package grpcstatus says
// why); nil, io.EOF and errors without a status pass as they are.
func grpcError(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	st, ok := grpcstatus.FromError(err)
	if !ok {
		return err
	}
	return grpcgo.Status(st.Code(), st.Message(), st.Details()).Err()
}
