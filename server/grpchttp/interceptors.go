package grpchttp

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The interceptor chain runs on every path into the handlers: the
// Handler's calls (call.run) and grpc-go's transport (ServerOptions). It is
// the caller's interceptors between two panic recoveries: the inner one
// turns a handler's panic into Internal, so the caller's interceptors (a
// call log, metrics) see the call end with that status; the outer one
// catches the interceptors' own panics. One bad call never ends the
// process.

func unaryChain(log *slog.Logger, own []grpc.UnaryServerInterceptor) []grpc.UnaryServerInterceptor {
	chain := append([]grpc.UnaryServerInterceptor{recoverUnary(log)}, own...)
	if len(own) > 0 {
		chain = append(chain, recoverUnary(log))
	}
	return chain
}

func streamChain(log *slog.Logger, own []grpc.StreamServerInterceptor) []grpc.StreamServerInterceptor {
	chain := append([]grpc.StreamServerInterceptor{recoverStream(log)}, own...)
	if len(own) > 0 {
		chain = append(chain, recoverStream(log))
	}
	return chain
}

// chainUnary makes one interceptor of ints, the first outermost, as
// grpc.ChainUnaryInterceptor does for grpc-go's transport.
func chainUnary(ints []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return ints[0](ctx, req, info, unaryStep(ints, 1, info, handler))
	}
}

func unaryStep(ints []grpc.UnaryServerInterceptor, i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if i == len(ints) {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return ints[i](ctx, req, info, unaryStep(ints, i+1, info, final))
	}
}

// chainStream is chainUnary for streams.
func chainStream(ints []grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return ints[0](srv, ss, info, streamStep(ints, 1, info, handler))
	}
}

func streamStep(ints []grpc.StreamServerInterceptor, i int, info *grpc.StreamServerInfo, final grpc.StreamHandler) grpc.StreamHandler {
	if i == len(ints) {
		return final
	}
	return func(srv any, ss grpc.ServerStream) error {
		return ints[i](srv, ss, info, streamStep(ints, i+1, info, final))
	}
}

// recoverUnary turns a panic into Internal, logged with its stack.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (_ any, err error) {
		defer recovered(ctx, log, info.FullMethod, &err)
		return handler(ctx, req)
	}
}

// recoverStream is recoverUnary for streams.
func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer recovered(ss.Context(), log, info.FullMethod, &err)
		return handler(srv, ss)
	}
}

// recovered, deferred, turns a panic into *err. The panic's value and
// stack go to the log, not to the client: they are the server's insides.
func recovered(ctx context.Context, log *slog.Logger, method string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	log.ErrorContext(ctx, "handler panicked", "method", method, "protocol", Protocol(ctx), "panic", r, "stack", string(debug.Stack()))
	*err = status.Errorf(codes.Internal, "the handler of %s failed; the server's log has the details", method)
}

// The interceptors grpc-go's transport runs first (ServerOptions): they
// take the browser's headers out of a call's metadata, as the Handler's
// request parser does on its paths.

func stripUnary(b *browserHeaders) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(stripContext(ctx, b), req)
	}
}

func stripStream(b *browserHeaders) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if ctx := stripContext(ss.Context(), b); ctx != ss.Context() {
			ss = &contextStream{ServerStream: ss, ctx: ctx}
		}
		return handler(srv, ss)
	}
}

// stripContext is ctx with the browser's headers out of its metadata, ctx
// itself when there were none.
func stripContext(ctx context.Context, b *browserHeaders) context.Context {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	if out := b.strip(md); len(out) != len(md) {
		return metadata.NewIncomingContext(ctx, out)
	}
	return ctx
}

// contextStream is a grpc.ServerStream with another context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
