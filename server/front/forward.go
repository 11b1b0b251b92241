// Package front makes the playground a front for any gRPC server: the
// backend. Every call of a method the front does not serve itself goes to
// the backend as bytes, never decoded, so the front needs no schema; the
// front's own health answers for the backend's.
package front

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// Backend says how to reach the backend.
type Backend struct {
	// Addr is the backend's host:port.
	Addr string
	// TLS, when set, dials the backend with it (its RootCAs, client
	// certificates and ServerName); nil dials cleartext HTTP/2.
	TLS *tls.Config
	// Header is metadata added to every forwarded call, reflection
	// included: an API key, say. It replaces a client's metadata of the
	// same name.
	Header metadata.MD
	// TrustForwarded are the addresses of proxies before the front, whose
	// X-Forwarded-For, Forwarded and X-Real-IP the front passes on (adding
	// the proxy's address); from any other client they are dropped. The
	// front sets all three from the address it saw.
	TrustForwarded []netip.Prefix
	// StatsHandlers see the front's calls to the backend as a client's,
	// health checks included: OpenTelemetry's, which carries the trace
	// of the call forwarded on to the backend, say.
	StatsHandlers []stats.Handler
}

// errJSONForwarded refuses JSON calls to the backend, on every path: the
// front forwards messages as bytes and does not know their schema.
var errJSONForwarded = status.Error(codes.Unimplemented, "JSON messages cannot be forwarded: the front passes messages to the backend as protobuf bytes and does not know their schema; send application/grpc-web+proto")

// Forwarder copies calls to the backend over one long-lived ClientConn,
// whatever protocol carried them: native gRPC, gRPC-Web (binary and text)
// or a WebSocket. Mount Handler as the server's unknown-service handler,
// with Codec as its codec.
type Forwarder struct {
	cfg Backend
	cc  *grpc.ClientConn
	log *slog.Logger
	// metadataTooLarge logs the first over-size response metadata.
	metadataTooLarge sync.Once
}

// forwardWindow bounds what the front buffers of a backend stream that its
// client reads slowly: a fixed HTTP/2 window (grpc-go would otherwise grow
// it with the bandwidth-delay product), so a slow browser slows the
// backend down.
const forwardWindow = 64 << 10

// New returns a Forwarder to cfg's backend, with messages of at most
// maxMsgSize bytes each way. It dials in the background: calls made while
// the backend cannot be reached fail with Unavailable naming it.
func New(cfg Backend, maxMsgSize int, log *slog.Logger) (*Forwarder, error) {
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(rawCodec{}),
			grpc.MaxCallRecvMsgSize(maxMsgSize),
			grpc.MaxCallSendMsgSize(maxMsgSize),
		),
		grpc.WithInitialWindowSize(forwardWindow),
		grpc.WithInitialConnWindowSize(16 * forwardWindow),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second}, MinConnectTimeout: 5 * time.Second}),
		grpc.WithUserAgent("grpcplay-front/1"),
		// What the backend may send of response metadata, headers and
		// trailers each: the front's own bound on request headers.
		grpc.WithMaxHeaderListSize(maxResponseMetadata),
	}
	for _, sh := range cfg.StatsHandlers {
		opts = append(opts, grpc.WithStatsHandler(sh))
	}
	cc, err := grpc.NewClient(cfg.Addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", cfg.Addr, err)
	}
	cc.Connect()
	return &Forwarder{cfg: cfg, cc: cc, log: log}, nil
}

// Addr is the backend's address.
func (f *Forwarder) Addr() string { return f.cfg.Addr }

// Conn is the connection to the backend, for calls of the front's own
// (its schema files' reflection asks the backend's).
func (f *Forwarder) Conn() grpc.ClientConnInterface { return f.cc }

// OutgoingMD is the metadata a call the front makes to the backend on
// behalf of the call of ctx carries: the client's, as forwarded, and the
// Backend's Header.
func (f *Forwarder) OutgoingMD(ctx context.Context) metadata.MD {
	in, _ := metadata.FromIncomingContext(ctx)
	return f.outgoingMD(ctx, in)
}

// Close closes the connection to the backend.
func (f *Forwarder) Close() error { return f.cc.Close() }

// Handler is the handler of every method the front forwards, as
// grpc.UnknownServiceHandler takes it.
func (f *Forwarder) Handler() grpc.StreamHandler { return f.forward }

// Codec is the codec of the calls the front serves: a forwarded message
// passes as the bytes it holds, anything else (the front's own health
// service's messages) as protobuf.
func (f *Forwarder) Codec() encoding.CodecV2 { return rawCodec{} }

