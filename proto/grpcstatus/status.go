// Package grpcstatus is a call's outcome as the gRPC protocol carries it:
// a code, a message and, when the server sent one, grpc-status-details-bin,
// the serialized google.rpc.Status that holds the details. Its functions
// have the names and meanings of grpc-go's status package.
//
// It exists so that a program built for the browser can report gRPC
// statuses without linking protobuf-go, which grpc-go's status needs for
// its details and which is a third of the page's code (README, page load):
// the details stay bytes here, for whoever links protobuf-go to decode. In
// every other build (GOOS other than js) its errors are grpc-go status
// errors too: they have grpc-go's GRPCStatus method, so status.FromError,
// status.Code and grpc-go's servers read them as they read their own, and
// FromError reads grpc-go's errors (grpc.go).
package grpcstatus

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
)

// Status is a call's outcome. The nil *Status is OK.
type Status struct {
	code    codes.Code
	message string
	details []byte // grpc-status-details-bin, or nil
}

// New returns a Status of code c with message msg.
func New(c codes.Code, msg string) *Status { return &Status{code: c, message: msg} }

// Newf is New with a formatted message.
func Newf(c codes.Code, format string, a ...any) *Status {
	return New(c, fmt.Sprintf(format, a...))
}

// Error returns the error of New(c, msg); nil for codes.OK.
func Error(c codes.Code, msg string) error { return New(c, msg).Err() }

// Errorf is Error with a formatted message.
func Errorf(c codes.Code, format string, a ...any) error {
	return New(c, fmt.Sprintf(format, a...)).Err()
}

// FromWire returns the status a response's trailers carry: grpc-status as
// c, grpc-message (decoded) as msg, and grpc-status-details-bin as details.
// Details are kept, and their message preferred, only when they are a
// well-formed google.rpc.Status of the same code, as grpc-go reads them;
// otherwise they are dropped and the status is c and msg.
func FromWire(c codes.Code, msg string, details []byte) *Status {
	if len(details) == 0 {
		return New(c, msg)
	}
	dc, dmsg, ok := parseDetails(details)
	if !ok || dc != c {
		return New(c, msg)
	}
	return &Status{code: c, message: dmsg, details: append([]byte(nil), details...)}
}

// parseDetails reads the code and message of a serialized google.rpc.Status
// (fields 1 and 2; its details, field 3, are left to the reader that links
// their types).
func parseDetails(b []byte) (c codes.Code, msg string, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, "", false
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, "", false
			}
			c, b = codes.Code(int32(v)), b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, "", false
			}
			msg, b = string(v), b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, "", false
			}
			b = b[n:]
		}
	}
	return c, msg, true
}

// Code returns the status's code; codes.OK for nil.
func (s *Status) Code() codes.Code {
	if s == nil {
		return codes.OK
	}
	return s.code
}

// Message returns the status's message.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return s.message
}

// Details returns the serialized google.rpc.Status that carries the
// status's details, as grpc-status-details-bin sent it, or nil when there
// are none. Its code and message are the status's own.
func (s *Status) Details() []byte {
	if s == nil {
		return nil
	}
	return s.details
}

// Err returns the status as an error, nil when it is OK.
func (s *Status) Err() error {
	if s.Code() == codes.OK {
		return nil
	}
	return &StatusError{s: s}
}

// String formats the status as grpc-go formats its errors.
func (s *Status) String() string {
	return fmt.Sprintf("rpc error: code = %s desc = %s", s.Code(), s.Message())
}

// StatusError is the error of a Status that is not OK.
type StatusError struct{ s *Status }

// Error formats the status as grpc-go does.
func (e *StatusError) Error() string { return e.s.String() }

// Status returns the error's status.
func (e *StatusError) Status() *Status { return e.s }

// Is reports whether target is a StatusError of the same code, message and
// details, as grpc-go's status errors compare.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && e.s.code == t.s.code && e.s.message == t.s.message && string(e.s.details) == string(t.s.details)
}

// FromError returns err's status and true when err is a status error of
// this package or of grpc-go (in builds that link it), or wraps one (the
// status's message is then err's whole text, as grpc-go does); nil and true
// for a nil err; and codes.Unknown with err's text and false otherwise.
func FromError(err error) (*Status, bool) {
	if err == nil {
		return nil, true
	}
	var se *StatusError
	if errors.As(err, &se) {
		if se == err {
			return se.s, true
		}
		return &Status{code: se.s.code, message: err.Error(), details: se.s.details}, true
	}
	if st, ok := fromGRPC(err); ok {
		return st, true
	}
	return New(codes.Unknown, err.Error()), false
}

// Convert is FromError without the bool.
func Convert(err error) *Status {
	st, _ := FromError(err)
	return st
}

// Code returns err's code: codes.OK for nil, codes.Unknown for an error
// that carries no status.
func Code(err error) codes.Code { return Convert(err).Code() }

// FromContextError maps a context's error to its status: DeadlineExceeded,
// Canceled, or Unknown for anything else; nil for nil.
func FromContextError(err error) *Status {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return New(codes.Canceled, err.Error())
	}
	return New(codes.Unknown, err.Error())
}
