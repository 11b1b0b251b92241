package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/stats"
)

// Tracing is where the server's spans go, and how a call's trace context
// travels in its metadata: a server with Config.Tracing has a span for
// every call on every path (OpenTelemetry's otelgrpc stats handler),
// continuing the caller's trace (traceparent), and a front's calls to its
// backend carry the trace on. Health checks are left out.
type Tracing struct {
	// Provider makes the spans; Propagator reads and writes a call's
	// trace context in its metadata.
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator

	shutdown func(context.Context) error
}

// Shutdown exports the spans still buffered and stops the exporters. A
// Tracing not made by TracingFromEnv has nothing to stop.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// TracingFromEnv configures tracing from OpenTelemetry's standard
// variables alone, or returns nil when they leave it off:
//
//   - OTEL_TRACES_EXPORTER: none (the default here), console (spans as
//     JSON on standard output) or otlp, comma-separated for several;
//   - OTEL_EXPORTER_OTLP_PROTOCOL (or _TRACES_PROTOCOL): http/protobuf
//     (the default) or grpc, with the exporters' own OTEL_EXPORTER_OTLP_*
//     variables for the endpoint, headers, TLS and timeouts;
//   - OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default
//     parentbased_always_on), OTEL_BSP_* for the batching, read by the SDK;
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (service.name is
//     "playground" unless they say otherwise);
//   - OTEL_PROPAGATORS: tracecontext and baggage (the default, both) or
//     none;
//   - OTEL_SDK_DISABLED=true turns it all off.
//
// A value it does not know is an error naming it.
func TracingFromEnv(ctx context.Context) (*Tracing, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	var exporters []sdktrace.SpanExporter
	closeAll := func() {
		for _, e := range exporters {
			e.Shutdown(ctx)
		}
	}
	for _, name := range envList("OTEL_TRACES_EXPORTER") {
		var exp sdktrace.SpanExporter
		var err error
		switch name {
		case "none":
			continue
		case "console":
			exp, err = stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
		case "otlp":
			exp, err = otlpExporter(ctx)
		default:
			err = fmt.Errorf("OTEL_TRACES_EXPORTER=%s: this build exports to otlp, console or none", name)
		}
		if err != nil {
			closeAll()
			return nil, err
		}
		exporters = append(exporters, exp)
	}
	if len(exporters) == 0 {
		return nil, nil
	}
	prop, err := propagatorFromEnv()
	if err != nil {
		closeAll()
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "playground")),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: last, so they win
	)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, e := range exporters {
		opts = append(opts, sdktrace.WithBatcher(e))
	}
	tp := sdktrace.NewTracerProvider(opts...) // the sampler: OTEL_TRACES_SAMPLER
	return &Tracing{Provider: tp, Propagator: prop, shutdown: tp.Shutdown}, nil
}

// otlpExporter is the OTLP exporter of OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
// or OTEL_EXPORTER_OTLP_PROTOCOL; each reads its own variables.
func otlpExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	proto := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if proto == "" {
		proto = strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	switch proto {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	}
	return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: this build speaks http/protobuf or grpc", proto)
}

// propagatorFromEnv is OTEL_PROPAGATORS's propagator.
func propagatorFromEnv() (propagation.TextMapPropagator, error) {
	names := envList("OTEL_PROPAGATORS")
	if len(names) == 0 {
		names = []string{"tracecontext", "baggage"}
	}
	var props []propagation.TextMapPropagator
	for _, name := range names {
		switch name {
		case "tracecontext":
			props = append(props, propagation.TraceContext{})
		case "baggage":
			props = append(props, propagation.Baggage{})
		case "none":
		default:
			return nil, fmt.Errorf("OTEL_PROPAGATORS=%s: this build propagates tracecontext, baggage or none", name)
		}
	}
	return propagation.NewCompositeTextMapPropagator(props...), nil
}

// envList is a comma-separated variable's values, trimmed, in lower case.
func envList(name string) []string {
	var out []string
	for v := range strings.SplitSeq(os.Getenv(name), ",") {
		if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// otelOptions are otelgrpc's options of t: its provider and propagator,
// no metrics (Prometheus has them), and no spans for health checks, which
// balancers and the page make every few seconds.
func (t *Tracing) otelOptions() []otelgrpc.Option {
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(t.Provider),
		otelgrpc.WithPropagators(t.Propagator),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithFilter(notHealthCheck),
	}
}

// notHealthCheck is otelgrpc's filter: every call but health checks (as
// its filters.HealthCheck, without allocating on every call).
func notHealthCheck(info *stats.RPCTagInfo) bool {
	return !strings.HasPrefix(info.FullMethodName, "/"+healthpb.Health_ServiceDesc.ServiceName+"/")
}

// serverHandler is the stats handler that traces the server's calls.
func (t *Tracing) serverHandler() stats.Handler {
	return otelgrpc.NewServerHandler(t.otelOptions()...)
}

// clientHandler is the stats handler that traces a front's calls to its
// backend and puts the trace in their metadata.
func (t *Tracing) clientHandler() stats.Handler {
	return otelgrpc.NewClientHandler(t.otelOptions()...)
}

// errNoProvider refuses a Tracing without a provider.
var errNoProvider = errors.New("server: Tracing needs a Provider and a Propagator")
