package server

import (
	"context"
	"log/slog"
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/server/grpchttp"
)

// AccessLogOff, as Config.AccessLog, leaves the access log out.
const AccessLogOff = slog.Level(math.MaxInt32)

// callObserver is the stats handler that sees every call end, on every
// path, refused ones included (a call over a limit, of an unknown method,
// with bad headers): it writes the access log, a line per call (method,
// protocol, code, duration, peer, the message bytes in and out, the trace
// id when the call is traced), and counts the calls by protocol and the
// open connections for the metrics. It is a stats handler rather than an
// interceptor so that it sees what never reaches the handler, and the
// sizes.
type callObserver struct {
	log   *slog.Logger // nil: no access log
	level slog.Level
	calls *prometheus.CounterVec // by protocol and code; nil: no metrics
	conns prometheus.Gauge
}

// callInfo is what the observer keeps of a call until it ends.
type callInfo struct {
	method            string
	bytesIn, bytesOut atomic.Int64 // a stream's sends and receives may run at once
}

type callInfoKey struct{}

// TagRPC implements stats.Handler.
func (o *callObserver) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, &callInfo{method: info.FullMethodName})
}

// HandleRPC implements stats.Handler.
func (o *callObserver) HandleRPC(ctx context.Context, ev stats.RPCStats) {
	ci, _ := ctx.Value(callInfoKey{}).(*callInfo)
	if ci == nil {
		return
	}
	switch ev := ev.(type) {
	case *stats.InPayload:
		ci.bytesIn.Add(int64(ev.WireLength))
	case *stats.OutPayload:
		ci.bytesOut.Add(int64(ev.WireLength))
	case *stats.End:
		o.end(ctx, ci, ev)
	}
}

// end counts and logs a call that ended.
func (o *callObserver) end(ctx context.Context, ci *callInfo, ev *stats.End) {
	code := status.Code(ev.Error)
	protocol := grpchttp.Protocol(ctx)
	if o.calls != nil {
		o.calls.WithLabelValues(protocol, code.String()).Inc()
	}
	if o.log == nil || !o.log.Enabled(ctx, o.level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("method", ci.method),
		slog.String("protocol", protocol),
		slog.String("code", code.String()),
		slog.Duration("duration", ev.EndTime.Sub(ev.BeginTime)),
	)
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	attrs = append(attrs, slog.Int64("bytes_in", ci.bytesIn.Load()), slog.Int64("bytes_out", ci.bytesOut.Load()))
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	if code != codes.OK {
		attrs = append(attrs, slog.String("message", status.Convert(ev.Error).Message()))
	}
	o.log.LogAttrs(ctx, o.level, "call", attrs...)
}

// TagConn implements stats.Handler.
func (o *callObserver) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn implements stats.Handler: it counts the open connections,
// of both transports.
func (o *callObserver) HandleConn(_ context.Context, ev stats.ConnStats) {
	if o.conns == nil {
		return
	}
	switch ev.(type) {
	case *stats.ConnBegin:
		o.conns.Inc()
	case *stats.ConnEnd:
		o.conns.Dec()
	}
}
