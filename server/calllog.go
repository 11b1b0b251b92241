package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/server/grpchttp"
)

// logUnary logs every call at debug level: method, protocol, code and
// duration. It is the outermost interceptor, so it sees the status of a
// recovered panic.
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
	log.DebugContext(ctx, "call", "method", method, "protocol", grpchttp.Protocol(ctx), "code", st.Code(), "duration", time.Since(start), "msg", st.Message())
}
