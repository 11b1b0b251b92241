// Package server is the playground's back end: the UserManager service on a
// Store, served on one port as native gRPC (HTTP/2 with prior knowledge),
// gRPC-Web over HTTP/1.1 and HTTP/2, a grpc-websockets bridge for client
// and bidirectional streaming from browsers, and the embedded page.
//
// Every call, whatever carried it, runs the same interceptor chain
// (logging, panic recovery, Config's own) and stats handlers: grpc-go's
// transport serves native gRPC connections, and a call core of ours
// (call.go) serves the rest, with bounded buffering and time limits on
// every read and write.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server/store"
	"github.com/grpcplay/playground/static"
)

// maxHeaderBytes bounds a request's headers on every path: HTTP/1.1,
// HTTP/2 and the WebSocket bridge's header block.
const maxHeaderBytes = bridgeMaxHeaderBytes

// Server serves the playground on one listener. Create it with New,
// register more services with RegisterService if wanted, run it with
// Serve, stop it with Shutdown.
type Server struct {
	log *slog.Logger
	cfg Config
	// native serves the connections that speak native gRPC only, on
	// grpc-go's own transport.
	native *grpc.Server
	reg    *registry
	health *health.Server
	calls  *callServer
	// stopCalls ends every call of ours with errShutdown.
	stopCalls context.CancelFunc

	grpcHTTP *httpCalls
	grpcCORS http.Handler // grpcHTTP behind CORS for listed origins
	bridge   *bridge
	assets   *assets
	origin   *originPolicy
	http     *http.Server

	cert *certificate // nil: cleartext
	fwd  *forwarder   // nil: not a front
	// stopStoreHealth ends the watch of the store's database
	// (store_health.go).
	stopStoreHealth func()
	// stopWatch ends the backend's health watch.
	stopWatch context.CancelFunc

	mu    sync.Mutex
	split *portSplitter
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
	log := cfg.Logger
	unary := unaryChain(log, cfg.UnaryInterceptors)
	stream := streamChain(log, cfg.StreamInterceptors)
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxMsgSize),
		grpc.MaxSendMsgSize(cfg.MaxMsgSize),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams),
		// Handlers run on reused goroutines, whose stacks have grown
		// already: a fresh goroutine per call grows its stack on every call.
		grpc.NumStreamWorkers(uint32(2 * runtime.GOMAXPROCS(0))),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		// A fixed window bounds what a connection may make the server
		// buffer, where grpc-go would otherwise grow it with the
		// bandwidth-delay product.
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: cfg.PingInterval, Timeout: cfg.PongWait}),
	}
	for _, sh := range cfg.StatsHandlers {
		opts = append(opts, grpc.StatsHandler(sh))
	}
	var fwd *forwarder
	if cfg.Backend != nil {
		if st != nil {
			return nil, errors.New("server: a front for a backend serves no store of its own")
		}
		if fwd, err = newForwarder(*cfg.Backend, cfg.MaxMsgSize, log); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		// Calls of services the front does not have go to the backend, as
		// bytes.
		opts = append(opts, grpc.UnknownServiceHandler(fwd.forward), grpc.ForceServerCodecV2(rawGRPCCodec{}))
		cfg.NoReflection = true // the backend's is forwarded
	}
	var cert *certificate
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
			return nil, errors.New("server: TLS needs both a certificate file and a key file")
		}
		if cert, err = newCertificate(cfg.TLSCertFile, cfg.TLSKeyFile, log); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		// The splitter does the handshake; grpc-go is told how it went.
		opts = append(opts, grpc.Creds(handoverCreds{}))
	}
	stopCtx, stopCalls := context.WithCancelCause(context.Background())
	s := &Server{
		log:    log,
		cfg:    cfg,
		native: grpc.NewServer(opts...),
		health: health.NewServer(),
		assets: files,
		origin: newOriginPolicy(cfg.AllowedOrigins, cfg.AllowedHosts),
		calls: &callServer{
			replies:    newReplies(cfg.MaxMsgSize),
			unary:      chainUnary(unary),
			stream:     chainStream(stream),
			stats:      cfg.StatsHandlers,
			log:        log,
			maxMsgSize: cfg.MaxMsgSize,
			stop:       stopCtx,
		},
		stopCalls: func() { stopCalls(errShutdown) },
		cert:      cert,
		fwd:       fwd,
	}
	s.reg = newRegistry(s.native)
	healthpb.RegisterHealthServer(s.reg, s.health)
	s.stopStoreHealth = startStoreHealth(st, s.health, log)
	if !cfg.NoReflection {
		reflection.Register(s.reg)
	}
	if st != nil {
		pb.RegisterUserManagerServer(s.reg, NewService(st, cfg.MaxStreamMsgs))
		s.health.SetServingStatus(pb.UserManager_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	}
	if fwd != nil {
		if err := s.assets.markBody("data-backend", fwd.cfg.Addr); err != nil {
			return nil, fmt.Errorf("server: page assets: %w", err)
		}
		h := fwd.handler()
		s.reg.unknown = &h
		s.startBackendHealth()
	}

	s.grpcHTTP = &httpCalls{srv: s.calls, reg: s.reg, writeTimeout: cfg.WriteTimeout, messageTimeout: cfg.MessageTimeout}
	s.grpcCORS = s.origin.cors(http.HandlerFunc(s.serveGRPC))
	s.bridge = newBridge(s.reg, s.calls, bridgeConfig{
		maxMsgSize:          cfg.MaxMsgSize,
		maxStreams:          cfg.MaxStreams,
		maxStreamsPerClient: cfg.MaxStreamsPerClient,
		origin:              s.origin,
		pingInterval:        cfg.PingInterval,
		pongWait:            cfg.PongWait,
		writeTimeout:        cfg.WriteTimeout,
		headerTimeout:       cfg.HeaderTimeout,
		closeTimeout:        cfg.CloseTimeout,
		messageTimeout:      cfg.MessageTimeout,
	}, log)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.HeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnContext:       connContext,
		BaseContext:       func(net.Listener) context.Context { return stopCtx },
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:          int(cfg.MaxConcurrentStreams),
			MaxReceiveBufferPerStream:     streamWindow,
			MaxReceiveBufferPerConnection: connWindow,
			MaxDecoderHeaderTableSize:     4 << 10,
			PingTimeout:                   cfg.PongWait,
		},
	}
	s.http.Protocols = new(http.Protocols)
	s.http.Protocols.SetHTTP1(true)
	s.http.Protocols.SetHTTP2(true)
	s.http.Protocols.SetUnencryptedHTTP2(true)
	return s, nil
}

