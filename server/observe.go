package server

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/grpcplay/playground/server/front"
)

// observability is what the server adds to every call, on every path,
// for its operators, before the Config's own interceptors and stats
// handlers: Prometheus metrics (metrics.go), tracing (tracing.go) and the
// access log (accesslog.go). Each costs nothing when it is off.
type observability struct {
	unary   []grpc.UnaryServerInterceptor
	stream  []grpc.StreamServerInterceptor
	stats   []stats.Handler
	metrics *promMetrics // nil: off
}

// newObservability sets up s's observability as s.cfg says. The tracing
// stats handler comes first, so that the access log and the handlers see
// the call's trace; the metrics' interceptors outermost, so that they see
// a handler's panic as the Internal it becomes.
func newObservability(s *Server) (*observability, error) {
	c := s.cfg
	o := &observability{}
	if c.Tracing != nil {
		if c.Tracing.Provider == nil || c.Tracing.Propagator == nil {
			return nil, errNoProvider
		}
		o.stats = append(o.stats, c.Tracing.serverHandler())
	}
	level := slog.LevelDebug
	if c.AccessLog != nil {
		level = c.AccessLog.Level()
	}
	obs := &callObserver{level: level}
	// The access log is checked against the logger's level once: a
	// server whose logger would drop every line has no stats handler to
	// pay for.
	if level != AccessLogOff && s.log.Enabled(context.Background(), level) {
		obs.log = s.log
	}
	if c.Metrics {
		m, err := newMetrics(s, obs)
		if err != nil {
			return nil, err
		}
		o.metrics = m
		o.unary = append(o.unary, m.unary())
		o.stream = append(o.stream, m.stream())
	}
	if obs.log != nil || obs.calls != nil {
		o.stats = append(o.stats, obs)
	}
	return o, nil
}

// backend is the Config's backend, its calls traced when tracing is on.
func (c *Config) backend() front.Backend {
	b := *c.Backend
	if c.Tracing != nil && c.Tracing.Provider != nil && c.Tracing.Propagator != nil {
		b.StatsHandlers = append(append([]stats.Handler(nil), b.StatsHandlers...), c.Tracing.clientHandler())
	}
	return b
}
