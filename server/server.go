// Package server wires the playground together on one port: the
// UserManager service (package usermanager) on a store, or, as a front, a
// forwarder to any gRPC server (package front); health and reflection; the
// protocol runtime (package grpchttp) that serves them all as gRPC-Web,
// native gRPC and the WebSocket bridge; the port (package listener), whose
// connections whose first request is native gRPC go to grpc-go's own
// transport, made with the same policy; and the page's embedded files.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/filereflection"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/listener"
	"github.com/grpcplay/playground/server/store"
	"github.com/grpcplay/playground/server/usermanager"
	"github.com/grpcplay/playground/static"
)

// The playground serves application/grpc+json on both of its transports.
// grpc-go's picks a call's codec only from its global registry, which must
// be written before any server serves, so it is written here, at init: a
// client that pools one connection for protobuf and JSON calls (Connect's
// conformance clients do) reaches grpc-go's transport with both, whatever
// came first. The fast path grpc-go's transport is (make bench: native
// unary at well under half the runtime's time) is worth this one write.
func init() {
	if encoding.GetCodecV2(grpchttp.JSONCodec().Name()) == nil {
		encoding.RegisterCodecV2(grpchttp.JSONCodec())
	}
}

// Server serves the playground on one listener. Create it with New,
// register more services with RegisterService if wanted, run it with
// Serve, stop it with Shutdown.
type Server struct {
	log    *slog.Logger
	cfg    Config
	st     store.Store // nil for a front
	assets *assets
	cert   *listener.Certificate // nil: cleartext
	fwd    *front.Forwarder      // nil: not a front
	health *health.Server
	limits *grpchttp.Limits // the calls in flight, on both transports
	obs    *observability   // metrics, tracing, the access log

	// stopHealth ends the watch of the store's database or of the backend.
	stopHealth func()

	mu       sync.Mutex
	services []service // registered before Serve
	serving  bool
	stopped  bool
	native   *grpc.Server // grpc-go's transport, for native-first connections
	rt       *grpchttp.Handler
	http     *http.Server
	split    *listener.Splitter
}

type service struct {
	desc *grpc.ServiceDesc
	impl any
}

// New builds a Server. With a store it serves the UserManager service on
// it; the caller keeps ownership of st and closes it after Shutdown.
func New(cfg Config, st store.Store) (*Server, error) {
	cfg.setDefaults()
	if cfg.Assets == nil {
		cfg.Assets = static.FS
	}
	files, err := newAssets(cfg.Assets)
	if err != nil {
		return nil, fmt.Errorf("server: read page assets: %w", err)
	}
	s := &Server{log: cfg.Logger, cfg: cfg, st: st, assets: files, health: health.NewServer(),
		limits: grpchttp.NewLimits(cfg.MaxStreams, cfg.MaxStreamsPerClient)}
	if s.obs, err = newObservability(s); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.Schema != nil && cfg.Backend == nil {
		return nil, errors.New("server: schema files describe a backend's schema: they need a backend")
	}
	if cfg.Backend != nil {
		if st != nil {
			return nil, errors.New("server: a front for a backend serves no store of its own")
		}
		if s.fwd, err = front.New(cfg.backend(), cfg.MaxMsgSize, s.log); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		if err := s.assets.markBody("data-backend", s.fwd.Addr()); err != nil {
			return nil, fmt.Errorf("server: page assets: %w", err)
		}
		if cfg.Schema != nil {
			if err := s.assets.markBody("data-schema", "files"); err != nil {
				return nil, fmt.Errorf("server: page assets: %w", err)
			}
		}
	}
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
			return nil, errors.New("server: TLS needs both a certificate file and a key file")
		}
		if s.cert, err = listener.NewCertificate(cfg.TLSCertFile, cfg.TLSKeyFile, s.log); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if s.fwd != nil {
		s.stopHealth = s.fwd.WatchHealth(func(st healthpb.HealthCheckResponse_ServingStatus) {
			s.health.SetServingStatus("", st)
		})
	} else {
		s.stopHealth = startStoreHealth(st, s.health, s.log)
	}
	return s, nil
}

