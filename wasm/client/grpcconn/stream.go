package grpcconn

import (
	"context"
	"io"
	"sync"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/wasm/client"
)

// clientStream is a client.Stream as a grpc.ClientStream. SendMsg and
// CloseSend may run concurrently with RecvMsg and Header, as grpc-go's
// allow.
type clientStream struct {
	s     *client.Stream
	desc  client.StreamDesc
	abort context.CancelFunc // ends the call, for a client error

	// grpc.Header's and grpc.Trailer's addresses, stored once, by RecvMsg,
	// when the call ends.
	header, trailer *metadata.MD
	stored          bool

	mu      sync.Mutex
	aborted error // the client error that aborted the call
}

// abortWith ends the call with err, a client error, which RecvMsg returns
// from then on, and returns err; the first such error wins.
func (cs *clientStream) abortWith(err error) error {
	cs.mu.Lock()
	if cs.aborted == nil {
		cs.aborted = err
	} else {
		err = cs.aborted
	}
	cs.mu.Unlock()
	cs.abort()
	return err
}

// abortErr returns the error that aborted the call, if one did.
func (cs *clientStream) abortErr() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.aborted
}

func (cs *clientStream) Header() (metadata.MD, error) {
	md, err := cs.s.Header()
	if err != nil {
		return nil, nil // RecvMsg returns the status
	}
	return responseHeader(md), nil
}

func (cs *clientStream) Trailer() metadata.MD { return publicMD(cs.s.Trailer()) }

func (cs *clientStream) CloseSend() error { return cs.s.CloseSend() }

func (cs *clientStream) Context() context.Context { return cs.s.Context() }

func (cs *clientStream) SendMsg(m any) error {
	if cs.abortErr() != nil {
		return cs.sendEOF()
	}
	pm, ok := request(m)
	if !ok {
		return cs.abortWith(marshalError(m))
	}
	switch err := cs.s.SendMsg(pm); err {
	case nil:
		return nil
	case io.EOF:
		return cs.sendEOF()
	default:
		return cs.abortWith(grpcError(err))
	}
}

// sendEOF is SendMsg's answer once the call is over: io.EOF, whose status
// RecvMsg returns, or nil for a call whose client does not stream, as
// grpc-go's generated code expects.
func (cs *clientStream) sendEOF() error {
	if cs.desc.ClientStreams {
		return io.EOF
	}
	return nil
}

func (cs *clientStream) RecvMsg(m any) error {
	err := cs.abortErr()
	if err == nil {
		pm, ok := response(m)
		err = grpcError(cs.s.RecvMsg(pm))
		if err == nil && !ok {
			err = cs.abortWith(unmarshalError(m))
		} else if err != nil {
			if a := cs.abortErr(); a != nil { // the abort ended the call
				err = a
			}
		}
	}
	if err != nil || !cs.desc.ServerStreams {
		cs.store()
	}
	return err
}

// store stores the call's headers and trailers at grpc.Header's and
// grpc.Trailer's addresses, once the call ended.
func (cs *clientStream) store() {
	if cs.stored {
		return
	}
	cs.stored = true
	if cs.header != nil {
		md, err := cs.s.Header()
		if err != nil {
			md = nil
		}
		*cs.header = responseHeader(md)
	}
	if cs.trailer != nil {
		*cs.trailer = publicMD(cs.s.Trailer())
	}
}
