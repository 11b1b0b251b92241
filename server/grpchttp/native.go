package grpchttp

import (
	"context"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // grpc-go's transport serves gzip as the Handler does (grpcwire's)
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// ServerOptions returns the grpc.ServerOptions that give a grpc.Server the
// policy a Handler made with the same options has: the hosts and origins
// it answers (refused calls get PermissionDenied, as the Handler's), the
// interceptor chain with its panic recovery, the stats handlers, the
// message, header, stream and window limits, the time a unary request
// may take to arrive (native_arrival.go), keepalive, and what Protocol
// says. A program that serves native gRPC on grpc-go's own transport (the
// fastest there is) beside a Handler makes that grpc.Server with them, so
// that a call gets the same answers whichever transport serves it.
//
// grpc-go picks a call's codec by its content subtype from a registry of
// its own, global to the process, which this package leaves alone: unless
// the program registered JSONCodec there, such a server refuses
// application/grpc+json with Unimplemented, saying so.
func ServerOptions(opts ...Option) []grpc.ServerOption {
	o := newOptions(opts)
	p := newPolicy(o)
	so := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(o.maxRecvMsgSize),
		grpc.MaxSendMsgSize(o.maxSendMsgSize),
		grpc.MaxConcurrentStreams(o.maxConcurrentStreams),
		grpc.MaxHeaderListSize(MaxHeaderBytes),
		// A fixed window bounds what a connection may make the server
		// buffer, where grpc-go would otherwise grow it with the
		// bandwidth-delay product.
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: o.pingInterval, Timeout: o.pongWait}),
		// Handlers run on reused goroutines, whose stacks have grown
		// already: a fresh goroutine per call grows its stack every time.
		grpc.NumStreamWorkers(uint32(2 * runtime.GOMAXPROCS(0))),
		// A connection's write buffer is let go when it is idle.
		grpc.SharedWriteBuffer(true),
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{arrivedUnary, stripUnary(o.browserHeaders)}, unaryChain(o.log, o.unary)...)...),
		grpc.ChainStreamInterceptor(append([]grpc.StreamServerInterceptor{arrivedStream, stripStream(o.browserHeaders)}, streamChain(o.log, o.stream)...)...),
		grpc.InTapHandle(func(ctx context.Context, info *tap.Info) (context.Context, error) {
			if st := p.check(grpcwire.First(info.Header, ":authority"), grpcwire.First(info.Header, "origin")); st != nil {
				o.log.Debug("call refused", "method", info.FullMethodName, "why", st.Message())
				return ctx, st.Err()
			}
			ct, _ := grpcwire.ParseContentType(grpcwire.First(info.Header, grpcwire.HeaderContentType))
			if ct.Codec != grpcwire.CodecProto && o.codec == nil && encoding.GetCodecV2(ct.Codec) == nil {
				return ctx, status.Errorf(codes.Unimplemented, "content-type %q: this server's grpc-go transport has no %s codec", grpcwire.First(info.Header, grpcwire.HeaderContentType), ct.Codec)
			}
			release, err := o.limits.acquirePeer(ctx)
			if err != nil {
				return ctx, err
			}
			// grpc-go cancels a stream's context when the stream ends, its
			// handler's return or a reset by the client.
			context.AfterFunc(ctx, release)
			ctx = context.WithValue(ctx, protocolKey{}, protocolName(ct))
			if o.messageTimeout > 0 {
				// A unary request has as long to arrive as the largest
				// allowed on the other paths (native_arrival.go).
				ctx = withArrivalBound(ctx, time.Until(messageDeadline(time.Now(), o.messageTimeout, o.maxRecvMsgSize)))
			}
			return ctx, nil
		}),
	}
	for _, sh := range o.stats {
		so = append(so, grpc.StatsHandler(sh))
	}
	if o.unknown != nil {
		so = append(so, grpc.UnknownServiceHandler(o.unknown))
	}
	if o.codec != nil {
		so = append(so, grpc.ForceServerCodecV2(o.codec))
	}
	return so
}