// RegisterService implements grpc.ServiceRegistrar: the service is served
// on every protocol. Call it before Serve.
func (s *Server) RegisterService(sd *grpc.ServiceDesc, impl any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		panic("server: RegisterService after Serve")
	}
	s.services = append(s.services, service{sd, impl})
}

// runtimeOptions are the protocol runtime's options, the same for the
// Handler and grpc-go's transport, for a server listening on addr.
func (s *Server) runtimeOptions(addr net.Addr) []grpchttp.Option {
	c := s.cfg
	opts := []grpchttp.Option{
		grpchttp.WithAllowedOrigins(c.AllowedOrigins...),
		grpchttp.WithAllowedHosts(c.AllowedHosts...),
		grpchttp.WithMaxMsgSize(c.MaxMsgSize),
		grpchttp.WithMaxSendMsgSize(cmp.Or(c.MaxSendMsgSize, c.MaxMsgSize)),
		// One count of calls for both transports: a client cannot take
		// twice its share by opening connections of both kinds.
		grpchttp.WithLimits(s.limits),
		grpchttp.WithMaxConcurrentStreams(c.MaxConcurrentStreams),
		grpchttp.WithWriteTimeout(c.WriteTimeout),
		grpchttp.WithMessageTimeout(c.MessageTimeout),
		grpchttp.WithKeepalive(c.PingInterval, c.PongWait),
		grpchttp.WithMuxStreams(c.MuxStreams),
		grpchttp.WithMuxWindow(c.MuxWindow),
		grpchttp.WithHeaderTimeout(c.HeaderTimeout),
		grpchttp.WithUnaryInterceptors(slices.Concat(s.obs.unary, c.UnaryInterceptors)...),
		grpchttp.WithStreamInterceptors(slices.Concat(s.obs.stream, c.StreamInterceptors)...),
		grpchttp.WithStatsHandlers(slices.Concat(s.obs.stats, c.StatsHandlers)...),
		grpchttp.WithFallback(s.assets),
		grpchttp.WithBrowserHeaders(c.KeepBrowserHeaders...),
		grpchttp.WithLogger(s.log),
	}
	// Without allowed hosts, a server on a loopback address answers only
	// loopback names: a page elsewhere must not reach it through a name
	// that resolves to it (DNS rebinding).
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() && len(c.AllowedHosts) == 0 {
		opts = append(opts, grpchttp.WithLoopbackHostsOnly())
	}
	if s.fwd != nil {
		opts = append(opts, grpchttp.WithUnknownServiceHandler(s.fwd.Handler()), grpchttp.WithCodec(s.fwd.Codec()))
	}
	return opts
}

