package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The interceptor chain runs on every path into the handlers: grpc-go's
// transport (registered with grpc.ChainUnaryInterceptor) and ours (call.run).
// Logging comes first, so it sees the status of a recovered panic; then
// recovery; then the Config's own.

func unaryChain(log *slog.Logger, own []grpc.UnaryServerInterceptor) []grpc.UnaryServerInterceptor {
	return append([]grpc.UnaryServerInterceptor{logUnary(log), recoverUnary(log)}, own...)
}

func streamChain(log *slog.Logger, own []grpc.StreamServerInterceptor) []grpc.StreamServerInterceptor {
	return append([]grpc.StreamServerInterceptor{logStream(log), recoverStream(log)}, own...)
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

// recoverUnary turns a handler's panic into Internal, logged with its
// stack, so one bad call cannot end the process.
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

// recovered, deferred, turns a panic into *err.
func recovered(ctx context.Context, log *slog.Logger, method string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	log.ErrorContext(ctx, "handler panicked", "method", method, "protocol", Protocol(ctx), "panic", r, "stack", string(debug.Stack()))
	*err = status.Errorf(codes.Internal, "the handler of %s failed: %v", method, r)
}

// logUnary logs every call at debug level: method, protocol, code and
// duration.
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !log.Enabled(ctx, slog.LevelDebug) {
			return handler(ctx, req)
		}
		start := time.Now()
		reply, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return reply, err
	}
}

// logStream is logUnary for streams.
func logStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		if !log.Enabled(ctx, slog.LevelDebug) {
			return handler(srv, ss)
		}
		start := time.Now()
		err := handler(srv, ss)
		logCall(ctx, log, info.FullMethod, start, err)
		return err
	}
}

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	st := status.Convert(err)
	log.DebugContext(ctx, "call", "method", method, "protocol", Protocol(ctx), "code", st.Code(), "duration", time.Since(start), "msg", st.Message())
}