// HTTP/2 flow-control windows, for grpc-go's transport and ours alike: what
// one stream, and one connection, may make the server buffer of requests.
const (
	streamWindow = 64 << 10
	connWindow   = 1 << 20
)

// RegisterService implements grpc.ServiceRegistrar: the service is served
// on every protocol. Call it before Serve.
func (s *Server) RegisterService(sd *grpc.ServiceDesc, impl any) {
	s.reg.RegisterService(sd, impl)
}

// backendHealthInterval is how often a front checks its backend's health.
const backendHealthInterval = 2 * time.Second

// startBackendHealth checks the backend once, bounded, logs whether it
// answered, and keeps the front's overall health ("") true to it from then
// on.
func (s *Server) startBackendHealth() {
	ctx, stop := context.WithCancel(context.Background())
	s.stopWatch = stop
	first, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := s.fwd.health(first)
	cancel()
	s.health.SetServingStatus("", st)
	if err != nil {
		s.log.Warn("backend not answering; calls get Unavailable until it does", "backend", s.fwd.cfg.Addr, "err", status.Convert(err).Message())
	} else {
		s.log.Info("backend answers", "backend", s.fwd.cfg.Addr, "health", st)
	}
	go s.fwd.watchHealth(ctx, backendHealthInterval, st, func(st healthpb.HealthCheckResponse_ServingStatus) {
		s.health.SetServingStatus("", st)
	})
}