// Serve serves every protocol on ln until Shutdown, and then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	switch {
	case s.serving:
		s.mu.Unlock()
		return errors.New("server: Serve called twice")
	case s.stopped:
		s.mu.Unlock()
		return nil
	}
	s.serving = true
	opts := s.runtimeOptions(ln.Addr())
	nativeOpts := grpchttp.ServerOptions(opts...)
	tlsConfig := s.tlsConfig()
	if tlsConfig != nil {
		// The listener does the handshake; grpc-go is told how it went.
		nativeOpts = append(nativeOpts, grpc.Creds(listener.HandoverCreds()))
	}
	s.native = grpc.NewServer(nativeOpts...)
	s.rt = grpchttp.New(s.native, opts...)
	s.register()
	s.http = &http.Server{Handler: s.rt, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.rt.ConfigureServer(s.http)
	s.split = listener.Split(ln, tlsConfig, &listener.Guard{
		MaxConnsPerClient:    s.cfg.MaxConnsPerClient,
		WriteTimeout:         s.cfg.WriteTimeout,
		MaxConcurrentStreams: int(s.cfg.MaxConcurrentStreams),
		Logger:               s.log,
	})
	s.mu.Unlock()

	if s.cert != nil {
		go s.cert.Watch(certCheckInterval, s.split.Done())
	}
	giveBackCtx, stopGiveBack := context.WithCancel(context.Background())
	defer stopGiveBack()
	go giveBack(giveBackCtx, giveBackInterval, s.limits.InFlight, giveBackCalls, giveBackFreeBytes)
	errc := make(chan error, 2)
	go func() { errc <- s.native.Serve(s.split.Native()) }()
	go func() { errc <- s.http.Serve(s.split.HTTP()) }()
	err := s.split.Run()
	for range 2 {
		if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && !errors.Is(e, net.ErrClosed) && !errors.Is(e, grpc.ErrServerStopped) {
			s.log.Error("serve", "err", e)
		}
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// register registers the services on the runtime (and so on grpc-go's
// transport): health, reflection (a front forwards the backend's),
// UserManager on the store, the program's own. s.mu is held.
func (s *Server) register() {
	healthpb.RegisterHealthServer(s.rt, s.health)
	switch {
	case s.fwd != nil && s.cfg.Schema != nil:
		filereflection.New(s.cfg.Schema, filereflection.Options{Own: s.rt, Backend: s.fwd.Conn(), BackendMetadata: s.fwd.OutgoingMD}).Register(s.rt)
	case s.fwd == nil && !s.cfg.NoReflection:
		reflection.Register(s.rt)
	}
	if s.st != nil {
		pb.RegisterUserManagerServer(s.rt, usermanager.New(s.st, s.cfg.MaxStreamMsgs, s.log))
		s.health.SetServingStatus(pb.UserManager_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	}
	for _, sv := range s.services {
		s.rt.RegisterService(sv.desc, sv.impl)
	}
}

// tlsConfig is the port's TLS configuration, nil for cleartext.
func (s *Server) tlsConfig() *tls.Config {
	if s.cert == nil {
		return nil
	}
	return s.cert.TLSConfig()
}

// ReloadTLS reads the TLS certificate and key files again (the server also
// notices when they change). New connections get the new certificate;
// open ones go on. On failure the certificate in use stays.
func (s *Server) ReloadTLS() error {
	if s.cert == nil {
		return errors.New("server: TLS is not on")
	}
	return s.cert.Reload()
}

// certCheckInterval is how often the TLS files are checked for changes.
const certCheckInterval = 2 * time.Second

// Shutdown stops accepting connections, reports NOT_SERVING, and lets calls
// in flight finish until ctx ends, on every protocol. Then the runtime's
// calls end with Unavailable ("server is shutting down"), which they get to
// send within the write timeout, and the rest is cut off. It returns ctx's
// error if calls had to be ended.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	serving := s.serving
	s.mu.Unlock()
	defer s.closeMetrics()
	if s.fwd != nil {
		defer s.fwd.Close()
	}
	s.stopHealth()
	s.health.Shutdown()
	if !serving {
		return nil
	}
	s.split.Close()

	httpCtx, cutHTTP := context.WithCancel(context.Background())
	defer cutHTTP()
	done := make(chan struct{})
	var rtErr error
	go func() {
		var wg sync.WaitGroup
		wg.Go(s.native.GracefulStop)
		wg.Go(func() { s.http.Shutdown(httpCtx) })
		wg.Go(func() { rtErr = s.rt.Shutdown(ctx) })
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return rtErr
	case <-ctx.Done():
	}
	// The grace period is over: the runtime ends its calls (and says so
	// to their clients); grpc-go's are cut, which its clients see as
	// Unavailable.
	s.native.Stop()
	t := time.NewTimer(s.cfg.WriteTimeout)
	defer t.Stop()
	select {
	case <-done:
		return ctx.Err()
	case <-t.C:
	}
	cutHTTP()
	s.http.Close()
	<-done
	return ctx.Err()
}
