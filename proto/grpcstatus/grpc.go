//go:build !js

package grpcstatus

import (
	"errors"

	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcstatus/grpcgo"
)

// GRPCStatus returns the error's status as grpc-go's, details decoded,
// which makes it a grpc-go status error. Not in the browser build (package
// doc).
func (e *StatusError) GRPCStatus() *status.Status { return e.s.GRPC() }

// GRPC returns the status as grpc-go's. Not in the browser build.
func (s *Status) GRPC() *status.Status {
	if s == nil {
		return nil
	}
	return grpcgo.Status(s.code, s.message, s.details)
}

// FromGRPC returns grpc-go's status st as a Status, details serialized.
// Not in the browser build.
func FromGRPC(st *status.Status) *Status {
	if st == nil {
		return nil
	}
	c, msg, details := grpcgo.Parts(st)
	return &Status{code: c, message: msg, details: details}
}

// fromGRPC reads an error of grpc-go's status package, or one that wraps
// one (its message then err's whole text, as grpc-go does).
func fromGRPC(err error) (*Status, bool) {
	type grpcError interface{ GRPCStatus() *status.Status }
	if gs, ok := err.(grpcError); ok {
		st := FromGRPC(gs.GRPCStatus())
		return st, st != nil
	}
	var gs grpcError
	if !errors.As(err, &gs) || gs.GRPCStatus() == nil {
		return nil, false
	}
	st := FromGRPC(gs.GRPCStatus())
	st.message = err.Error()
	return st, true
}