// forward copies one call to the backend and its answer back: the
// requests in one goroutine, the headers, replies and trailers in this
// one. The backend's status comes back unchanged; the call's deadline and
// cancellation reach the backend through the context. When the backend
// ends the call first, forward returns while the request goroutine may
// still wait for the client: the server ends that wait when forward
// returns (grpchttp cuts a call's reads before its handler's request is
// let go, as grpc-go's transport does), and the goroutine then ends.
func (f *Forwarder) forward(_ any, ss grpc.ServerStream) error {
	ctx := ss.Context()
	method, ok := grpc.Method(ctx)
	if !ok {
		return status.Error(codes.Internal, "forward: the call has no method name")
	}
	in, _ := metadata.FromIncomingContext(ctx)
	if ct, ok := grpcwire.ParseContentType(grpcwire.First(in, grpcwire.HeaderContentType)); ok && ct.Codec != grpcwire.CodecProto {
		return errJSONForwarded
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := f.cc.NewStream(metadata.NewOutgoingContext(ctx, f.outgoingMD(ctx, in)), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
	if err != nil {
		return f.backendError(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		err := f.copyRequests(ss, cs)
		sendErr <- err
		if err != nil {
			cancel() // the client's side broke: the backend's call ends too
		}
	}()

	if hdr, err := cs.Header(); err == nil && hdr != nil {
		// The backend has sent its headers: they leave with the first
		// message, or the trailers, in one write.
		if err := ss.SetHeader(hdr); err != nil {
			return err
		}
	}
	for {
		var m rawMessage
		err := cs.RecvMsg(&m)
		if err != nil {
			ss.SetTrailer(cs.Trailer())
			if err == io.EOF {
				return nil
			}
			select {
			case cerr := <-sendErr:
				if cerr != nil {
					return cerr // the client's stream broke (too large a request, say)
				}
			default: // the client may still be sending: the backend ended first
			}
			return f.backendError(err)
		}
		if err := ss.SendMsg(&m); err != nil {
			return err
		}
	}
}

// copyRequests copies the client's requests to the backend and half-closes
// after the last. It returns why the client's side broke (a request over
// the size limit, the client gone), which ends the call.
func (f *Forwarder) copyRequests(ss grpc.ServerStream, cs grpc.ClientStream) error {
	for {
		var m rawMessage
		if err := ss.RecvMsg(&m); err != nil {
			if err == io.EOF {
				cs.CloseSend()
				return nil
			}
			return err
		}
		if err := cs.SendMsg(&m); err != nil {
			return nil // the backend ended the call: its status comes with RecvMsg
		}
	}
}

// backendError is the status a forwarded call ends with: the backend's
// own, unchanged, or, when the backend cannot be reached, Unavailable
// naming it.
func (f *Forwarder) backendError(err error) error {
	st := status.Convert(err)
	switch {
	case st.Code() == codes.Unavailable && f.cc.GetState() != connectivity.Ready:
		return status.Errorf(codes.Unavailable, "backend %s is not reachable: %s", f.cfg.Addr, st.Message())
	case st.Code() == codes.Internal && strings.Contains(st.Message(), "header list size"):
		// The backend sent more metadata than the front takes.
		f.logMetadataTooLarge(st)
		return status.Errorf(codes.Internal, "the backend's response metadata is larger than %d bytes, the front's limit", maxResponseMetadata)
	case st.Code() == codes.Internal && strings.Contains(st.Message(), "RST_STREAM with error code: INTERNAL_ERROR"):
		// A backend that honours the limit the front announced (grpc-go
		// does) resets the call rather than send more.
		f.logMetadataTooLarge(st)
		return status.Errorf(codes.Internal, "the backend reset the call (INTERNAL_ERROR), as a backend does when its response metadata is larger than the front takes (%d bytes)", maxResponseMetadata)
	}
	return err
}

func (f *Forwarder) logMetadataTooLarge(st *status.Status) {
	f.metadataTooLarge.Do(func() {
		f.log.Warn("the backend's response metadata is larger than the front takes, or it reset a call; such calls end with Internal (logged once)", "backend", f.cfg.Addr, "limit", maxResponseMetadata, "err", st.Message())
	})
}

// maxResponseMetadata bounds the backend's response headers, and its
// trailers, each.
const maxResponseMetadata = 64 << 10

// hopHeaders are request headers of the connection or of the protocol,
// which the front's own call to the backend sets itself.
func hopHeader(name string) bool {
	switch name {
	case grpcwire.HeaderContentType, "user-agent", "te", "connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "upgrade", "host", "content-length", "accept-encoding", "http2-settings",
		grpcwire.HeaderXGRPCWeb, grpcwire.HeaderUserAgent:
		return true
	}
	return strings.HasPrefix(name, ":") || strings.HasPrefix(name, "grpc-") || strings.HasPrefix(name, "sec-websocket-")
}

// outgoingMD is the metadata of the forwarded call: the client's, without
// hop-by-hop and transport headers; the forwarding headers, which are the
// front's own unless the client is a trusted proxy; and the Backend's
// Header, which replaces what the client sent under its names.
func (f *Forwarder) outgoingMD(ctx context.Context, in metadata.MD) metadata.MD {
	out := make(metadata.MD, len(in)+len(f.cfg.Header)+3)
	for k, v := range in {
		if !hopHeader(k) {
			out[k] = v
		}
	}
	f.setForwarded(ctx, out)
	for k, v := range f.cfg.Header {
		out[k] = v
	}
	return out
}

// Forwarding headers.
const (
	headerXForwardedFor = "x-forwarded-for"
	headerForwarded     = "forwarded"
	headerXRealIP       = "x-real-ip"
)

// setForwarded sets the forwarding headers of md (the client's, copied):
// a trusted proxy's are passed on with its own address added; anyone
// else's are replaced by the front's account of the client's address.
func (f *Forwarder) setForwarded(ctx context.Context, md metadata.MD) {
	var ip netip.Addr
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		if ap, err := netip.ParseAddrPort(p.Addr.String()); err == nil {
			ip = ap.Addr().Unmap()
		}
	}
	if !f.trusts(ip) {
		delete(md, headerXForwardedFor)
		delete(md, headerForwarded)
		delete(md, headerXRealIP)
	}
	if !ip.IsValid() {
		return
	}
	xff := append(md[headerXForwardedFor], ip.String())
	md[headerXForwardedFor] = []string{strings.Join(xff, ", ")}
	node := ip.String()
	if ip.Is6() {
		node = `"[` + node + `]"`
	}
	md[headerForwarded] = []string{strings.Join(append(md[headerForwarded], "for="+node), ", ")}
	if len(md[headerXRealIP]) == 0 {
		md[headerXRealIP] = []string{ip.String()}
	}
}

// trusts reports whether ip is a proxy whose forwarding headers count.
func (f *Forwarder) trusts(ip netip.Addr) bool {
	for _, p := range f.cfg.TrustForwarded {
		if ip.IsValid() && p.Contains(ip) {
			return true
		}
	}
	return false
}

// health reports whether the backend serves: SERVING when its own health
// check says so, or when it answers but has no health service.
func (f *Forwarder) health(ctx context.Context) (healthpb.HealthCheckResponse_ServingStatus, error) {
	ctx = metadata.NewOutgoingContext(ctx, f.cfg.Header.Copy())
	resp := new(healthpb.HealthCheckResponse)
	err := f.cc.Invoke(ctx, healthpb.Health_Check_FullMethodName, &healthpb.HealthCheckRequest{}, resp)
	switch status.Code(err) {
	case codes.OK:
		return resp.GetStatus(), nil
	case codes.Unimplemented:
		return healthpb.HealthCheckResponse_SERVING, nil
	}
	return healthpb.HealthCheckResponse_NOT_SERVING, err
}

// HealthInterval is how often the front checks its backend's health.
const HealthInterval = 2 * time.Second

// WatchHealth keeps set true to the backend's health until stop is
// called: it checks once (within 3 seconds), logs whether the backend
// answered and sets the status before it returns, then checks every
// HealthInterval in the background, logging each change. stop waits for
// the watch to end.
func (f *Forwarder) WatchHealth(set func(healthpb.HealthCheckResponse_ServingStatus)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	first, cancelFirst := context.WithTimeout(ctx, 3*time.Second)
	last, err := f.health(first)
	cancelFirst()
	set(last)
	f.logHealth(last, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(HealthInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cctx, cancel := context.WithTimeout(ctx, HealthInterval)
			st, err := f.health(cctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if st != last {
				set(st)
				f.logHealth(st, err)
				last = st
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (f *Forwarder) logHealth(st healthpb.HealthCheckResponse_ServingStatus, err error) {
	if err != nil {
		f.log.Warn("backend not answering; calls get Unavailable until it does", "backend", f.cfg.Addr, "err", status.Convert(err).Message())
		return
	}
	f.log.Info("backend answers", "backend", f.cfg.Addr, "health", st)
}

// rawMessage is a message as bytes, never decoded: what the front forwards
// travels as one.
type rawMessage struct{ b []byte }

// rawCodec is the codec on the front's paths, both ways: a rawMessage
// passes as the bytes it holds, anything else (the health service's
// messages) as protobuf.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	}
	msg, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("forward: cannot marshal %T", v)
	}
	b, err := proto.Marshal(msg)
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		m.b = data.Materialize()
		return nil
	}
	msg, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("forward: cannot unmarshal into %T", v)
	}
	return proto.Unmarshal(data.Materialize(), msg)
}
