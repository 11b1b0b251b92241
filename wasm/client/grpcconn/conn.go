package grpcconn

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/client"
)

// Conn is a client.Conn as a grpc.ClientConnInterface, for generated
// clients: pb.NewUserManagerClient(conn). It is safe for concurrent use.
type Conn struct {
	c *client.Conn
}

var _ grpc.ClientConnInterface = (*Conn)(nil)

// New returns a Conn that calls through c.
func New(c *client.Conn) *Conn { return &Conn{c: c} }

// Dial dials target with client.Dial and opts and returns the Conn on it:
// in the browser "" is the page's own origin. It opens no connection; calls
// do.
func Dial(target string, opts ...client.DialOption) (*Conn, error) {
	c, err := client.Dial(target, opts...)
	if err != nil {
		return nil, err
	}
	return New(c), nil
}

// Client returns the client.Conn the Conn calls through.
func (c *Conn) Client() *client.Conn { return c.c }

// Close releases the idle connections of the client.Conn. Calls in flight
// go on.
func (c *Conn) Close() error { return c.c.Close() }

// Invoke makes a unary call of method with args and stores the response in
// reply; both must be protobuf messages (a nil args sends an empty
// message). It returns nil or a status error.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	o := callOptionsOf(opts)
	req, ok := request(args)
	if !ok {
		return marshalError(args)
	}
	resp, respOK := response(reply)
	var hdr, trl metadata.MD
	core := o.core
	if o.header != nil {
		core = append(core, client.Header(&hdr))
	}
	if o.trailer != nil {
		core = append(core, client.Trailer(&trl))
	}
	err := c.c.Invoke(ctx, method, req, resp, core...)
	if err == nil && !respOK {
		err = unmarshalError(reply)
	}
	if o.header != nil {
		*o.header = responseHeader(hdr)
	}
	if o.trailer != nil {
		*o.trailer = publicMD(trl)
	}
	return grpcError(err)
}

// NewStream starts a call of method: a client.Stream, behaving as
// grpc.ClientStream documents (see the package comment). Cancel ctx, or
// call RecvMsg until it returns an error, to release it.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	var d client.StreamDesc
	if desc != nil {
		d = client.StreamDesc{ClientStreams: desc.ClientStreams, ServerStreams: desc.ServerStreams}
	}
	o := callOptionsOf(opts)
	// The call's own context, so that a client error in SendMsg or RecvMsg
	// can abort it, as grpc-go's does; the call's end releases it.
	ctx, abort := context.WithCancel(ctx)
	s, err := c.c.NewStream(ctx, d, method, o.core...)
	if err != nil {
		abort()
		return nil, grpcError(err)
	}
	context.AfterFunc(s.Context(), abort)
	return &clientStream{s: s, desc: d, abort: abort, header: o.header, trailer: o.trailer}, nil
}

// marshalError is grpc-go's error for a request that is not a protobuf
// message.
func marshalError(m any) error {
	return status.Errorf(codes.Internal, "grpc: error while marshaling: proto: failed to marshal, message is %T, want proto.Message", m)
}

// unmarshalError is grpc-go's error for a response received into something
// that is not a protobuf message.
func unmarshalError(m any) error {
	return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: proto: failed to unmarshal, message is %T, want proto.Message", m)
}