// ServeHTTP routes an HTTP request (HTTP/1.1, or HTTP/2 on a connection that
// does not speak native gRPC only): a Host the server does not answer to
// gets 403; a grpc-websockets handshake goes to the bridge; a gRPC or
// gRPC-Web call, or its CORS preflight, to our call core; anything else to
// the page assets.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.origin.allowsHost(r.Host) {
		s.log.Warn("request refused: the server does not answer to this host name (see -allowed-hosts)", "host", r.Host, "remote", r.RemoteAddr, "path", r.URL.Path)
		http.Error(w, "this server does not answer to host "+r.Host, http.StatusForbidden)
		return
	}
	switch {
	case isWebSocketUpgrade(r):
		s.bridge.ServeHTTP(w, r)
	case isGRPC(r) || isGRPCPreflight(r):
		s.grpcCORS.ServeHTTP(w, r)
	default:
		s.assets.ServeHTTP(w, r)
	}
}

// serveGRPC serves a gRPC or gRPC-Web call, past CORS: one from an origin
// that may not call is refused before it runs.
func (s *Server) serveGRPC(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		return // a preflight, answered by CORS
	}
	if !s.origin.allows(r) {
		s.log.Debug("call refused: origin", "origin", r.Header.Get("Origin"), "path", r.URL.Path)
		refuseOrigin(w, r)
		return
	}
	s.grpcHTTP.ServeHTTP(w, r)
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// isGRPC reports whether r is a gRPC or gRPC-Web call, by its content type.
func isGRPC(r *http.Request) bool {
	_, ok := grpcwire.ParseContentType(r.Header.Get("Content-Type"))
	return ok
}

// isGRPCPreflight reports whether r is the CORS preflight of a gRPC-Web
// call: an OPTIONS request that announces a POST.
func isGRPCPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
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

// Serve serves every protocol on ln until Shutdown, and then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	var tlsConfig *tls.Config
	if s.cert != nil {
		tlsConfig = s.cert.tlsConfig()
	}
	split := splitPort(ln, tlsConfig)
	s.mu.Lock()
	if s.split != nil {
		s.mu.Unlock()
		return errors.New("server: Serve called twice")
	}
	s.split = split
	s.origin.listen(ln.Addr())
	s.mu.Unlock()

	if s.cert != nil {
		go s.cert.watch(certCheckInterval, split.done)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.native.Serve(split.h2) }()
	go func() { errc <- s.http.Serve(split.h1) }()
	err := split.run()
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

// Shutdown stops accepting connections, reports NOT_SERVING, and lets calls
// in flight finish until ctx ends, on every protocol. Then the calls of our
// transports end with Unavailable ("server is shutting down"), which they
// get to send within the write timeout, and the rest is cut off. It returns
// ctx's error if calls had to be ended.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopStoreHealth()
	if s.stopWatch != nil {
		s.stopWatch()
		defer s.fwd.cc.Close()
	}
	s.health.Shutdown()
	s.mu.Lock()
	if s.split != nil {
		s.split.close()
	}
	s.mu.Unlock()
	s.bridge.beginShutdown()

	httpCtx, cutHTTP := context.WithCancel(context.Background())
	defer cutHTTP()
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Go(s.native.GracefulStop)
		wg.Go(func() { s.http.Shutdown(httpCtx) })
		wg.Go(func() { s.bridge.wait(context.Background()) })
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	// The grace period is over. Our calls end with Unavailable and get
	// to say so; grpc-go's are cut, which its clients see as Unavailable.
	s.stopCalls()
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
	s.bridge.cut()
	<-done
	return ctx.Err()
}
