package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/IBM/pgxpoolprometheus"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// promMetrics are the server's Prometheus metrics (Config.Metrics), which
// ServeMetrics serves:
//
//   - grpc_server_started_total, grpc_server_handled_total,
//     grpc_server_msg_received_total, grpc_server_msg_sent_total and the
//     grpc_server_handling_seconds histogram, by grpc_type, grpc_service,
//     grpc_method (and grpc_code), from go-grpc-middleware's provider, for
//     the calls that reach a handler on every path;
//   - playground_calls_total by protocol and grpc_code, every call
//     refused ones included; playground_calls_in_flight (every protocol,
//     both transports); playground_websocket_streams_open (the bridge's
//     sockets, a call each); playground_mux_sockets_open (grpc-mux.v1
//     sockets, many calls each); playground_connections_open (HTTP/1.1
//     and HTTP/2, both transports);
//   - playground_limit_refusals_total by limit: calls (the server's
//     -max-streams) and calls_per_client (-max-streams-per-client);
//   - playground_backend_serving{backend} of a front, or
//     playground_store_serving: 1 while health says SERVING;
//   - pgxpool_* of a PostgreSQL store's connection pool;
//   - the Go runtime's go_* and the process's process_*.
type promMetrics struct {
	reg     *prometheus.Registry
	grpc    *grpcprom.ServerMetrics
	methods methodLabels

	mu     sync.Mutex
	srv    *http.Server // ServeMetrics's
	closed bool
}

// newMetrics makes the metrics of s, whose observer counts the calls and
// connections into calls and conns.
func newMetrics(s *Server, obs *callObserver) (*promMetrics, error) {
	m := &promMetrics{
		reg: prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
			grpcprom.WithHistogramBuckets([]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}),
		)),
	}
	obs.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "playground_calls_total",
		Help: "Calls that ended, by the protocol that carried them and their status code, refused ones included.",
	}, []string{"protocol", "grpc_code"})
	obs.conns = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "playground_connections_open",
		Help: "Client connections open (HTTP/1.1 and HTTP/2, both transports).",
	})
	refused := func(perClient bool) func() float64 {
		return func() float64 {
			server, client := s.limits.Refused()
			if perClient {
				return float64(client)
			}
			return float64(server)
		}
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.grpc, obs.calls, obs.conns,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "playground_calls_in_flight",
			Help: "Calls in flight, every protocol and both transports (each an HTTP/2 stream, an HTTP/1.1 request or a WebSocket).",
		}, func() float64 { return float64(s.limits.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "playground_websocket_streams_open",
			Help: "grpc-websockets streams open, each a call on a socket of its own.",
		}, s.webSocketStreams),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "playground_mux_sockets_open",
			Help: "grpc-mux.v1 sockets open, each carrying many calls (counted in playground_calls_in_flight).",
		}, s.muxSockets),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "playground_limit_refusals_total",
			Help:        "Calls refused before they ran because a limit was reached, by limit.",
			ConstLabels: prometheus.Labels{"limit": "calls"},
		}, refused(false)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "playground_limit_refusals_total",
			Help:        "Calls refused before they ran because a limit was reached, by limit.",
			ConstLabels: prometheus.Labels{"limit": "calls_per_client"},
		}, refused(true)),
	}
	serving := func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := s.health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return 0
		}
		return 1
	}
	if b := s.cfg.Backend; b != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "playground_backend_serving",
			Help:        "1 while the front's backend answers and its health says SERVING (checked every 2 seconds), else 0.",
			ConstLabels: prometheus.Labels{"backend": b.Addr},
		}, serving))
	} else {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "playground_store_serving",
			Help: "1 while the store answers (a PostgreSQL store is pinged every 2 seconds), else 0.",
		}, serving))
	}
	if pool, ok := s.st.(pgxpoolprometheus.Stater); ok {
		cs = append(cs, pgxpoolprometheus.NewCollector(pool, nil))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// unary is the provider's interceptor, with methods labelled within
// maxMethodLabels.
func (m *promMetrics) unary() grpc.UnaryServerInterceptor {
	next := m.grpc.UnaryServerInterceptor()
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if l := m.methods.label(info.FullMethod); l != info.FullMethod {
			info = &grpc.UnaryServerInfo{Server: info.Server, FullMethod: l}
		}
		return next(ctx, req, info, handler)
	}
}

// stream is unary's for streams.
func (m *promMetrics) stream() grpc.StreamServerInterceptor {
	next := m.grpc.StreamServerInterceptor()
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if l := m.methods.label(info.FullMethod); l != info.FullMethod {
			info = &grpc.StreamServerInfo{FullMethod: l, IsClientStream: info.IsClientStream, IsServerStream: info.IsServerStream}
		}
		return next(srv, ss, info, handler)
	}
}

// maxMethodLabels bounds the methods the gRPC metrics name: a front
// forwards whatever method a client names, and each would be series of
// its own. The methods past it are counted as otherMethod.
const maxMethodLabels = 1000

// otherMethod labels the methods past maxMethodLabels.
const otherMethod = "/other/other"

// methodLabels is the set of methods labelled so far.
type methodLabels struct {
	mu   sync.RWMutex
	seen map[string]struct{}
}

// label is the method the metrics name a call of method by.
func (l *methodLabels) label(method string) string {
	l.mu.RLock()
	_, ok := l.seen[method]
	l.mu.RUnlock()
	if ok {
		return method
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[method]; ok {
		return method
	}
	if len(l.seen) >= maxMethodLabels {
		return otherMethod
	}
	if l.seen == nil {
		l.seen = make(map[string]struct{})
	}
	l.seen[method] = struct{}{}
	return method
}

// webSocketStreams is the runtime's open WebSocket streams, none before
// Serve.
func (s *Server) webSocketStreams() float64 {
	s.mu.Lock()
	rt := s.rt
	s.mu.Unlock()
	if rt == nil {
		return 0
	}
	return float64(rt.WebSocketStreams())
}

// muxSockets is the runtime's open grpc-mux.v1 sockets, none before
// Serve.
func (s *Server) muxSockets() float64 {
	s.mu.Lock()
	rt := s.rt
	s.mu.Unlock()
	if rt == nil {
		return 0
	}
	n, _ := rt.MuxSockets()
	return float64(n)
}

// ServeMetrics serves the Prometheus metrics at /metrics on ln, a listener
// of their own, until Shutdown, and then returns nil. It needs
// Config.Metrics.
func (s *Server) ServeMetrics(ln net.Listener) error {
	m := s.obs.metrics
	if m == nil {
		ln.Close()
		return errors.New("server: ServeMetrics needs Config.Metrics")
	}
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            errLog,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errLog}
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		ln.Close()
		return nil
	case m.srv != nil:
		m.mu.Unlock()
		ln.Close()
		return errors.New("server: ServeMetrics called twice")
	}
	m.srv = srv
	m.mu.Unlock()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// closeMetrics stops ServeMetrics, if metrics are on.
func (s *Server) closeMetrics() {
	m := s.obs.metrics
	if m == nil {
		return
	}
	m.mu.Lock()
	m.closed = true
	srv := m.srv
	m.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}
